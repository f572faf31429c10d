package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaTooNew: the database's schema is newer than this server
// knows. The error is a *SchemaError.
var ErrSchemaTooNew = errors.New("pgstore: the database's schema is newer than this server knows")

// SchemaError is ErrSchemaTooNew with the versions.
type SchemaError struct {
	Database int // the database's schema version
	Known    int // the newest version this package has migrations for
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("pgstore: the database has schema version %d, this server knows versions up to %d: run a newer attesta-server", e.Database, e.Known)
}

func (e *SchemaError) Unwrap() error { return ErrSchemaTooNew }

// migration is one embedded file: its version (the number its name
// starts with) and its statements.
type migration struct {
	version int
	stmts   []string
}

// migrations returns the embedded migrations in order. Their numbers
// increase from 1; a gap is allowed, because each feature has its number
// reserved and branches land in any order (a database is at the number of
// the last migration applied: once all of them are in, they run 1, 2, 3…
// again). Each file's statements end with a semicolon at the end of a
// line.
func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 || len(ms) > 0 && v <= ms[len(ms)-1].version {
			return nil, fmt.Errorf("pgstore: migration %s is out of sequence", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		m := migration{version: v}
		var stmt strings.Builder
		for line := range strings.Lines(string(b)) {
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "--") {
				continue
			}
			stmt.WriteString(line)
			if strings.HasSuffix(strings.TrimSpace(line), ";") {
				m.stmts = append(m.stmts, strings.TrimSpace(stmt.String()))
				stmt.Reset()
			}
		}
		if strings.TrimSpace(stmt.String()) != "" {
			return nil, fmt.Errorf("pgstore: migration %s ends without a semicolon", e.Name())
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// migrate brings the schema to the newest version: first the version
// table and its one row (idempotent), then, in one transaction holding
// that row's lock, the missing migrations and the new version.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	known := ms[len(ms)-1].version
	// Two servers creating the table at once on PostgreSQL: one may fail
	// on the catalog's unique index (23505) or find the table, or its row
	// type, made after its check (42P07, 42710); the next attempt finds
	// it.
	for attempt := 1; ; attempt++ {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS attesta_schema (lock_id INT4 PRIMARY KEY, version INT4 NOT NULL)`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO attesta_schema (lock_id, version) VALUES (1, 0) ON CONFLICT (lock_id) DO NOTHING`)
			return err
		})
		var pe *pgconn.PgError
		if attempt < 5 && errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P07" || pe.Code == "42710") {
			continue
		}
		if err != nil {
			return fmt.Errorf("pgstore: creating the schema version table: %w", err)
		}
		break
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var have int
		if err := tx.QueryRow(ctx, `SELECT version FROM attesta_schema WHERE lock_id = 1 FOR UPDATE`).Scan(&have); err != nil {
			return err
		}
		if have > known {
			return &SchemaError{Database: have, Known: known}
		}
		if have == known {
			return nil
		}
		for _, m := range ms {
			if m.version <= have {
				continue
			}
			for _, stmt := range m.stmts {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", m.version, err)
				}
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE attesta_schema SET version = $1 WHERE lock_id = 1 AND version = $2`, known, have)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return errConflict // another server advanced it (CockroachDB: DDL committed apart)
		}
		return nil
	})
	var se *SchemaError
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("pgstore: migrating the schema: %w", err)
	}
	return err
}
