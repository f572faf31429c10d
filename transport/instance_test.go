package transport_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/attesta/pgstore"
	"github.com/attesta-go/attesta/internal/pgtest"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// storeServer is a real server over a given store: a Service, a Handler,
// an httptest.Server and an application "keypeer".
type storeServer struct {
	svc    *attesta.Service
	srv    *httptest.Server
	client *transport.Client
	app    string
}

func serveStore(t *testing.T, st attesta.Store, acfg attesta.Config, cbor bool) *storeServer {
	t.Helper()
	acfg.Store = st
	if acfg.Secret == nil {
		acfg.Secret = randomSecret()
	}
	svc, err := attesta.New(acfg)
	require.NoError(t, err)
	h, err := transport.NewHandler(svc, generous)
	require.NoError(t, err)
	if acfg.Now != nil {
		transport.SetNow(t, h, acfg.Now)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	opts := []transport.ClientOption{transport.WithHTTPClient(srv.Client())}
	if cbor {
		opts = append(opts, transport.WithCBOR())
	}
	s := &storeServer{svc: svc, srv: srv, client: transport.NewClient(srv.URL, opts...)}
	// A second server on the same database finds the application made.
	if s.app, err = svc.CreateApp(t.Context(), "keypeer"); err != nil {
		require.ErrorIs(t, err, attesta.ErrAppExists)
	}
	return s
}

// bothStores runs f on a Pebble store (JSON) and on PostgreSQL (CBOR).
func bothStores(t *testing.T, f func(t *testing.T, st attesta.Store, cbor bool)) {
	t.Run("pebble", func(t *testing.T) {
		st, err := pebblestore.Open(t.TempDir())
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		f(t, st, false)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn, _ := pgtest.DSN(t)
		st, err := pgstore.Open(t.Context(), dsn, pgstore.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		f(t, st, true)
	})
}

// rawGet sends a GET with a session and returns the status and body.
func rawGet(t *testing.T, s *storeServer, path, session string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+session)
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestInstanceFlow is keypeer's story over real HTTP, on both stores: an
// instance connects and registers, gets its TOKEN, is refused a service
// key (and an unknown provider answers byte for byte the same), is
// entitled, receives the key encrypted to its own key and decrypts it,
// receives the next version after a rotation, is refused again once its
// entitlement is revoked, and gets nothing at all once its application
// is revoked. A party that did not register is not an instance.
func TestInstanceFlow(t *testing.T) {
	bothStores(t, func(t *testing.T, st attesta.Store, cbor bool) {
		ctx := t.Context()
		s := serveStore(t, st, attesta.Config{}, cbor)
		k := testkeys.Key(t, attesta.X25519, 0)
		res, tok, err := s.client.ConnectInstance(ctx, k, s.app)
		require.NoError(t, err)
		assert.True(t, res.IsNew)
		assert.Equal(t, "keypeer", tok.App())
		assert.Equal(t, res.PartyID, tok.PartyID().String())
		assert.NoError(t, tok.Verify(s.svc.InstanceTokenKey().Public), "offline, with the published key")
		again, err := s.client.InstanceToken(ctx, res.Session)
		require.NoError(t, err)
		assert.Equal(t, tok.String(), again.String())

		// Not entitled: the provider does not matter.
		_, _, err = s.client.ServiceKey(ctx, res.Session, "weather", k)
		requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
		_, err = s.svc.SetServiceKey(ctx, "keypeer", "weather", []byte("wk_live_first"))
		require.NoError(t, err)
		st1, known := rawGet(t, s, "/v1/service_keys/weather", res.Session)
		st2, unknown := rawGet(t, s, "/v1/service_keys/nothing-here", res.Session)
		st3, bad := rawGet(t, s, "/v1/service_keys/Bad%20Name", res.Session)
		assert.Equal(t, http.StatusForbidden, st1)
		assert.Equal(t, []int{st1, st1}, []int{st2, st3})
		assert.Equal(t, known, unknown, "an unknown provider answers as a known one")
		assert.Equal(t, known, bad)

		// The payment: the operator grants the TOKEN.
		_, err = s.svc.GrantEntitlement(ctx, tok.String())
		require.NoError(t, err)
		value, version, err := s.client.ServiceKey(ctx, res.Session, "weather", k)
		require.NoError(t, err)
		assert.Equal(t, "wk_live_first", string(value))
		assert.Equal(t, uint64(1), version)
		st4, body := rawGet(t, s, "/v1/service_keys/weather", res.Session)
		assert.Equal(t, http.StatusOK, st4)
		assert.NotContains(t, body, "wk_live_first", "never in clear on the wire")
		var wire transport.ServiceKeyResponse
		require.NoError(t, json.Unmarshal([]byte(body), &wire))
		_, err = testkeys.Key(t, attesta.X25519, 1).DecryptServiceKey(wire.EncryptedKey)
		assert.ErrorIs(t, err, attesta.ErrDecrypt, "another key cannot open it")
		_, _, err = s.client.ServiceKey(ctx, res.Session, "nothing-here", k)
		requireProblem(t, err, http.StatusNotFound, "service_key_not_found", attesta.ErrServiceKeyNotFound)

		// Another instance of the same application is not entitled by
		// this one's TOKEN (which is public: it is on a payment): the
		// server checks the TOKEN of the session's own party.
		other := testkeys.Key(t, attesta.X25519, 1)
		ores, otok, err := s.client.ConnectInstance(ctx, other, s.app)
		require.NoError(t, err)
		assert.NotEqual(t, tok.String(), otok.String())
		_, _, err = s.client.ServiceKey(ctx, ores.Session, "weather", other)
		requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)

		// Rotation.
		v, err := s.svc.SetServiceKey(ctx, "keypeer", "weather", []byte("wk_live_second"))
		require.NoError(t, err)
		assert.Equal(t, uint64(2), v.Version)
		value, version, err = s.client.ServiceKey(ctx, res.Session, "weather", k)
		require.NoError(t, err)
		assert.Equal(t, "wk_live_second", string(value))
		assert.Equal(t, uint64(2), version)

		// Another party of the same app that did not register.
		plain, err := s.client.Connect(ctx, testkeys.Key(t, attesta.RSA2048, 0), s.app)
		require.NoError(t, err)
		_, err = s.client.InstanceToken(ctx, plain.Session)
		requireProblem(t, err, http.StatusForbidden, "not_instance", attesta.ErrNotInstance)
		_, _, err = s.client.ServiceKey(ctx, plain.Session, "weather", k)
		requireProblem(t, err, http.StatusForbidden, "not_instance", attesta.ErrNotInstance)
		_, err = s.client.RegisterInstance(ctx, plain.Session, k.Public())
		requireProblem(t, err, http.StatusBadRequest, "not_session_key", attesta.ErrNotSessionKey)
		_, err = s.client.RegisterInstance(ctx, "ats_"+strings.Repeat("A", 43), k.Public())
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)

		// Revoked entitlement: refused (at once, on this process).
		require.NoError(t, s.svc.RevokeEntitlement(ctx, tok.String()))
		_, _, err = s.client.ServiceKey(ctx, res.Session, "weather", k)
		requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)

		// A revoked application's instances get nothing, entitled or not.
		_, err = s.svc.GrantEntitlement(ctx, tok.String())
		require.NoError(t, err)
		_, _, err = s.client.ServiceKey(ctx, res.Session, "weather", k)
		require.NoError(t, err)
		require.NoError(t, s.svc.RevokeApp(ctx, "keypeer"))
		_, _, err = s.client.ServiceKey(ctx, res.Session, "weather", k)
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		_, err = s.client.InstanceToken(ctx, res.Session)
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		_, _, err = s.client.ConnectInstance(ctx, k, s.app)
		requireProblem(t, err, http.StatusUnauthorized, "bad_app_token", attesta.ErrBadAppToken)
	})
}

