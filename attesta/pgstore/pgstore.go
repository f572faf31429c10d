// Package pgstore is Attesta's Store over PostgreSQL (and SQL that
// CockroachDB also runs), through github.com/jackc/pgx/v5: any number of
// stateless attesta-server processes share one database.
//
//	st, err := pgstore.Open(ctx, "postgres://attesta@db.internal/attesta", pgstore.Config{})
//	…
//	defer st.Close()
//
// It passes the same conformance suite as the Pebble store
// (attesta/storetest), with its concurrency tests spread over two
// connection pools, as two servers would be.
//
// # Atomicity
//
// Every Store method is one transaction (Collect is one per batch, see
// below), at the SERIALIZABLE isolation level, so that every promise of
// the Store documentation holds across processes the way it holds in one:
// a challenge token is redeemed once among concurrent redemptions on any
// number of servers; the party, its key (one table, party_keys, is both a
// party's keys and the key index) and the session are made in the same
// commit as the used-token record; a registry is replaced only at the
// version it was read at; a budget spent from two servers at once is
// spent once per unit. A refusal that must be durable (a banned key's
// token still recorded as used; a wrong code counted; an expired code
// dropped) commits before the refusal is returned. Methods that are one
// statement (the reads, and writes such as CreateApp, UseOnce or
// PutRegistry's compare-and-swap) run as that statement, which is a
// transaction of its own: every connection's
// default_transaction_isolation is serializable, so they are SERIALIZABLE
// too. One method is not serializable, by design: RedeemedTokens, a
// count for metrics, reads at READ COMMITTED (its doc says why).
//
// PostgreSQL's SERIALIZABLE tracks reads of a B-tree per page, so a
// transaction that looks up a key, finds nothing and inserts it conflicts
// with every concurrent one doing the same on that page. The hot paths
// never read an absent key: a first connect inserts its key (INSERT … ON
// CONFLICT DO NOTHING checks the index without such a read) and reads
// only a known one; Spend reads its budgets through an upsert; UseOnce is
// one upsert. Unrelated connects and spends then never retry
// (BenchmarkStoreSteps' parallel runs count 0 retries).
//
// Acknowledged means durable: a method returns after its COMMIT, which
// PostgreSQL returns after the commit is flushed to its write-ahead log.
// Open refuses a server whose synchronous_commit is off.
//
// # Retries
//
// A SERIALIZABLE transaction that conflicts with a concurrent one fails
// with SQLSTATE 40001 (serialization_failure), or 40P01 (deadlock) when
// locks crossed; the store runs it again from the start, after a jittered
// exponential backoff (1 ms doubling to 100 ms, each wait drawn between
// half and all of its step), at most Config.MaxAttempts times (default
// 30), then returns the last error. Only those two codes are retried: an
// error of any other kind, and a connection lost before a COMMIT's answer
// (which may or may not have committed), is returned as it is. Stats
// counts transactions, retries and give-ups, for metrics.
//
// # Schema
//
// The schema is a list of migrations embedded in the binary
// (migrations/NNNN_name.sql), versioned by their number. Open applies the
// missing ones in one transaction that first locks the one row of
// attesta_schema (SELECT … FOR UPDATE): two servers starting together
// on an empty database queue on that row, the first applies the
// migrations, the second then finds them applied. A database whose schema
// version is newer than the migrations this binary holds is refused with
// a *SchemaError (ErrSchemaTooNew): an older server must not write to
// tables it does not understand.
//
// A lock row, not pg_advisory_xact_lock: advisory locks are
// PostgreSQL's own, while a row lock in the migration's own transaction
// works on CockroachDB too and is released by the COMMIT or by the
// connection's loss, so a server killed mid-migration leaves no lock.
//
// # Collection
//
// Collect deletes expired rows in batches of Config.CollectBatch, each
// one transaction, DELETE … WHERE key IN (SELECT key … WHERE expiry <=
// now LIMIT n FOR UPDATE SKIP LOCKED): any number of servers collect at
// once, each batch takes rows no other collector holds, and each row is
// deleted (and counted) by one of them. A row renewed by a concurrent
// Spend or UseOnce is either locked by it (skipped) or changed since the
// collector's snapshot (a serialization failure, retried), so a renewed
// record is never collected.
//
// # CockroachDB
//
// The schema and queries keep to what CockroachDB also runs: INT8, INT4,
// INT2, TEXT and BYTEA columns (no SERIAL or sequences: ids are random;
// no timestamptz: times are Unix nanoseconds, so that both stores keep
// them exactly and compare them as integers), INSERT … ON CONFLICT, SELECT
// … FOR UPDATE [SKIP LOCKED], plain B-tree indexes. Avoided: advisory
// locks, LISTEN/NOTIFY, partial and expression indexes, stored
// procedures and triggers, temporary tables, data-modifying CTEs, ORDER
// BY a collation (applications are sorted in Go, bytewise), and
// PostgreSQL catalogs (save the synchronous_commit check, skipped where
// the setting is unknown). CockroachDB is SERIALIZABLE by default, and
// reports conflicts as 40001 like PostgreSQL. It commits schema changes
// one statement at a time (autocommit_before_ddl, on by default in recent
// versions), so there the migration is not one transaction: every
// migration statement is idempotent (CREATE … IF NOT EXISTS), and the
// version row is advanced by compare-and-swap after them, so two servers
// racing, or a migration cut short, leave a complete schema. SKIP LOCKED
// needs CockroachDB 22.2 or later. This package is tested on PostgreSQL
// only.
//
// # What a dump contains
//
// The same as the Pebble store, no more: application names, the hashes
// of application tokens, banned key ids, the hashes of used challenge
// tokens and of sessions, party ids with their key ids and types, the
// keyed hashes of login identifiers (HMAC under the server secret, which
// is a file beside the server and never in the database) with their
// display hints ("a***@example.org", "+***99", "al***"), the keyed hashes
// of pending verification codes, the sealed registry blocks (which only
// their passwords open), budget and used-once keys (keyed hashes) and
// times, the packed public keys of application instances with the
// applications and party ids of the entitled ones, and the service keys
// of applications sealed under a key derived from the server secret
// (XChaCha20-Poly1305; attesta/vault.go). No email, phone number,
// nickname, token, session or code is in it in clear, and no service
// key: a copy of the database lets no one log in, does not list the
// users' logins, and reveals no provider's key.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attesta-go/attesta/attesta"
)

