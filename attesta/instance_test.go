package attesta_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// instance connects k on f and registers it as an instance: its session
// and its TOKEN.
func (f *fixture) instance(t *testing.T, k *attesta.PrivateKey) (attesta.Session, attesta.InstanceToken) {
	t.Helper()
	ctx := t.Context()
	res := f.connect(t, k)
	sess, err := f.svc.Authenticate(ctx, res.Session)
	require.NoError(t, err)
	tok, err := f.svc.RegisterInstance(ctx, sess, k.Public().Pack())
	require.NoError(t, err)
	return sess, tok
}

// TestInstanceToken: an instance's TOKEN names its application and party,
// is the same on every call (deterministic), verifies with the server's
// public key offline and by the server's recomputation; a TOKEN changed
// in any character, moved to another application, or made by another
// server does not verify.
func TestInstanceToken(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, attesta.Config{})
	k := testkeys.Key(t, attesta.X25519, 0)
	sess, tok := f.instance(t, k)
	assert.Equal(t, "test", tok.App())
	assert.Equal(t, sess.PartyID, tok.PartyID())
	s := tok.String()
	assert.Len(t, s, len("test:")+128)
	assert.Equal(t, strings.ToLower(s), s)

	again, err := f.svc.InstanceToken(ctx, sess)
	require.NoError(t, err)
	assert.Equal(t, s, again.String(), "deterministic")
	_, tok2 := f.instance(t, k)
	assert.Equal(t, s, tok2.String(), "registering again answers the same TOKEN")

	got, err := f.svc.VerifyInstanceToken(s)
	require.NoError(t, err)
	assert.Equal(t, tok, got)
	key := f.svc.InstanceTokenKey()
	parsed, err := attesta.ParseInstanceToken(s)
	require.NoError(t, err)
	assert.NoError(t, parsed.Verify(key.Public), "offline")
	upper, err := attesta.ParseInstanceToken(strings.ToUpper(s))
	require.NoError(t, err, "a bank that upper-cases the label")
	assert.Equal(t, s, upper.String())
	assert.NoError(t, upper.Verify(key.Public))

	// Forgeries: every character of the payload changed in turn.
	payload := strings.IndexByte(s, ':') + 1
	for i := payload; i < len(s); i++ {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		forged := string(b)
		_, err := f.svc.VerifyInstanceToken(forged)
		require.ErrorIs(t, err, attesta.ErrBadInstanceToken, "character %d", i)
		if p, err := attesta.ParseInstanceToken(forged); err == nil {
			require.ErrorIs(t, p.Verify(key.Public), attesta.ErrBadInstanceToken, "character %d offline", i)
		}
	}
	// Another application's name on the same party and signature.
	_, err = f.svc.CreateApp(ctx, "other")
	require.NoError(t, err)
	moved := "other" + s[len("test"):]
	_, err = f.svc.VerifyInstanceToken(moved)
	assert.ErrorIs(t, err, attesta.ErrBadInstanceToken)
	p, err := attesta.ParseInstanceToken(moved)
	require.NoError(t, err)
	assert.ErrorIs(t, p.Verify(key.Public), attesta.ErrBadInstanceToken)
	// Another server (another secret) neither makes nor accepts it.
	g := newFixture(t, attesta.Config{})
	_, err = g.svc.VerifyInstanceToken(s)
	assert.ErrorIs(t, err, attesta.ErrBadInstanceToken)
	assert.ErrorIs(t, parsed.Verify(g.svc.InstanceTokenKey().Public), attesta.ErrBadInstanceToken)
	assert.NotEqual(t, key.KeyID, g.svc.InstanceTokenKey().KeyID)

	// The key id is the key's, stable across a restart.
	f.reopen(t)
	assert.Equal(t, key.KeyID, f.svc.InstanceTokenKey().KeyID)
	assert.Equal(t, key.Public, f.svc.InstanceTokenKey().Public)
	jwk := key.JWK()
	assert.Equal(t, map[string]string{"kty": "OKP", "crv": "Ed25519", "x": jwk["x"], "kid": key.KeyID, "alg": "EdDSA", "use": "sig"}, jwk)
	assert.Len(t, key.KeyID, 43)
}