// TestEntitlementRevokedWithinTTL: two servers on one PostgreSQL
// database (as a deployment runs them). A revocation on one takes effect
// on the other within its EntitlementTTL, over HTTP, on the injected
// clock.
func TestEntitlementRevokedWithinTTL(t *testing.T) {
	dsn, _ := pgtest.DSN(t)
	ctx := t.Context()
	clock := newFakeClock()
	open := func() attesta.Store {
		st, err := pgstore.Open(ctx, dsn, pgstore.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	// Two servers of one secret, as every server on one database.
	secret := randomSecret()
	a := serveStore(t, open(), attesta.Config{Secret: secret, EntitlementTTL: time.Minute, Now: clock.Now}, false)
	b := serveStore(t, open(), attesta.Config{Secret: secret, EntitlementTTL: time.Minute, Now: clock.Now}, false)
	k := testkeys.Key(t, attesta.MLKEM768X25519, 0)
	res, tok, err := a.client.ConnectInstance(ctx, k, a.app)
	require.NoError(t, err)
	_, err = a.svc.SetServiceKey(ctx, "keypeer", "maps", []byte("maps-key"))
	require.NoError(t, err)
	_, err = a.svc.GrantEntitlement(ctx, tok.String())
	require.NoError(t, err)
	_, _, err = b.client.ServiceKey(ctx, res.Session, "maps", k)
	require.NoError(t, err, "the second server serves the session the first made")

	require.NoError(t, a.svc.RevokeEntitlement(ctx, tok.String()))
	_, _, err = a.client.ServiceKey(ctx, res.Session, "maps", k)
	requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
	clock.add(59 * time.Second)
	_, _, err = b.client.ServiceKey(ctx, res.Session, "maps", k)
	assert.NoError(t, err, "within its TTL the second server trusts its answer")
	clock.add(time.Second)
	_, _, err = b.client.ServiceKey(ctx, res.Session, "maps", k)
	requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
}

// webhook is a real entitlement webhook: what it answers is set by the
// test; it records what it was asked.
type webhook struct {
	srv     *httptest.Server
	mode    atomic.Value // string
	asked   atomic.Int32
	mu      sync.Mutex
	lastReq transport.WebhookRequest
	release chan struct{}
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{release: make(chan struct{})}
	w.mode.Store("yes")
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.asked.Add(1)
		var req transport.WebhookRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err == nil {
			w.mu.Lock()
			w.lastReq = req
			w.mu.Unlock()
		}
		switch w.mode.Load().(string) {
		case "yes":
			rw.Header().Set("Content-Type", "application/json")
			io.WriteString(rw, `{"entitled":true}`)
		case "no":
			rw.Header().Set("Content-Type", "application/json")
			io.WriteString(rw, `{"entitled":false}`)
		case "500":
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusInternalServerError)
			io.WriteString(rw, `{"entitled":true}`)
		case "404":
			http.NotFound(rw, r)
		case "redirect":
			http.Redirect(rw, r, "/elsewhere", http.StatusFound)
		case "text":
			rw.Header().Set("Content-Type", "text/plain")
			io.WriteString(rw, `{"entitled":true}`)
		case "extra":
			rw.Header().Set("Content-Type", "application/json")
			io.WriteString(rw, `{"entitled":true,"until":"forever"}`)
		case "hang":
			// Never answers: the checker's timeout ends the request.
			select {
			case <-r.Context().Done():
			case <-w.release:
			}
		}
	}))
	t.Cleanup(func() { close(w.release); w.srv.Close() })
	return w
}

