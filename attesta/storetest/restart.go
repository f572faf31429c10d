package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testRestart: closing the store and opening the same data again keeps
// every kind of record, and what was collected stays collected.
func testRestart(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	t1 := t0.Add(time.Hour)

	live := attesta.App{Name: "live", TokenHash: hash(), Created: t0}
	dead := attesta.App{Name: "dead", TokenHash: hash(), Created: t0}
	require.NoError(t, st.CreateApp(ctx, live))
	require.NoError(t, st.CreateApp(ctx, dead))
	require.NoError(t, st.RevokeApp(ctx, dead.Name, t1))
	banned := keyID()
	require.NoError(t, st.BanKey(ctx, banned, t0))

	kid := keyID()
	first := redemption(kid, t0, t1, t0.Add(2*time.Hour))
	out, err := st.RedeemChallenge(ctx, first)
	require.NoError(t, err)
	party := out.PartyID
	expired := redemption(kid, t0, t0.Add(10*time.Minute), t0.Add(10*time.Minute))
	_, err = st.RedeemChallenge(ctx, expired)
	require.NoError(t, err)

	nick, released, email, phone := hash(), hash(), hash(), hash()
	require.NoError(t, st.AddNickname(ctx, party, nick, "ni***", 5, t0))
	require.NoError(t, st.AddNickname(ctx, party, released, "re***", 5, t0))
	require.NoError(t, st.RemoveIdentifier(ctx, party, released, t0.Add(48*time.Hour)))
	ev := attesta.Verification{Hash: email, Kind: attesta.Email, Hint: "a***@example.org", CodeHash: hash(), Expires: t1}
	require.NoError(t, st.StartVerification(ctx, party, ev, 2))
	require.NoError(t, st.ConfirmVerification(ctx, party, email, ev.CodeHash, 5, t0))
	pv := attesta.Verification{Hash: phone, Kind: attesta.Phone, Hint: "+***99", CodeHash: hash(), Expires: t1}
	require.NoError(t, st.StartVerification(ctx, party, pv, 2))
	assert.ErrorIs(t, st.ConfirmVerification(ctx, party, phone, hash(), 3, t0), attesta.ErrWrongCode)
	assert.ErrorIs(t, st.ConfirmVerification(ctx, party, phone, hash(), 3, t0), attesta.ErrWrongCode)

	_, err = st.PutRegistry(ctx, party, []byte("v1"), 0)
	require.NoError(t, err)
	_, err = st.PutRegistry(ctx, party, []byte("v2"), 1)
	require.NoError(t, err)

	l := attesta.Limit{Burst: 2, Every: time.Hour}
	budget, mark := hash(), hash()
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: budget, Limit: l, Cost: 2}))
	require.NoError(t, st.UseOnce(ctx, mark, t0.Add(10*time.Minute), t0))

	n, err := st.Collect(ctx, t0.Add(30*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the expired token and session, the mark")

	e.reopen(t)
	st = e.st

	a, err := st.AppByToken(ctx, live.TokenHash)
	require.NoError(t, err)
	assert.True(t, a.Active())
	a, err = st.AppByToken(ctx, dead.TokenHash)
	require.NoError(t, err)
	assert.False(t, a.Active(), "a revocation survives a restart")
	sameTime(t, t1, a.Revoked)
	apps, err := st.Apps(ctx)
	require.NoError(t, err)
	assert.Len(t, apps, 2)
	isBanned, err := st.KeyBanned(ctx, banned)
	require.NoError(t, err)
	assert.True(t, isBanned, "a ban survives a restart")

	_, err = st.RedeemChallenge(ctx, first)
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "a used token survives a restart")
	_, again := e.redeem(t, st, kid)
	assert.False(t, again.IsNew, "the key index survives a restart")
	assert.Equal(t, party, again.PartyID)
	p, err := st.Party(ctx, party)
	require.NoError(t, err)
	require.Len(t, p.Keys, 1)
	assert.Equal(t, kid, p.Keys[0].ID)
	sess, err := st.Session(ctx, first.Session.Hash)
	require.NoError(t, err, "a session survives a restart")
	assert.Equal(t, party, sess.PartyID)
	_, err = st.Session(ctx, expired.Session.Hash)
	assert.ErrorIs(t, err, attesta.ErrNotFound, "a collected session stays collected")

	for _, h := range []attesta.Hash{nick, email} {
		got, err := st.PartyByIdentifier(ctx, h)
		require.NoError(t, err)
		assert.Equal(t, party, got)
	}
	assert.ErrorIs(t, st.AddNickname(ctx, partyID(), released, "re***", 5, t0.Add(time.Hour)), attesta.ErrIdentifierTaken, "a quarantine survives a restart")
	assert.ErrorIs(t, st.ConfirmVerification(ctx, party, phone, hash(), 3, t0), attesta.ErrCodeTriesExhausted, "code tries survive a restart")
	assert.ElementsMatch(t, []info{{attesta.Nickname, "ni***", false}, {attesta.Email, "a***@example.org", false}}, e.infos(t, party))

	block, v, err := st.Registry(ctx, party)
	require.NoError(t, err)
	assert.Equal(t, []byte("v2"), block)
	assert.Equal(t, uint64(2), v)
	_, err = st.PutRegistry(ctx, party, []byte("v2'"), 1)
	assert.ErrorIs(t, err, attesta.ErrVersionConflict, "the version survives a restart")

	assert.ErrorIs(t, st.Spend(ctx, t0, attesta.Spend{Key: budget, Limit: l, Cost: 1}), attesta.ErrBudgetExhausted, "a spent budget survives a restart")
	require.NoError(t, st.UseOnce(ctx, mark, t1.Add(time.Hour), t1), "a mark past its expiry is free")
	assert.ErrorIs(t, st.UseOnce(ctx, mark, t1.Add(time.Hour), t1), attesta.ErrAlreadyUsed)

	// Once more, for what the restarted store wrote.
	e.reopen(t)
	assert.ErrorIs(t, e.st.UseOnce(ctx, mark, t1.Add(time.Hour), t1), attesta.ErrAlreadyUsed, "a mark survives a restart")
}