// TestParseInstanceTokenBadForms: every truncation and extension of a
// TOKEN, and each malformed part, is ErrBadInstanceToken and no value.
func TestParseInstanceTokenBadForms(t *testing.T) {
	f := newFixture(t, attesta.Config{})
	_, tok := f.instance(t, testkeys.Key(t, attesta.X25519, 0))
	s := tok.String()
	for n := range len(s) {
		p, err := attesta.ParseInstanceToken(s[:n])
		require.ErrorIs(t, err, attesta.ErrBadInstanceToken, "truncated to %d", n)
		require.True(t, p.IsZero())
	}
	for _, bad := range []string{
		s + "a", s + "=", s + "\n", "\n" + s, " " + s,
		strings.Replace(s, ":", ";", 1), strings.Replace(s, ":", "", 1), strings.Replace(s, ":", "::", 1),
		"Test" + s[4:] + "x", "_est" + s[4:], ":" + s[5:],
		s[:20] + "1" + s[21:], // '1' is not base32
		s[:20] + "\r\n" + s[22:],
		strings.Repeat("a", 65) + s[4:],
		strings.Repeat("x", attesta.MaxInstanceTokenLen+1),
	} {
		p, err := attesta.ParseInstanceToken(bad)
		assert.ErrorIs(t, err, attesta.ErrBadInstanceToken, "%q", bad)
		assert.True(t, p.IsZero())
	}
	long := strings.Repeat("a", 64) + s[4:]
	p, err := attesta.ParseInstanceToken(long)
	require.NoError(t, err, "the longest application name")
	assert.Equal(t, long, p.String())
	assert.Len(t, long, attesta.MaxInstanceTokenLen)
}

// TestRegisterInstance: only the session's own key registers; a private
// key sent is a disclosure (banned, and the session with it); a party
// that did not register is not an instance; registration is per
// application and key.
func TestRegisterInstance(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, attesta.Config{})
	k := testkeys.Key(t, attesta.X25519, 0)
	res := f.connect(t, k)
	sess, err := f.svc.Authenticate(ctx, res.Session)
	require.NoError(t, err)

	_, err = f.svc.InstanceToken(ctx, sess)
	assert.ErrorIs(t, err, attesta.ErrNotInstance, "before registering")
	_, err = f.svc.ServiceKey(ctx, sess, "x")
	assert.ErrorIs(t, err, attesta.ErrNotInstance)

	_, err = f.svc.RegisterInstance(ctx, sess, testkeys.Key(t, attesta.X25519, 1).Public().Pack())
	assert.ErrorIs(t, err, attesta.ErrNotSessionKey, "another key")
	_, err = f.svc.RegisterInstance(ctx, sess, []byte{1, 2, 3})
	assert.ErrorIs(t, err, attesta.ErrBadKey)
	_, err = f.svc.InstanceToken(ctx, sess)
	assert.ErrorIs(t, err, attesta.ErrNotInstance, "refused registrations record nothing")

	// A second key of the same party is not registered by the first's.
	_, tok := f.instance(t, k)
	assert.Equal(t, sess.PartyID, tok.PartyID())
	_, err = f.svc.InstanceToken(ctx, sess)
	assert.NoError(t, err)

	// Through another application's token, the same party is not that
	// application's instance.
	otherApp, err := f.svc.CreateApp(ctx, "other")
	require.NoError(t, err)
	req, err := f.svc.AuthKeyRequest(ctx, k.Public().Pack(), otherApp)
	require.NoError(t, err)
	ct, err := k.DecryptToken(req.EncryptedToken)
	require.NoError(t, err)
	res2, err := f.svc.AuthKeyToken(ctx, ct)
	require.NoError(t, err)
	sess2, err := f.svc.Authenticate(ctx, res2.Session)
	require.NoError(t, err)
	_, err = f.svc.InstanceToken(ctx, sess2)
	assert.ErrorIs(t, err, attesta.ErrNotInstance, "an instance of test, not of other")

	// The private key as key: a disclosure; the key is banned and its
	// sessions die.
	leaked := testkeys.Key(t, attesta.X25519, 1)
	lres := f.connect(t, leaked)
	lsess, err := f.svc.Authenticate(ctx, lres.Session)
	require.NoError(t, err)
	_, err = f.svc.RegisterInstance(ctx, lsess, leaked.Pack())
	assert.ErrorIs(t, err, attesta.ErrPrivateKeyDisclosed)
	_, err = f.svc.Authenticate(ctx, lres.Session)
	assert.ErrorIs(t, err, attesta.ErrUnauthorized)
}

// TestEntitlementList: the store-backed list through the Service: a
// TOKEN must be this server's and its application must exist; grant,
// list, revoke.
func TestEntitlementList(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, attesta.Config{})
	_, tok := f.instance(t, testkeys.Key(t, attesta.X25519, 0))
	_, err := f.svc.GrantEntitlement(ctx, "test:"+strings.Repeat("a", 128))
	assert.ErrorIs(t, err, attesta.ErrBadInstanceToken, "a forged TOKEN")
	_, err = f.svc.GrantEntitlement(ctx, "nope")
	assert.ErrorIs(t, err, attesta.ErrBadInstanceToken)
	assert.ErrorIs(t, f.svc.RevokeEntitlement(ctx, tok.String()), attesta.ErrEntitlementNotFound)

	t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	attesta.SetNow(t, f.svc, func() time.Time { return t0 })
	e, err := f.svc.GrantEntitlement(ctx, strings.ToUpper(tok.String()))
	require.NoError(t, err)
	assert.Equal(t, tok, e.Token)
	assert.True(t, t0.Equal(e.Granted))
	list, err := f.svc.Entitlements(ctx, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, tok.String(), list[0].Token.String())
	list, err = f.svc.Entitlements(ctx, "other")
	require.NoError(t, err)
	assert.Empty(t, list)
	require.NoError(t, f.svc.RevokeEntitlement(ctx, tok.String()))
	list, err = f.svc.Entitlements(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, list)
}

