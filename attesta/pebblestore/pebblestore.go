// Package pebblestore is Attesta's embedded Store: one directory, one
// process, no server, over github.com/cockroachdb/pebble.
//
// # Atomicity and durability
//
// Every protocol step is one Pebble batch, committed with pebble.Sync (a
// redemption, which records the token as used, creates the party, indexes
// its key and stores the session; a ban; an application change; a logout;
// a budget spent), so acknowledged means on disk. Only Collect commits
// without sync: what it deleted may come back after a crash, expired, and
// is collected again.
//
// Pebble has no transactions, so read-check-write steps hold a lock on the
// exact token hash, key id or budget key they decide about (never a
// stripe: two unrelated connects must not wait for each other's fsync),
// from the read to the commit; a redemption takes the token's lock, then,
// only to create a party, the key's. Unrelated steps run concurrently and
// Pebble groups their synced commits. One process holds the directory
// (Pebble's lock file), so these locks are all the atomicity needs.
//
// # Layout
//
//	'a' name               -> app record
//	'A' token hash         -> app name
//	'b' key id             -> ban time
//	'u' token hash         -> expiry of a redeemed (used) challenge token
//	'g' budget key         -> the budget's TAT (see attesta.Limit)
//	'o' once key           -> expiry of a used-once mark
//	'k' key id             -> party id
//	'p' party id           -> party record
//	'P' party id, key id   -> party key record
//	's' session hash       -> session record
//	'x' expiry, kind, hash -> nothing (expiry index; kind 'u', 's', 'g' or 'o')
//	'i' identifier hash    -> identifier record (active or quarantined)
//	'I' party id, id hash  -> nothing (a party's identifiers)
//	'v' party id, id hash  -> pending verification record
//	'r' party id           -> registry record (version, block)
//	'y', 'q', 'w'          -> instance keys, entitlements, sealed service keys (instances.go)
//
// Times are Unix nanoseconds; the expiry index is big-endian so that a
// range scan up to now finds exactly what has expired.
package pebblestore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
)

// cacheSize is the Pebble block cache of a store.
const cacheSize = 64 << 20

// ErrLocked reports that another process (a running server) holds the
// data directory.
var ErrLocked = errors.New("pebblestore: data directory is in use by another process")

// Store is a Store over one Pebble directory.
type Store struct {
	db       *pebble.DB
	tokenMu  keyedMutex[attesta.Hash]
	budgetMu keyedMutex[attesta.Hash] // budget and once keys
	sessMu   keyedMutex[attesta.Hash]
	keyMu    keyedMutex[attesta.KeyID]
	partyMu  keyedMutex[attesta.PartyID]
	identMu  keyedMutex[attesta.Hash]
	recMu    keyedMutex[string] // instance, entitlement and service key records (instances.go)
	appMu    sync.Mutex
	close    sync.Once
	closeErr error
}

var _ attesta.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir. It fails with ErrLocked
// if another process has it open.
func Open(dir string) (*Store, error) {
	// A block cache that holds the indexes and hot blocks of a store of
	// millions of parties (Pebble's default, 8 MiB, does not: logins got
	// slower from 100k parties on).
	cache := pebble.NewCache(cacheSize)
	defer cache.Unref()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}, Cache: cache})
	if err != nil {
		// Another process: flock fails with EAGAIN. This process: Pebble
		// says so in words.
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "lock held") {
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		return nil, err
	}
	return &Store{db: db, tokenMu: newKeyedMutex[attesta.Hash](), budgetMu: newKeyedMutex[attesta.Hash](), sessMu: newKeyedMutex[attesta.Hash](), keyMu: newKeyedMutex[attesta.KeyID](),
		partyMu: newKeyedMutex[attesta.PartyID](), identMu: newKeyedMutex[attesta.Hash](), recMu: newKeyedMutex[string]()}, nil
}

