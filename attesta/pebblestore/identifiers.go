package pebblestore

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
)

type identRec struct {
	_     struct{} `cbor:",toarray"`
	Party []byte
	Kind  string
	Hint  string
	Added int64
	// Quarantine is non-zero once the party released the identifier: it
	// stays reserved to the party until then.
	Quarantine int64
}

type verificationRec struct {
	_        struct{} `cbor:",toarray"`
	Kind     string
	Hint     string
	CodeHash []byte
	Expires  int64
	Tries    uint8
}

type registryRec struct {
	_       struct{} `cbor:",toarray"`
	Version uint64
	Block   []byte
}

// ident reads the record of identifier h; ok is false if there is none.
func (s *Store) ident(h attesta.Hash) (r identRec, ok bool, err error) {
	err = s.get(key('i', h[:]), &r)
	if errors.Is(err, attesta.ErrNotFound) {
		return identRec{}, false, nil
	}
	return r, err == nil, err
}

// heldByOther reports whether r keeps identifier from party at now.
func heldByOther(r identRec, party attesta.PartyID, now time.Time) bool {
	if string(r.Party) == string(party[:]) {
		return false
	}
	return r.Quarantine == 0 || r.Quarantine > now.UnixNano()
}

// activeIdents lists the active identifiers of party, by hash.
func (s *Store) activeIdents(party attesta.PartyID) (map[attesta.Hash]identRec, error) {
	prefix := key('I', party[:])
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	var hashes []attesta.Hash
	for it.First(); it.Valid(); it.Next() {
		var h attesta.Hash
		copy(h[:], it.Key()[len(prefix):])
		hashes = append(hashes, h)
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	out := make(map[attesta.Hash]identRec, len(hashes))
	for _, h := range hashes {
		r, ok, err := s.ident(h)
		if err != nil {
			return nil, err
		}
		if ok && r.Quarantine == 0 && string(r.Party) == string(party[:]) {
			out[h] = r
		}
	}
	return out, nil
}

// pendingIdents lists the pending verifications of party, by hash.
func (s *Store) pendingIdents(party attesta.PartyID) (map[attesta.Hash]verificationRec, error) {
	prefix := key('v', party[:])
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[attesta.Hash]verificationRec{}
	for it.First(); it.Valid(); it.Next() {
		var r verificationRec
		if err := cborx.Decode(it.Value(), &r); err != nil {
			return nil, fmt.Errorf("pebblestore: corrupt verification: %w", err)
		}
		var h attesta.Hash
		copy(h[:], it.Key()[len(prefix):])
		out[h] = r
	}
	return out, it.Error()
}

func (s *Store) setActive(b *pebble.Batch, party attesta.PartyID, h attesta.Hash, kind attesta.IdentifierKind, hint string, now time.Time) error {
	if err := set(b, key('i', h[:]), identRec{Party: party[:], Kind: string(kind), Hint: hint, Added: nanos(now)}); err != nil {
		return err
	}
	return b.Set(key('I', party[:], h[:]), nil, nil)
}

func (s *Store) AddNickname(ctx context.Context, party attesta.PartyID, h attesta.Hash, hint string, max int, now time.Time) error {
	defer s.partyMu.lock(party)()
	defer s.identMu.lock(h)()
	r, ok, err := s.ident(h)
	if err != nil {
		return err
	}
	if ok && heldByOther(r, party, now) {
		return attesta.ErrIdentifierTaken
	}
	if ok && r.Quarantine == 0 {
		return nil // already this party's
	}
	active, err := s.activeIdents(party)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range active {
		if a.Kind == string(attesta.Nickname) {
			n++
		}
	}
	if n >= max {
		return attesta.ErrTooManyIdentifiers
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := s.setActive(b, party, h, attesta.Nickname, hint, now); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) StartVerification(ctx context.Context, party attesta.PartyID, v attesta.Verification, max int) error {
	defer s.partyMu.lock(party)()
	active, err := s.activeIdents(party)
	if err != nil {
		return err
	}
	if _, mine := active[v.Hash]; mine {
		return attesta.ErrIdentifierTaken
	}
	pending, err := s.pendingIdents(party)
	if err != nil {
		return err
	}
	n := 0
	for _, a := range active {
		if a.Kind != string(attesta.Nickname) {
			n++
		}
	}
	for h := range pending {
		if h != v.Hash {
			n++
		}
	}
	if n >= max {
		return attesta.ErrTooManyIdentifiers
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, key('v', party[:], v.Hash[:]), verificationRec{Kind: string(v.Kind), Hint: v.Hint, CodeHash: v.CodeHash[:], Expires: nanos(v.Expires)}); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) ConfirmVerification(ctx context.Context, party attesta.PartyID, h attesta.Hash, code attesta.Hash, maxTries int, now time.Time) error {
	defer s.partyMu.lock(party)()
	defer s.identMu.lock(h)()
	vk := key('v', party[:], h[:])
	var v verificationRec
	if err := s.get(vk, &v); errors.Is(err, attesta.ErrNotFound) {
		return attesta.ErrCodeUnknown
	} else if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	fail := func(e error) error {
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
		return e
	}
	if now.UnixNano() >= v.Expires {
		b.Delete(vk, nil)
		return fail(attesta.ErrCodeExpired)
	}
	if subtle.ConstantTimeCompare(v.CodeHash, code[:]) != 1 {
		v.Tries++
		if int(v.Tries) >= maxTries {
			b.Delete(vk, nil)
			return fail(attesta.ErrCodeTriesExhausted)
		}
		if err := set(b, vk, v); err != nil {
			return err
		}
		return fail(attesta.ErrWrongCode)
	}
	b.Delete(vk, nil)
	r, ok, err := s.ident(h)
	if err != nil {
		return err
	}
	if ok && heldByOther(r, party, now) {
		return fail(attesta.ErrIdentifierTaken)
	}
	if err := s.setActive(b, party, h, attesta.IdentifierKind(v.Kind), v.Hint, now); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) RemoveIdentifier(ctx context.Context, party attesta.PartyID, h attesta.Hash, quarantineUntil time.Time) error {
	defer s.partyMu.lock(party)()
	defer s.identMu.lock(h)()
	b := s.db.NewBatch()
	defer b.Close()
	found := false
	vk := key('v', party[:], h[:])
	if err := s.get(vk, nil); err == nil {
		found = true
		b.Delete(vk, nil)
	} else if !errors.Is(err, attesta.ErrNotFound) {
		return err
	}
	r, ok, err := s.ident(h)
	if err != nil {
		return err
	}
	if ok && r.Quarantine == 0 && string(r.Party) == string(party[:]) {
		found = true
		b.Delete(key('I', party[:], h[:]), nil)
		if r.Kind == string(attesta.Nickname) {
			r.Quarantine = nanos(quarantineUntil)
			if err := set(b, key('i', h[:]), r); err != nil {
				return err
			}
		} else {
			b.Delete(key('i', h[:]), nil)
		}
	}
	if !found {
		return attesta.ErrIdentifierNotFound
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) Identifiers(ctx context.Context, party attesta.PartyID) ([]attesta.IdentifierInfo, error) {
	active, err := s.activeIdents(party)
	if err != nil {
		return nil, err
	}
	pending, err := s.pendingIdents(party)
	if err != nil {
		return nil, err
	}
	var out []attesta.IdentifierInfo
	for _, r := range active {
		out = append(out, attesta.IdentifierInfo{Kind: attesta.IdentifierKind(r.Kind), Hint: r.Hint, Added: fromNanos(r.Added)})
	}
	for _, v := range pending {
		out = append(out, attesta.IdentifierInfo{Kind: attesta.IdentifierKind(v.Kind), Hint: v.Hint, Pending: true})
	}
	slices.SortFunc(out, func(a, b attesta.IdentifierInfo) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Hint, b.Hint), cmp.Compare(b.Added.UnixNano(), a.Added.UnixNano()))
	})
	return out, nil
}

