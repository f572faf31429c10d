package transport_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// TestMalformedBodies sends bodies that must not be read as requests, and
// checks each answer's status and code, and that it echoes nothing.
func TestMalformedBodies(t *testing.T) {
	const maxBody = 4096
	hcfg := generous
	hcfg.MaxBodyBytes = maxBody
	e := newEnv(t, attesta.Config{}, hcfg)
	key := base64.RawURLEncoding.EncodeToString(testkeys.Key(t, attesta.X25519, 0).Public().Pack())
	okReq := fmt.Sprintf(`{"key":%q,"app_token":%q}`, key, e.app)
	ones := bytes.Repeat([]byte{0xff}, attesta.TokenSize)
	tokenB64 := base64.RawURLEncoding.EncodeToString(ones) // "___…_w"
	tok := func(s string) string { return fmt.Sprintf(`{"token":%q}`, s) }
	tokRaw := func(s string) string { return `{"token":"` + s + `"}` }

	cborToken := mustCBOR(t, map[string]any{"token": ones})
	nonMinimal := append([]byte{0xa1, 0x65, 't', 'o', 'k', 'e', 'n', 0x59, 0x00, 0x20}, ones...)
	duplicate := append(append([]byte{0xa2}, cborToken[1:]...), cborToken[1:]...)

	const (
		req = "/v1/auth_key_request"
		tkn = "/v1/auth_key_token"
		js  = "application/json"
		cb  = "application/cbor"
	)
	tests := []struct {
		name, path, contentType string
		body                    []byte
		chunked                 bool
		status                  int
		code                    string
	}{
		{"json/ok", req, js, []byte(okReq), false, 200, ""},
		{"json/ok with white space", req, js, []byte(" \n" + okReq + " \r\n\t"), false, 200, ""},
		{"json/ok token", tkn, js, []byte(tok(tokenB64)), false, 400, "challenge_unknown"},
		{"json/empty", req, js, nil, false, 400, "bad_request"},
		{"json/syntax", req, js, []byte(`{"key":`), false, 400, "bad_request"},
		{"json/not an object", req, js, []byte(`["key"]`), false, 400, "bad_request"},
		{"json/null", req, js, []byte(`null`), false, 400, "bad_request"},
		{"json/string", req, js, []byte(`"x"`), false, 400, "bad_request"},
		{"json/not utf-8", req, js, []byte(`{"key":"` + key + "\",\"app_token\":\"ata_\xff\xfe\"}"), false, 400, "bad_request"},
		{"json/unknown field", req, js, []byte(okReq[:len(okReq)-1] + `,"extra":1}`), false, 400, "bad_request"},
		{"json/duplicate field", req, js, []byte(fmt.Sprintf(`{"key":%q,"key":%q,"app_token":%q}`, key, key, e.app)), false, 400, "bad_request"},
		{"json/field case", req, js, []byte(fmt.Sprintf(`{"Key":%q,"app_token":%q}`, key, e.app)), false, 400, "bad_request"},
		{"json/missing field", req, js, []byte(fmt.Sprintf(`{"key":%q}`, key)), false, 400, "bad_request"},
		{"json/trailing object", req, js, []byte(okReq + `{}`), false, 400, "bad_request"},
		{"json/trailing garbage", req, js, []byte(okReq + `x`), false, 400, "bad_request"},
		{"json/two values", tkn, js, []byte(tok(tokenB64) + " " + tok(tokenB64)), false, 400, "bad_request"},
		{"json/wrong type", req, js, []byte(fmt.Sprintf(`{"key":5,"app_token":%q}`, e.app)), false, 400, "bad_request"},
		{"json/app token number", req, js, []byte(fmt.Sprintf(`{"key":%q,"app_token":5}`, key)), false, 400, "bad_request"},
		{"json/null key", req, js, []byte(fmt.Sprintf(`{"key":null,"app_token":%q}`, e.app)), false, 400, "bad_request"},
		{"json/invalid utf-8 name", tkn, js, []byte("{\"tok\xffen\":\"" + tokenB64 + "\"}"), false, 400, "bad_request"},
		{"base64/padded", tkn, js, []byte(tok(tokenB64 + "=")), false, 400, "bad_request"},
		{"base64/standard alphabet", tkn, js, []byte(tok(base64.RawStdEncoding.EncodeToString(ones))), false, 400, "bad_request"},
		{"base64/escaped newline", tkn, js, []byte(tokRaw(tokenB64[:10] + `\n` + tokenB64[10:])), false, 400, "bad_request"},
		{"base64/escaped letter", tkn, js, []byte(tokRaw(`\u005f` + tokenB64[1:])), false, 400, "bad_request"},
		{"base64/space", tkn, js, []byte(tok(tokenB64[:10] + " " + tokenB64[10:])), false, 400, "bad_request"},
		{"base64/trailing bits", tkn, js, []byte(tok(tokenB64[:42] + "x")), false, 400, "bad_request"},
		{"base64/bad length", tkn, js, []byte(tok("A")), false, 400, "bad_request"},
		{"cbor/ok token", tkn, cb, cborToken, false, 400, "challenge_unknown"},
		{"cbor/empty", tkn, cb, nil, false, 400, "bad_request"},
		{"cbor/garbage", tkn, cb, []byte{0xff, 0xfe}, false, 400, "bad_request"},
		{"cbor/json body", tkn, cb, []byte(tok(tokenB64)), false, 400, "bad_request"},
		{"cbor/truncated", tkn, cb, cborToken[:len(cborToken)-1], false, 400, "bad_request"},
		{"cbor/trailing byte", tkn, cb, append(bytes.Clone(cborToken), 0), false, 400, "bad_request"},
		{"cbor/non-minimal length", tkn, cb, nonMinimal, false, 400, "bad_request"},
		{"cbor/duplicate key", tkn, cb, duplicate, false, 400, "bad_request"},
		{"cbor/unknown key", tkn, cb, mustCBOR(t, map[string]any{"token": ones, "x": 1}), false, 400, "bad_request"},
		{"cbor/missing key", req, cb, mustCBOR(t, map[string]any{"app_token": e.app}), false, 400, "bad_request"},
		{"cbor/text token", tkn, cb, mustCBOR(t, map[string]any{"token": tokenB64}), false, 400, "bad_request"},
		{"cbor/array", tkn, cb, mustCBOR(t, []any{ones}), false, 400, "bad_request"},
		{"cbor/tagged", tkn, cb, append([]byte{0xd8, 0x18}, cborToken...), false, 400, "bad_request"},
		{"media/missing", tkn, "", []byte(tok(tokenB64)), false, 415, "unsupported_media_type"},
		{"media/text", tkn, "text/plain", []byte(tok(tokenB64)), false, 415, "unsupported_media_type"},
		{"media/form", tkn, "application/x-www-form-urlencoded", []byte(tok(tokenB64)), false, 415, "unsupported_media_type"},
		{"media/latin1", tkn, "application/json; charset=latin1", []byte(tok(tokenB64)), false, 415, "unsupported_media_type"},
		{"media/malformed", tkn, "application/json; =", []byte(tok(tokenB64)), false, 415, "unsupported_media_type"},
		{"media/problem", tkn, "application/problem+json", []byte(tok(tokenB64)), false, 415, "unsupported_media_type"},
		{"size/over", req, js, []byte(fmt.Sprintf(`{"key":%q,"app_token":%q}`, strings.Repeat("A", maxBody), e.app)), false, 413, "too_large"},
		{"size/over chunked", req, js, []byte(fmt.Sprintf(`{"key":%q,"app_token":%q}`, strings.Repeat("A", maxBody), e.app)), true, 413, "too_large"},
		{"size/over cbor", tkn, cb, mustCBOR(t, map[string]any{"token": make([]byte, maxBody)}), false, 413, "too_large"},
		{"size/at limit", tkn, js, []byte(`{"token":"` + strings.Repeat("A", maxBody-len(`{"token":""}`)) + `"}`), false, 400, "challenge_unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.contentType != "" {
				h.Set("Content-Type", tc.contentType)
			}
			hreq, err := http.NewRequest(http.MethodPost, e.srv.URL+tc.path, bytes.NewReader(tc.body))
			require.NoError(t, err)
			hreq.Header = h
			if tc.chunked {
				hreq.Body = io.NopCloser(io.MultiReader(bytes.NewReader(tc.body)))
				hreq.ContentLength = -1
			}
			resp, err := e.srv.Client().Do(hreq)
			require.NoError(t, err)
			defer resp.Body.Close()
			if tc.code == "" {
				assert.Equal(t, tc.status, resp.StatusCode)
				return
			}
			p, raw := problem(t, resp, tc.status, tc.code)
			for _, secret := range []string{e.app, key, tokenB64} {
				assert.NotContains(t, raw, secret)
			}
			assert.NotContains(t, raw, "attesta:", "no internal error text")
			if tc.code == "bad_request" {
				assert.NotEmpty(t, p.Detail)
			}
		})
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t, attesta.Config{}, transport.HandlerConfig{})
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/", 404, "not_found", ""},
		{http.MethodGet, "/nope", 404, "not_found", ""},
		{http.MethodPost, "/v1/party/x", 404, "not_found", ""},
		{http.MethodGet, "/v1/auth_key_request", 405, "method_not_allowed", "POST"},
		{http.MethodPut, "/v1/auth_key_token", 405, "method_not_allowed", "POST"},
		{http.MethodGet, "/v1/logout", 405, "method_not_allowed", "POST"},
		{http.MethodPost, "/v1/party", 405, "method_not_allowed", "GET, HEAD"},
		{http.MethodDelete, "/healthz", 405, "method_not_allowed", "GET, HEAD"},
		{http.MethodPost, "/v1/registry", 405, "method_not_allowed", "GET, HEAD, PUT"},
		{http.MethodGet, "/v1/identifiers", 405, "method_not_allowed", "POST, DELETE"},
		{http.MethodPut, "/v1/identifiers", 405, "method_not_allowed", "POST, DELETE"},
		{http.MethodGet, "/v1/identifiers/confirm", 405, "method_not_allowed", "POST"},
		{http.MethodGet, "/v1/identifiers/", 404, "not_found", ""},
		{http.MethodGet, "/v1/registry/x", 404, "not_found", ""},
	}
	for _, tc := range tests {
		resp := e.do(t, tc.method, tc.path, nil, nil)
		problem(t, resp, tc.status, tc.code)
		assert.Equal(t, tc.allow, resp.Header.Get("Allow"), "%s %s", tc.method, tc.path)
	}

	// Mounted on a mux of the caller's: 405 is still a problem; an
	// unknown path is the mux's own business.
	mux := http.NewServeMux()
	e.h.Register(mux)
	mux.HandleFunc("GET /mine", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "mine") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := transport.NewClient(srv.URL+"/", transport.WithHTTPClient(srv.Client()))
	res, err := c.Connect(t.Context(), testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	assert.True(t, res.IsNew)
	resp, err := srv.Client().Get(srv.URL + "/v1/auth_key_token")
	require.NoError(t, err)
	defer resp.Body.Close()
	problem(t, resp, 405, "method_not_allowed")
	resp, err = srv.Client().Get(srv.URL + "/mine")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

func TestRateLimit(t *testing.T) {
	clk := newFakeClock()
	e := newEnv(t, attesta.Config{Now: clk.Now}, transport.HandlerConfig{RatePerSecond: 0.01, RateBurst: 2})
	ctx := t.Context()
	c := e.client(false)
	packed := testkeys.Key(t, attesta.RSA2048, 0).Public().Pack() // one unit a request (EncryptCost)
	for range 2 {
		_, err := c.AuthKeyRequest(ctx, packed, e.app)
		require.NoError(t, err)
	}
	_, err := c.AuthKeyRequest(ctx, packed, e.app)
	p := requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	assert.Equal(t, 100*time.Second, p.RetryAfter, "one token per 100 s")

	// Refused before the body is read.
	resp := e.postJSON(t, "/v1/auth_key_request", "not json")
	problem(t, resp, http.StatusTooManyRequests, "rate_limited")
	assert.Equal(t, "100", resp.Header.Get("Retry-After"))

	// A token comes back after 100 s, not before.
	clk.add(99 * time.Second)
	_, err = c.AuthKeyRequest(ctx, packed, e.app)
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	clk.add(time.Second)
	_, err = c.AuthKeyRequest(ctx, packed, e.app)
	require.NoError(t, err)

	// The token endpoint has buckets of its own.
	for range 2 {
		_, err = c.AuthKeyToken(ctx, make([]byte, attesta.TokenSize))
		requireProblem(t, err, http.StatusBadRequest, "challenge_unknown", attesta.ErrChallengeUnknown)
	}
	_, err = c.AuthKeyToken(ctx, make([]byte, attesta.TokenSize))
	requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)

	// Other endpoints are not limited.
	for range 5 {
		_, err = c.Party(ctx, "nope")
		requireProblem(t, err, http.StatusUnauthorized, "unauthorized", attesta.ErrUnauthorized)
		require.NoError(t, c.Health(ctx))
	}
}

