package attesta_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
)

type fixture struct {
	dir    string
	secret []byte
	store  *pebblestore.Store
	svc    *attesta.Service
	app    string
}

func newFixture(t *testing.T, cfg attesta.Config) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	f.open(t, cfg)
	var err error
	f.app, err = f.svc.CreateApp(context.Background(), "test")
	require.NoError(t, err)
	return f
}

func (f *fixture) open(t *testing.T, cfg attesta.Config) {
	t.Helper()
	st, err := pebblestore.Open(f.dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	if f.secret == nil {
		f.secret = make([]byte, attesta.SecretSize)
		rand.Read(f.secret)
	}
	cfg.Secret = f.secret
	svc, err := attesta.New(cfg)
	require.NoError(t, err)
	f.store, f.svc = st, svc
}

// reopen closes the store and opens it again, as a restarted server would.
func (f *fixture) reopen(t *testing.T) {
	t.Helper()
	require.NoError(t, f.store.Close())
	f.open(t, attesta.Config{})
}

// challenge runs auth_key_request and decrypts the token.
func (f *fixture) challenge(t *testing.T, k *attesta.PrivateKey) []byte {
	t.Helper()
	req, err := f.svc.AuthKeyRequest(context.Background(), k.Public().Pack(), f.app)
	require.NoError(t, err)
	token, err := k.DecryptToken(req.EncryptedToken)
	require.NoError(t, err)
	return token
}

func (f *fixture) connect(t *testing.T, k *attesta.PrivateKey) attesta.KeyToken {
	t.Helper()
	res, err := f.svc.AuthKeyToken(context.Background(), f.challenge(t, k))
	require.NoError(t, err)
	return res
}

func TestConnectEveryKeyType(t *testing.T) {
	ctx := context.Background()
	for _, alg := range testkeys.Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, attesta.Config{})
			k := testkeys.Key(t, alg, 0)
			first := f.connect(t, k)
			assert.True(t, first.IsNew)
			assert.False(t, first.PartyID.IsZero())
			again := f.connect(t, k)
			assert.False(t, again.IsNew)
			assert.Equal(t, first.PartyID, again.PartyID)
			assert.NotEqual(t, first.Session, again.Session)

			sess, err := f.svc.Authenticate(ctx, again.Session)
			require.NoError(t, err)
			assert.Equal(t, first.PartyID, sess.PartyID)
			assert.Equal(t, k.Public().ID(), sess.KeyID)
			assert.Equal(t, "test", sess.App)

			p, err := f.svc.Party(ctx, first.PartyID)
			require.NoError(t, err)
			require.Len(t, p.Keys, 1)
			assert.Equal(t, k.Public().ID(), p.Keys[0].ID)
			assert.Equal(t, k.Public().Type(), p.Keys[0].Type)

			// A second key is a second party.
			other := f.connect(t, testkeys.Key(t, alg, 1))
			assert.True(t, other.IsNew)
			assert.NotEqual(t, first.PartyID, other.PartyID)

			// Known after a restart of the store.
			f.reopen(t)
			after := f.connect(t, k)
			assert.False(t, after.IsNew)
			assert.Equal(t, first.PartyID, after.PartyID)
		})
	}
}

func TestTokenRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, attesta.Config{})
	k := testkeys.Key(t, attesta.X25519, 0)

	token := f.challenge(t, k)
	_, err := f.svc.AuthKeyToken(ctx, token)
	require.NoError(t, err)
	_, err = f.svc.AuthKeyToken(ctx, token)
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "reuse")

	wrong := f.challenge(t, k)
	wrong[0] ^= 1
	_, err = f.svc.AuthKeyToken(ctx, wrong)
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "wrong token")
	_, err = f.svc.AuthKeyToken(ctx, wrong[:31])
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "short token")
	good := f.challenge(t, k)
	for _, bad := range [][]byte{good[:len(good)-1], append(good[:len(good):len(good)], 0), good[1:]} {
		_, err = f.svc.AuthKeyToken(ctx, bad)
		assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "truncated, lengthened or shifted token")
	}
	// A token made under another server secret does not authenticate.
	g := newFixture(t, attesta.Config{})
	_, err = f.svc.AuthKeyToken(ctx, g.challenge(t, k))
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "another server's token")
	_, err = f.svc.AuthKeyToken(ctx, nil)
	assert.ErrorIs(t, err, attesta.ErrChallengeUnknown, "no token")

	// Expiry: the clock moves past the TTL.
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	old := f.challenge(t, k)
	now = now.Add(5*time.Minute + time.Second)
	_, err = f.svc.AuthKeyToken(ctx, old)
	assert.ErrorIs(t, err, attesta.ErrChallengeExpired)
	_, err = f.svc.AuthKeyToken(ctx, old)
	assert.ErrorIs(t, err, attesta.ErrChallengeExpired, "still expired")
}