// Close flushes and closes the store. Closing twice is harmless.
func (s *Store) Close() error {
	s.close.Do(func() { s.closeErr = s.db.Close() })
	return s.closeErr
}

// DB exposes the Pebble handle, for metrics and tools.
func (s *Store) DB() *pebble.DB { return s.db }

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// Records, as CBOR arrays.
type appRec struct {
	_         struct{} `cbor:",toarray"`
	TokenHash []byte
	Created   int64
	Revoked   int64
}

type partyRec struct {
	_       struct{} `cbor:",toarray"`
	Created int64
}

type partyKeyRec struct {
	_     struct{} `cbor:",toarray"`
	Type  uint8
	Added int64
}

type sessionRec struct {
	_       struct{} `cbor:",toarray"`
	Party   []byte
	KeyID   []byte
	App     string
	Expires int64
}

func key(prefix byte, parts ...[]byte) []byte {
	n := 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, prefix)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// prefixEnd is the smallest key above every key that starts with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i]++; end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

func expiryKey(t time.Time, kind byte, h []byte) []byte {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(t.UnixNano()))
	return key('x', ts[:], []byte{kind}, h)
}

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

// get reads and decodes one record; ErrNotFound if absent.
func (s *Store) get(k []byte, v any) error {
	val, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return attesta.ErrNotFound
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	if v == nil {
		return nil
	}
	if err := cborx.Decode(val, v); err != nil {
		return fmt.Errorf("pebblestore: corrupt record %q: %w", k[:1], err)
	}
	return nil
}

// getRaw returns a copy of a raw value.
func (s *Store) getRaw(k []byte) ([]byte, error) {
	val, closer, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, attesta.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), val...), nil
}

func set(b *pebble.Batch, k []byte, v any) error {
	enc, err := cborx.Marshal(v)
	if err != nil {
		return err
	}
	return b.Set(k, enc, nil)
}

func (s *Store) CreateApp(ctx context.Context, app attesta.App) error {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	if err := s.get(key('a', []byte(app.Name)), nil); err == nil {
		return attesta.ErrAppExists
	} else if !errors.Is(err, attesta.ErrNotFound) {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, key('a', []byte(app.Name)), appRec{TokenHash: app.TokenHash[:], Created: nanos(app.Created)}); err != nil {
		return err
	}
	if err := b.Set(key('A', app.TokenHash[:]), []byte(app.Name), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) app(name string) (attesta.App, error) {
	var r appRec
	if err := s.get(key('a', []byte(name)), &r); err != nil {
		return attesta.App{}, err
	}
	a := attesta.App{Name: name, Created: fromNanos(r.Created), Revoked: fromNanos(r.Revoked)}
	copy(a.TokenHash[:], r.TokenHash)
	return a, nil
}

func (s *Store) App(ctx context.Context, name string) (attesta.App, error) { return s.app(name) }

func (s *Store) AppByToken(ctx context.Context, h attesta.Hash) (attesta.App, error) {
	name, err := s.getRaw(key('A', h[:]))
	if err != nil {
		return attesta.App{}, err
	}
	return s.app(string(name))
}

func (s *Store) Apps(ctx context.Context) ([]attesta.App, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'a'}, UpperBound: []byte{'a' + 1}})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var apps []attesta.App
	for it.First(); it.Valid(); it.Next() {
		a, err := s.app(string(it.Key()[1:]))
		if err != nil {
			return nil, err
		}
		apps = append(apps, a)
	}
	return apps, it.Error()
}

