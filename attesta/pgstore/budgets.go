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
// one transaction of two pipelined batches: two servers spending one
// budget at once serialize, one of them after a retry. The rows are
// locked and written in key order, so that two calls naming the same
// budgets in another order do not deadlock.
//
// A budget is read by an upsert that leaves it as it is (a budget never
// spent from is inserted as 0, and is rolled back with the rest if a
// budget refuses), not by a SELECT: a SELECT of an absent key takes a
// predicate lock on its B-tree page, and concurrent Spends of unrelated
// budgets on one page would then fail to serialize (most of them did, in
// BenchmarkStoreSteps/Spend/parallel).
func (s *Store) Spend(ctx context.Context, now time.Time, spends ...attesta.Spend) error {
	order := make([]int, len(spends))
	for i := range spends {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int { return bytes.Compare(spends[i].Key[:], spends[j].Key[:]) })
	for n := 1; n < len(order); n++ {
		if spends[order[n]].Key == spends[order[n-1]].Key {
			return errors.New("pgstore: Spend: one key twice")
		}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tats := make([]int64, len(spends))
		b := &pgx.Batch{}
		for _, i := range order {
			b.Queue(`INSERT INTO budgets (budget_key, tat) VALUES ($1, 0) ON CONFLICT (budget_key) DO UPDATE SET tat = budgets.tat RETURNING tat`,
				spends[i].Key[:]).QueryRow(func(row pgx.Row) error { return row.Scan(&tats[i]) })
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		next := make([]time.Time, len(spends))
		for i, sp := range spends {
			var err error
			next[i], err = sp.Limit.Spend(fromNanos(tats[i]), sp.Cost, now)
			if be := (*attesta.BudgetError)(nil); errors.As(err, &be) {
				be.Spend = i
				return be // nothing taken
			} else if err != nil {
				return err
			}
		}
		b = &pgx.Batch{}
		for _, i := range order {
			// An upsert again, not an UPDATE: an UPDATE finds its row
			// through the index, and that read takes the page lock too.
			b.Queue(`INSERT INTO budgets (budget_key, tat) VALUES ($1, $2) ON CONFLICT (budget_key) DO UPDATE SET tat = excluded.tat`,
				spends[i].Key[:], nanos(next[i]))
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

func (s *Store) Refill(ctx context.Context, key attesta.Hash) error {
	return s.stmt(ctx, func() error {
		_, err := s.pool.Exec(ctx, `DELETE FROM budgets WHERE budget_key = $1`, key[:])
		return err
	})
}

// UseOnce is one statement: an upsert that renews a mark only if it has
// expired, so that no absent key is read (see Spend).
func (s *Store) UseOnce(ctx context.Context, key attesta.Hash, expires, now time.Time) error {
	return s.stmt(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO once_marks (once_key, expires) VALUES ($1, $2)
			ON CONFLICT (once_key) DO UPDATE SET expires = excluded.expires WHERE once_marks.expires <= $3`,
			key[:], nanos(expires), now.UnixNano())
		if err == nil && tag.RowsAffected() == 0 {
			return attesta.ErrAlreadyUsed
		}
		return err
	})
}
