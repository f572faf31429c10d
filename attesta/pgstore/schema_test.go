package pgstore_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pgstore"
	"github.com/attesta-go/attesta/internal/pgtest"
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// knownVersion is the number of the last embedded migration.
func knownVersion(t *testing.T) int {
	entries, err := os.ReadDir("migrations")
	require.NoError(t, err)
	num, _, _ := strings.Cut(entries[len(entries)-1].Name(), "_")
	v, err := strconv.Atoi(num)
	require.NoError(t, err)
	return v
}

func schemaVersion(t *testing.T, dsn string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v int
	require.NoError(t, conn.QueryRow(ctx, `SELECT version FROM attesta_schema WHERE lock_id = 1`).Scan(&v))
	return v
}

// TestMigrateConcurrently opens eight stores at once on an empty schema,
// as eight servers starting together: every one starts, the schema is
// made once and is complete.
func TestMigrateConcurrently(t *testing.T) {
	dsn, _ := pgtest.DSN(t)
	stores := make([]*pgstore.Store, 8)
	errs := make(chan error, len(stores))
	start := make(chan struct{})
	for i := range stores {
		go func() {
			<-start
			var err error
			stores[i], err = pgstore.Open(t.Context(), dsn, pgstore.Config{MaxConns: 2})
			errs <- err
		}()
	}
	close(start)
	for range stores {
		assert.NoError(t, <-errs)
	}
	for _, st := range stores {
		if st != nil {
			defer st.Close()
		}
	}
	assert.Equal(t, knownVersion(t), schemaVersion(t, dsn))
	// Every table is there: each store works.
	for i, st := range stores {
		if st == nil {
			continue
		}
		_, err := st.Apps(t.Context())
		assert.NoError(t, err, "store %d", i)
		_, err = st.Collect(t.Context(), t0)
		assert.NoError(t, err, "store %d", i)
	}
}

// TestSchemaTooNew: a database migrated by a newer server is refused,
// with a typed error that says both versions; the database is left as it
// was.
func TestSchemaTooNew(t *testing.T) {
	dsn, _ := pgtest.DSN(t)
	st, err := pgstore.Open(t.Context(), dsn, pgstore.Config{})
	require.NoError(t, err)
	require.NoError(t, st.CreateApp(t.Context(), attesta.App{Name: "kept", Created: t0}))
	st.Close()
	known := knownVersion(t)
	pgtest.Exec(t, dsn, `UPDATE attesta_schema SET version = $1`, known+1)

	_, err = pgstore.Open(t.Context(), dsn, pgstore.Config{})
	require.ErrorIs(t, err, pgstore.ErrSchemaTooNew)
	var se *pgstore.SchemaError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, pgstore.SchemaError{Database: known + 1, Known: known}, *se)
	assert.Equal(t, known+1, schemaVersion(t, dsn), "left as it was")

	pgtest.Exec(t, dsn, `UPDATE attesta_schema SET version = $1`, known)
	st, err = pgstore.Open(t.Context(), dsn, pgstore.Config{})
	require.NoError(t, err)
	defer st.Close()
	_, err = st.App(t.Context(), "kept")
	assert.NoError(t, err, "reopening a current schema keeps the data")
}

// TestOpenRefusals: a bad DSN, a bad Config, an unreachable server.
func TestOpenRefusals(t *testing.T) {
	pgtest.Base(t)
	ctx := t.Context()
	_, err := pgstore.Open(ctx, "postgres://user:hunter2@[::1", pgstore.Config{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2", "the password is not in the error")
	_, err = pgstore.Open(ctx, "postgres://127.0.0.1:5432/x", pgstore.Config{MaxAttempts: -1})
	assert.Error(t, err)
	_, err = pgstore.Open(ctx, "postgres://nobody:hunter2@127.0.0.1:1/x?connect_timeout=2", pgstore.Config{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2", "the password is not in the error")
}