func (s *Store) RevokeApp(ctx context.Context, name string, at time.Time) error {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	a, err := s.app(name)
	if errors.Is(err, attesta.ErrNotFound) {
		return attesta.ErrAppNotFound
	} else if err != nil {
		return err
	}
	if !a.Active() {
		return nil
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, key('a', []byte(name)), appRec{TokenHash: a.TokenHash[:], Created: nanos(a.Created), Revoked: nanos(at)}); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) BanKey(ctx context.Context, id attesta.KeyID, at time.Time) error {
	defer s.keyMu.lock(id)()
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, key('b', id[:]), nanos(at)); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) KeyBanned(ctx context.Context, id attesta.KeyID) (bool, error) {
	err := s.get(key('b', id[:]), nil)
	if errors.Is(err, attesta.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) RedeemChallenge(ctx context.Context, r attesta.Redemption) (attesta.Redeemed, error) {
	c := r.Challenge
	defer s.tokenMu.lock(c.TokenHash)()
	uk := key('u', c.TokenHash[:])
	if err := s.get(uk, nil); err == nil {
		return attesta.Redeemed{}, attesta.ErrChallengeUnknown
	} else if !errors.Is(err, attesta.ErrNotFound) {
		return attesta.Redeemed{}, err
	}
	kid := c.KeyID
	b := s.db.NewBatch()
	defer b.Close()
	if err := set(b, uk, nanos(c.ExpiresAt)); err != nil {
		return attesta.Redeemed{}, err
	}
	if err := b.Set(expiryKey(c.ExpiresAt, 'u', c.TokenHash[:]), nil, nil); err != nil {
		return attesta.Redeemed{}, err
	}
	if banned, err := s.KeyBanned(ctx, kid); err != nil {
		return attesta.Redeemed{}, err
	} else if banned {
		if err := b.Commit(pebble.Sync); err != nil {
			return attesta.Redeemed{}, err
		}
		return attesta.Redeemed{}, attesta.ErrKeyBanned
	}
	out := attesta.Redeemed{Challenge: c}
	pid, err := s.getRaw(key('k', kid[:]))
	if errors.Is(err, attesta.ErrNotFound) {
		// A new key: hold its lock to the commit, so that concurrent
		// first connects of one key make one party; look again under it.
		defer s.keyMu.lock(kid)()
		pid, err = s.getRaw(key('k', kid[:]))
	}
	switch {
	case err == nil && len(pid) == len(out.PartyID):
		copy(out.PartyID[:], pid)
	case errors.Is(err, attesta.ErrNotFound):
		out.PartyID, out.IsNew = r.NewParty, true
		if err := set(b, key('p', out.PartyID[:]), partyRec{Created: nanos(r.Now)}); err != nil {
			return attesta.Redeemed{}, err
		}
		if err := set(b, key('P', out.PartyID[:], kid[:]), partyKeyRec{Type: uint8(c.KeyType), Added: nanos(r.Now)}); err != nil {
			return attesta.Redeemed{}, err
		}
		if err := b.Set(key('k', kid[:]), out.PartyID[:], nil); err != nil {
			return attesta.Redeemed{}, err
		}
	case err == nil:
		return attesta.Redeemed{}, fmt.Errorf("pebblestore: corrupt key index")
	default:
		return attesta.Redeemed{}, err
	}
	sess := r.Session
	if err := set(b, key('s', sess.Hash[:]), sessionRec{Party: out.PartyID[:], KeyID: kid[:], App: c.App, Expires: nanos(sess.ExpiresAt)}); err != nil {
		return attesta.Redeemed{}, err
	}
	if err := b.Set(expiryKey(sess.ExpiresAt, 's', sess.Hash[:]), nil, nil); err != nil {
		return attesta.Redeemed{}, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return attesta.Redeemed{}, err
	}
	return out, nil
}

// RedeemedTokens counts the 'u' records: a scan of their keys, in a
// consistent view of the database at the start.
func (s *Store) RedeemedTokens(ctx context.Context) (int, error) {
	prefix := []byte{'u'}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	return n, it.Error()
}

func (s *Store) Party(ctx context.Context, id attesta.PartyID) (attesta.Party, error) {
	var r partyRec
	if err := s.get(key('p', id[:]), &r); err != nil {
		return attesta.Party{}, err
	}
	p := attesta.Party{ID: id, Created: fromNanos(r.Created)}
	prefix := key('P', id[:])
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return attesta.Party{}, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		var kr partyKeyRec
		if err := cborx.Decode(it.Value(), &kr); err != nil {
			return attesta.Party{}, fmt.Errorf("pebblestore: corrupt party key: %w", err)
		}
		pk := attesta.PartyKey{Type: attesta.KeyType(kr.Type), Added: fromNanos(kr.Added)}
		copy(pk.ID[:], it.Key()[len(prefix):])
		p.Keys = append(p.Keys, pk)
	}
	return p, it.Error()
}