// TestWebhookEntitlements: the webhook checker over real HTTP on both
// sides. It posts the TOKEN (with what it names); a yes entitles, a no
// refuses; answers are cached per TOKEN for the TTL; and it fails closed
// on a timeout, a non-2xx answer, a redirect, another media type and
// another body.
func TestWebhookEntitlements(t *testing.T) {
	ctx := t.Context()
	hook := newWebhook(t)
	check, err := transport.NewWebhookEntitlements(transport.WebhookConfig{URL: hook.srv.URL + "/entitled", Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	clock := newFakeClock()
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	s := serveStore(t, st, attesta.Config{Entitlements: check, EntitlementTTL: time.Minute, Now: clock.Now}, false)
	_, err = s.svc.SetServiceKey(ctx, "keypeer", "weather", []byte("wk"))
	require.NoError(t, err)
	k := testkeys.Key(t, attesta.X25519, 0)
	res, tok, err := s.client.ConnectInstance(ctx, k, s.app)
	require.NoError(t, err)
	fetch := func() error {
		_, _, err := s.client.ServiceKey(ctx, res.Session, "weather", k)
		return err
	}

	require.NoError(t, fetch())
	assert.Equal(t, int32(1), hook.asked.Load())
	hook.mu.Lock()
	assert.Equal(t, transport.WebhookRequest{Token: tok.String(), App: "keypeer", PartyID: res.PartyID}, hook.lastReq)
	hook.mu.Unlock()
	require.NoError(t, fetch(), "cached")
	assert.Equal(t, int32(1), hook.asked.Load(), "one question per TTL")

	hook.mode.Store("no")
	require.NoError(t, fetch(), "the cached yes holds within the TTL")
	clock.add(time.Minute)
	requireProblem(t, fetch(), http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
	assert.Equal(t, int32(2), hook.asked.Load())

	for _, mode := range []string{"hang", "500", "404", "redirect", "text", "extra"} {
		hook.mode.Store(mode)
		clock.add(time.Minute)
		before := hook.asked.Load()
		requireProblem(t, fetch(), http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
		assert.Equal(t, before+1, hook.asked.Load(), "%s: asked", mode)
		// The failure is remembered briefly: no question for 5 s.
		requireProblem(t, fetch(), http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
		assert.Equal(t, before+1, hook.asked.Load(), "%s: not asked again at once", mode)
		clock.add(5 * time.Second)
		hook.mode.Store("yes")
		require.NoError(t, fetch(), "%s: asked again after 5 s, the webhook is back", mode)
	}

	_, err = transport.NewWebhookEntitlements(transport.WebhookConfig{URL: "ftp://x"})
	assert.Error(t, err)
	_, err = transport.NewWebhookEntitlements(transport.WebhookConfig{URL: "http://x", Timeout: -1})
	assert.Error(t, err)
}

// TestAdminInstances: the administration socket's instance routes:
// verify, grant, list, revoke, set and list service keys; what they
// refuse; and no route answers a service key's value.
func TestAdminInstances(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	admin := serveAdmin(t, e.svc)

	k := testkeys.Key(t, attesta.X25519, 0)
	res, tok, err := e.client(false).ConnectInstance(ctx, k, e.app)
	require.NoError(t, err)
	inst, err := admin.VerifyInstance(ctx, strings.ToUpper(tok.String()))
	require.NoError(t, err)
	assert.Equal(t, transport.AdminInstance{Token: tok.String(), App: "test", PartyID: res.PartyID}, inst)
	forged := []byte(tok.String())
	forged[len(forged)/2] ^= 3 // another character, whatever it was (a flipped letter, or a digit outside base32)
	_, err = admin.VerifyInstance(ctx, string(forged))
	requireProblem(t, err, http.StatusBadRequest, "bad_instance_token", attesta.ErrBadInstanceToken)

	sk, err := admin.SetServiceKey(ctx, "test", "weather", []byte("secret-value"))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), sk.Version)
	sk, err = admin.SetServiceKey(ctx, "test", "weather", []byte("secret-value-2"))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), sk.Version)
	_, err = admin.SetServiceKey(ctx, "test", "weather", nil)
	requireProblem(t, err, http.StatusBadRequest, "bad_service_key", attesta.ErrBadServiceKey)
	_, err = admin.SetServiceKey(ctx, "test", "Weather", []byte("x"))
	requireProblem(t, err, http.StatusBadRequest, "bad_provider", attesta.ErrBadProvider)
	_, err = admin.SetServiceKey(ctx, "nope", "weather", []byte("x"))
	requireProblem(t, err, http.StatusNotFound, "app_not_found", attesta.ErrAppNotFound)
	list, err := admin.ServiceKeys(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "weather", list[0].Provider)
	assert.Equal(t, uint64(2), list[0].Version)
	raw, err := json.Marshal(list)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "secret-value")

	_, _, err = e.client(false).ServiceKey(ctx, res.Session, "weather", k)
	requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
	g, err := admin.GrantEntitlement(ctx, tok.String())
	require.NoError(t, err)
	assert.Equal(t, tok.String(), g.Token)
	value, version, err := e.client(false).ServiceKey(ctx, res.Session, "weather", k)
	require.NoError(t, err, "granted through the socket: at once on the running server")
	assert.Equal(t, "secret-value-2", string(value))
	assert.Equal(t, uint64(2), version)
	es, err := admin.Entitlements(ctx, "")
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.Equal(t, g, es[0])
	es, err = admin.Entitlements(ctx, "other")
	require.NoError(t, err)
	assert.Empty(t, es)
	require.NoError(t, admin.RevokeEntitlement(ctx, tok.String()))
	requireProblem(t, admin.RevokeEntitlement(ctx, tok.String()), http.StatusNotFound, "entitlement_not_found", attesta.ErrEntitlementNotFound)
	_, _, err = e.client(false).ServiceKey(ctx, res.Session, "weather", k)
	requireProblem(t, err, http.StatusForbidden, "not_entitled", attesta.ErrNotEntitled)
	_, err = admin.GrantEntitlement(ctx, "test:"+strings.Repeat("a", 128))
	requireProblem(t, err, http.StatusBadRequest, "bad_instance_token", attesta.ErrBadInstanceToken)
}
