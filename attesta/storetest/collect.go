package storetest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testCollect: Collect removes exactly what expired at or before now
// (used tokens, sessions, full budgets, used-once marks), each once, and
// nothing else; what was renewed, deleted or refilled is not counted.
func testCollect(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	t1, t3 := t0.Add(time.Hour), t0.Add(3*time.Hour)
	kid := keyID()

	// Per deadline: a used token and a session (one redemption), a budget
	// whose TAT is the deadline, a used-once mark expiring then.
	var sessions [2]attesta.Hash
	for i, at := range []time.Time{t1, t3} {
		r := redemption(kid, t0, at, at)
		_, err := st.RedeemChallenge(ctx, r)
		require.NoError(t, err)
		sessions[i] = r.Session.Hash
		require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: hash(), Limit: attesta.Limit{Burst: 1, Every: at.Sub(t0)}, Cost: 1}))
		require.NoError(t, st.UseOnce(ctx, hash(), at, t0))
	}
	// Records that leave before t1, or move past it, count for nothing.
	gone := redemption(kid, t0, t3, t1)
	_, err := st.RedeemChallenge(ctx, gone) // its token counts at t3
	require.NoError(t, err)
	require.NoError(t, st.DeleteSession(ctx, gone.Session.Hash))
	refilled := hash()
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: refilled, Limit: attesta.Limit{Burst: 1, Every: time.Hour}, Cost: 1}))
	require.NoError(t, st.Refill(ctx, refilled))
	renewed, renewedOnce := hash(), hash()
	hourly := attesta.Limit{Burst: 2, Every: time.Hour}
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: renewed, Limit: hourly, Cost: 1})) // TAT t1
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: renewed, Limit: hourly, Cost: 1})) // TAT t0+2h
	require.NoError(t, st.UseOnce(ctx, renewedOnce, t1, t0))                                   // until t1
	require.NoError(t, st.UseOnce(ctx, renewedOnce, t0.Add(2*time.Hour), t1))                  // renewed at t1, until t0+2h

	// Keepers: never collected.
	app := attesta.App{Name: "keeper", TokenHash: hash(), Created: t0}
	require.NoError(t, st.CreateApp(ctx, app))
	banned := keyID()
	require.NoError(t, st.BanKey(ctx, banned, t0))
	party, _ := e.redeemAt(t, st, keyID(), t0.Add(time.Minute))
	nick := hash()
	require.NoError(t, st.AddNickname(ctx, party, nick, "ni***", 5, t0))
	_, err = st.PutRegistry(ctx, party, []byte("block"), 0)
	require.NoError(t, err)

	collect := func(now time.Time, want int, what string) {
		t.Helper()
		n, err := st.Collect(ctx, now)
		require.NoError(t, err)
		assert.Equal(t, want, n, what)
	}
	collect(t0, 0, "nothing has expired at t0")
	collect(t1.Add(-time.Nanosecond), 1, "a nanosecond before t1, only the keeper party's token (t0+1m+5m)")
	// At t1: the first redemption's token and session, a budget, a mark.
	collect(t1, 4, "what expired at t1")
	collect(t1, 0, "each record is collected once")
	_, err = st.Session(ctx, sessions[0])
	assert.ErrorIs(t, err, attesta.ErrNotFound, "an expired session is collected")
	_, err = st.Session(ctx, sessions[1])
	assert.NoError(t, err, "a live session stays")
	_, err = st.RedeemChallenge(ctx, gone)
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "a used token stays used until it expires")
	// The renewed budget and mark survived t1.
	assert.ErrorIs(t, st.Spend(ctx, t1, attesta.Spend{Key: renewed, Limit: hourly, Cost: 2}), attesta.ErrBudgetExhausted, "a budget spent again is kept")
	assert.ErrorIs(t, st.UseOnce(ctx, renewedOnce, t3, t1), attesta.ErrAlreadyUsed, "a renewed mark is kept")

	// At t0+2h: the renewed budget and mark, the keeper party's session
	// (t0+1m+1h).
	collect(t0.Add(2*time.Hour), 3, "the renewed budget and mark at their new time")
	// At t3: the second redemption's token and session, a budget, a mark,
	// and the deleted session's token.
	collect(t3, 5, "what expired at t3")
	collect(t3.Add(24*time.Hour), 0, "nothing is left to collect")

	a, err := st.App(ctx, app.Name)
	require.NoError(t, err, "applications are not collected")
	assert.Equal(t, app.TokenHash, a.TokenHash)
	isBanned, err := st.KeyBanned(ctx, banned)
	require.NoError(t, err)
	assert.True(t, isBanned, "bans are not collected")
	p, err := st.Party(ctx, party)
	require.NoError(t, err, "parties are not collected")
	assert.Len(t, p.Keys, 1)
	got, err := st.PartyByIdentifier(ctx, nick)
	require.NoError(t, err, "identifiers are not collected")
	assert.Equal(t, party, got)
	_, v, err := st.Registry(ctx, party)
	require.NoError(t, err, "registries are not collected")
	assert.Equal(t, uint64(1), v)
}

