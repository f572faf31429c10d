// Package storetest is the one conformance suite every attesta.Store
// passes: each promise of the Store documentation, tested through the
// Store methods alone, the same way on every implementation.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{Open: open, Reopen: reopen})
//	}
//
// # What it holds a store to
//
// Every method and every promise in attesta/store.go: applications,
// bans, the redemption of a challenge (used once among concurrent
// redemptions, the party, its key index and the session made together, a
// ban refusing but still recording the token), sessions, what Collect
// removes (exactly what expired, once, never what a concurrent Spend or
// UseOnce renewed), identifiers, the registry's compare-and-swap, budgets
// and used-once marks, application instances, entitlements and the
// service-key vault, and a restart that keeps everything. Concurrency
// tests run many goroutines at once and, when the harness can open a
// second handle on the same data (a second server's connection pool),
// spread them over both handles; run the suite with -race.
//
// # Time
//
// Every time the suite passes is an injected value around a fixed instant
// (with a nanosecond part, so that a store that rounds times fails); no
// test reads the wall clock, so none can fail by timing.
//
// # Adding a section
//
// A feature that adds Store methods adds one file here with a function
// func(*testing.T, *env) and one line in sections below: then every store
// runs it.
package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/rnd"
)

// Harness opens the store under test.
type Harness struct {
	// Open opens a fresh, empty store for t and closes it when t ends
	// (t.Cleanup). Required.
	Open func(t testing.TB) attesta.Store
	// Reopen closes st and opens the same data again, as a restarted
	// server does, closing the new store when t ends. Required.
	Reopen func(t testing.TB, st attesta.Store) attesta.Store
	// Share opens a second handle on st's data that works alongside st,
	// as a second server process does (PostgreSQL: a second connection
	// pool), closed when t ends. Nil for a store that one process holds
	// alone (Pebble): the concurrency tests then use st for both.
	Share func(t testing.TB, st attesta.Store) attesta.Store
}

// sections are the suite's parts, one file each.
var sections = []struct {
	name string
	run  func(*testing.T, *env)
}{
	{"Apps", testApps},
	{"Bans", testBans},
	{"Redeem", testRedeem},
	{"RedeemConcurrent", testRedeemConcurrent},
	{"RedeemedTokens", testRedeemedTokens},
	{"Sessions", testSessions},
	{"Collect", testCollect},
	{"CollectConcurrent", testCollectConcurrent},
	{"Nicknames", testNicknames},
	{"Verification", testVerification},
	{"IdentifiersConcurrent", testIdentifiersConcurrent},
	{"Registry", testRegistry},
	{"Budgets", testBudgets},
	{"BudgetsConcurrent", testBudgetsConcurrent},
	{"Instances", testInstances},
	{"Restart", testRestart},
}

// Run runs the whole suite on the stores h opens. Each section is a
// parallel subtest with a store of its own.
func Run(t *testing.T, h Harness) {
	if h.Open == nil || h.Reopen == nil {
		t.Fatal("storetest: Harness.Open and Harness.Reopen are required")
	}
	for _, s := range sections {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			s.run(t, &env{h: h, st: h.Open(t), ctx: t.Context()})
		})
	}
}

// env is one section's store.
type env struct {
	h      Harness
	st     attesta.Store
	shared attesta.Store // a second handle on st's data, or st
	ctx    context.Context
}

// handles returns the store's handles for a concurrency test: st and a
// second one on the same data if the harness can open one.
func (e *env) handles(t testing.TB) [2]attesta.Store {
	if e.shared == nil {
		e.shared = e.st
		if e.h.Share != nil {
			e.shared = e.h.Share(t, e.st)
		}
	}
	return [2]attesta.Store{e.st, e.shared}
}

// reopen restarts the store; the second handle, if any, goes with it.
func (e *env) reopen(t testing.TB) {
	e.st = e.h.Reopen(t, e.st)
	e.shared = nil
}

// t0 is the suite's "now": a fixed instant with a nanosecond part.
var t0 = time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)

func hash() (h attesta.Hash)       { rnd.Read(h[:]); return h }
func keyID() (k attesta.KeyID)     { rnd.Read(k[:]); return k }
func partyID() (p attesta.PartyID) { rnd.Read(p[:]); return p }

// sameTime asserts two instants are equal (whatever their locations).
func sameTime(t testing.TB, want, got time.Time, msgAndArgs ...any) bool {
	t.Helper()
	return assert.Truef(t, want.Equal(got), "want time %v, got %v %v", want, got, msgAndArgs)
}

// redemption makes a redemption of a fresh token for key kid, expiring
// at exp, whose session expires at sessExp.
func redemption(kid attesta.KeyID, now, exp, sessExp time.Time) attesta.Redemption {
	return attesta.Redemption{
		Challenge: attesta.Challenge{TokenHash: hash(), KeyID: kid, KeyType: attesta.X25519Public, App: "app", ExpiresAt: exp},
		Now:       now,
		NewParty:  partyID(),
		Session:   attesta.Session{Hash: hash(), ExpiresAt: sessExp},
	}
}

// redeem redeems a fresh token for kid at t0 and requires success.
func (e *env) redeem(t testing.TB, st attesta.Store, kid attesta.KeyID) (attesta.Redemption, attesta.Redeemed) {
	t.Helper()
	r := redemption(kid, t0, t0.Add(5*time.Minute), t0.Add(time.Hour))
	out, err := st.RedeemChallenge(e.ctx, r)
	require.NoError(t, err)
	return r, out
}

// race runs f(0) … f(n-1) in n goroutines released at once, and returns
// their errors by index.
func race(n int, f func(i int) error) []error {
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and those matching target; any other error
// fails the test.
func tally(t testing.TB, errs []error, target error) (ok, matched int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, matched
}