// Config tunes a Store. The zero Config is the default.
type Config struct {
	// MaxConns caps the connection pool. Default: the DSN's
	// pool_max_conns, else pgxpool's default (4, or the number of CPUs
	// if more).
	MaxConns int32
	// MaxAttempts bounds how often one transaction runs when it keeps
	// failing on serialization failures or deadlocks. Default 30.
	MaxAttempts int
	// CollectBatch is the most rows one collection transaction deletes.
	// Default 1000.
	CollectBatch int
}

// Store is an attesta.Store over a PostgreSQL (or CockroachDB) database.
// It is safe for concurrent use, and any number of Stores, in any number
// of processes, may share one database.
type Store struct {
	pool  *pgxpool.Pool
	cfg   Config
	stats counters
	close sync.Once
}

var _ attesta.Store = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string, as pgx reads them), applies the schema migrations it
// is missing and returns the Store. It fails with a *SchemaError if the
// database's schema is newer than this package knows.
func Open(ctx context.Context, dsn string, cfg Config) (*Store, error) {
	if cfg.MaxConns < 0 || cfg.MaxAttempts < 0 || cfg.CollectBatch < 0 {
		return nil, errors.New("pgstore: Config fields must not be negative")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 30
	}
	if cfg.CollectBatch == 0 {
		cfg.CollectBatch = 1000
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err) // pgconn redacts the password
	}
	pc.ConnConfig.RuntimeParams["default_transaction_isolation"] = "serializable"
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s := &Store{pool: pool, cfg: cfg}
	if err := s.start(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) start(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: connecting: %w", err)
	}
	var sc *string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('synchronous_commit', true)`).Scan(&sc); err == nil && sc != nil && *sc == "off" {
		return errors.New("pgstore: the server's synchronous_commit is off: a commit would not be durable when acknowledged; set it on")
	}
	return s.migrate(ctx)
}

// Close closes the connection pool. Closing twice is harmless.
func (s *Store) Close() error {
	s.close.Do(s.pool.Close)
	return nil
}

// nanos is how a time is stored: Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// noRows turns pgx's "no rows" into attesta.ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return attesta.ErrNotFound
	}
	return err
}

// copyInto copies a stored id or hash into dst, refusing a wrong length.
func copyInto(dst, src []byte, what string) error {
	if len(src) != len(dst) {
		return fmt.Errorf("pgstore: corrupt %s: %d bytes", what, len(src))
	}
	copy(dst, src)
	return nil
}
