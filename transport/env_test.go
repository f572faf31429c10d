package transport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"github.com/attesta-go/attesta/internal/syncbuf"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/transport"
)

// env is a real server: a Pebble store in a temporary directory, a
// Service, a Handler and an httptest.Server.
type env struct {
	dir    string
	secret []byte
	acfg   attesta.Config
	hcfg   transport.HandlerConfig
	store  *pebblestore.Store
	svc    *attesta.Service
	h      *transport.Handler
	srv    *httptest.Server
	app    string // an active application token
	logs   *syncBuffer
	outbox string // the outbox file of newPasswordEnv's Notifier
}

// unlimited is a Limit no test reaches.
var unlimited = transport.Limit{Burst: 1e6, Every: time.Nanosecond}

// generous are handler limits no functional test reaches.
var generous = transport.HandlerConfig{
	RatePerSecond:                1e6,
	RateBurst:                    1e6,
	LoginPerIdentifierAndAddress: unlimited,
	LoginPerAddress:              unlimited,
	ConfirmPerParty:              unlimited,
	AddPerParty:                  unlimited,
	IdentifierPerAddress:         unlimited,
	RegistryPutPerAddress:        unlimited,
	NewPartiesPerAddress:         unlimited,
	InstancePerAddress:           unlimited,
}

// generousBudgets are Service budgets no functional test reaches.
var generousBudgets = attesta.Limits{
	CodeSendCooldown:        unlimited,
	CodeSendsPerDestination: unlimited,
	CodeSendsPerParty:       unlimited,
	CodeSendsTotal:          unlimited,
	CodeTriesPerIdentifier:  unlimited,
	RegistryFetchesPerLogin: unlimited,
}

// newPasswordEnv is an env for the password flow: its Service sends codes
// to an outbox file (e.outbox) and, unless acfg says otherwise, stores
// registries sealed with any KDF, so that tests can seal cheaply.
func newPasswordEnv(t *testing.T, acfg attesta.Config, hcfg transport.HandlerConfig) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	if acfg.Notifier == nil {
		acfg.Notifier = outbox.New(path)
	}
	if acfg.KDFFloors == nil {
		acfg.KDFFloors = &kdf.Floors{}
	}
	if acfg.Limits == (attesta.Limits{}) {
		acfg.Limits = generousBudgets
	}
	e := newEnv(t, acfg, hcfg)
	e.outbox = path
	return e
}

// code returns the last verification code the outbox holds for the
// normalised address to.
func (e *env) code(t *testing.T, to string) string {
	t.Helper()
	c, err := outbox.LastCode(e.outbox, to)
	require.NoError(t, err)
	return c
}

func newEnv(t *testing.T, acfg attesta.Config, hcfg transport.HandlerConfig) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), secret: randomSecret(), acfg: acfg, hcfg: hcfg, logs: &syncBuffer{}}
	e.start(t)
	var err error
	e.app, err = e.svc.CreateApp(context.Background(), "test")
	require.NoError(t, err)
	return e
}

// randomSecret returns a fresh attesta.Config.Secret.
func randomSecret() []byte {
	b := make([]byte, attesta.SecretSize)
	rand.Read(b)
	return b
}

// start opens the store and serves it.
func (e *env) start(t *testing.T) {
	t.Helper()
	st, err := pebblestore.Open(e.dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	acfg := e.acfg
	acfg.Store, acfg.Secret = st, e.secret
	e.svc, err = attesta.New(acfg)
	require.NoError(t, err)
	hcfg := e.hcfg
	hcfg.Logger = slogJSON(e.logs)
	e.h, err = transport.NewHandler(e.svc, hcfg)
	require.NoError(t, err)
	if acfg.Now != nil {
		// One clock for the whole server: the Service's and the rate
		// limiters' (see fakeClock), set before the Handler serves.
		transport.SetNow(t, e.h, acfg.Now)
	}
	e.store = st
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
}

// restart stops the server and closes the store, then opens both again,
// as a restarted process would.
func (e *env) restart(t *testing.T) {
	t.Helper()
	e.srv.Close()
	require.NoError(t, e.store.Close())
	e.start(t)
}

func (e *env) client(cbor bool) *transport.Client {
	if cbor {
		return transport.NewClient(e.srv.URL, transport.WithHTTPClient(e.srv.Client()), transport.WithCBOR())
	}
	return transport.NewClient(e.srv.URL, transport.WithHTTPClient(e.srv.Client()))
}

// do sends a raw request.
func (e *env) do(t *testing.T, method, path string, header http.Header, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *env) postJSON(t *testing.T, path string, body string) *http.Response {
	t.Helper()
	return e.do(t, http.MethodPost, path, http.Header{"Content-Type": {"application/json"}}, []byte(body))
}

// problem reads a problem answer, checks its form and that its status and
// code are the wanted ones, and returns it with its raw body.
func problem(t *testing.T, resp *http.Response, status int, code string) (transport.Problem, string) {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, status, resp.StatusCode, "body: %s", raw)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p transport.Problem
	require.NoError(t, dec.Decode(&p), "body: %s", raw)
	assert.Equal(t, code, p.Code)
	assert.Equal(t, status, p.Status)
	assert.NotEmpty(t, p.Title)
	return p, string(raw)
}

// requireProblem checks that err is a *transport.Problem with code and
// status, and that it matches the sentinel with errors.Is.
func requireProblem(t *testing.T, err error, status int, code string, sentinel error) *transport.Problem {
	t.Helper()
	require.Error(t, err)
	var p *transport.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, status, p.Status)
	assert.Equal(t, code, p.Code)
	if sentinel != nil {
		assert.ErrorIs(t, err, sentinel)
	}
	return p
}

// slogJSON logs everything, debug included, as JSON lines into w.
func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// syncBuffer collects a logger's output.
type syncBuffer struct{ syncbuf.Buffer }

// records returns the log records with the given message.
func (s *syncBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(s.String()) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// login gives the party of session a nickname, which a registry needs.
func (e *env) login(t *testing.T, session string) {
	t.Helper()
	_, err := e.client(false).AddIdentifier(t.Context(), session, attesta.Nickname, "owner "+session[4:12])
	require.NoError(t, err)
}