// redeemAt redeems a fresh token for kid at now and returns the party.
func (e *env) redeemAt(t testing.TB, st attesta.Store, kid attesta.KeyID, now time.Time) (attesta.PartyID, attesta.Redemption) {
	t.Helper()
	r := redemption(kid, now, now.Add(5*time.Minute), now.Add(time.Hour))
	out, err := st.RedeemChallenge(e.ctx, r)
	require.NoError(t, err)
	return out.PartyID, r
}

// testCollectConcurrent: Collect calls from two handles at once remove
// each expired record once (their counts add up to the number of
// records); a Collect racing a Spend or UseOnce that renews an expired
// record never removes the renewed record.
func testCollectConcurrent(t *testing.T, e *env) {
	ctx := e.ctx
	hs := e.handles(t)
	t1 := t0.Add(time.Hour)
	const each = 30
	for range each {
		// A used token and a session, a budget, a mark: four records.
		_, err := e.st.RedeemChallenge(ctx, redemption(keyID(), t0, t1, t1))
		require.NoError(t, err)
		require.NoError(t, e.st.Spend(ctx, t0, attesta.Spend{Key: hash(), Limit: attesta.Limit{Burst: 1, Every: time.Hour}, Cost: 1}))
		require.NoError(t, e.st.UseOnce(ctx, hash(), t1, t0))
	}
	var total atomic.Int64
	errs := race(6, func(i int) error {
		n, err := hs[i%2].Collect(ctx, t1)
		total.Add(int64(n))
		return err
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int64(4*each), total.Load(), "concurrent Collects removed each record once")
	n, err := e.st.Collect(ctx, t1)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left")

	// Renewals racing collections. Each budget holds 1 of 2 units until
	// t1; at t1 it is full (collectable) and is spent in full, so that a
	// further unit must be refused: unless a Collect dropped the renewed
	// budget. Each mark expires at t1 and is renewed at t1.
	l := attesta.Limit{Burst: 2, Every: time.Hour}
	budgets, marks := make([]attesta.Hash, each), make([]attesta.Hash, each)
	for i := range each {
		budgets[i], marks[i] = hash(), hash()
		require.NoError(t, e.st.Spend(ctx, t0, attesta.Spend{Key: budgets[i], Limit: l, Cost: 1}))
		require.NoError(t, e.st.UseOnce(ctx, marks[i], t1, t0))
	}
	errs = race(2*each+4, func(i int) error {
		st := hs[i%2]
		switch {
		case i < each:
			return st.Spend(ctx, t1, attesta.Spend{Key: budgets[i], Limit: l, Cost: 2})
		case i < 2*each:
			return st.UseOnce(ctx, marks[i-each], t1.Add(time.Hour), t1)
		default:
			_, err := st.Collect(ctx, t1)
			return err
		}
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	for i := range each {
		assert.ErrorIs(t, e.st.Spend(ctx, t1, attesta.Spend{Key: budgets[i], Limit: l, Cost: 1}), attesta.ErrBudgetExhausted, "budget %d renewed during a Collect", i)
		assert.ErrorIs(t, e.st.UseOnce(ctx, marks[i], t1.Add(time.Hour), t1), attesta.ErrAlreadyUsed, "mark %d renewed during a Collect", i)
	}
}
