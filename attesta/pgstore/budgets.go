package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attesta-go/attesta/attesta"
)

// Spend reads the budget's TAT, runs attesta.Limit.Spend on it (the one
// implementation of the arithmetic) and stores the new TAT, in one
// transaction: two servers spending the same budget at once serialize,
// one of them after a retry.
func (s *Store) Spend(ctx context.Context, key attesta.Hash, l attesta.Limit, cost int, now time.Time) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var tat int64
		err := tx.QueryRow(ctx, `SELECT tat FROM budgets WHERE budget_key = $1`, key[:]).Scan(&tat)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		next, err := l.Spend(fromNanos(tat), cost, now)
		if err != nil {
			return err // nothing taken
		}
		_, err = tx.Exec(ctx, `INSERT INTO budgets (budget_key, tat) VALUES ($1, $2) ON CONFLICT (budget_key) DO UPDATE SET tat = excluded.tat`,
			key[:], nanos(next))
		return err
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
