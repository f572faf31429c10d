package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testRedeem: a first redemption makes the party, its key and the
// session; a second token of the key logs in to that party; a token works
// once; a banned key is refused and its token still recorded; Party.
func testRedeem(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	kid := keyID()
	r := redemption(kid, t0, t0.Add(5*time.Minute), t0.Add(24*time.Hour))
	r.Challenge.KeyType = attesta.MLKEM768X25519Public
	out, err := st.RedeemChallenge(ctx, r)
	require.NoError(t, err)
	assert.True(t, out.IsNew)
	assert.Equal(t, r.NewParty, out.PartyID)
	assert.Equal(t, r.Challenge, out.Challenge)

	// The party, its key index and the session, together.
	p, err := st.Party(ctx, r.NewParty)
	require.NoError(t, err)
	assert.Equal(t, r.NewParty, p.ID)
	sameTime(t, t0, p.Created)
	require.Len(t, p.Keys, 1)
	assert.Equal(t, kid, p.Keys[0].ID)
	assert.Equal(t, attesta.MLKEM768X25519Public, p.Keys[0].Type)
	sameTime(t, t0, p.Keys[0].Added)
	sess, err := st.Session(ctx, r.Session.Hash)
	require.NoError(t, err)
	assert.Equal(t, r.Session.Hash, sess.Hash)
	assert.Equal(t, r.NewParty, sess.PartyID, "the store fills the party")
	assert.Equal(t, kid, sess.KeyID, "the store fills the key")
	assert.Equal(t, "app", sess.App, "the store fills the app")
	sameTime(t, t0.Add(24*time.Hour), sess.ExpiresAt)

	// The same token again: refused, and nothing of the second attempt
	// stored.
	again := r
	again.NewParty, again.Session.Hash = partyID(), hash()
	_, err = st.RedeemChallenge(ctx, again)
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown)
	_, err = st.Session(ctx, again.Session.Hash)
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	_, err = st.Party(ctx, again.NewParty)
	assert.ErrorIs(t, err, attesta.ErrNotFound)

	// Another token of the same key: the same party, a new session, and
	// NewParty is not made.
	r2 := redemption(kid, t0.Add(time.Minute), t0.Add(6*time.Minute), t0.Add(25*time.Hour))
	out2, err := st.RedeemChallenge(ctx, r2)
	require.NoError(t, err)
	assert.False(t, out2.IsNew)
	assert.Equal(t, r.NewParty, out2.PartyID)
	_, err = st.Party(ctx, r2.NewParty)
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	sess, err = st.Session(ctx, r2.Session.Hash)
	require.NoError(t, err)
	assert.Equal(t, r.NewParty, sess.PartyID)
	p, err = st.Party(ctx, r.NewParty)
	require.NoError(t, err)
	assert.Len(t, p.Keys, 1, "a known key is not added twice")
	sameTime(t, t0, p.Keys[0].Added, "a login does not change the key's record")

	// A second key makes a second party.
	_, out3 := e.redeem(t, st, keyID())
	assert.True(t, out3.IsNew)
	assert.NotEqual(t, out.PartyID, out3.PartyID)

	// A banned key: refused, for a new key and a known one, with nothing
	// made, and the token recorded as used.
	for _, known := range []bool{false, true} {
		k := keyID()
		if known {
			e.redeem(t, st, k)
		}
		require.NoError(t, st.BanKey(ctx, k, t0))
		b := redemption(k, t0, t0.Add(5*time.Minute), t0.Add(time.Hour))
		_, err = st.RedeemChallenge(ctx, b)
		assert.ErrorIs(t, err, attesta.ErrKeyBanned, "known %v", known)
		_, err = st.Session(ctx, b.Session.Hash)
		assert.ErrorIs(t, err, attesta.ErrNotFound, "no session for a banned key")
		_, err = st.Party(ctx, b.NewParty)
		assert.ErrorIs(t, err, attesta.ErrNotFound, "no party for a banned key")
		_, err = st.RedeemChallenge(ctx, b)
		assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "the refused token was recorded as used")
	}

	_, err = st.Party(ctx, partyID())
	assert.ErrorIs(t, err, attesta.ErrNotFound)
}