func (s *Store) Session(ctx context.Context, h attesta.Hash) (attesta.Session, error) {
	var r sessionRec
	if err := s.get(key('s', h[:]), &r); err != nil {
		return attesta.Session{}, err
	}
	sess := attesta.Session{Hash: h, App: r.App, ExpiresAt: fromNanos(r.Expires)}
	copy(sess.PartyID[:], r.Party)
	copy(sess.KeyID[:], r.KeyID)
	return sess, nil
}

func (s *Store) DeleteSession(ctx context.Context, h attesta.Hash) error {
	defer s.sessMu.lock(h)()
	var r sessionRec
	err := s.get(key('s', h[:]), &r)
	if errors.Is(err, attesta.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(key('s', h[:]), nil); err != nil {
		return err
	}
	if err := b.Delete(expiryKey(fromNanos(r.Expires), 's', h[:]), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// Collect removes what expired before now, in batches of at most 1000
// records, each committed without sync (a collected record that comes back
// after a crash is expired and is collected again).
func (s *Store) Collect(ctx context.Context, now time.Time) (int, error) {
	// Expired means ExpiresAt <= now, as Authenticate and RedeemChallenge see it.
	upper := expiryKey(now.Add(time.Nanosecond), 0, nil)
	n := 0
	for {
		done, err := s.collectSome(upper, now, 1000, &n)
		if err != nil || done {
			return n, err
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
	}
}

func (s *Store) collectSome(upper []byte, now time.Time, limit int, n *int) (done bool, err error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'x'}, UpperBound: upper})
	if err != nil {
		return false, err
	}
	var keys [][]byte
	for it.First(); it.Valid() && len(keys) < limit; it.Next() {
		keys = append(keys, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return false, err
	}
	if len(keys) == 0 {
		return true, nil
	}
	for _, k := range keys {
		if len(k) != 1+8+1+32 {
			continue
		}
		var h attesta.Hash
		copy(h[:], k[10:])
		removed := false
		switch k[9] {
		case 'u':
			removed, err = s.collectExpiring(&s.tokenMu, 'u', h, k, now)
		case 's':
			removed, err = s.collectSession(h, k)
		case 'g', 'o':
			removed, err = s.collectExpiring(&s.budgetMu, k[9], h, k, now)
		}
		if err != nil {
			return false, err
		}
		if removed {
			*n++
		}
	}
	return len(keys) < limit, nil
}

// collectExpiring deletes the record prefix+h if what it holds (an expiry
// or a budget's TAT) is at or before now, and the index entry xk, under the
// record's lock, and reports whether it removed the record. Under that
// lock it first checks that xk is still there: another Collect may have
// removed both already (the record is then counted by that one only), or
// a Spend or UseOnce may have moved the record's time and its index entry
// since the index was read (the record is then not expired).
func (s *Store) collectExpiring(mu *keyedMutex[attesta.Hash], prefix byte, h attesta.Hash, xk []byte, now time.Time) (bool, error) {
	defer mu.lock(h)()
	if err := s.get(xk, nil); errors.Is(err, attesta.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	removed := false
	var at int64
	switch err := s.get(key(prefix, h[:]), &at); {
	case err == nil && at <= now.UnixNano():
		if err := b.Delete(key(prefix, h[:]), nil); err != nil {
			return false, err
		}
		removed = true
	case err != nil && !errors.Is(err, attesta.ErrNotFound):
		return false, err
	}
	if err := b.Delete(xk, nil); err != nil {
		return false, err
	}
	return removed, b.Commit(pebble.NoSync)
}

// collectSession deletes an expired session and its index entry xk under
// the session's lock, if xk is still there (another Collect or a
// DeleteSession may have been first).
func (s *Store) collectSession(h attesta.Hash, xk []byte) (bool, error) {
	defer s.sessMu.lock(h)()
	if err := s.get(xk, nil); errors.Is(err, attesta.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(key('s', h[:]), nil); err != nil {
		return false, err
	}
	if err := b.Delete(xk, nil); err != nil {
		return false, err
	}
	return true, b.Commit(pebble.NoSync)
}

// keyedMutex is a lock per key value, made on demand and dropped when no
// one holds or waits for it.
type keyedMutex[K comparable] struct {
	mu sync.Mutex
	m  map[K]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func newKeyedMutex[K comparable]() keyedMutex[K] {
	return keyedMutex[K]{m: make(map[K]*keyedEntry)}
}

// lock locks k and returns the function that unlocks it.
func (km *keyedMutex[K]) lock(k K) (unlock func()) {
	km.mu.Lock()
	e := km.m[k]
	if e == nil {
		e = &keyedEntry{}
		km.m[k] = e
	}
	e.refs++
	km.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		km.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(km.m, k)
		}
		km.mu.Unlock()
	}
}

func (s *Store) Spend(ctx context.Context, now time.Time, spends ...attesta.Spend) error {
	// Lock every key, in one order so that two Spends cannot deadlock.
	keys := make([]attesta.Hash, len(spends))
	for i, sp := range spends {
		keys[i] = sp.Key
	}
	slices.SortFunc(keys, func(a, b attesta.Hash) int { return bytes.Compare(a[:], b[:]) })
	for i, k := range keys {
		if i > 0 && k == keys[i-1] {
			return fmt.Errorf("pebblestore: Spend: one key twice")
		}
		defer s.budgetMu.lock(k)()
	}
	b := s.db.NewBatch()
	defer b.Close()
	for i, sp := range spends {
		k := sp.Key
		var tat int64
		if err := s.get(key('g', k[:]), &tat); err != nil && !errors.Is(err, attesta.ErrNotFound) {
			return err
		}
		next, err := sp.Limit.Spend(fromNanos(tat), sp.Cost, now)
		if be := (*attesta.BudgetError)(nil); errors.As(err, &be) {
			be.Spend = i
			return be
		} else if err != nil {
			return err
		}
		if tat != 0 {
			if err := b.Delete(expiryKey(fromNanos(tat), 'g', k[:]), nil); err != nil {
				return err
			}
		}
		if err := set(b, key('g', k[:]), nanos(next)); err != nil {
			return err
		}
		if err := b.Set(expiryKey(next, 'g', k[:]), nil, nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) Refill(ctx context.Context, k attesta.Hash) error {
	defer s.budgetMu.lock(k)()
	var tat int64
	switch err := s.get(key('g', k[:]), &tat); {
	case errors.Is(err, attesta.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if err := b.Delete(key('g', k[:]), nil); err != nil {
		return err
	}
	if err := b.Delete(expiryKey(fromNanos(tat), 'g', k[:]), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func (s *Store) UseOnce(ctx context.Context, k attesta.Hash, expires, now time.Time) error {
	defer s.budgetMu.lock(k)()
	var at int64
	switch err := s.get(key('o', k[:]), &at); {
	case err == nil && at > now.UnixNano():
		return attesta.ErrAlreadyUsed
	case err != nil && !errors.Is(err, attesta.ErrNotFound):
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	if at != 0 {
		if err := b.Delete(expiryKey(fromNanos(at), 'o', k[:]), nil); err != nil {
			return err
		}
	}
	if err := set(b, key('o', k[:]), nanos(expires)); err != nil {
		return err
	}
	if err := b.Set(expiryKey(expires, 'o', k[:]), nil, nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}
