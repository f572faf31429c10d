package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/attesta-go/attesta/internal/rnd"
)

// Stats counts what the store's transactions did since Open, for metrics.
type Stats struct {
	// Transactions is the number of transactions (explicit ones and
	// single statements) run to an outcome: committed, refused or
	// failed.
	Transactions uint64
	// Retries is the number of attempts run again after a serialization
	// failure (40001) or a deadlock (40P01).
	Retries uint64
	// GaveUp is the number of transactions that still failed so after
	// Config.MaxAttempts attempts.
	GaveUp uint64
}

type counters struct{ transactions, retries, gaveUp atomic.Uint64 }

// Stats returns the store's transaction counts.
func (s *Store) Stats() Stats {
	return Stats{
		Transactions: s.stats.transactions.Load(),
		Retries:      s.stats.retries.Load(),
		GaveUp:       s.stats.gaveUp.Load(),
	}
}

// Backoff between attempts: retryBase doubling up to retryCap, each wait
// drawn between half and all of its step.
const (
	retryBase = time.Millisecond
	retryCap  = 100 * time.Millisecond
)

// errConflict is a conflict a transaction saw as a result rather than an
// error (a row a concurrent transaction inserted first): retried as a
// serialization failure is.
var errConflict = errors.New("pgstore: concurrent change")

// commitThen makes tx commit and then return err: a refusal whose side
// effects (a token recorded, a try counted) must be durable.
type commitThen struct{ err error }

func (c commitThen) Error() string { return c.err.Error() }

// tx runs fn in a SERIALIZABLE transaction and commits it, retrying the
// whole of it on serialization failures and deadlocks. fn's error rolls
// the transaction back and is returned, unless it is a commitThen.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error { return s.attempt(ctx, fn) })
}

// stmt runs fn, which runs one statement on the pool (a transaction of
// its own, serializable by the connection's default), with the same
// retries.
func (s *Store) stmt(ctx context.Context, fn func() error) error {
	return s.retry(ctx, fn)
}

func (s *Store) attempt(ctx context.Context, fn func(pgx.Tx) error) (err error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// After a failed COMMIT this is a no-op; a failed rollback
			// closes the connection, which rolls back.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	err = fn(tx)
	var then commitThen
	if errors.As(err, &then) {
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		return then.err
	}
	if err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (s *Store) retry(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if !retryable(err) {
			s.stats.transactions.Add(1)
			return err
		}
		if n >= s.cfg.MaxAttempts {
			s.stats.transactions.Add(1)
			s.stats.gaveUp.Add(1)
			return fmt.Errorf("pgstore: gave up after %d attempts: %w", n, err)
		}
		s.stats.retries.Add(1)
		t := time.NewTimer(backoff(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// retryable reports a serialization failure or a deadlock: the attempt
// changed nothing and may succeed if run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return errors.Is(err, errConflict)
}

// backoff is the wait after the nth failed attempt.
func backoff(n int) time.Duration {
	step := retryCap
	if n < 8 {
		step = min(retryCap, retryBase<<(n-1))
	}
	half := uint64(step / 2)
	return time.Duration(half + binary.LittleEndian.Uint64(rnd.Bytes(8))%(half+1))
}