// TestEntitlementCacheTTL: two server processes on one store (two
// Services of one secret, as two servers on one database; the Pebble
// store is opened once and shared). A revocation on one is at once on
// that one, and on the other within the other's EntitlementTTL — by the
// injected clock, not by sleeping.
func TestEntitlementCacheTTL(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, attesta.Config{})
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	attesta.SetNow(t, f.svc, clock)
	other, err := attesta.New(attesta.Config{Store: f.store, Secret: f.secret, EntitlementTTL: 30 * time.Second, Now: clock})
	require.NoError(t, err)

	k := testkeys.Key(t, attesta.X25519, 0)
	sess, tok := f.instance(t, k)
	_, err = f.svc.SetServiceKey(ctx, "test", "weather", []byte("wk_live_1"))
	require.NoError(t, err)
	fetch := func(svc *attesta.Service) error {
		_, err := svc.ServiceKey(ctx, sess, "weather")
		return err
	}
	require.ErrorIs(t, fetch(other), attesta.ErrNotEntitled)
	_, err = f.svc.GrantEntitlement(ctx, tok.String())
	require.NoError(t, err)
	require.NoError(t, fetch(f.svc), "the granting process knows at once")
	require.ErrorIs(t, fetch(other), attesta.ErrNotEntitled, "the other remembers its refusal")
	advance(30 * time.Second)
	require.NoError(t, fetch(other), "and asks again after its TTL")

	require.NoError(t, f.svc.RevokeEntitlement(ctx, tok.String()))
	assert.ErrorIs(t, fetch(f.svc), attesta.ErrNotEntitled, "the revoking process refuses at once")
	advance(29 * time.Second)
	assert.NoError(t, fetch(other), "the other still trusts its answer within the TTL")
	advance(time.Second)
	assert.ErrorIs(t, fetch(other), attesta.ErrNotEntitled, "and refuses once it expired")
}

// failingEntitlements is a checker that cannot answer (a payment system
// that is down), counting how often it is asked.
type failingEntitlements struct {
	mu    sync.Mutex
	asked int
}

func (e *failingEntitlements) Entitled(context.Context, attesta.InstanceToken) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.asked++
	return false, errors.New("payment system down")
}

// TestEntitlementFailsClosed: a check that fails refuses the instance,
// and is asked again after a few seconds, not on every request.
func TestEntitlementFailsClosed(t *testing.T) {
	ctx := t.Context()
	check := &failingEntitlements{}
	f := newFixture(t, attesta.Config{Entitlements: check})
	now := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	sess, _ := f.instance(t, testkeys.Key(t, attesta.X25519, 0))
	for range 3 {
		_, err := f.svc.ServiceKey(ctx, sess, "weather")
		assert.ErrorIs(t, err, attesta.ErrNotEntitled)
	}
	assert.Equal(t, 1, check.asked)
	now = now.Add(5 * time.Second)
	_, err := f.svc.ServiceKey(ctx, sess, "weather")
	assert.ErrorIs(t, err, attesta.ErrNotEntitled)
	assert.Equal(t, 2, check.asked)
}

