package pgstore

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/internal/pgtest"
)

// TestRetry: a transaction that fails to serialize runs again from the
// start and its first attempt's writes are gone; one that keeps failing
// gives up after MaxAttempts; other errors are not retried. Stats counts
// each.
func TestRetry(t *testing.T) {
	dsn, _ := pgtest.DSN(t)
	st, err := Open(t.Context(), dsn, Config{MaxAttempts: 3})
	require.NoError(t, err)
	defer st.Close()
	ctx := t.Context()
	before := st.Stats()

	attempts := 0
	err = st.tx(ctx, func(tx pgx.Tx) error {
		attempts++
		if _, err := tx.Exec(ctx, `INSERT INTO bans (key_id, banned) VALUES ($1, $2)`, []byte{byte(attempts)}, 1); err != nil {
			return err
		}
		if attempts == 1 {
			return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	for b, want := range map[byte]bool{1: false, 2: true} {
		var n int
		require.NoError(t, st.pool.QueryRow(ctx, `SELECT count(*) FROM bans WHERE key_id = $1`, []byte{b}).Scan(&n))
		assert.Equal(t, want, n == 1, "attempt %d's row", b)
	}

	deadlock := &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	attempts = 0
	err = st.tx(ctx, func(pgx.Tx) error { attempts++; return deadlock })
	assert.ErrorIs(t, err, deadlock)
	assert.Equal(t, 3, attempts, "MaxAttempts")

	other := &pgconn.PgError{Code: "23505", Message: "unique violation"}
	attempts = 0
	err = st.tx(ctx, func(pgx.Tx) error { attempts++; return other })
	assert.Equal(t, error(other), err, "returned as it is")
	assert.Equal(t, 1, attempts, "other errors are not retried")

	after := st.Stats()
	assert.Equal(t, uint64(1+2), after.Retries-before.Retries)
	assert.Equal(t, uint64(1), after.GaveUp-before.GaveUp)
	assert.GreaterOrEqual(t, after.Transactions-before.Transactions, uint64(3))
}

func TestBackoff(t *testing.T) {
	for n := 1; n <= 40; n++ {
		step := min(retryCap, retryBase<<min(n-1, 7))
		for range 50 {
			d := backoff(n)
			assert.True(t, d >= step/2 && d <= step, "attempt %d: %v outside [%v, %v]", n, d, step/2, step)
		}
	}
	assert.LessOrEqual(t, backoff(1000), 100*time.Millisecond)
}