// testRedeemConcurrent: of 100 concurrent redemptions of one token,
// exactly one succeeds and stores its session; concurrent first connects
// of one key with distinct tokens make one party.
func testRedeemConcurrent(t *testing.T, e *env) {
	ctx := e.ctx
	hs := e.handles(t)

	base := redemption(keyID(), t0, t0.Add(5*time.Minute), t0.Add(time.Hour))
	rs := make([]attesta.Redemption, 100)
	for i := range rs {
		rs[i] = base
		rs[i].NewParty, rs[i].Session.Hash = partyID(), hash()
	}
	errs := race(len(rs), func(i int) error {
		_, err := hs[i%2].RedeemChallenge(ctx, rs[i])
		return err
	})
	ok, refused := tally(t, errs, attesta.ErrChallengeUnknown)
	assert.Equal(t, 1, ok, "one redemption of a token wins")
	assert.Equal(t, 99, refused)
	for i, r := range rs {
		_, err := e.st.Session(ctx, r.Session.Hash)
		_, perr := e.st.Party(ctx, r.NewParty)
		if errs[i] == nil {
			assert.NoError(t, err, "the winner's session")
			assert.NoError(t, perr, "the winner's party")
		} else {
			assert.ErrorIs(t, err, attesta.ErrNotFound, "a loser's session")
			assert.ErrorIs(t, perr, attesta.ErrNotFound, "a loser's party")
		}
	}

	// First connects of one key, each with its own token.
	kid := keyID()
	rs = make([]attesta.Redemption, 16)
	for i := range rs {
		rs[i] = redemption(kid, t0, t0.Add(5*time.Minute), t0.Add(time.Hour))
	}
	outs := make([]attesta.Redeemed, len(rs))
	errs = race(len(rs), func(i int) (err error) {
		outs[i], err = hs[i%2].RedeemChallenge(ctx, rs[i])
		return err
	})
	parties, news := map[attesta.PartyID]bool{}, 0
	for i, err := range errs {
		if !assert.NoError(t, err) {
			continue
		}
		parties[outs[i].PartyID] = true
		if outs[i].IsNew {
			news++
		}
		sess, err := e.st.Session(ctx, rs[i].Session.Hash)
		if assert.NoError(t, err) {
			assert.Equal(t, outs[i].PartyID, sess.PartyID)
		}
	}
	assert.Equal(t, 1, news, "one of the first connects is new")
	require.Len(t, parties, 1, "one key, one party")
	for id := range parties {
		p, err := e.st.Party(ctx, id)
		require.NoError(t, err)
		assert.Len(t, p.Keys, 1)
	}
}

// testSessions: Session returns a session whatever its expiry (the
// caller judges it); DeleteSession removes one and is idempotent.
func testSessions(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	_, err := st.Session(ctx, hash())
	assert.ErrorIs(t, err, attesta.ErrNotFound)

	r := redemption(keyID(), t0, t0.Add(5*time.Minute), t0.Add(time.Nanosecond))
	_, err = st.RedeemChallenge(ctx, r)
	require.NoError(t, err)
	sess, err := st.Session(ctx, r.Session.Hash)
	require.NoError(t, err, "an expired session is still returned until collected")
	sameTime(t, t0.Add(time.Nanosecond), sess.ExpiresAt)

	require.NoError(t, st.DeleteSession(ctx, r.Session.Hash))
	_, err = st.Session(ctx, r.Session.Hash)
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	assert.NoError(t, st.DeleteSession(ctx, r.Session.Hash), "deleting twice")
	assert.NoError(t, st.DeleteSession(ctx, hash()), "deleting a session never stored")

	// A deleted session is not collected (nor counted) later.
	n, err := st.Collect(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the used token")

	// Deleting one session leaves the party's others.
	kid := keyID()
	a, _ := e.redeem(t, st, kid)
	b, _ := e.redeem(t, st, kid)
	require.NoError(t, st.DeleteSession(ctx, a.Session.Hash))
	_, err = st.Session(ctx, b.Session.Hash)
	assert.NoError(t, err)
}