// TestServiceKeyVault: versions, the answer encrypted to the instance's
// own key (another key cannot open it), unknown and malformed providers
// answered like a refusal to an instance that is not entitled, the
// operator's refusals.
func TestServiceKeyVault(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, attesta.Config{})
	for _, alg := range []attesta.Algorithm{attesta.RSA2048, attesta.X25519, attesta.MLKEM768X25519} {
		t.Run(string(alg), func(t *testing.T) {
			k := testkeys.Key(t, alg, 0)
			sess, tok := f.instance(t, k)
			provider := "p-" + string(alg)
			for _, p := range []string{provider, "unknown", "Bad Name", ""} {
				_, err := f.svc.ServiceKey(ctx, sess, p)
				assert.ErrorIs(t, err, attesta.ErrNotEntitled, "provider %q, not entitled", p)
			}
			_, err := f.svc.GrantEntitlement(ctx, tok.String())
			require.NoError(t, err)
			_, err = f.svc.ServiceKey(ctx, sess, provider)
			assert.ErrorIs(t, err, attesta.ErrServiceKeyNotFound, "entitled: the provider is unknown")
			_, err = f.svc.ServiceKey(ctx, sess, "Bad Name")
			assert.ErrorIs(t, err, attesta.ErrBadProvider)

			value := bytes.Repeat([]byte{'k'}, attesta.MaxServiceKeySize)
			v, err := f.svc.SetServiceKey(ctx, "test", provider, value)
			require.NoError(t, err)
			assert.Equal(t, uint64(1), v.Version)
			got, err := f.svc.ServiceKey(ctx, sess, provider)
			require.NoError(t, err)
			assert.Equal(t, uint64(1), got.Version)
			assert.NotContains(t, string(got.Ciphertext), string(value[:16]))
			pt, err := k.DecryptServiceKey(got.Ciphertext)
			require.NoError(t, err)
			assert.Equal(t, value, pt)
			_, err = testkeys.Key(t, alg, 1).DecryptServiceKey(got.Ciphertext)
			assert.ErrorIs(t, err, attesta.ErrDecrypt, "only the instance's key opens it")
			_, err = k.DecryptToken(got.Ciphertext)
			assert.ErrorIs(t, err, attesta.ErrDecrypt, "a service key is no challenge token")

			v, err = f.svc.SetServiceKey(ctx, "test", provider, []byte("rotated"))
			require.NoError(t, err)
			assert.Equal(t, uint64(2), v.Version)
			got, err = f.svc.ServiceKey(ctx, sess, provider)
			require.NoError(t, err)
			assert.Equal(t, uint64(2), got.Version)
			pt, err = k.DecryptServiceKey(got.Ciphertext)
			require.NoError(t, err)
			assert.Equal(t, "rotated", string(pt))
		})
	}
	_, err := f.svc.SetServiceKey(ctx, "test", "p", make([]byte, attesta.MaxServiceKeySize+1))
	assert.ErrorIs(t, err, attesta.ErrBadServiceKey)
	_, err = f.svc.SetServiceKey(ctx, "test", "p", nil)
	assert.ErrorIs(t, err, attesta.ErrBadServiceKey)
	_, err = f.svc.SetServiceKey(ctx, "test", "P", []byte("x"))
	assert.ErrorIs(t, err, attesta.ErrBadProvider)
	_, err = f.svc.SetServiceKey(ctx, "missing", "p", []byte("x"))
	assert.ErrorIs(t, err, attesta.ErrAppNotFound)
	list, err := f.svc.ServiceKeys(ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, "p-mlkem768x25519", list[0].Provider)
	assert.Equal(t, uint64(2), list[0].Version)

	// Another server secret cannot open what this one sealed: its
	// instances get an internal error, not a wrong key.
	g := &fixture{dir: f.dir, app: f.app}
	require.NoError(t, f.store.Close())
	g.open(t, attesta.Config{})
	k := testkeys.Key(t, attesta.X25519, 0)
	sess, tok := g.instance(t, k)
	_, err = g.svc.GrantEntitlement(ctx, tok.String())
	require.NoError(t, err)
	_, err = g.svc.ServiceKey(ctx, sess, "p-x25519")
	require.Error(t, err)
	for _, s := range []error{attesta.ErrNotEntitled, attesta.ErrServiceKeyNotFound, attesta.ErrDecrypt} {
		assert.NotErrorIs(t, err, s)
	}
}

// TestVaultNotInClear: a service key set through the Service is nowhere
// in the Pebble store's files in clear (nor the secret), after the store
// is flushed and closed: a copy of the data directory does not reveal it.
// (pgstore's TestDumpHoldsNoSecret checks a PostgreSQL dump.)
func TestVaultNotInClear(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, attesta.Config{})
	const value = "sk-live-0123456789abcdefDEADBEEFcafe"
	_, err := f.svc.SetServiceKey(ctx, "test", "openai", []byte(value))
	require.NoError(t, err)
	_, err = f.svc.SetServiceKey(ctx, "test", "openai", []byte(value+"-rotated"))
	require.NoError(t, err)
	require.NoError(t, f.store.DB().Flush())
	require.NoError(t, f.store.Close())
	n := 0
	err = filepath.WalkDir(f.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n += len(b)
		assert.False(t, bytes.Contains(b, []byte(value)), "the service key in %s", path)
		assert.False(t, bytes.Contains(b, []byte(value[:12])), "part of the service key in %s", path)
		assert.False(t, bytes.Contains(b, f.secret), "the secret in %s", path)
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, n, 0)
	// The store does hold it, sealed: it opens with the secret.
	st, err := pebblestore.Open(f.dir)
	require.NoError(t, err)
	defer st.Close()
	svc, err := attesta.New(attesta.Config{Store: st, Secret: f.secret})
	require.NoError(t, err)
	list, err := svc.ServiceKeys(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, uint64(2), list[0].Version)
}
