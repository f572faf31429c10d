package pgstore

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/attesta-go/attesta/attesta"
)

// Application instances, entitlements and the service-key vault
// (migrations/0005_instances.sql). Every method is one statement: a
// first record is an INSERT … ON CONFLICT (which keeps the first), a
// version's compare-and-swap an INSERT for version 1 and an UPDATE … WHERE
// version = previous after.

func (s *Store) PutInstanceKey(ctx context.Context, k attesta.InstanceKey) error {
	return s.stmt(ctx, func() error {
		_, err := s.pool.Exec(ctx, `INSERT INTO instance_keys (app, party_id, key_id, public_key, added) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (app, party_id, key_id) DO NOTHING`, k.App, k.Party[:], k.KeyID[:], k.Key, nanos(k.Added))
		return err
	})
}

func (s *Store) InstanceKey(ctx context.Context, app string, party attesta.PartyID, id attesta.KeyID) (k attesta.InstanceKey, err error) {
	err = s.stmt(ctx, func() error {
		var added int64
		err := s.pool.QueryRow(ctx, `SELECT public_key, added FROM instance_keys WHERE app = $1 AND party_id = $2 AND key_id = $3`,
			app, party[:], id[:]).Scan(&k.Key, &added)
		k.Added = fromNanos(added)
		return noRows(err)
	})
	if err != nil {
		return attesta.InstanceKey{}, err
	}
	k.App, k.Party, k.KeyID = app, party, id
	return k, nil
}

func (s *Store) GrantEntitlement(ctx context.Context, e attesta.Entitlement) (attesta.Entitlement, error) {
	var granted int64
	err := s.stmt(ctx, func() error {
		// The upsert that leaves a row as it is returns the stored time.
		return s.pool.QueryRow(ctx, `INSERT INTO entitlements (app, party_id, granted) VALUES ($1, $2, $3)
			ON CONFLICT (app, party_id) DO UPDATE SET granted = entitlements.granted RETURNING granted`,
			e.App, e.Party[:], nanos(e.Granted)).Scan(&granted)
	})
	if err != nil {
		return attesta.Entitlement{}, err
	}
	e.Granted = fromNanos(granted)
	return e, nil
}

func (s *Store) RevokeEntitlement(ctx context.Context, app string, party attesta.PartyID) error {
	return s.stmt(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM entitlements WHERE app = $1 AND party_id = $2`, app, party[:])
		if err == nil && tag.RowsAffected() == 0 {
			return attesta.ErrEntitlementNotFound
		}
		return err
	})
}

func scanEntitlement(row pgx.Row) (attesta.Entitlement, error) {
	var (
		e       attesta.Entitlement
		party   []byte
		granted int64
	)
	if err := row.Scan(&e.App, &party, &granted); err != nil {
		return attesta.Entitlement{}, noRows(err)
	}
	e.Granted = fromNanos(granted)
	return e, copyInto(e.Party[:], party, "entitlement's party id")
}

func (s *Store) Entitlement(ctx context.Context, app string, party attesta.PartyID) (e attesta.Entitlement, err error) {
	err = s.stmt(ctx, func() error {
		e, err = scanEntitlement(s.pool.QueryRow(ctx, `SELECT app, party_id, granted FROM entitlements WHERE app = $1 AND party_id = $2`, app, party[:]))
		return err
	})
	return e, err
}

func (s *Store) Entitlements(ctx context.Context, app string) (es []attesta.Entitlement, err error) {
	err = s.stmt(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT app, party_id, granted FROM entitlements WHERE $1 = '' OR app = $1`, app)
		if err != nil {
			return err
		}
		es, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (attesta.Entitlement, error) { return scanEntitlement(r) })
		return err
	})
	// Bytewise, not by the database's collation (see Apps).
	slices.SortFunc(es, func(a, b attesta.Entitlement) int {
		return cmp.Or(cmp.Compare(a.App, b.App), bytes.Compare(a.Party[:], b.Party[:]))
	})
	return es, err
}

func (s *Store) PutServiceKey(ctx context.Context, k attesta.ServiceKey) error {
	if k.Version == 0 || k.Version > math.MaxInt64 {
		return attesta.ErrVersionConflict // no stored version is its predecessor
	}
	return s.stmt(ctx, func() error {
		var (
			tag interface{ RowsAffected() int64 }
			err error
		)
		if k.Version == 1 {
			tag, err = s.pool.Exec(ctx, `INSERT INTO service_keys (app, provider, version, sealed, updated) VALUES ($1, $2, 1, $3, $4)
				ON CONFLICT (app, provider) DO NOTHING`, k.App, k.Provider, k.Sealed, nanos(k.Updated))
		} else {
			tag, err = s.pool.Exec(ctx, `UPDATE service_keys SET version = $3, sealed = $4, updated = $5
				WHERE app = $1 AND provider = $2 AND version = $6`, k.App, k.Provider, int64(k.Version), k.Sealed, nanos(k.Updated), int64(k.Version-1))
		}
		if err == nil && tag.RowsAffected() == 0 {
			return attesta.ErrVersionConflict
		}
		return err
	})
}

func (s *Store) ServiceKey(ctx context.Context, app, provider string) (k attesta.ServiceKey, err error) {
	err = s.stmt(ctx, func() error {
		var version, updated int64
		err := s.pool.QueryRow(ctx, `SELECT version, sealed, updated FROM service_keys WHERE app = $1 AND provider = $2`,
			app, provider).Scan(&version, &k.Sealed, &updated)
		k.Version, k.Updated = uint64(version), fromNanos(updated)
		return noRows(err)
	})
	if err != nil {
		return attesta.ServiceKey{}, err
	}
	k.App, k.Provider = app, provider
	return k, nil
}

func (s *Store) ServiceKeys(ctx context.Context) (ks []attesta.ServiceKeyVersion, err error) {
	err = s.stmt(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT app, provider, version, updated FROM service_keys`)
		if err != nil {
			return err
		}
		ks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (attesta.ServiceKeyVersion, error) {
			var (
				v                attesta.ServiceKeyVersion
				version, updated int64
			)
			err := r.Scan(&v.App, &v.Provider, &version, &updated)
			v.Version, v.Updated = uint64(version), fromNanos(updated)
			return v, err
		})
		return err
	})
	slices.SortFunc(ks, func(a, b attesta.ServiceKeyVersion) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Provider, b.Provider))
	})
	return ks, err
}
