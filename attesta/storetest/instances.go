package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/rnd"
)

// testInstances: instance keys (the first record stays), the
// entitlement list (grant keeps the first time, revoke, listing by app
// and party), the service-key vault (compare-and-swap on the version,
// listing without values), concurrent grants and puts over both handles,
// and a restart that keeps all of it.
func testInstances(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st

	// Instance keys: per application, party and key; applications whose
	// names share a prefix do not share records.
	party, kid := partyID(), keyID()
	first := attesta.InstanceKey{App: "a", Party: party, KeyID: kid, Key: rnd.Bytes(1216), Added: t0}
	require.NoError(t, st.PutInstanceKey(ctx, first))
	again := first
	again.Key, again.Added = rnd.Bytes(40), t0.Add(time.Hour)
	require.NoError(t, st.PutInstanceKey(ctx, again), "recording again is not an error")
	got, err := st.InstanceKey(ctx, "a", party, kid)
	require.NoError(t, err)
	assert.Equal(t, first.Key, got.Key, "the first record stays")
	sameTime(t, t0, got.Added, "added")
	assert.Equal(t, "a", got.App)
	assert.Equal(t, party, got.Party)
	assert.Equal(t, kid, got.KeyID)
	for _, miss := range []struct {
		app   string
		party attesta.PartyID
		key   attesta.KeyID
	}{{"ab", party, kid}, {"", party, kid}, {"a", partyID(), kid}, {"a", party, keyID()}} {
		_, err := st.InstanceKey(ctx, miss.app, miss.party, miss.key)
		assert.ErrorIs(t, err, attesta.ErrNotFound, "%q", miss.app)
	}

	// Entitlements.
	_, err = st.Entitlement(ctx, "a", party)
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	assert.ErrorIs(t, st.RevokeEntitlement(ctx, "a", party), attesta.ErrEntitlementNotFound)
	es, err := st.Entitlements(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, es)
	ent, err := st.GrantEntitlement(ctx, attesta.Entitlement{App: "a", Party: party, Granted: t0})
	require.NoError(t, err)
	sameTime(t, t0, ent.Granted)
	ent, err = st.GrantEntitlement(ctx, attesta.Entitlement{App: "a", Party: party, Granted: t0.Add(time.Hour)})
	require.NoError(t, err)
	sameTime(t, t0, ent.Granted, "granting again keeps the first time")
	ent, err = st.Entitlement(ctx, "a", party)
	require.NoError(t, err)
	assert.Equal(t, attesta.Entitlement{App: "a", Party: party, Granted: ent.Granted}, ent)
	sameTime(t, t0, ent.Granted)
	_, err = st.Entitlement(ctx, "ab", party)
	assert.ErrorIs(t, err, attesta.ErrNotFound, "per application")

	// Listing: by application (bytewise), then party id (bytewise).
	var low, high attesta.PartyID
	low[0], high[0] = 0x01, 0xfe
	for _, g := range []attesta.Entitlement{{App: "b", Party: high}, {App: "ab", Party: low}, {App: "b", Party: low}, {App: "a", Party: high}} {
		g.Granted = t0
		_, err := st.GrantEntitlement(ctx, g)
		require.NoError(t, err)
	}
	key := func(es []attesta.Entitlement) []string {
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s/%02x", e.App, e.Party[0]))
		}
		return out
	}
	es, err = st.Entitlements(ctx, "")
	require.NoError(t, err)
	want := []attesta.Entitlement{{App: "a", Party: party}, {App: "a", Party: high}, {App: "ab", Party: low}, {App: "b", Party: low}, {App: "b", Party: high}}
	if bytes.Compare(party[:], high[:]) > 0 {
		want[0], want[1] = want[1], want[0]
	}
	assert.Equal(t, key(want), key(es))
	es, err = st.Entitlements(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, []string{"b/01", "b/fe"}, key(es))
	es, err = st.Entitlements(ctx, "c")
	require.NoError(t, err)
	assert.Empty(t, es)

	require.NoError(t, st.RevokeEntitlement(ctx, "a", party))
	_, err = st.Entitlement(ctx, "a", party)
	assert.ErrorIs(t, err, attesta.ErrNotFound, "revoked")
	assert.ErrorIs(t, st.RevokeEntitlement(ctx, "a", party), attesta.ErrEntitlementNotFound, "revoking twice")
	_, err = st.Entitlement(ctx, "a", high)
	assert.NoError(t, err, "another party's stays")

	// The vault: version 1 only when none is stored, then each next one.
	_, err = st.ServiceKey(ctx, "a", "openai")
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	sealed1 := rnd.Bytes(100)
	for _, v := range []uint64{0, 2} {
		assert.ErrorIs(t, st.PutServiceKey(ctx, attesta.ServiceKey{App: "a", Provider: "openai", Version: v, Sealed: sealed1, Updated: t0}), attesta.ErrVersionConflict, "version %d first", v)
	}
	require.NoError(t, st.PutServiceKey(ctx, attesta.ServiceKey{App: "a", Provider: "openai", Version: 1, Sealed: sealed1, Updated: t0}))
	assert.ErrorIs(t, st.PutServiceKey(ctx, attesta.ServiceKey{App: "a", Provider: "openai", Version: 1, Sealed: rnd.Bytes(10), Updated: t0}), attesta.ErrVersionConflict)
	sk, err := st.ServiceKey(ctx, "a", "openai")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), sk.Version)
	assert.Equal(t, sealed1, sk.Sealed)
	sameTime(t, t0, sk.Updated)
	sealed2 := rnd.Bytes(233)
	require.NoError(t, st.PutServiceKey(ctx, attesta.ServiceKey{App: "a", Provider: "openai", Version: 2, Sealed: sealed2, Updated: t0.Add(time.Hour)}))
	for _, v := range []uint64{1, 2, 4, 1 << 63} {
		assert.ErrorIs(t, st.PutServiceKey(ctx, attesta.ServiceKey{App: "a", Provider: "openai", Version: v, Sealed: sealed1, Updated: t0}), attesta.ErrVersionConflict, "version %d", v)
	}
	sk, err = st.ServiceKey(ctx, "a", "openai")
	require.NoError(t, err)
	assert.Equal(t, attesta.ServiceKey{App: "a", Provider: "openai", Version: 2, Sealed: sealed2, Updated: sk.Updated}, sk)
	sameTime(t, t0.Add(time.Hour), sk.Updated)
	for _, miss := range [][2]string{{"ab", "openai"}, {"a", "openai2"}, {"a", "open"}, {"aopenai", ""}} {
		_, err := st.ServiceKey(ctx, miss[0], miss[1])
		assert.ErrorIs(t, err, attesta.ErrNotFound, "%v", miss)
	}
	for _, k := range [][2]string{{"b", "x"}, {"ab", "openai"}, {"a", "anthropic"}, {"a", "b.c"}} {
		require.NoError(t, st.PutServiceKey(ctx, attesta.ServiceKey{App: k[0], Provider: k[1], Version: 1, Sealed: rnd.Bytes(50), Updated: t0}))
	}
	list, err := st.ServiceKeys(ctx)
	require.NoError(t, err)
	var names []string
	for _, v := range list {
		names = append(names, fmt.Sprintf("%s/%s@%d", v.App, v.Provider, v.Version))
	}
	assert.Equal(t, []string{"a/anthropic@1", "a/b.c@1", "a/openai@2", "ab/openai@1", "b/x@1"}, names, "by app, then provider; the current version")

	// Concurrency: of concurrent puts of one version one wins, over both
	// handles; concurrent grants all succeed and keep one time.
	hs := e.handles(t)
	errs := race(20, func(i int) error {
		return hs[i%2].PutServiceKey(ctx, attesta.ServiceKey{App: "a", Provider: "openai", Version: 3, Sealed: []byte{byte(i)}, Updated: t0})
	})
	ok, conflicts := tally(t, errs, attesta.ErrVersionConflict)
	assert.Equal(t, 1, ok)
	assert.Equal(t, 19, conflicts)
	sk, err = st.ServiceKey(ctx, "a", "openai")
	require.NoError(t, err)
	assert.Equal(t, uint64(3), sk.Version)
	require.Len(t, sk.Sealed, 1)
	assert.NoError(t, errs[sk.Sealed[0]], "the winner's value is stored")

	contested := partyID()
	granted := make([]time.Time, 20)
	errs = race(20, func(i int) error {
		e, err := hs[i%2].GrantEntitlement(ctx, attesta.Entitlement{App: "c", Party: contested, Granted: t0.Add(time.Duration(i) * time.Second)})
		granted[i] = e.Granted
		return err
	})
	ok, _ = tally(t, errs, attesta.ErrVersionConflict)
	assert.Equal(t, 20, ok)
	stored, err := st.Entitlement(ctx, "c", contested)
	require.NoError(t, err)
	for i, g := range granted {
		sameTime(t, stored.Granted, g, "grant %d answers the stored time", i)
	}
	errs = race(20, func(i int) error {
		return hs[i%2].PutInstanceKey(ctx, attesta.InstanceKey{App: "c", Party: contested, KeyID: kid, Key: []byte{byte(i)}, Added: t0})
	})
	ok, _ = tally(t, errs, attesta.ErrVersionConflict)
	assert.Equal(t, 20, ok)

	// A restart keeps it all.
	e.reopen(t)
	st = e.st
	got, err = st.InstanceKey(ctx, "a", party, kid)
	require.NoError(t, err)
	assert.Equal(t, first.Key, got.Key)
	_, err = st.Entitlement(ctx, "a", high)
	assert.NoError(t, err)
	sk2, err := st.ServiceKey(ctx, "a", "openai")
	require.NoError(t, err)
	assert.Equal(t, sk.Sealed, sk2.Sealed)
	assert.Equal(t, uint64(3), sk2.Version)
	list, err = st.ServiceKeys(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 5)
}
