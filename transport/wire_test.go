package transport_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// readAll reads an answer's body and checks its status.
func readAll(t *testing.T, resp *http.Response, status int) []byte {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "%s", raw)
	return raw
}

// TestWireTimesWholeSeconds: on a clock with nanoseconds, every time an
// answer carries is in whole seconds, rounded down, in JSON as in CBOR
// (docs/PROTOCOL.md §1.2), so that both formats say the same instant.
func TestWireTimesWholeSeconds(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 987654321, time.FixedZone("CET", 3600))
	e := newPasswordEnv(t, attesta.Config{Now: func() time.Time { return start }}, generous)
	k := testkeys.Key(t, attesta.X25519, 0)
	jsonHeader := http.Header{"Content-Type": {"application/json"}}

	body, err := json.Marshal(transport.AuthKeyRequestBody{Key: k.Public().Pack(), AppToken: e.app})
	require.NoError(t, err)
	raw := readAll(t, e.do(t, http.MethodPost, "/v1/auth_key_request", jsonHeader, body), http.StatusOK)
	var challenge struct {
		EncryptedToken transport.B64 `json:"encrypted_token"`
		ExpiresAt      string        `json:"expires_at"`
	}
	require.NoError(t, json.Unmarshal(raw, &challenge))
	assert.Equal(t, "2026-01-02T02:09:05Z", challenge.ExpiresAt, "5 minutes on, in UTC, without the fraction")

	token, err := k.DecryptToken(challenge.EncryptedToken)
	require.NoError(t, err)
	body, err = json.Marshal(transport.AuthKeyTokenBody{Token: token})
	require.NoError(t, err)
	raw = readAll(t, e.do(t, http.MethodPost, "/v1/auth_key_token", jsonHeader, body), http.StatusOK)
	var login struct {
		Session          string `json:"session"`
		SessionExpiresAt string `json:"session_expires_at"`
	}
	require.NoError(t, json.Unmarshal(raw, &login))
	assert.Equal(t, "2026-01-03T02:04:05Z", login.SessionExpiresAt)

	auth := "Bearer " + login.Session
	readAll(t, e.do(t, http.MethodPost, "/v1/identifiers", http.Header{"Content-Type": {"application/json"}, "Authorization": {auth}},
		[]byte(`{"kind":"nickname","value":"wire times"}`)), http.StatusOK)

	raw = readAll(t, e.do(t, http.MethodGet, "/v1/party", http.Header{"Authorization": {auth}}, nil), http.StatusOK)
	var party struct {
		Created string `json:"created"`
		Keys    []struct {
			Added string `json:"added"`
		} `json:"keys"`
		Identifiers []struct {
			Added string `json:"added"`
		} `json:"identifiers"`
	}
	require.NoError(t, json.Unmarshal(raw, &party))
	const want = "2026-01-02T02:04:05Z"
	assert.Equal(t, want, party.Created)
	require.Len(t, party.Keys, 1)
	assert.Equal(t, want, party.Keys[0].Added)
	require.Len(t, party.Identifiers, 1)
	assert.Equal(t, want, party.Identifiers[0].Added)

	// The same party in CBOR: integers of the same whole seconds.
	raw = readAll(t, e.do(t, http.MethodGet, "/v1/party", http.Header{"Authorization": {auth}, "Accept": {"application/cbor"}}, nil), http.StatusOK)
	var cp transport.PartyResponse
	require.NoError(t, cborx.Decode(raw, &cp))
	sec := start.Truncate(time.Second)
	assert.True(t, cp.Created.Equal(sec) && cp.Keys[0].Added.Equal(sec) && cp.Identifiers[0].Added.Equal(sec), "%+v", cp)
}

// TestVaryOnNegotiatedAnswers: an answer whose format Accept chose (a
// success with a body) carries Vary: Accept; a problem answer, always
// application/problem+json, and an answer without a body do not
// (docs/PROTOCOL.md §9.1).
func TestVaryOnNegotiatedAnswers(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	session, err := e.client(false).Connect(t.Context(), testkeys.Key(t, attesta.X25519, 0), e.app)
	require.NoError(t, err)
	auth := http.Header{"Authorization": {"Bearer " + session.Session}}
	for _, tc := range []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
		vary               bool
	}{
		{"health", http.MethodGet, "/healthz", nil, "", http.StatusOK, true},
		{"party", http.MethodGet, "/v1/party", auth, "", http.StatusOK, true},
		{"party in cbor", http.MethodGet, "/v1/party", http.Header{"Authorization": auth["Authorization"], "Accept": {"application/cbor"}}, "", http.StatusOK, true},
		{"unauthorized", http.MethodGet, "/v1/party", nil, "", http.StatusUnauthorized, false},
		{"bad request", http.MethodPost, "/v1/auth_key_token", http.Header{"Content-Type": {"application/json"}}, "{}", http.StatusBadRequest, false},
		{"unsupported media type", http.MethodPost, "/v1/auth_key_token", http.Header{"Content-Type": {"text/plain"}}, "x", http.StatusUnsupportedMediaType, false},
		{"not found", http.MethodGet, "/v1/nothing", nil, "", http.StatusNotFound, false},
		{"own registry not found", http.MethodGet, "/v1/registry", auth, "", http.StatusNotFound, false},
		{"method not allowed", http.MethodGet, "/v1/logout", nil, "", http.StatusMethodNotAllowed, false},
		{"logout", http.MethodPost, "/v1/logout", auth, "", http.StatusNoContent, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(t, tc.method, tc.path, tc.header, []byte(tc.body))
			readAll(t, resp, tc.status)
			if tc.vary {
				assert.Equal(t, []string{"Accept"}, resp.Header.Values("Vary"))
			} else {
				assert.Empty(t, resp.Header.Values("Vary"))
			}
		})
	}
}

// TestTokenOfAnotherLength: a token the server did not issue is
// challenge_unknown whatever its length, the same code as for an unknown
// token (docs/PROTOCOL.md §9.2).
func TestTokenOfAnotherLength(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	for _, n := range []int{0, 1, 16, 31, 33, 64, 157, 190, 1024} {
		body, err := json.Marshal(transport.AuthKeyTokenBody{Token: make([]byte, n)})
		require.NoError(t, err)
		resp := e.do(t, http.MethodPost, "/v1/auth_key_token", http.Header{"Content-Type": {"application/json"}}, body)
		problem(t, resp, http.StatusBadRequest, "challenge_unknown")
	}
}
