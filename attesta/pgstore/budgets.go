package pgstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attesta-go/attesta/attesta"
)

// Spend reads the budgets' TATs, runs attesta.Limit.Spend on each (the
// one implementation of the arithmetic) and stores the new TATs, all in
// one transaction: two servers spending one budget at once serialize, one
// of them after a retry. The rows are written in key order, so that two
// calls naming the same budgets in another order do not deadlock.
func (s *Store) Spend(ctx context.Context, now time.Time, spends ...attesta.Spend) error {
	order := make([]int, len(spends))
	keys := make([][]byte, len(spends))
	for i, sp := range spends {
		order[i], keys[i] = i, sp.Key[:]
	}
	slices.SortFunc(order, func(i, j int) int { return bytes.Compare(keys[i], keys[j]) })
	for n := 1; n < len(order); n++ {
		if spends[order[n]].Key == spends[order[n-1]].Key {
			return errors.New("pgstore: Spend: one key twice")
		}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT budget_key, tat FROM budgets WHERE budget_key = ANY ($1)`, keys)
		if err != nil {
			return err
		}
		tats := map[attesta.Hash]int64{}
		var (
			k   []byte
			tat int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&k, &tat}, func() error {
			var h attesta.Hash
			if err := copyInto(h[:], k, "budget key"); err != nil {
				return err
			}
			tats[h] = tat
			return nil
		}); err != nil {
			return err
		}
		next := make([]time.Time, len(spends))
		for i, sp := range spends {
			next[i], err = sp.Limit.Spend(fromNanos(tats[sp.Key]), sp.Cost, now)
			if be := (*attesta.BudgetError)(nil); errors.As(err, &be) {
				be.Spend = i
				return be // nothing taken
			} else if err != nil {
				return err
			}
		}
		for _, i := range order {
			if _, err := tx.Exec(ctx, `INSERT INTO budgets (budget_key, tat) VALUES ($1, $2) ON CONFLICT (budget_key) DO UPDATE SET tat = excluded.tat`,
				keys[i], nanos(next[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) Refill(ctx context.Context, key attesta.Hash) error {
	return s.stmt(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM budgets WHERE budget_key = $1`, key[:])
		return err
	})
}

func (s *Store) UseOnce(ctx context.Context, key attesta.Hash, expires, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var at int64
		err := tx.QueryRow(ctx, `SELECT expires FROM once_marks WHERE once_key = $1`, key[:]).Scan(&at)
		switch {
		case err == nil && at > now.UnixNano():
			return attesta.ErrAlreadyUsed
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO once_marks (once_key, expires) VALUES ($1, $2) ON CONFLICT (once_key) DO UPDATE SET expires = excluded.expires`,
			key[:], nanos(expires))
		return err
	})
}
