package transport_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

var formats = []struct {
	name string
	cbor bool
}{{"json", false}, {"cbor", true}}

func TestConnectEveryKeyType(t *testing.T) {
	for _, alg := range testkeys.Algorithms {
		for _, f := range formats {
			t.Run(string(alg)+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				clk := newFakeClock()
				e := newEnv(t, attesta.Config{Now: clk.Now}, generous)
				c := e.client(f.cbor)
				ctx := t.Context()
				k := testkeys.Key(t, alg, 0)

				first, err := c.Connect(ctx, k, e.app)
				require.NoError(t, err)
				assert.True(t, first.IsNew)
				_, err = attesta.ParsePartyID(first.PartyID)
				require.NoError(t, err)
				require.NoError(t, attesta.ParseSession(first.Session))
				assert.True(t, first.SessionExpiresAt.Equal(clk.Now().Add(24*time.Hour)), "a session lasts 24 h: %v", first.SessionExpiresAt)

				again, err := c.Connect(ctx, k, e.app)
				require.NoError(t, err)
				assert.False(t, again.IsNew, "a known key logs its party in")
				assert.Equal(t, first.PartyID, again.PartyID)
				assert.NotEqual(t, first.Session, again.Session)

				p, err := c.Party(ctx, again.Session)
				require.NoError(t, err)
				assert.Equal(t, first.PartyID, p.PartyID)
				assert.False(t, p.Created.IsZero())
				require.Len(t, p.Keys, 1)
				assert.Equal(t, k.Public().ID().String(), p.Keys[0].KeyID)
				assert.Equal(t, k.Public().Type().String(), p.Keys[0].Type)
				assert.False(t, p.Keys[0].Added.IsZero())

				other, err := c.Connect(ctx, testkeys.Key(t, alg, 1), e.app)
				require.NoError(t, err)
				assert.True(t, other.IsNew)
				assert.NotEqual(t, first.PartyID, other.PartyID)
			})
		}
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, attesta.Config{}, transport.HandlerConfig{})
	for _, f := range formats {
		require.NoError(t, e.client(f.cbor).Health(t.Context()), f.name)
	}
	resp := e.do(t, http.MethodGet, "/healthz", nil, nil)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"status":"ok"}`, string(raw))
	resp = e.do(t, http.MethodHead, "/healthz", nil, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestContentNegotiation(t *testing.T) {
	clk := newFakeClock()
	e := newEnv(t, attesta.Config{Now: clk.Now}, generous)
	k := testkeys.Key(t, attesta.X25519, 0)
	body := transport.AuthKeyRequestBody{Key: k.Public().Pack(), AppToken: e.app}
	jsonBody, err := json.Marshal(body)
	require.NoError(t, err)
	cborBody, err := cborx.Marshal(body)
	require.NoError(t, err)

	tests := []struct {
		name, contentType, accept, want string
	}{
		{"json", "application/json", "", "application/json"},
		{"json utf-8", "application/json; charset=UTF-8", "", "application/json"},
		{"json accept cbor", "application/json", "application/cbor", "application/cbor"},
		{"cbor", "application/cbor", "", "application/cbor"},
		{"cbor accept json", "application/cbor", "application/json", "application/json"},
		{"cbor accept any", "application/cbor", "*/*", "application/cbor"},
		{"json accept any", "application/json", "*/*", "application/json"},
		{"json accept html", "application/json", "text/html", "application/json"},
		{"json prefers cbor by q", "application/json", "application/json;q=0.1, application/cbor;q=0.9", "application/cbor"},
		{"cbor prefers cbor by q", "application/cbor", "application/json;q=0.5, application/cbor", "application/cbor"},
		{"equal q keeps request format", "application/cbor", "application/json, application/cbor", "application/cbor"},
		{"cbor refused", "application/cbor", "application/cbor;q=0", "application/json"},
		{"both refused", "application/cbor", "application/cbor;q=0, application/json;q=0", "application/cbor"},
		{"malformed accept", "application/json", ";;;, application/cbor;q=x", "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tc.contentType}}
			if tc.accept != "" {
				h.Set("Accept", tc.accept)
			}
			b := jsonBody
			if tc.contentType == "application/cbor" {
				b = cborBody
			}
			resp := e.do(t, http.MethodPost, "/v1/auth_key_request", h, b)
			raw, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
			assert.Equal(t, tc.want, resp.Header.Get("Content-Type"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Contains(t, resp.Header.Values("Vary"), "Accept")
			var res transport.AuthKeyRequestResponse
			if tc.want == "application/cbor" {
				require.NoError(t, cborx.Decode(raw, &res))
			} else {
				var m map[string]any
				require.NoError(t, json.Unmarshal(raw, &m))
				assert.ElementsMatch(t, []string{"encrypted_token", "expires_at"}, slices.Collect(maps.Keys(m)))
				exp, err := time.Parse(time.RFC3339, m["expires_at"].(string))
				require.NoError(t, err)
				_, offset := exp.Zone()
				assert.Zero(t, offset, "times are UTC")
				require.NoError(t, json.Unmarshal(raw, &res))
			}
			token, err := k.DecryptToken(res.EncryptedToken)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(token), attesta.MaxChallengeTokenSize)
			assert.True(t, res.ExpiresAt.Equal(clk.Now().Add(5*time.Minute)), "a challenge lasts 5 min: %v", res.ExpiresAt)
		})
	}

	// GET answers JSON unless asked otherwise.
	res, err := e.client(false).Connect(t.Context(), k, e.app)
	require.NoError(t, err)
	for accept, want := range map[string]string{"": "application/json", "application/cbor": "application/cbor", "application/json": "application/json"} {
		h := http.Header{"Authorization": {"Bearer " + res.Session}}
		if accept != "" {
			h.Set("Accept", accept)
		}
		resp := e.do(t, http.MethodGet, "/v1/party", h, nil)
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, want, resp.Header.Get("Content-Type"), "Accept %q", accept)
		var p transport.PartyResponse
		if want == "application/cbor" {
			require.NoError(t, cborx.Decode(raw, &p))
		} else {
			require.NoError(t, json.Unmarshal(raw, &p))
		}
		assert.Equal(t, res.PartyID, p.PartyID)
	}
}

func TestChallengeTokenRefusals(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, attesta.Config{}, generous)
			c := e.client(f.cbor)
			ctx := t.Context()
			k := testkeys.Key(t, attesta.X25519, 0)

			req, err := c.AuthKeyRequest(ctx, k.Public().Pack(), e.app)
			require.NoError(t, err)
			token, err := k.DecryptToken(req.EncryptedToken)
			require.NoError(t, err)
			_, err = c.AuthKeyToken(ctx, token)
			require.NoError(t, err)

			_, err = c.AuthKeyToken(ctx, token)
			requireProblem(t, err, http.StatusBadRequest, "challenge_unknown", attesta.ErrChallengeUnknown)

			random := make([]byte, attesta.TokenSize)
			rand.Read(random)
			for name, tok := range map[string][]byte{"random": random, "short": token[:5], "long": append(token, 0), "empty": {}} {
				_, err = c.AuthKeyToken(ctx, tok)
				requireProblem(t, err, http.StatusBadRequest, "challenge_unknown", attesta.ErrChallengeUnknown)
				assert.NotErrorIs(t, err, attesta.ErrChallengeExpired, name)
			}

			// The ciphertext is not the token.
			_, err = c.AuthKeyToken(ctx, req.EncryptedToken)
			requireProblem(t, err, http.StatusBadRequest, "challenge_unknown", attesta.ErrChallengeUnknown)
		})
	}
}

func TestChallengeExpired(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			clk := newFakeClock()
			e := newEnv(t, attesta.Config{Now: clk.Now}, generous)
			c := e.client(f.cbor)
			k := testkeys.Key(t, attesta.X25519, 1)
			req, err := c.AuthKeyRequest(t.Context(), k.Public().Pack(), e.app)
			require.NoError(t, err)
			token, err := k.DecryptToken(req.EncryptedToken)
			require.NoError(t, err)
			clk.add(5*time.Minute + time.Second) // the TTL is 5 minutes
			_, err = c.AuthKeyToken(t.Context(), token)
			requireProblem(t, err, http.StatusGone, "challenge_expired", attesta.ErrChallengeExpired)
			// It stays expired.
			_, err = c.AuthKeyToken(t.Context(), token)
			requireProblem(t, err, http.StatusGone, "challenge_expired", attesta.ErrChallengeExpired)
		})
	}
}

// TestChallengeSlotsCannotBeFilled is finding 3 of issue 14 over HTTP:
// an attacker with the app token and the victim's public key asks for
// many challenges from other addresses; the victim still connects.
func TestChallengeSlotsCannotBeFilled(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	victim := testkeys.Key(t, attesta.X25519, 0)
	attacker := e.client(false)
	for range 50 {
		_, err := attacker.AuthKeyRequest(t.Context(), victim.Public().Pack(), e.app)
		require.NoError(t, err)
	}
	res, err := e.client(false).Connect(t.Context(), victim, e.app)
	require.NoError(t, err)
	assert.True(t, res.IsNew)
}

func TestAppTokens(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.X25519, 0)
	c := e.client(false)

	other, err := e.svc.CreateApp(ctx, "other")
	require.NoError(t, err)
	_, err = c.Connect(ctx, k, other)
	require.NoError(t, err)
	require.NoError(t, e.svc.RevokeApp(ctx, "other"))

	session, err := c.Connect(ctx, k, e.app)
	require.NoError(t, err)
	unknown := make([]byte, 32)
	rand.Read(unknown)
	for name, tok := range map[string]string{
		"revoked":   other,
		"unknown":   attesta.AppTokenPrefix + base64.RawURLEncoding.EncodeToString(unknown),
		"malformed": "not a token",
		"empty":     "",
		"session":   session.Session,
	} {
		for _, f := range formats {
			_, err := e.client(f.cbor).AuthKeyRequest(ctx, k.Public().Pack(), tok)
			p := requireProblem(t, err, http.StatusUnauthorized, "bad_app_token", attesta.ErrBadAppToken)
			if tok != "" {
				assert.NotContains(t, p.Title+p.Detail, tok, name)
			}
		}
	}
}

// TestConcurrentTokenSubmission submits one token 100 times at once: the
// store must let exactly one through.
func TestConcurrentTokenSubmission(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	k := testkeys.Key(t, attesta.MLKEM768X25519, 0)
	req, err := e.client(false).AuthKeyRequest(t.Context(), k.Public().Pack(), e.app)
	require.NoError(t, err)
	token, err := k.DecryptToken(req.EncryptedToken)
	require.NoError(t, err)

	const n = 100
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		results = map[string]int{}
	)
	for i := range n {
		wg.Go(func() {
			c := e.client(i%2 == 1)
			<-start
			_, err := c.AuthKeyToken(t.Context(), token)
			code := "ok"
			if p := (*transport.Problem)(nil); err != nil {
				if !assert.ErrorAs(t, err, &p) {
					return
				}
				code = p.Code
			}
			mu.Lock()
			results[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, map[string]int{"ok": 1, "challenge_unknown": n - 1}, results)
}

func TestSessions(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	c := e.client(false)
	k := testkeys.Key(t, attesta.X25519, 0)
	res, err := c.Connect(ctx, k, e.app)
	require.NoError(t, err)
	second, err := c.Connect(ctx, k, e.app)
	require.NoError(t, err)

	unknown := make([]byte, 32)
	rand.Read(unknown)
	bad := map[string]http.Header{
		"missing":         {},
		"empty":           {"Authorization": {""}},
		"no token":        {"Authorization": {"Bearer"}},
		"blank token":     {"Authorization": {"Bearer   "}},
		"other scheme":    {"Authorization": {"Basic " + res.Session}},
		"malformed":       {"Authorization": {"Bearer nope"}},
		"unknown":         {"Authorization": {"Bearer " + attesta.SessionPrefix + base64.RawURLEncoding.EncodeToString(unknown)}},
		"app token":       {"Authorization": {"Bearer " + e.app}},
		"two headers":     {"Authorization": {"Bearer " + res.Session, "Bearer " + res.Session}},
		"trailing suffix": {"Authorization": {"Bearer " + res.Session + "x"}},
	}
	for name, h := range bad {
		for _, ep := range []struct{ method, path string }{{http.MethodGet, "/v1/party"}, {http.MethodPost, "/v1/logout"}} {
			resp := e.do(t, ep.method, ep.path, h, nil)
			_, raw := problem(t, resp, http.StatusUnauthorized, "unauthorized")
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", name)
			assert.NotContains(t, raw, res.Session, name)
		}
	}
	resp := e.do(t, http.MethodGet, "/v1/party", http.Header{}, nil)
	problem(t, resp, http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, `Bearer realm="attesta"`, resp.Header.Get("WWW-Authenticate"))
	resp = e.do(t, http.MethodGet, "/v1/party", http.Header{"Authorization": {"Bearer nope"}}, nil)
	problem(t, resp, http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, `Bearer realm="attesta", error="invalid_token"`, resp.Header.Get("WWW-Authenticate"))

	// The scheme is case-insensitive.
	resp = e.do(t, http.MethodGet, "/v1/party", http.Header{"Authorization": {"bearer " + res.Session}}, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// Logout takes no body.
	resp = e.do(t, http.MethodPost, "/v1/logout", http.Header{"Authorization": {"Bearer " + res.Session}}, []byte("{}"))
	problem(t, resp, http.StatusBadRequest, "bad_request")

	resp = e.do(t, http.MethodPost, "/v1/logout", http.Header{"Authorization": {"Bearer " + res.Session}}, nil)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, err = c.Party(ctx, res.Session)
	requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
	err = c.Logout(ctx, res.Session)
	requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)

	// Another session of the party lives on, until its own logout.
	for _, f := range formats {
		p, err := e.client(f.cbor).Party(ctx, second.Session)
		require.NoError(t, err)
		assert.Equal(t, res.PartyID, p.PartyID)
	}
	require.NoError(t, e.client(true).Logout(ctx, second.Session))
	_, err = c.Party(ctx, second.Session)
	requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
}

func TestSessionExpired(t *testing.T) {
	clk := newFakeClock()
	e := newEnv(t, attesta.Config{Now: clk.Now}, generous)
	res, err := e.client(false).Connect(t.Context(), testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	clk.add(24*time.Hour - time.Second)
	_, err = e.client(false).Party(t.Context(), res.Session)
	require.NoError(t, err, "a session lasts 24 hours")
	clk.add(time.Second)
	_, err = e.client(false).Party(t.Context(), res.Session)
	requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
}

// TestRequestCostCharged is finding 7 of issue 14: an auth_key_request is
// charged to its address's budget by what its encryption cost the server
// (attesta.PublicKey.EncryptCost), so that RSA-16384 keys buy an address
// no more server CPU than RSA-2048 ones.
func TestRequestCostCharged(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, attesta.Config{}, proxied(transport.HandlerConfig{RatePerSecond: 1, RateBurst: 40}))
	transport.SetNow(t, e.h, clock.Now)
	big, err := cborx.Marshal([]any{uint64(attesta.RSAPublic), []byte{1, 0, 1}, testkeys.Odd(attesta.MaxRSABits).Bytes()})
	require.NoError(t, err)
	pub, err := attesta.ParsePublicKey(big)
	require.NoError(t, err)
	cost := pub.EncryptCost()
	require.Greater(t, cost, 40)

	request := func(addr string, key []byte) *http.Response {
		body, err := json.Marshal(transport.AuthKeyRequestBody{Key: key, AppToken: e.app})
		require.NoError(t, err)
		return e.do(t, http.MethodPost, "/v1/auth_key_request", http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {addr}}, body)
	}
	resp := request("203.0.113.1", big)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp = request("203.0.113.1", big)
	problem(t, resp, http.StatusTooManyRequests, "rate_limited")
	assert.Equal(t, strconv.Itoa(cost-40+1), resp.Header.Get("Retry-After"), "the burst of 40 spent and the rest owed, repaid at one a second")

	// An RSA-2048 key costs one unit: forty in a row from another address.
	small := testkeys.Key(t, attesta.RSA2048, 0).Public().Pack()
	for i := range 40 {
		require.Equal(t, http.StatusOK, request("203.0.113.2", small).StatusCode, "request %d", i)
	}
	problem(t, request("203.0.113.2", small), http.StatusTooManyRequests, "rate_limited")
	clock.add(time.Duration(cost) * time.Second)
	assert.Equal(t, http.StatusOK, request("203.0.113.1", big).StatusCode, "repaid")
}