// TestChallengeRequestsCreateNoState is finding 3 of issue 14: whoever
// knows a public key asks for challenges for it as often as it likes; the
// key's holder still connects, and the requests left nothing in the store.
func TestChallengeRequestsCreateNoState(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, attesta.Config{})
	victim := testkeys.Key(t, attesta.X25519, 0)
	before := storeRecords(t, f.store)
	for range 1000 {
		_, err := f.svc.AuthKeyRequest(ctx, victim.Public().Pack(), f.app)
		require.NoError(t, err)
	}
	assert.Equal(t, before, storeRecords(t, f.store), "a thousand requests stored nothing")
	res := f.connect(t, victim)
	assert.True(t, res.IsNew, "the key's holder connects")

	// A redeemed token is remembered until it expires, then collected.
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	token := f.challenge(t, victim)
	_, err := f.svc.AuthKeyToken(ctx, token)
	require.NoError(t, err)
	now = now.Add(6 * time.Minute)
	n, err := f.svc.Collect(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 2, "the two used tokens")
}

// storeRecords counts the records in a Pebble store.
func storeRecords(t *testing.T, st *pebblestore.Store) int {
	t.Helper()
	it, err := st.DB().NewIter(nil)
	require.NoError(t, err)
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n
}

func TestPrivateKeyDisclosureBans(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, attesta.Config{})
	rsaKey := testkeys.Key(t, attesta.RSA2048, 2)
	x := testkeys.Key(t, attesta.X25519, 2)
	ml := testkeys.Key(t, attesta.MLKEM768X25519, 2)
	der, err := rsaKey.MarshalPKCS8()
	require.NoError(t, err)

	// A key registered before its disclosure can no longer log in.
	before := f.connect(t, x)
	pending := f.challenge(t, x)

	for _, tc := range []struct {
		name string
		in   []byte
		pub  *attesta.PublicKey
	}{
		{"packed private rsa", rsaKey.Pack(), rsaKey.Public()},
		{"pkcs8 der rsa", der, rsaKey.Public()},
		{"pem x25519", x.MarshalPEM(), x.Public()},
		{"packed mlkem", ml.Pack(), ml.Public()},
		{"openssh", testkeys.File(t, "rsa2048-openssh.pem"), nil},
		{"pkcs1 pem", testkeys.File(t, "rsa2048-pkcs1.pem"), nil},
		{"ed25519 openssh", testkeys.File(t, "ed25519-openssh.pem"), nil},
		{"sec1", testkeys.File(t, "p256-sec1.pem"), nil},
	} {
		_, err := f.svc.AuthKeyRequest(ctx, tc.in, f.app)
		assert.ErrorIs(t, err, attesta.ErrPrivateKeyDisclosed, tc.name)
		if tc.pub != nil {
			_, err = f.svc.AuthKeyRequest(ctx, tc.pub.Pack(), f.app)
			assert.ErrorIs(t, err, attesta.ErrKeyBanned, tc.name)
		}
	}
	_, err = f.svc.AuthKeyToken(ctx, pending)
	assert.ErrorIs(t, err, attesta.ErrKeyBanned, "a challenge issued before the ban")
	_, err = f.svc.Authenticate(ctx, before.Session)
	assert.ErrorIs(t, err, attesta.ErrUnauthorized, "a session dies with its key")

	// The ban survives a restart.
	f.reopen(t)
	for _, k := range []*attesta.PrivateKey{rsaKey, x, ml} {
		_, err = f.svc.AuthKeyRequest(ctx, k.Public().Pack(), f.app)
		assert.ErrorIs(t, err, attesta.ErrKeyBanned)
	}
}

func TestAppTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, attesta.Config{})
	k := testkeys.Key(t, attesta.X25519, 0).Public().Pack()

	_, err := f.svc.CreateApp(ctx, "test")
	assert.ErrorIs(t, err, attesta.ErrAppExists)
	_, err = f.svc.CreateApp(ctx, "Bad Name")
	assert.ErrorIs(t, err, attesta.ErrBadAppName)
	other, err := f.svc.CreateApp(ctx, "other")
	require.NoError(t, err)
	assert.NoError(t, attesta.ParseAppToken(other))

	for _, bad := range []string{"", "ata_", "nope", flip(f.app), "ats_" + f.app[4:]} {
		_, err = f.svc.AuthKeyRequest(ctx, k, bad)
		assert.ErrorIs(t, err, attesta.ErrBadAppToken, bad)
	}
	sess := f.connect(t, testkeys.Key(t, attesta.X25519, 1)).Session
	require.NoError(t, f.svc.RevokeApp(ctx, "test"))
	_, err = f.svc.Authenticate(ctx, sess)
	assert.ErrorIs(t, err, attesta.ErrUnauthorized, "a session dies with its app")
	_, err = f.svc.AuthKeyRequest(ctx, k, f.app)
	assert.ErrorIs(t, err, attesta.ErrBadAppToken, "revoked")
	_, err = f.svc.AuthKeyRequest(ctx, k, other)
	assert.NoError(t, err)
	assert.ErrorIs(t, f.svc.RevokeApp(ctx, "missing"), attesta.ErrAppNotFound)

	f.reopen(t)
	_, err = f.svc.AuthKeyRequest(ctx, k, f.app)
	assert.ErrorIs(t, err, attesta.ErrBadAppToken, "revoked after restart")
	apps, err := f.svc.Apps(ctx)
	require.NoError(t, err)
	require.Len(t, apps, 2)
	assert.Equal(t, "other", apps[0].Name)
	assert.True(t, apps[0].Active())
	assert.False(t, apps[1].Active())
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, attesta.Config{SessionTTL: time.Hour})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	res := f.connect(t, testkeys.Key(t, attesta.X25519, 0))
	assert.Equal(t, now.Add(time.Hour), res.SessionExpiresAt)
	assert.NoError(t, attesta.ParseSession(res.Session))

	_, err := f.svc.Authenticate(ctx, res.Session)
	require.NoError(t, err)
	for _, bad := range []string{"", "ats_x", flip(res.Session), f.app} {
		_, err := f.svc.Authenticate(ctx, bad)
		assert.ErrorIs(t, err, attesta.ErrUnauthorized)
	}
	require.NoError(t, f.svc.Revoke(ctx, res.Session))
	_, err = f.svc.Authenticate(ctx, res.Session)
	assert.ErrorIs(t, err, attesta.ErrUnauthorized)
	assert.ErrorIs(t, f.svc.Revoke(ctx, res.Session), attesta.ErrUnauthorized)

	live := f.connect(t, testkeys.Key(t, attesta.X25519, 0))
	now = now.Add(time.Hour)
	_, err = f.svc.Authenticate(ctx, live.Session)
	assert.ErrorIs(t, err, attesta.ErrUnauthorized, "expired")
	n, err := f.svc.Collect(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "the expired session and the two used challenge tokens")
}

func TestNewConfig(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	_, err = attesta.New(attesta.Config{})
	assert.Error(t, err, "no store")
	_, err = attesta.New(attesta.Config{Store: st})
	assert.Error(t, err, "no secret")
	_, err = attesta.New(attesta.Config{Store: st, Secret: make([]byte, 16)})
	assert.Error(t, err, "short secret")
	_, err = attesta.New(attesta.Config{Store: st, Secret: make([]byte, 32), SessionTTL: -1})
	assert.Error(t, err, "negative duration")
	_, err = attesta.New(attesta.Config{SessionTTL: -1, ChallengeTTL: 2 * time.Hour})
	require.Error(t, err)
	for _, field := range []string{"Config.Store", "Config.Secret", "Config.SessionTTL", "Config.ChallengeTTL"} {
		assert.Contains(t, err.Error(), field, "New names every bad field")
	}
}

// flip changes one character in the middle of a token.
func flip(s string) string {
	b := []byte(s)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return string(b)
}

func openStore(dir string) (*pebblestore.Store, error) { return pebblestore.Open(dir) }

// TestPartiesSharedAcrossApps holds a decision of docs/SECURITY.md: one
// key is one party whichever application's token it connects with (an
// application token is public, so it separates nothing), and each session
// records its app.
func TestPartiesSharedAcrossApps(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, attesta.Config{})
	other, err := f.svc.CreateApp(ctx, "other")
	require.NoError(t, err)
	k := testkeys.Key(t, attesta.X25519, 0)
	first := f.connect(t, k)
	req, err := f.svc.AuthKeyRequest(ctx, k.Public().Pack(), other)
	require.NoError(t, err)
	tok, err := k.DecryptToken(req.EncryptedToken)
	require.NoError(t, err)
	second, err := f.svc.AuthKeyToken(ctx, tok)
	require.NoError(t, err)
	assert.False(t, second.IsNew)
	assert.Equal(t, first.PartyID, second.PartyID)
	sess, err := f.svc.Authenticate(ctx, second.Session)
	require.NoError(t, err)
	assert.Equal(t, "other", sess.App)
}
