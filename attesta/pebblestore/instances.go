package pebblestore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
)

// Application instances, entitlements and the service-key vault. Their
// records are keyed by the application's name with its length in front
// (names are at most 64 bytes), so that one application's keys are a
// prefix of their own and no two (name, rest) pairs share a key:
//
//	'y' len, app, party id, key id   -> instance key record
//	'q' len, app, party id           -> entitlement record
//	'w' len, app, len, provider      -> service key record (sealed value)
//
// Each write is one synced batch under a lock on its record's key (the
// check-and-write of a first record, a version's compare-and-swap).

type instanceKeyRec struct {
	_     struct{} `cbor:",toarray"`
	Key   []byte
	Added int64
}

type entitlementRec struct {
	_       struct{} `cbor:",toarray"`
	Granted int64
}

type serviceKeyRec struct {
	_       struct{} `cbor:",toarray"`
	Version uint64
	Sealed  []byte
	Updated int64
}

// named is a length-prefixed name, for the keys above.
func named(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func (s *Store) PutInstanceKey(ctx context.Context, k attesta.InstanceKey) error {
	rk := key('y', named(k.App), k.Party[:], k.KeyID[:])
	defer s.recMu.lock(string(rk))()
	if err := s.get(rk, nil); err == nil {
		return nil
	} else if !errors.Is(err, attesta.ErrNotFound) {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, rk, instanceKeyRec{Key: k.Key, Added: nanos(k.Added)}); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) InstanceKey(ctx context.Context, app string, party attesta.PartyID, id attesta.KeyID) (attesta.InstanceKey, error) {
	var r instanceKeyRec
	if err := s.get(key('y', named(app), party[:], id[:]), &r); err != nil {
		return attesta.InstanceKey{}, err
	}
	return attesta.InstanceKey{App: app, Party: party, KeyID: id, Key: r.Key, Added: fromNanos(r.Added)}, nil
}

func (s *Store) GrantEntitlement(ctx context.Context, e attesta.Entitlement) (attesta.Entitlement, error) {
	rk := key('q', named(e.App), e.Party[:])
	defer s.recMu.lock(string(rk))()
	var r entitlementRec
	if err := s.get(rk, &r); err == nil {
		e.Granted = fromNanos(r.Granted)
		return e, nil
	} else if !errors.Is(err, attesta.ErrNotFound) {
		return attesta.Entitlement{}, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, rk, entitlementRec{Granted: nanos(e.Granted)}); err != nil {
		return attesta.Entitlement{}, err
	}
	return e, b.Commit(pebble.Sync)
}

func (s *Store) RevokeEntitlement(ctx context.Context, app string, party attesta.PartyID) error {
	rk := key('q', named(app), party[:])
	defer s.recMu.lock(string(rk))()
	if err := s.get(rk, nil); errors.Is(err, attesta.ErrNotFound) {
		return attesta.ErrEntitlementNotFound
	} else if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(rk, nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) Entitlement(ctx context.Context, app string, party attesta.PartyID) (attesta.Entitlement, error) {
	var r entitlementRec
	if err := s.get(key('q', named(app), party[:]), &r); err != nil {
		return attesta.Entitlement{}, err
	}
	return attesta.Entitlement{App: app, Party: party, Granted: fromNanos(r.Granted)}, nil
}

func (s *Store) Entitlements(ctx context.Context, app string) ([]attesta.Entitlement, error) {
	prefix := []byte{'q'}
	if app != "" {
		prefix = key('q', named(app))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []attesta.Entitlement
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		n := int(k[1])
		if len(k) != 2+n+len(attesta.PartyID{}) {
			return nil, fmt.Errorf("pebblestore: corrupt entitlement key")
		}
		e := attesta.Entitlement{App: string(k[2 : 2+n])}
		copy(e.Party[:], k[2+n:])
		var r entitlementRec
		if err := cborx.Decode(it.Value(), &r); err != nil {
			return nil, fmt.Errorf("pebblestore: corrupt entitlement record: %w", err)
		}
		e.Granted = fromNanos(r.Granted)
		out = append(out, e)
	}
	// The keys' order is by name length first: sort by name, then party.
	sortEntitlements(out)
	return out, it.Error()
}

func (s *Store) PutServiceKey(ctx context.Context, k attesta.ServiceKey) error {
	rk := key('w', named(k.App), named(k.Provider))
	defer s.recMu.lock(string(rk))()
	var r serviceKeyRec
	if err := s.get(rk, &r); err != nil && !errors.Is(err, attesta.ErrNotFound) {
		return err
	}
	if k.Version == 0 || r.Version != k.Version-1 {
		return attesta.ErrVersionConflict
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, rk, serviceKeyRec{Version: k.Version, Sealed: k.Sealed, Updated: nanos(k.Updated)}); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) ServiceKey(ctx context.Context, app, provider string) (attesta.ServiceKey, error) {
	var r serviceKeyRec
	if err := s.get(key('w', named(app), named(provider)), &r); err != nil {
		return attesta.ServiceKey{}, err
	}
	return attesta.ServiceKey{App: app, Provider: provider, Version: r.Version, Sealed: r.Sealed, Updated: fromNanos(r.Updated)}, nil
}

func (s *Store) ServiceKeys(ctx context.Context) ([]attesta.ServiceKeyVersion, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'w'}, UpperBound: []byte{'w' + 1}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []attesta.ServiceKeyVersion
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		n := int(k[1])
		if len(k) < 3+n || len(k) != 3+n+int(k[2+n]) {
			return nil, fmt.Errorf("pebblestore: corrupt service key key")
		}
		v := attesta.ServiceKeyVersion{App: string(k[2 : 2+n]), Provider: string(k[3+n:])}
		var r serviceKeyRec
		if err := cborx.Decode(it.Value(), &r); err != nil {
			return nil, fmt.Errorf("pebblestore: corrupt service key record: %w", err)
		}
		v.Version, v.Updated = r.Version, fromNanos(r.Updated)
		out = append(out, v)
	}
	sortServiceKeys(out)
	return out, it.Error()
}

func sortEntitlements(es []attesta.Entitlement) {
	slices.SortFunc(es, func(a, b attesta.Entitlement) int {
		return cmp.Or(cmp.Compare(a.App, b.App), bytes.Compare(a.Party[:], b.Party[:]))
	})
}

func sortServiceKeys(ks []attesta.ServiceKeyVersion) {
	slices.SortFunc(ks, func(a, b attesta.ServiceKeyVersion) int {
		return cmp.Or(cmp.Compare(a.App, b.App), cmp.Compare(a.Provider, b.Provider))
	})
}
