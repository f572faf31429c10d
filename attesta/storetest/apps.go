package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testApps: CreateApp, App, AppByToken, Apps (by name, revoked ones
// included), RevokeApp; one winner among concurrent creations of a name.
func testApps(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	apps, err := st.Apps(ctx)
	require.NoError(t, err)
	assert.Empty(t, apps, "a fresh store has no application")

	made := map[string]attesta.App{}
	for i, name := range []string{"zeta", "alpha", "a-b", "ab", "a.b", "m_1"} {
		a := attesta.App{Name: name, TokenHash: hash(), Created: t0.Add(time.Duration(i) * time.Second)}
		require.NoError(t, st.CreateApp(ctx, a))
		made[name] = a
	}
	err = st.CreateApp(ctx, attesta.App{Name: "alpha", TokenHash: hash(), Created: t0})
	assert.ErrorIs(t, err, attesta.ErrAppExists)

	check := func(want, got attesta.App) {
		t.Helper()
		assert.Equal(t, want.Name, got.Name)
		assert.Equal(t, want.TokenHash, got.TokenHash)
		sameTime(t, want.Created, got.Created, "created")
		assert.Equal(t, want.Revoked.IsZero(), got.Revoked.IsZero(), "revoked")
		if !want.Revoked.IsZero() {
			sameTime(t, want.Revoked, got.Revoked, "revoked")
		}
	}
	a, err := st.App(ctx, "alpha")
	require.NoError(t, err)
	check(made["alpha"], a)
	assert.True(t, a.Active())
	a, err = st.AppByToken(ctx, made["zeta"].TokenHash)
	require.NoError(t, err)
	check(made["zeta"], a)
	_, err = st.App(ctx, "missing")
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	_, err = st.AppByToken(ctx, hash())
	assert.ErrorIs(t, err, attesta.ErrNotFound)

	// Revocation: the first time is kept; the token still finds the app,
	// which says it is revoked.
	require.NoError(t, st.RevokeApp(ctx, "zeta", t0.Add(time.Hour)))
	require.NoError(t, st.RevokeApp(ctx, "zeta", t0.Add(2*time.Hour)), "revoking again")
	assert.ErrorIs(t, st.RevokeApp(ctx, "missing", t0), attesta.ErrAppNotFound)
	zeta := made["zeta"]
	zeta.Revoked = t0.Add(time.Hour)
	made["zeta"] = zeta
	a, err = st.AppByToken(ctx, zeta.TokenHash)
	require.NoError(t, err)
	check(zeta, a)
	assert.False(t, a.Active())

	// Apps: every application, by name (bytewise, not by a locale's
	// collation).
	apps, err = st.Apps(ctx)
	require.NoError(t, err)
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
		check(made[a.Name], a)
	}
	assert.Equal(t, []string{"a-b", "a.b", "ab", "alpha", "m_1", "zeta"}, names)

	// Concurrent creations of one name: one wins.
	hs := e.handles(t)
	errs := race(20, func(i int) error {
		return hs[i%2].CreateApp(ctx, attesta.App{Name: "contested", TokenHash: hash(), Created: t0})
	})
	ok, exists := tally(t, errs, attesta.ErrAppExists)
	assert.Equal(t, 1, ok, "one creation of a contested name wins")
	assert.Equal(t, 19, exists)
}

// testBans: BanKey, KeyBanned.
func testBans(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	k, other := keyID(), keyID()
	banned, err := st.KeyBanned(ctx, k)
	require.NoError(t, err)
	assert.False(t, banned, "an unknown key")
	require.NoError(t, st.BanKey(ctx, k, t0))
	require.NoError(t, st.BanKey(ctx, k, t0.Add(time.Second)), "banning twice")
	banned, err = st.KeyBanned(ctx, k)
	require.NoError(t, err)
	assert.True(t, banned)
	banned, err = st.KeyBanned(ctx, other)
	require.NoError(t, err)
	assert.False(t, banned, "another key")

	// A ban seen from the other handle at once.
	hs := e.handles(t)
	require.NoError(t, hs[1].BanKey(ctx, other, t0))
	banned, err = hs[0].KeyBanned(ctx, other)
	require.NoError(t, err)
	assert.True(t, banned)
}
