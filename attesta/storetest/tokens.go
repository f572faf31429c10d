package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testRedeemedTokens: RedeemedTokens counts every token recorded as used
// (a new key's, a known key's, a banned key's refused one), not a
// redemption refused as a replay, nor a budget's or a used-once mark's
// record; Collect's removals leave the count; it holds across handles.
func testRedeemedTokens(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	count := func(st attesta.Store) int {
		t.Helper()
		n, err := st.RedeemedTokens(ctx)
		require.NoError(t, err)
		return n
	}
	assert.Equal(t, 0, count(st), "an empty store")

	kid := keyID()
	r, _ := e.redeem(t, st, kid) // a new key
	e.redeem(t, st, kid)         // a known one
	assert.Equal(t, 2, count(st))
	_, err := st.RedeemChallenge(ctx, r)
	require.ErrorIs(t, err, attesta.ErrChallengeUnknown)
	assert.Equal(t, 2, count(st), "a replay records nothing")

	banned := keyID()
	require.NoError(t, st.BanKey(ctx, banned, t0))
	_, err = st.RedeemChallenge(ctx, redemption(banned, t0, t0.Add(5*time.Minute), t0.Add(time.Hour)))
	require.ErrorIs(t, err, attesta.ErrKeyBanned)
	assert.Equal(t, 3, count(st), "a banned key's token is recorded as used")

	require.NoError(t, st.UseOnce(ctx, hash(), t0.Add(time.Hour), t0))
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: hash(), Limit: attesta.Limit{Burst: 2, Every: time.Hour}, Cost: 1}))
	assert.Equal(t, 3, count(st), "used-once marks and budgets are not redeemed tokens")
	assert.Equal(t, 3, count(e.handles(t)[1]), "the same count on another handle")

	// Expired but not collected: still held. Collected: gone.
	late := redemption(keyID(), t0, t0.Add(10*time.Minute), t0.Add(time.Hour))
	_, err = st.RedeemChallenge(ctx, late)
	require.NoError(t, err)
	assert.Equal(t, 4, count(st))
	_, err = st.Collect(ctx, t0.Add(6*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, count(st), "the three tokens expired at t0+5m are collected, the later one held")
}
