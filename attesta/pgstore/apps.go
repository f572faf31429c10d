package pgstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attesta-go/attesta/attesta"
)

func (s *Store) CreateApp(ctx context.Context, app attesta.App) error {
	return s.stmt(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `INSERT INTO apps (name, token_hash, created) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			app.Name, app.TokenHash[:], nanos(app.Created))
		if err == nil && tag.RowsAffected() == 0 {
			return attesta.ErrAppExists
		}
		return err
	})
}

const appColumns = `name, token_hash, created, revoked`

func scanApp(row pgx.Row) (attesta.App, error) {
	var (
		a                attesta.App
		th               []byte
		created, revoked int64
	)
	if err := row.Scan(&a.Name, &th, &created, &revoked); err != nil {
		return attesta.App{}, noRows(err)
	}
	a.Created, a.Revoked = fromNanos(created), fromNanos(revoked)
	return a, copyInto(a.TokenHash[:], th, "application token hash")
}

func (s *Store) App(ctx context.Context, name string) (a attesta.App, err error) {
	err = s.stmt(ctx, func() error {
		a, err = scanApp(s.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE name = $1`, name))
		return err
	})
	return a, err
}

func (s *Store) AppByToken(ctx context.Context, h attesta.Hash) (a attesta.App, err error) {
	err = s.stmt(ctx, func() error {
		a, err = scanApp(s.pool.QueryRow(ctx, `SELECT `+appColumns+` FROM apps WHERE token_hash = $1`, h[:]))
		return err
	})
	return a, err
}

func (s *Store) Apps(ctx context.Context) (apps []attesta.App, err error) {
	err = s.stmt(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+appColumns+` FROM apps`)
		if err != nil {
			return err
		}
		apps, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (attesta.App, error) { return scanApp(r) })
		return err
	})
	// By name, bytewise: an ORDER BY would follow the database's
	// collation.
	slices.SortFunc(apps, func(a, b attesta.App) int { return cmp.Compare(a.Name, b.Name) })
	return apps, err
}

func (s *Store) RevokeApp(ctx context.Context, name string, at time.Time) error {
	return s.stmt(ctx, func() error {
		// The first revocation's time stays.
		tag, err := s.pool.Exec(ctx, `UPDATE apps SET revoked = CASE WHEN revoked = 0 THEN $2 ELSE revoked END WHERE name = $1`, name, nanos(at))
		if err == nil && tag.RowsAffected() == 0 {
			return attesta.ErrAppNotFound
		}
		return err
	})
}

func (s *Store) BanKey(ctx context.Context, id attesta.KeyID, at time.Time) error {
	return s.stmt(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO bans (key_id, banned) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING`, id[:], nanos(at))
		return err
	})
}

func (s *Store) KeyBanned(ctx context.Context, id attesta.KeyID) (banned bool, err error) {
	err = s.stmt(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM bans WHERE key_id = $1)`, id[:]).Scan(&banned)
	})
	return banned, err
}