func TestRateLimitForwardedFor(t *testing.T) {
	post := func(e *env, xff ...string) int {
		h := http.Header{"Content-Type": {"application/json"}}
		for _, v := range xff {
			h.Add("X-Forwarded-For", v)
		}
		resp := e.do(t, http.MethodPost, "/v1/auth_key_token", h, []byte("{}"))
		return resp.StatusCode
	}
	const ok, limited = http.StatusBadRequest, http.StatusTooManyRequests // {} is a bad request

	// The test's client connects from 127.0.0.1: that is the proxy.
	proxy := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	trusted := newEnv(t, attesta.Config{}, transport.HandlerConfig{RatePerSecond: 0.01, RateBurst: 1, TrustedProxies: proxy})
	assert.Equal(t, ok, post(trusted, "203.0.113.1"))
	assert.Equal(t, limited, post(trusted, "203.0.113.1"))
	assert.Equal(t, ok, post(trusted, "203.0.113.2"))
	assert.Equal(t, limited, post(trusted, "198.51.100.7, 203.0.113.2"), "the last entry is the proxy's")
	assert.Equal(t, limited, post(trusted, "203.0.113.2, 127.0.0.1"), "past a trusted hop")
	assert.Equal(t, limited, post(trusted, "203.0.113.9", "198.51.100.7,203.0.113.1"), "of the last header")
	assert.Equal(t, ok, post(trusted, "2001:db8:1:2::1"))
	assert.Equal(t, limited, post(trusted, "2001:db8:1:2:ffff::9"), "one IPv6 /64, one bucket")
	assert.Equal(t, ok, post(trusted, "2001:db8:1:3::1"))
	assert.Equal(t, ok, post(trusted), "no header: the connection's address")
	assert.Equal(t, limited, post(trusted, "garbage"), "unparsable: the connection's address")

	untrusted := newEnv(t, attesta.Config{}, transport.HandlerConfig{RatePerSecond: 0.01, RateBurst: 1})
	assert.Equal(t, ok, post(untrusted, "203.0.113.1"))
	assert.Equal(t, limited, post(untrusted, "203.0.113.2"), "X-Forwarded-For is ignored")
}