func (s *Store) PartyByIdentifier(ctx context.Context, h attesta.Hash) (attesta.PartyID, error) {
	r, ok, err := s.ident(h)
	if err != nil {
		return attesta.PartyID{}, err
	}
	var p attesta.PartyID
	if !ok || r.Quarantine != 0 || len(r.Party) != len(p) {
		return attesta.PartyID{}, attesta.ErrNotFound
	}
	copy(p[:], r.Party)
	return p, nil
}

func (s *Store) PutRegistry(ctx context.Context, party attesta.PartyID, block []byte, version uint64) (uint64, error) {
	defer s.partyMu.lock(party)()
	var r registryRec
	if err := s.get(key('r', party[:]), &r); err != nil && !errors.Is(err, attesta.ErrNotFound) {
		return 0, err
	}
	if r.Version != version {
		return 0, attesta.ErrVersionConflict
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, key('r', party[:]), registryRec{Version: version + 1, Block: block}); err != nil {
		return 0, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, err
	}
	return version + 1, nil
}

func (s *Store) Registry(ctx context.Context, party attesta.PartyID) ([]byte, uint64, error) {
	var r registryRec
	if err := s.get(key('r', party[:]), &r); err != nil {
		return nil, 0, err
	}
	return r.Block, r.Version, nil
}
