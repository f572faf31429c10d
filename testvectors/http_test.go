package testvectors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

type httpFile struct {
	Description string `json:"description"`
	// Secret is the server secret; Start is the server clock's first
	// reading. AppToken is the token of the one application, "demo".
	Secret   Hex    `json:"secret"`
	Start    string `json:"start"`
	AppToken string `json:"app_token"`
	// Keys are the client's keys, by name.
	Keys []httpKey `json:"keys"`
	// Password seals the registry (password login only).
	Password string `json:"password,omitempty"`
	// Vectors are the exchanges, in the order they happen: each depends on
	// the server state the ones before left.
	Vectors []httpExchange `json:"vectors"`
}

type httpKey struct {
	Name    string `json:"name"`
	Private Hex    `json:"private"`
	Public  Hex    `json:"public"`
	KeyID   string `json:"key_id"`
}

// httpExchange is one request and its answer. Time is the server clock
// when it is served, RFC 3339. Error names the error of an error answer.
type httpExchange struct {
	vectorBase
	Time     string      `json:"time"`
	Request  httpMessage `json:"request"`
	Response httpMessage `json:"response"`
	Error    string      `json:"error,omitempty"`
}

// httpMessage is a request (method, path with its query, headers, body) or
// an answer (status, headers, body). Body is a JSON body as sent; a CBOR
// body is in BodyHex, with BodyDiag its diagnostic notation (RFC 8949 §8).
type httpMessage struct {
	Method   string            `json:"method,omitempty"`
	Path     string            `json:"path,omitempty"`
	Status   int               `json:"status,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     string            `json:"body,omitempty"`
	BodyHex  Hex               `json:"body_hex,omitempty"`
	BodyDiag string            `json:"body_diag,omitempty"`
}

// wireTypes are the body types of each endpoint: request, answer.
var wireTypes = map[string][2]func() any{
	"POST /v1/auth_key_request":    {func() any { return new(transport.AuthKeyRequestBody) }, func() any { return new(transport.AuthKeyRequestResponse) }},
	"POST /v1/auth_key_token":      {func() any { return new(transport.AuthKeyTokenBody) }, func() any { return new(transport.AuthKeyTokenResponse) }},
	"GET /v1/party":                {nil, func() any { return new(transport.PartyResponse) }},
	"POST /v1/logout":              {nil, nil},
	"POST /v1/identifiers":         {func() any { return new(transport.IdentifierBody) }, func() any { return new(transport.AddIdentifierResponse) }},
	"POST /v1/identifiers/confirm": {func() any { return new(transport.ConfirmIdentifierBody) }, nil},
	"DELETE /v1/identifiers":       {func() any { return new(transport.IdentifierBody) }, nil},
	"PUT /v1/registry":             {func() any { return new(transport.PutRegistryBody) }, func() any { return new(transport.PutRegistryResponse) }},
	"GET /v1/registry":             {nil, func() any { return new(transport.RegistryResponse) }},
}

// codeOfError is the problem code of each error an exchange may name.
var codeOfError = map[string]string{
	"attesta.ErrChallengeUnknown":       "challenge_unknown",
	"attesta.ErrChallengeExpired":       "challenge_expired",
	"attesta.ErrBadAppToken":            "bad_app_token",
	"attesta.ErrPrivateKeyDisclosed":    "private_key_disclosed",
	"attesta.ErrKeyBanned":              "key_banned",
	"attesta.ErrEvenModulus":            "key_even_modulus",
	"attesta.ErrUnauthorized":           "unauthorized",
	"attesta.ErrBadIdentifier":          "bad_identifier",
	"attesta.ErrUnknownIdentifierKind":  "unknown_identifier_kind",
	"attesta.ErrWrongCode":              "wrong_code",
	"attesta.ErrVersionConflict":        "version_conflict",
	"attesta.ErrKDFTooWeak":             "kdf_too_weak",
	"attesta.ErrKDFTooCostly":           "kdf_too_costly",
	"attesta.ErrBadRegistry":            "bad_registry",
	"attesta.ErrNotFound":               "not_found",
	"transport.ErrBadRequest":           "bad_request",
	"transport.ErrUnsupportedMediaType": "unsupported_media_type",
	"transport.ErrMethodNotAllowed":     "method_not_allowed",
	"transport.ErrNotFound":             "not_found",
}

// codes is a Notifier that keeps the codes it is given, for the
// generator to type them in.
type codes struct {
	mu   sync.Mutex
	last map[string]string
}

func (c *codes) SendCode(_ context.Context, to attesta.Identifier, code string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]string{}
	}
	c.last[to.String()] = code
	return nil
}

// recorder runs exchanges against a stack and records them. The clock
// moves one second after each exchange.
type recorder struct {
	t   *testing.T
	srv *stack
	f   *httpFile
}

// exchange serves a request and records it; want is the error the answer
// must be ("" for a 2xx one).
func (r *recorder) exchange(id, comment, method, path string, header http.Header, body []byte, want string) *httptest.ResponseRecorder {
	t := r.t
	t.Helper()
	ex := httpExchange{vectorBase: vectorBase{id, comment}, Time: r.srv.clock.now.Format(time.RFC3339)}
	ex.Request = httpMessage{Method: method, Path: path, Headers: map[string]string{}}
	for k, v := range header {
		ex.Request.Headers[k] = strings.Join(v, ", ")
	}
	setBody(t, &ex.Request, header.Get("Content-Type"), body)
	rec := r.srv.do(method, path, header, body)
	ex.Response = httpMessage{Status: rec.Code, Headers: map[string]string{}}
	for k, v := range rec.Header() {
		ex.Response.Headers[k] = strings.Join(v, ", ")
	}
	setBody(t, &ex.Response, rec.Header().Get("Content-Type"), rec.Body.Bytes())
	if got := problemCode(t, rec); got != codeOfError[want] || (want != "") != (got != "") {
		t.Fatalf("%s: answered %d %s, want %s", id, rec.Code, rec.Body, want)
	}
	ex.Error = want
	r.f.Vectors = append(r.f.Vectors, ex)
	r.srv.clock.now = r.srv.clock.now.Add(time.Second)
	return rec
}

func setBody(t *testing.T, m *httpMessage, contentType string, body []byte) {
	if len(body) == 0 {
		return
	}
	if contentType == "application/cbor" {
		m.BodyHex = body
		diag, err := cbor.Diagnose(body)
		if err != nil {
			t.Fatal(err)
		}
		m.BodyDiag = diag
		return
	}
	m.Body = string(body)
}

func jsonHeader(session string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	if session != "" {
		h.Set("Authorization", "Bearer "+session)
	}
	return h
}

func cborHeader(session string) http.Header {
	h := http.Header{"Content-Type": {"application/cbor"}, "Accept": {"application/cbor"}}
	if session != "" {
		h.Set("Authorization", "Bearer "+session)
	}
	return h
}

// getHeader is the header of a request without a body.
func getHeader(session, accept string) http.Header {
	h := http.Header{"Accept": {accept}}
	if session != "" {
		h.Set("Authorization", "Bearer "+session)
	}
	return h
}

// jsonBody and cborBody encode a wire value as the Client does.
func jsonBody(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cborBody(t *testing.T, v any) []byte {
	b, err := cborx.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeJSONAnswer[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func httpKeyOf(name string, k *attesta.PrivateKey) httpKey {
	return httpKey{Name: name, Private: k.Pack(), Public: k.Public().Pack(), KeyID: k.Public().ID().String()}
}

func genHTTPConnect(t *testing.T) any {
	srv := newStack(t, attesta.Config{}, transport.HandlerConfig{})
	key := testkeys.Key(t, attesta.RSA2048, 0)
	disclosed := testkeys.Key(t, attesta.X25519, 1)
	f := &httpFile{
		Description: "One complete connect over HTTP (docs/PROTOCOL.md, HTTP API), then the same key again in CBOR, the party, a logout, and refusals: each exchange as it happened, in order, against a server with the file's secret, starting at the file's time, with one application. The server clock moves one second after each exchange. Replaying the requests against a fresh server with the same secret, clock and randomness gives the same answers; the tokens, sessions and ciphertexts come from the server's randomness, so another server gives other ones, and a client checks its answers by their form and by decrypting, not byte for byte.",
		Secret:      fixedSecret,
		Start:       fixedStart.Format(time.RFC3339),
		AppToken:    srv.app,
		Keys:        []httpKey{httpKeyOf("client", key), httpKeyOf("disclosed", disclosed)},
	}
	r := &recorder{t: t, srv: srv, f: f}
	req := func(k *attesta.PublicKey) transport.AuthKeyRequestBody {
		return transport.AuthKeyRequestBody{Key: k.Pack(), AppToken: srv.app}
	}

	// The connect, in JSON.
	rec := r.exchange("auth-key-request", "step 1: the client sends its packed public key (fixture rsa2048-0) and the application token; the server answers a fresh 32-byte token encrypted to the key, valid 5 minutes", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, req(key.Public())), "")
	token, err := key.DecryptToken(decodeJSONAnswer[transport.AuthKeyRequestResponse](t, rec).EncryptedToken)
	if err != nil {
		t.Fatal(err)
	}
	rec = r.exchange("auth-key-token", "step 2: the client decrypts the token and sends it back: a new key, so a new party, and a session for 24 hours", http.MethodPost, "/v1/auth_key_token", jsonHeader(""), jsonBody(t, transport.AuthKeyTokenBody{Token: token}), "")
	session := decodeJSONAnswer[transport.AuthKeyTokenResponse](t, rec).Session
	r.exchange("party", "the session's party and its keys", http.MethodGet, "/v1/party", getHeader(session, "application/json"), nil, "")
	r.exchange("auth-key-token-replayed", "the same token again: a token works once", http.MethodPost, "/v1/auth_key_token", jsonHeader(""), jsonBody(t, transport.AuthKeyTokenBody{Token: token}), "attesta.ErrChallengeUnknown")

	// The same key again, in CBOR.
	rec = r.exchange("auth-key-request-cbor", "the same key connects again, in CBOR: times are integers of Unix seconds, binary fields byte strings", http.MethodPost, "/v1/auth_key_request", cborHeader(""), cborBody(t, req(key.Public())), "")
	var cres transport.AuthKeyRequestResponse
	if err := cborx.Decode(rec.Body.Bytes(), &cres); err != nil {
		t.Fatal(err)
	}
	token2, err := key.DecryptToken(cres.EncryptedToken)
	if err != nil {
		t.Fatal(err)
	}
	r.exchange("auth-key-token-cbor", "a known key: the same party (is_new false) and a new session", http.MethodPost, "/v1/auth_key_token", cborHeader(""), cborBody(t, transport.AuthKeyTokenBody{Token: token2}), "")
	r.exchange("logout", "the first session ends", http.MethodPost, "/v1/logout", getHeader(session, "application/json"), nil, "")
	r.exchange("party-after-logout", "the ended session is refused", http.MethodGet, "/v1/party", getHeader(session, "application/json"), nil, "attesta.ErrUnauthorized")
	r.exchange("party-without-session", "no Authorization header", http.MethodGet, "/v1/party", getHeader("", "application/json"), nil, "attesta.ErrUnauthorized")

	// An expired challenge.
	rec = r.exchange("auth-key-request-to-expire", "a challenge that the client answers too late", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, req(key.Public())), "")
	token3, err := key.DecryptToken(decodeJSONAnswer[transport.AuthKeyRequestResponse](t, rec).EncryptedToken)
	if err != nil {
		t.Fatal(err)
	}
	srv.clock.now = srv.clock.now.Add(5 * time.Minute)
	r.exchange("auth-key-token-expired", "the token of auth-key-request-to-expire, 5 minutes and 1 second later", http.MethodPost, "/v1/auth_key_token", jsonHeader(""), jsonBody(t, transport.AuthKeyTokenBody{Token: token3}), "attesta.ErrChallengeExpired")

	// Keys refused.
	r.exchange("private-key-disclosed", "a packed private key (fixture x25519-1) sent as key: refused, and its public key banned for ever", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, transport.AuthKeyRequestBody{Key: disclosed.Pack(), AppToken: srv.app}), "attesta.ErrPrivateKeyDisclosed")
	r.exchange("key-banned", "the public key of the disclosed private key", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, req(disclosed.Public())), "attesta.ErrKeyBanned")
	_, fs := packedFields(t, key.Public().Pack())
	even := bytes.Clone(fs[1])
	even[len(even)-1] &^= 1
	r.exchange("even-modulus", "an RSA key whose modulus is even", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, transport.AuthKeyRequestBody{Key: arr(t, uint64(1), fs[0], even), AppToken: srv.app}), "attesta.ErrEvenModulus")
	r.exchange("bad-app-token", "an application token of the right form that the server does not know", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, transport.AuthKeyRequestBody{Key: key.Public().Pack(), AppToken: "ata_" + strings.Repeat("A", 43)}), "attesta.ErrBadAppToken")

	// Requests refused before the protocol.
	good := jsonBody(t, req(key.Public()))
	r.exchange("unknown-field", "a body with a member the endpoint does not have", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), cat(good[:len(good)-1], []byte(`,"extra":1}`)), "transport.ErrBadRequest")
	r.exchange("missing-field", "a body without app_token", http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, map[string]any{"key": transport.B64(key.Public().Pack())}), "transport.ErrBadRequest")
	r.exchange("padded-base64", "a binary field in padded base64url: only the unpadded form is accepted", http.MethodPost, "/v1/auth_key_token", jsonHeader(""), []byte(`{"token":"`+strings.Repeat("A", 42)+`E="}`), "transport.ErrBadRequest")
	r.exchange("non-canonical-cbor", "a CBOR body with its map keys out of deterministic order: \"app_token\" before \"key\", though the shorter key sorts first", http.MethodPost, "/v1/auth_key_request", cborHeader(""), nonCanonicalCBOR(t, key.Public().Pack(), srv.app), "transport.ErrBadRequest")
	r.exchange("duplicate-member", "a JSON body with a member twice", http.MethodPost, "/v1/auth_key_token", jsonHeader(""), []byte(`{"token":"`+strings.Repeat("A", 43)+`","token":"`+strings.Repeat("A", 43)+`"}`), "transport.ErrBadRequest")
	tok := cborBody(t, transport.B64(make([]byte, 32)))
	r.exchange("duplicate-key-cbor", "a CBOR body with the key \"token\" twice", http.MethodPost, "/v1/auth_key_token", cborHeader(""), cat([]byte{0xa2}, cborBody(t, "token"), tok, cborBody(t, "token"), tok), "transport.ErrBadRequest")
	r.exchange("indefinite-cbor", "a CBOR body as an indefinite-length map", http.MethodPost, "/v1/auth_key_token", cborHeader(""), cat([]byte{0xbf}, cborBody(t, "token"), tok, []byte{0xff}), "transport.ErrBadRequest")
	r.exchange("unsupported-media-type", "a body in text/plain", http.MethodPost, "/v1/auth_key_request", http.Header{"Content-Type": {"text/plain"}}, good, "transport.ErrUnsupportedMediaType")
	r.exchange("method-not-allowed", "GET on a POST endpoint: Allow names the methods", http.MethodGet, "/v1/auth_key_request", getHeader("", "application/json"), nil, "transport.ErrMethodNotAllowed")
	r.exchange("not-found", "a path no endpoint has", http.MethodGet, "/v1/nothing", getHeader("", "application/json"), nil, "transport.ErrNotFound")
	return f
}

// nonCanonicalCBOR is the CBOR map {"app_token": …, "key": …}: its keys
// in the order a JSON encoder might pick, not the deterministic one
// ("key", shorter, first).
func nonCanonicalCBOR(t *testing.T, key []byte, app string) []byte {
	k1, k2 := cborBody(t, "app_token"), cborBody(t, "key")
	v1, v2 := cborBody(t, app), cborBody(t, key)
	return cat([]byte{0xa2}, k1, v1, k2, v2)
}

func genHTTPPasswordLogin(t *testing.T) any {
	notifier := &codes{}
	srv := newStack(t, attesta.Config{Notifier: notifier}, transport.HandlerConfig{})
	key := testkeys.Key(t, attesta.X25519, 0)
	const password = "correct horse battery staple"
	f := &httpFile{
		Description: "One complete password login over HTTP (docs/PROTOCOL.md, HTTP API): a device connects with its key, adds a nickname and an email, and stores its registry sealed under the password; a new device, with only the login name and the password, fetches the registry, opens it and connects with the key it holds. Then decoys and refusals. Each exchange as it happened, in order, against a server with the file's secret, starting at the file's time, with one application; the clock moves one second after each exchange. The registry is sealed with Argon2id at the server's floors (m = 19 MiB, t = 2, p = 1) to keep the vectors fast; a client uses kdf.Default() or more.",
		Secret:      fixedSecret,
		Start:       fixedStart.Format(time.RFC3339),
		AppToken:    srv.app,
		Keys:        []httpKey{httpKeyOf("device", key)},
		Password:    password,
	}
	r := &recorder{t: t, srv: srv, f: f}
	connect := func(prefix, comment string, k *attesta.PrivateKey) transport.AuthKeyTokenResponse {
		rec := r.exchange(prefix+"-auth-key-request", comment, http.MethodPost, "/v1/auth_key_request", jsonHeader(""), jsonBody(t, transport.AuthKeyRequestBody{Key: k.Public().Pack(), AppToken: srv.app}), "")
		token, err := k.DecryptToken(decodeJSONAnswer[transport.AuthKeyRequestResponse](t, rec).EncryptedToken)
		if err != nil {
			t.Fatal(err)
		}
		rec = r.exchange(prefix+"-auth-key-token", comment, http.MethodPost, "/v1/auth_key_token", jsonHeader(""), jsonBody(t, transport.AuthKeyTokenBody{Token: token}), "")
		return decodeJSONAnswer[transport.AuthKeyTokenResponse](t, rec)
	}

	// The first device.
	first := connect("first", "the first device connects with its key (fixture x25519-0): a new party", key)
	session := first.Session
	r.exchange("add-nickname", "a nickname, typed with capitals and extra spaces: active at once", http.MethodPost, "/v1/identifiers", jsonHeader(session), jsonBody(t, transport.IdentifierBody{Kind: attesta.Nickname, Value: "  Alice   Smith "}), "")
	r.exchange("add-email", "an email: pending, and a 6-digit code is sent to it", http.MethodPost, "/v1/identifiers", jsonHeader(session), jsonBody(t, transport.IdentifierBody{Kind: attesta.Email, Value: "Alice@Example.com"}), "")
	code := notifier.last["email:alice@example.com"]
	wrongCode := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
	r.exchange("confirm-email-wrong-code", "a wrong code", http.MethodPost, "/v1/identifiers/confirm", jsonHeader(session), jsonBody(t, transport.ConfirmIdentifierBody{Kind: attesta.Email, Value: "alice@example.com", Code: wrongCode}), "attesta.ErrWrongCode")
	r.exchange("confirm-email", "the code sent to the email: it is active", http.MethodPost, "/v1/identifiers/confirm", jsonHeader(session), jsonBody(t, transport.ConfirmIdentifierBody{Kind: attesta.Email, Value: "alice@example.com", Code: code}), "")
	r.exchange("party", "the party lists its identifiers by kind and hint only", http.MethodGet, "/v1/party", getHeader(session, "application/json"), nil, "")
	r.exchange("own-registry-none", "the party has no registry yet", http.MethodGet, "/v1/registry", getHeader(session, "application/json"), nil, "attesta.ErrNotFound")

	params, err := kdf.Argon2idParams(19<<10, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	pt := registry.Plaintext{PartyID: first.PartyID, Keys: [][]byte{key.Pack()}, Created: srv.clock.now, AppData: map[string][]byte{"device": []byte("laptop")}}
	block, err := registry.Seal(t.Context(), pt, []byte(password), params)
	if err != nil {
		t.Fatal(err)
	}
	r.exchange("put-registry", "the device seals its registry (party id, its packed private key, the time, application data) under the password and stores it: version 0 means none before", http.MethodPut, "/v1/registry", jsonHeader(session), jsonBody(t, transport.PutRegistryBody{Registry: block, Version: 0}), "")
	r.exchange("put-registry-stale", "the same put again: the stored version is 1 now, not 0", http.MethodPut, "/v1/registry", jsonHeader(session), jsonBody(t, transport.PutRegistryBody{Registry: block, Version: 0}), "attesta.ErrVersionConflict")
	r.exchange("own-registry", "the party reads its own registry and its version", http.MethodGet, "/v1/registry", getHeader(session, "application/json"), nil, "")

	// The new device.
	rec := r.exchange("login-fetch", "a new device fetches the registry by login, without authentication: \"alice smith\" as typed by the user", http.MethodGet, "/v1/registry?"+url.Values{"login": {"Alice Smith"}}.Encode(), getHeader("", "application/json"), nil, "")
	fetched := decodeJSONAnswer[transport.RegistryResponse](t, rec)
	opened, err := registry.Open(t.Context(), fetched.Registry, []byte(password), kdf.DefaultCeilings())
	if err != nil {
		t.Fatal(err)
	}
	recovered, err := attesta.ParsePrivateKey(opened.Keys[0])
	if err != nil {
		t.Fatal(err)
	}
	second := connect("second", "the new device opens the registry with the password and connects with the key it holds: the same party", recovered)
	if second.IsNew || second.PartyID != first.PartyID {
		t.Fatal("the new device is not the same party")
	}
	r.exchange("login-fetch-email-cbor", "the same registry by email, answered in CBOR", http.MethodGet, "/v1/registry?"+url.Values{"login": {"alice@example.com"}}.Encode(), getHeader("", "application/cbor"), nil, "")

	// Decoys and refusals.
	r.exchange("login-fetch-unknown", "a login no party holds: a decoy, shaped like a real block, the same on every call, opened by no password", http.MethodGet, "/v1/registry?"+url.Values{"login": {"nobody here"}}.Encode(), getHeader("", "application/json"), nil, "")
	r.exchange("login-fetch-bad-login", "a login that does not parse (a 3-character nickname)", http.MethodGet, "/v1/registry?login=abc", getHeader("", "application/json"), nil, "attesta.ErrBadIdentifier")
	r.exchange("login-fetch-two-logins", "two login parameters", http.MethodGet, "/v1/registry?login=alice+smith&login=bob+smith", getHeader("", "application/json"), nil, "transport.ErrBadRequest")
	weak, err := kdf.Argon2idParams(1024, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	weakBlock, err := registry.Seal(t.Context(), pt, []byte(password), weak)
	if err != nil {
		t.Fatal(err)
	}
	r.exchange("put-registry-weak-kdf", "a block sealed with Argon2id m = 1 MiB, t = 1: below the server's floors", http.MethodPut, "/v1/registry", jsonHeader(second.Session), jsonBody(t, transport.PutRegistryBody{Registry: weakBlock, Version: 1}), "attesta.ErrKDFTooWeak")
	r.exchange("put-registry-costly-kdf", "a block whose header asks for Argon2id m = 2 GiB: above what any client with the default ceilings runs", http.MethodPut, "/v1/registry", jsonHeader(second.Session), jsonBody(t, transport.PutRegistryBody{Registry: paramsBlock(t, argon2idBytes(t, params.Salt(), 2<<20, 3, 4)), Version: 1}), "attesta.ErrKDFTooCostly")
	r.exchange("put-registry-malformed", "a block without its last byte", http.MethodPut, "/v1/registry", jsonHeader(second.Session), jsonBody(t, transport.PutRegistryBody{Registry: block[:len(block)-1], Version: 1}), "attesta.ErrBadRegistry")
	r.exchange("add-unknown-kind", "an identifier of a kind that does not exist", http.MethodPost, "/v1/identifiers", jsonHeader(second.Session), jsonBody(t, transport.IdentifierBody{Kind: "handle", Value: "alice"}), "attesta.ErrUnknownIdentifierKind")
	r.exchange("add-bad-phone", "a phone number without +", http.MethodPost, "/v1/identifiers", jsonHeader(second.Session), jsonBody(t, transport.IdentifierBody{Kind: attesta.Phone, Value: "555 0100"}), "attesta.ErrBadIdentifier")
	r.exchange("remove-email", "the email is removed (the body names it: identifiers stay out of URLs)", http.MethodDelete, "/v1/identifiers", jsonHeader(second.Session), jsonBody(t, transport.IdentifierBody{Kind: attesta.Email, Value: "alice@example.com"}), "")
	r.exchange("login-fetch-removed-email", "the removed email now gets a decoy", http.MethodGet, "/v1/registry?"+url.Values{"login": {"alice@example.com"}}.Encode(), getHeader("", "application/json"), nil, "")
	return f
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHTTPConnect(t *testing.T)       { checkHTTP(t, "http_connect.json") }
func TestHTTPPasswordLogin(t *testing.T) { checkHTTP(t, "http_password_login.json") }

// checkHTTP checks each exchange of a file on its own (parallel): each body
// is one value of the endpoint's type, decoded strictly, that re-encodes
// to the same bytes; each error answer is a problem document whose code
// stands for the error the exchange names. Then it follows the flow: each
// token sent back is the decryption of the challenge before it, and the
// registry fetched by login opens with the password to the device's key.
// That the server gives exactly these answers is TestGenerate's check.
func checkHTTP(t *testing.T, name string) {
	var f httpFile
	loadFile(t, name, &f)
	if !bytes.Equal(f.Secret, fixedSecret) || f.Start != fixedStart.Format(time.RFC3339) {
		t.Fatal("secret or start differ from the generator's")
	}
	if err := attesta.ParseAppToken(f.AppToken); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*attesta.PrivateKey{}
	for _, k := range f.Keys {
		pk, err := attesta.ParsePrivateKey(k.Private)
		if err != nil || !bytes.Equal(pk.Public().Pack(), k.Public) || pk.Public().ID().String() != k.KeyID {
			t.Fatalf("key %s: %v", k.Name, err)
		}
		keys[string(k.Public)] = pk
	}
	t.Run("flow", func(t *testing.T) { checkFlow(t, &f, keys) })
	for _, ex := range f.Vectors {
		t.Run(ex.ID, func(t *testing.T) {
			t.Parallel()
			checkExchange(t, ex)
		})
	}
}

func checkExchange(t *testing.T, ex httpExchange) {
	if _, err := time.Parse(time.RFC3339, ex.Time); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ex.Request.Path)
	if err != nil || ex.Request.Status != 0 || ex.Response.Method != "" || ex.Response.Path != "" {
		t.Fatalf("request %q: %v", ex.Request.Path, err)
	}
	types, known := wireTypes[ex.Request.Method+" "+u.Path]
	code, problem := "", ex.Response.Status >= 400
	if problem {
		if ex.Response.Headers["Content-Type"] != "application/problem+json" {
			t.Fatalf("an error answer of type %q", ex.Response.Headers["Content-Type"])
		}
		var p transport.Problem
		if err := decodeStrict([]byte(ex.Response.Body), &p); err != nil {
			t.Fatal(err)
		}
		if again, _ := json.Marshal(p); string(again)+"\n" != ex.Response.Body {
			t.Fatal("problem body does not re-encode to the same bytes")
		}
		code = p.Code
		s, ok := sentinels[ex.Error]
		if !ok || p.Status != ex.Response.Status || !errors.Is(&p, s) || codeOfError[ex.Error] != code {
			t.Fatalf("problem %+v for error %q", p, ex.Error)
		}
	} else if ex.Error != "" || ex.Response.Status/100 != 2 {
		t.Fatalf("status %d with error %q", ex.Response.Status, ex.Error)
	}
	if ex.Response.Headers["Cache-Control"] != "no-store" {
		t.Fatal("an answer without Cache-Control: no-store")
	}
	// The request body: refused as bad_request exactly when it is not one
	// canonical value of the endpoint's type.
	if known && types[0] != nil && code != "unsupported_media_type" {
		err := decodeCanonical(ex.Request, types[0]())
		if (err != nil) != (code == "bad_request") {
			t.Fatalf("request body: %v, answered %q", err, code)
		}
	} else if !problem && (ex.Request.Body != "" || ex.Request.BodyHex != nil) {
		t.Fatal("a body on an endpoint that takes none")
	}
	// The answer body. A problem answer is problem+json whatever Accept
	// says, so it does not vary with it.
	if problem && ex.Response.Headers["Vary"] != "" {
		t.Fatal("a problem answer with Vary")
	}
	if !problem {
		if types[1] == nil {
			if ex.Response.Status != http.StatusNoContent || ex.Response.Body != "" || ex.Response.BodyHex != nil {
				t.Fatalf("answer %d with a body", ex.Response.Status)
			}
			return
		}
		if ex.Response.Headers["Vary"] != "Accept" {
			t.Fatal("an answer without Vary: Accept")
		}
		if err := decodeCanonical(ex.Response, types[1]()); err != nil {
			t.Fatalf("answer body: %v", err)
		}
	}
	body := ex.Response.Body
	if ex.Response.BodyHex != nil {
		body = string(ex.Response.BodyHex)
	}
	if ex.Response.Headers["Content-Length"] != strconv.Itoa(len(body)) {
		t.Fatalf("Content-Length %q for %d bytes", ex.Response.Headers["Content-Length"], len(body))
	}
}

// decodeCanonical decodes a message body into v, strictly (JSON: no
// unknown member; CBOR: the project's decoder), and checks that v encodes
// back to the same bytes (JSON answers end with a newline), so that no
// member is missing or spelled otherwise.
func decodeCanonical(m httpMessage, v any) error {
	ct := m.Headers["Content-Type"]
	if m.BodyHex != nil {
		if ct != "application/cbor" {
			return fmt.Errorf("CBOR body of type %q", ct)
		}
		if diag, err := cbor.Diagnose(m.BodyHex); err != nil || diag != m.BodyDiag {
			return fmt.Errorf("body_diag is not the body's diagnostic notation: %v", err)
		}
		return cborx.Decode(m.BodyHex, v)
	}
	if ct != "application/json" {
		return fmt.Errorf("JSON body of type %q", ct)
	}
	if err := decodeStrict([]byte(m.Body), v); err != nil {
		return err
	}
	again, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if s := string(again); s != m.Body && s+"\n" != m.Body {
		return errors.New("the body does not re-encode to the same bytes")
	}
	return nil
}

// checkFlow follows the secrets from exchange to exchange.
func checkFlow(t *testing.T, f *httpFile, keys map[string]*attesta.PrivateKey) {
	var (
		pending *attesta.PrivateKey // the key of the last challenge
		token   []byte
	)
	for _, ex := range f.Vectors {
		switch ex.Request.Method + " " + strings.SplitN(ex.Request.Path, "?", 2)[0] {
		case "POST /v1/auth_key_request":
			if ex.Response.Status != http.StatusOK {
				continue
			}
			var req transport.AuthKeyRequestBody
			var res transport.AuthKeyRequestResponse
			decodeEither(t, ex.Request, &req)
			decodeEither(t, ex.Response, &res)
			if req.AppToken != f.AppToken {
				t.Fatalf("%s: another application token", ex.ID)
			}
			k, ok := keys[string(req.Key)]
			if !ok {
				t.Fatalf("%s: a key the file does not hold", ex.ID)
			}
			var err error
			if token, err = k.DecryptToken(res.EncryptedToken); err != nil {
				t.Fatalf("%s: %v", ex.ID, err)
			}
			pending = k
		case "POST /v1/auth_key_token":
			var req transport.AuthKeyTokenBody
			if ex.Response.Status == http.StatusBadRequest && ex.Error == "transport.ErrBadRequest" {
				continue
			}
			decodeEither(t, ex.Request, &req)
			if ex.Response.Status == http.StatusOK && (pending == nil || !bytes.Equal(req.Token, token)) {
				t.Fatalf("%s: the token sent is not the decrypted challenge", ex.ID)
			}
			pending = nil
		case "GET /v1/registry":
			login := loginOf(t, ex.Request.Path)
			if f.Password == "" || ex.Response.Status != http.StatusOK || login == "" {
				continue
			}
			var res transport.RegistryResponse
			decodeEither(t, ex.Response, &res)
			// Either the decoy of the login, or a block the password opens
			// to a key of the file.
			if id, err := attesta.ParseLogin(login); err == nil {
				if _, _, decoy := specDecoy(t, f.Secret, string(id.Kind), id.Value); bytes.Equal(decoy, res.Registry) {
					continue
				}
			}
			pt, err := registry.Open(t.Context(), res.Registry, []byte(f.Password), kdf.DefaultCeilings())
			if err != nil || len(pt.Keys) == 0 {
				t.Fatalf("%s: %v", ex.ID, err)
			}
			if _, ok := keys[string(mustPublic(t, pt.Keys[0]))]; !ok {
				t.Fatalf("%s: the registry holds another key", ex.ID)
			}
		}
	}
}

// loginOf returns the login of a login fetch's path, or "".
func loginOf(t *testing.T, path string) string {
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if len(q) != 1 || len(q["login"]) != 1 {
		return ""
	}
	return q.Get("login")
}

func mustPublic(t *testing.T, private []byte) []byte {
	k, err := attesta.ParsePrivateKey(private)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public().Pack()
}

func decodeEither(t *testing.T, m httpMessage, v any) {
	t.Helper()
	var err error
	if m.BodyHex != nil {
		err = cborx.Decode(m.BodyHex, v)
	} else {
		err = json.Unmarshal([]byte(m.Body), v)
	}
	if err != nil {
		t.Fatal(err)
	}
}