// failingStore is the real store with one method made to fail, standing
// for a broken disk.
type failingStore struct {
	*pebblestore.Store
}

var errDisk = errors.New("pebble: disk on fire under /var/lib/attesta")

func (failingStore) KeyBanned(context.Context, attesta.KeyID) (bool, error) { return false, errDisk }

func TestInternalError(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	svc, err := attesta.New(attesta.Config{Store: failingStore{st}, Secret: randomSecret()})
	require.NoError(t, err)
	app, err := svc.CreateApp(t.Context(), "test")
	require.NoError(t, err)
	logs := &syncBuffer{}
	h, err := transport.NewHandler(svc, transport.HandlerConfig{Logger: slogJSON(logs)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	_, err = transport.NewClient(srv.URL).Connect(t.Context(), testkeys.Key(t, attesta.X25519, 0), app)
	p := requireProblem(t, err, http.StatusInternalServerError, "internal", transport.ErrInternal)
	assert.NotContains(t, p.Title+p.Detail, "disk")
	recs := logs.records(t, "internal error")
	require.Len(t, recs, 1)
	assert.Equal(t, "ERROR", recs[0]["level"])
	assert.Contains(t, recs[0]["err"], "disk on fire")
}

// TestLogs checks the request log's fields, and that no secret reaches the
// log at debug level.
func TestLogs(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.RSA2048, 0)
	secrets := []string{e.app}
	for _, f := range formats {
		c := e.client(f.cbor)
		req, err := c.AuthKeyRequest(ctx, k.Public().Pack(), e.app)
		require.NoError(t, err)
		token, err := k.DecryptToken(req.EncryptedToken)
		require.NoError(t, err)
		res, err := c.AuthKeyToken(ctx, token)
		require.NoError(t, err)
		_, err = c.Party(ctx, res.Session)
		require.NoError(t, err)
		require.NoError(t, c.Logout(ctx, res.Session))
		secrets = append(secrets, res.Session, res.Session[len(attesta.SessionPrefix):],
			b64(token), b64(req.EncryptedToken))
	}
	disclosed := testkeys.Key(t, attesta.X25519, 3)
	_, err := e.client(false).AuthKeyRequest(ctx, disclosed.Pack(), e.app)
	require.ErrorIs(t, err, attesta.ErrPrivateKeyDisclosed)
	secrets = append(secrets, b64(disclosed.Pack()), b64(k.Public().Pack()))

	out := e.logs.String()
	for _, s := range secrets {
		assert.NotContains(t, out, s)
	}
	recs := e.logs.records(t, "http request")
	require.Len(t, recs, 9)
	last := recs[len(recs)-1]
	assert.Equal(t, "DEBUG", last["level"])
	assert.Equal(t, "POST", last["method"])
	assert.Equal(t, "/v1/auth_key_request", last["path"])
	assert.EqualValues(t, 400, last["status"])
	assert.Equal(t, "private_key_disclosed", last["code"])
	assert.Contains(t, last, "duration")
	assert.EqualValues(t, 204, recs[3]["status"])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestNewHandlerConfig(t *testing.T) {
	e := newEnv(t, attesta.Config{}, transport.HandlerConfig{})
	_, err := transport.NewHandler(nil, transport.HandlerConfig{})
	assert.Error(t, err)
	for name, cfg := range map[string]transport.HandlerConfig{
		"negative body":          {MaxBodyBytes: -1},
		"negative rate":          {RatePerSecond: -1},
		"infinite rate":          {RatePerSecond: math.Inf(1)},
		"NaN rate":               {RatePerSecond: math.NaN()},
		"negative burst":         {RateBurst: -1},
		"negative table":         {MaxTrackedAddresses: -1},
		"negative registry body": {MaxRegistryBodyBytes: -1},
		"negative burst limit":   {LoginPerIdentifierAndAddress: transport.Limit{Burst: -1, Every: time.Second}},
		"negative every":         {LoginPerAddress: transport.Limit{Burst: 1, Every: -time.Second}},
		"half a limit":           {ConfirmPerParty: transport.Limit{Burst: 5}},
		"half another":           {RegistryPutPerAddress: transport.Limit{Every: time.Second}},
		"half a third":           {NewPartiesPerAddress: transport.Limit{Burst: 1}},
		"invalid proxy":          {TrustedProxies: []netip.Prefix{{}}},
		"no burst":               {AddPerParty: transport.Limit{Every: time.Second}},
		"zero every":             {IdentifierPerAddress: transport.Limit{Burst: 1}},
	} {
		_, err := transport.NewHandler(e.svc, cfg)
		assert.Error(t, err, name)
	}
}

// TestClientAnswers runs the Client against servers that answer oddly.
func TestClientAnswers(t *testing.T) {
	serve := func(f http.HandlerFunc) *transport.Client {
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		return transport.NewClient(srv.URL, transport.WithHTTPClient(srv.Client()))
	}
	ctx := t.Context()

	c := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>proxy error</html>")
	})
	err := c.Health(ctx)
	p := requireProblem(t, err, http.StatusBadGateway, "", nil)
	assert.Equal(t, "Bad Gateway", p.Title)
	assert.NotErrorIs(t, err, transport.ErrInternal)

	now := time.Date(2026, 11, 22, 6, 24, 12, 0, time.UTC)
	when := now.Add(90 * time.Second).Format(http.TimeFormat)
	c = serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", when)
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"title":"Too many requests","status":429,"code":"rate_limited","extra":true}`)
	})
	transport.SetClientNow(t, c, func() time.Time { return now })
	_, err = c.AuthKeyToken(ctx, []byte{1})
	p = requireProblem(t, err, http.StatusTooManyRequests, "rate_limited", transport.ErrRateLimited)
	assert.Equal(t, 90*time.Second, p.RetryAfter)
	assert.Contains(t, err.Error(), "rate_limited")

	c = serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, `{"title":"Teapot","status":418,"code":"teapot"}`)
	})
	err = c.Health(ctx)
	p = requireProblem(t, err, http.StatusTeapot, "teapot", nil)
	for _, s := range []error{transport.ErrInternal, transport.ErrBadRequest, attesta.ErrBadKey} {
		assert.NotErrorIs(t, err, s)
	}

	c = serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(bytes.Repeat([]byte(" "), 2<<20))
	})
	err = c.Health(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "over")

	c = serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	})
	require.Error(t, c.Health(ctx))

	// The Client sends what it says it sends.
	var got *http.Request
	var body []byte
	c = serve(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(transport.AuthKeyTokenResponse{IsNew: true, PartyID: "p"})
	})
	res, err := c.AuthKeyToken(ctx, []byte{0xfb, 0xff})
	require.NoError(t, err)
	assert.True(t, res.IsNew)
	assert.Equal(t, "/v1/auth_key_token", got.URL.Path)
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Equal(t, `{"token":"-_8"}`, string(body))
}

// TestProblemIs checks the table backwards: a problem matches the
// sentinels of its code, the broad sentinels the narrow ones match, and
// nothing else.
func TestProblemIs(t *testing.T) {
	table := map[string][]error{
		"key_even_modulus":        {attesta.ErrEvenModulus},
		"key_bad_exponent":        {attesta.ErrBadExponent},
		"bad_key":                 {attesta.ErrBadKey},
		"unsupported_key":         {attesta.ErrUnsupportedKey},
		"key_too_small":           {attesta.ErrKeyTooSmall},
		"key_too_large":           {attesta.ErrKeyTooLarge},
		"private_key_disclosed":   {attesta.ErrPrivateKeyDisclosed},
		"key_banned":              {attesta.ErrKeyBanned},
		"bad_app_token":           {attesta.ErrBadAppToken},
		"challenge_unknown":       {attesta.ErrChallengeUnknown},
		"challenge_expired":       {attesta.ErrChallengeExpired},
		"unauthorized":            {attesta.ErrUnauthorized},
		"bad_identifier":          {attesta.ErrBadIdentifier},
		"unknown_identifier_kind": {attesta.ErrUnknownIdentifierKind},
		"identifier_taken":        {attesta.ErrIdentifierTaken},
		"identifier_not_found":    {attesta.ErrIdentifierNotFound},
		"too_many_identifiers":    {attesta.ErrTooManyIdentifiers},
		"code_unknown":            {attesta.ErrCodeUnknown},
		"code_expired":            {attesta.ErrCodeExpired},
		"wrong_code":              {attesta.ErrWrongCode},
		"code_tries_exhausted":    {attesta.ErrCodeTriesExhausted},
		"no_notifier":             {attesta.ErrNoNotifier},
		"version_conflict":        {attesta.ErrVersionConflict},
		"no_identifier":           {attesta.ErrNoIdentifier},
		"bad_app_name":            {attesta.ErrBadAppName},
		"app_exists":              {attesta.ErrAppExists},
		"app_not_found":           {attesta.ErrAppNotFound},
		"not_instance":            {attesta.ErrNotInstance},
		"not_session_key":         {attesta.ErrNotSessionKey},
		"bad_instance_token":      {attesta.ErrBadInstanceToken},
		"not_entitled":            {attesta.ErrNotEntitled},
		"service_key_not_found":   {attesta.ErrServiceKeyNotFound},
		"bad_provider":            {attesta.ErrBadProvider},
		"bad_service_key":         {attesta.ErrBadServiceKey},
		"entitlement_not_found":   {attesta.ErrEntitlementNotFound},
		"kdf_too_weak":            {attesta.ErrKDFTooWeak},
		"kdf_too_costly":          {attesta.ErrKDFTooCostly},
		"bad_registry":            {attesta.ErrBadRegistry},
		"bad_request":             {transport.ErrBadRequest},
		"unsupported_media_type":  {transport.ErrUnsupportedMediaType},
		"too_large":               {transport.ErrTooLarge, attesta.ErrRegistryTooLarge},
		"rate_limited":            {transport.ErrRateLimited, attesta.ErrBudgetExhausted},
		"method_not_allowed":      {transport.ErrMethodNotAllowed},
		"not_found":               {transport.ErrNotFound, attesta.ErrNotFound},
		"internal":                {transport.ErrInternal},
	}
	broad := map[string]error{"key_even_modulus": attesta.ErrBadKey, "key_bad_exponent": attesta.ErrUnsupportedKey}
	for code, want := range table {
		p := &transport.Problem{Code: code}
		for other, sentinels := range table {
			for _, s := range sentinels {
				assert.Equal(t, other == code || broad[code] == s, errors.Is(p, s), "%s is %s", code, s)
			}
		}
		for _, s := range want {
			assert.ErrorIs(t, p, s)
		}
	}
	assert.False(t, errors.Is(&transport.Problem{}, transport.ErrInternal))
	assert.False(t, errors.Is(&transport.Problem{}, attesta.ErrNotFound))
	// Client-side errors have no code.
	assert.False(t, errors.Is(&transport.Problem{Code: "internal"}, transport.ErrNoKey))
}
