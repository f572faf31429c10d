package testvectors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// fixedSecret is the server secret of every server the vectors run (32
// bytes 0x00..0x1f). It is published: never use it for anything else.
var fixedSecret = func() []byte {
	b := make([]byte, attesta.SecretSize)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// fixedStart is the server clock's first reading in the HTTP exchanges.
var fixedStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a server clock that moves only when told to.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// stack is a real server in process: a Pebble store in a temporary
// directory, an attesta.Service on a fixed clock and secret, one
// application, and a transport.Handler. Requests go straight to ServeHTTP,
// in this goroutine, so that the order in which they draw randomness is
// fixed.
type stack struct {
	clock *clock
	svc   *attesta.Service
	h     *transport.Handler
	app   string // the application's token
}

// generousLimits are rate limits no check reaches.
var generousLimits = func() transport.HandlerConfig {
	l := transport.Limit{Burst: 1 << 30, Every: time.Nanosecond}
	return transport.HandlerConfig{
		RatePerSecond: 1e9, RateBurst: 1 << 30,
		LoginPerIdentifierAndAddress: l, LoginPerAddress: l, ConfirmPerParty: l, AddPerParty: l, IdentifierPerAddress: l, RegistryPutPerAddress: l, NewPartiesPerAddress: l,
	}
}()

func newStack(t *testing.T, acfg attesta.Config, hcfg transport.HandlerConfig) *stack {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{now: fixedStart}
	acfg.Store, acfg.Secret, acfg.Now = st, fixedSecret, c.Now
	if acfg.Limits == (attesta.Limits{}) {
		l := transport.Limit{Burst: 1 << 30, Every: time.Nanosecond}
		acfg.Limits = attesta.Limits{CodeSendCooldown: l, CodeSendsPerDestination: l, CodeSendsPerParty: l, CodeSendsTotal: l, CodeTriesPerIdentifier: l, RegistryFetchesPerLogin: l}
	}
	svc, err := attesta.New(acfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := transport.NewHandler(svc, hcfg)
	if err != nil {
		t.Fatal(err)
	}
	app, err := svc.CreateApp(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	return &stack{clock: c, svc: svc, h: h, app: app}
}

// do serves one request.
func (s *stack) do(method, path string, header http.Header, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr = "192.0.2.1:49152"
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// postJSON sends v as a JSON body, with a session if not "".
func (s *stack) postJSON(t *testing.T, method, path, session string, v any) *httptest.ResponseRecorder {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if session != "" {
		h.Set("Authorization", "Bearer "+session)
	}
	return s.do(method, path, h, body)
}

// problemCode returns the code of a problem answer, or "" for a 2xx one.
func problemCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code/100 == 2 {
		return ""
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q", rec.Code, ct)
	}
	var p transport.Problem
	if err := decodeStrict(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body, err)
	}
	if p.Status != rec.Code || p.Code == "" {
		t.Fatalf("problem body %q with status %d", rec.Body, rec.Code)
	}
	return p.Code
}

// connect runs both connect steps for key and returns the session.
func (s *stack) connect(t *testing.T, key *attesta.PrivateKey) transport.AuthKeyTokenResponse {
	t.Helper()
	rec := s.postJSON(t, http.MethodPost, "/v1/auth_key_request", "", transport.AuthKeyRequestBody{Key: key.Public().Pack(), AppToken: s.app})
	var req transport.AuthKeyRequestResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &req); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("auth_key_request: %d %s", rec.Code, rec.Body)
	}
	token, err := key.DecryptToken(req.EncryptedToken)
	if err != nil {
		t.Fatal(err)
	}
	rec = s.postJSON(t, http.MethodPost, "/v1/auth_key_token", "", transport.AuthKeyTokenBody{Token: token})
	var res transport.AuthKeyTokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("auth_key_token: %d %s", rec.Code, rec.Body)
	}
	return res
}

// newParty connects a new X25519 key and returns its session and party.
func (s *stack) newParty(t *testing.T) (string, attesta.PartyID) {
	t.Helper()
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		t.Fatal(err)
	}
	res := s.connect(t, key)
	party, err := attesta.ParsePartyID(res.PartyID)
	if err != nil {
		t.Fatal(err)
	}
	return res.Session, party
}

// putOutcome is what a server does with a registry block put with PUT
// /v1/registry: the error of attesta.Service.PutRegistry and the problem
// code of the answer, "" for both when it stores the block. The generators
// state it from the rules (size, then the header, then the default floors,
// then the default ceilings), and checkPut holds a real server to it.
func putOutcome(block []byte) (putError, code string) {
	if len(block) > registry.MaxBlockSize {
		return "attesta.ErrRegistryTooLarge", "too_large"
	}
	h, err := registry.Inspect(block)
	switch {
	case err != nil:
		return "attesta.ErrBadRegistry", "bad_registry"
	case kdf.DefaultFloors().Check(h.KDF) != nil:
		return "attesta.ErrKDFTooWeak", "kdf_too_weak"
	case kdf.DefaultCeilings().Check(h.KDF) != nil:
		return "attesta.ErrKDFTooCostly", "kdf_too_costly"
	}
	return "", ""
}

// putter stores registry blocks for checkPut: a party and its session.
type putter struct {
	srv     *stack
	session string
	party   attesta.PartyID
}

func newPutter(t *testing.T, srv *stack) *putter {
	session, party := srv.newParty(t)
	// A registry needs a login identifier.
	if _, err := srv.svc.AddIdentifier(t.Context(), party, attesta.Nickname, "putter"); err != nil {
		t.Fatal(err)
	}
	return &putter{srv, session, party}
}

// staleVersion is a version no registry has: a put at it is refused with
// version_conflict once every check of the block has passed, and stores
// nothing, so checks can run in parallel on one party.
const staleVersion = 1 << 62

// checkPut puts block, through the HTTP API (the problem code) and through
// the Service (the error), and checks that the server refuses it as
// putError and code say, or accepts it ("") as far as the version check.
func checkPut(t *testing.T, p *putter, block []byte, putError, code string) {
	t.Helper()
	if putError == "" {
		putError, code = "attesta.ErrVersionConflict", "version_conflict"
	}
	rec := p.srv.postJSON(t, http.MethodPut, "/v1/registry", p.session, transport.PutRegistryBody{Registry: transport.B64(block), Version: staleVersion})
	if got := problemCode(t, rec); got != code {
		t.Fatalf("PUT /v1/registry answered %d %q, want %q", rec.Code, got, code)
	}
	_, err := p.srv.svc.PutRegistry(t.Context(), p.party, block, staleVersion)
	checkError(t, err, putError)
}
