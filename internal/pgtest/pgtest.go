// Package pgtest gives a test a PostgreSQL schema of its own, on the
// server that $ATTESTA_TEST_POSTGRES names, so that parallel tests and
// reruns never see each other's tables.
//
// Without $ATTESTA_TEST_POSTGRES a test that needs PostgreSQL is skipped
// with a message that says the PostgreSQL suite was not run, never passed
// silently; with $ATTESTA_REQUIRE_POSTGRES=1 (scripts/test-postgres.sh
// and CI set it) it fails instead. scripts/test-postgres.sh starts a
// throwaway server and runs these tests against it.
package pgtest

import (
	"context"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attesta-go/attesta/internal/rnd"
)

const (
	// EnvDSN names the PostgreSQL server the tests use: a postgres:// URL
	// or a key=value string, for a role that may create schemas.
	EnvDSN = "ATTESTA_TEST_POSTGRES"
	// EnvRequire, set to 1, makes a missing or unreachable server a
	// failure rather than a skip.
	EnvRequire = "ATTESTA_REQUIRE_POSTGRES"
)

// Base returns $ATTESTA_TEST_POSTGRES, or skips t (fails it with
// $ATTESTA_REQUIRE_POSTGRES=1) if it is not set.
func Base(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		msg := "PostgreSQL suite not run: $" + EnvDSN + " is not set (scripts/test-postgres.sh starts a throwaway server and runs it)"
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dsn
}

// DSN makes a fresh, empty schema on the server and returns a DSN whose
// connections use it (search_path), and the schema's name. The schema is
// dropped when t ends, after whatever t opened later has closed.
func DSN(t testing.TB) (dsn, schema string) {
	t.Helper()
	base := Base(t)
	schema = "attesta_test_" + hex.EncodeToString(rnd.Bytes(8))
	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`) })
	return WithSearchPath(t, base, schema), schema
}

// WithSearchPath returns dsn with its connections' search_path set to
// schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("$%s is not a valid URL", EnvDSN)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Exec runs one statement on the server dsn names, failing t on error.
func Exec(t testing.TB, dsn, sql string, args ...any) { exec(t, dsn, sql, args...) }

func exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to $%s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
