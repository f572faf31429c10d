package fuzz

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// route is one method and path the HTTP targets send requests to; body is
// the wire type of its request body, nil for a route that takes none.
type route struct {
	method, path string
	body         reflect.Type
}

var (
	authKeyRequestBody = reflect.TypeFor[transport.AuthKeyRequestBody]()
	authKeyTokenBody   = reflect.TypeFor[transport.AuthKeyTokenBody]()
	putRegistryBody    = reflect.TypeFor[transport.PutRegistryBody]()
	identifierBody     = reflect.TypeFor[transport.IdentifierBody]()
	confirmBody        = reflect.TypeFor[transport.ConfirmIdentifierBody]()
	instanceBody       = reflect.TypeFor[transport.RegisterInstanceBody]()
)

// routes are every endpoint of the API, with the body routes first, then
// methods each path does not serve, then paths no endpoint has.
var routes = []route{
	{http.MethodPost, "/v1/auth_key_request", authKeyRequestBody},
	{http.MethodPost, "/v1/auth_key_token", authKeyTokenBody},
	{http.MethodPut, "/v1/registry", putRegistryBody},
	{http.MethodPost, "/v1/identifiers", identifierBody},
	{http.MethodPost, "/v1/identifiers/confirm", confirmBody},
	{http.MethodDelete, "/v1/identifiers", identifierBody},
	{http.MethodPost, "/v1/instance", instanceBody},

	{http.MethodGet, "/v1/party", nil},
	{http.MethodPost, "/v1/logout", nil},
	{http.MethodGet, "/v1/registry", nil},
	{http.MethodGet, "/healthz", nil},
	{http.MethodHead, "/v1/party", nil},
	{http.MethodHead, "/v1/registry", nil},
	{http.MethodHead, "/healthz", nil},
	{http.MethodGet, "/v1/instance/token", nil},
	{http.MethodGet, "/v1/service_keys/weather", nil},
	{http.MethodGet, "/v1/service_keys/unknown", nil},
	{http.MethodGet, "/v1/service_keys/Bad%20Name", nil},
	{http.MethodHead, "/v1/service_keys/weather", nil},

	{http.MethodGet, "/v1/auth_key_request", nil},
	{http.MethodPut, "/v1/auth_key_token", nil},
	{http.MethodPost, "/v1/party", nil},
	{http.MethodGet, "/v1/logout", nil},
	{http.MethodPost, "/v1/registry", nil},
	{http.MethodPatch, "/v1/registry", nil},
	{http.MethodGet, "/v1/identifiers", nil},
	{http.MethodPut, "/v1/identifiers/confirm", nil},
	{http.MethodOptions, "/v1/party", nil},
	{http.MethodDelete, "/healthz", nil},
	{http.MethodGet, "/v1/instance", nil},
	{http.MethodPost, "/v1/instance/token", nil},
	{http.MethodPut, "/v1/service_keys/weather", nil},

	{http.MethodGet, "/", nil},
	{http.MethodPost, "/v1/unknown", nil},
	{http.MethodGet, "/v1/registry/x", nil},
	{http.MethodPost, "/v1/identifiers/confirm/", nil},
	{http.MethodGet, "/v1/service_keys/", nil},
	{http.MethodGet, "/v1/service_keys/weather/x", nil},
}

// routeIndex returns the index in routes of "METHOD /path".
func routeIndex(tb testing.TB, name string) uint8 {
	tb.Helper()
	for i, r := range routes {
		if r.method+" "+r.path == name {
			return uint8(i)
		}
	}
	tb.Fatalf("no route %s", name)
	return 0
}

// bodyRoutes is how many routes, at the start of routes, take a body.
const bodyRoutes = 7

// knownCodes are the problem codes of transport's error table, with the
// status of each and a sentinel it stands for. Setup checks each against
// the table (transport.Problem.Is); an answer with a code missing here
// fails the target, which names it.
var knownCodes = map[string]struct {
	status   int
	sentinel error
}{
	"key_even_modulus":        {400, attesta.ErrEvenModulus},
	"key_bad_exponent":        {400, attesta.ErrBadExponent},
	"bad_key":                 {400, attesta.ErrBadKey},
	"unsupported_key":         {400, attesta.ErrUnsupportedKey},
	"key_too_small":           {400, attesta.ErrKeyTooSmall},
	"key_too_large":           {400, attesta.ErrKeyTooLarge},
	"private_key_disclosed":   {400, attesta.ErrPrivateKeyDisclosed},
	"key_banned":              {403, attesta.ErrKeyBanned},
	"bad_app_token":           {401, attesta.ErrBadAppToken},
	"challenge_unknown":       {400, attesta.ErrChallengeUnknown},
	"challenge_expired":       {410, attesta.ErrChallengeExpired},
	"unauthorized":            {401, attesta.ErrUnauthorized},
	"bad_identifier":          {400, attesta.ErrBadIdentifier},
	"unknown_identifier_kind": {400, attesta.ErrUnknownIdentifierKind},
	"identifier_taken":        {409, attesta.ErrIdentifierTaken},
	"identifier_not_found":    {404, attesta.ErrIdentifierNotFound},
	"too_many_identifiers":    {409, attesta.ErrTooManyIdentifiers},
	"code_unknown":            {400, attesta.ErrCodeUnknown},
	"code_expired":            {410, attesta.ErrCodeExpired},
	"wrong_code":              {400, attesta.ErrWrongCode},
	"code_tries_exhausted":    {400, attesta.ErrCodeTriesExhausted},
	"version_conflict":        {409, attesta.ErrVersionConflict},
	"no_identifier":           {409, attesta.ErrNoIdentifier},
	"bad_app_name":            {400, attesta.ErrBadAppName},
	"app_exists":              {409, attesta.ErrAppExists},
	"app_not_found":           {404, attesta.ErrAppNotFound},
	"not_instance":            {403, attesta.ErrNotInstance},
	"not_session_key":         {400, attesta.ErrNotSessionKey},
	"bad_instance_token":      {400, attesta.ErrBadInstanceToken},
	"not_entitled":            {403, attesta.ErrNotEntitled},
	"service_key_not_found":   {404, attesta.ErrServiceKeyNotFound},
	"bad_provider":            {400, attesta.ErrBadProvider},
	"bad_service_key":         {400, attesta.ErrBadServiceKey},
	"entitlement_not_found":   {404, attesta.ErrEntitlementNotFound},
	"kdf_too_weak":            {400, attesta.ErrKDFTooWeak},
	"kdf_too_costly":          {400, attesta.ErrKDFTooCostly},
	"bad_registry":            {400, attesta.ErrBadRegistry},
	"bad_request":             {400, transport.ErrBadRequest},
	"unsupported_media_type":  {415, transport.ErrUnsupportedMediaType},
	"too_large":               {413, transport.ErrTooLarge},
	"rate_limited":            {429, transport.ErrRateLimited},
	"method_not_allowed":      {405, transport.ErrMethodNotAllowed},
	"not_found":               {404, transport.ErrNotFound},
}

// appPlaceholder stands for the application token in seed bodies: each
// fuzzing process makes its own store and application, so the targets
// replace it (same length, so a CBOR body stays well formed) with the
// real token before sending.
var appPlaceholder = "ata_" + base64.RawURLEncoding.EncodeToString(make([]byte, attesta.TokenSize))

// Authorization modes of a request, the auth argument of the targets
// modulo 4.
const (
	authNone    = iota // no Authorization header
	authSession        // a live session (a fresh one for /v1/logout)
	authUnknown        // a well-formed session the server never issued
	authApp            // the application token, which is not a session
)

const (
	fuzzNickname = "fuzzer"
	fuzzEmail    = "fuzz@example.com"
)

// server is a real Attesta server in one process: a Pebble store in a
// temporary directory, a Service with a fixed secret, floors that accept
// any KDF and an outbox Notifier, and a Handler whose limits no fuzzing
// run reaches. Setup registers a party with a session, a nickname, a
// pending email and a registry.
type server struct {
	h       *transport.Handler
	svc     *attesta.Service
	app     string
	key     *attesta.PrivateKey
	session string
	unknown string
	log     *lastLog
}

func newServer(f *testing.F) *server {
	f.Helper()
	for code, c := range knownCodes {
		if p := (&transport.Problem{Code: code}); !errors.Is(p, c.sentinel) {
			f.Fatalf("the test's code %q does not stand for %v in transport's table", code, c.sentinel)
		}
	}
	dir := f.TempDir()
	st, err := pebblestore.Open(filepath.Join(dir, "store"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{
		Store:     st,
		Secret:    bytes.Repeat([]byte{0x5a}, attesta.SecretSize),
		Notifier:  outbox.New(filepath.Join(dir, "outbox.jsonl")),
		KDFFloors: &kdf.Floors{},
	})
	if err != nil {
		f.Fatal(err)
	}
	s := &server{svc: svc, log: &lastLog{}, unknown: "ats_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{1}, attesta.TokenSize))}

	// Limits no run reaches, for every Limit the config has or will have.
	unlimited := transport.Limit{Burst: 1e9, Every: time.Nanosecond}
	cfg := transport.HandlerConfig{
		RatePerSecond: 1e9,
		RateBurst:     1e9,
		Logger:        slog.New(slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	v := reflect.ValueOf(&cfg).Elem()
	for i := range v.NumField() {
		if fv := v.Field(i); fv.Type() == reflect.TypeFor[transport.Limit]() {
			fv.Set(reflect.ValueOf(unlimited))
		}
	}
	if s.h, err = transport.NewHandler(svc, cfg); err != nil {
		f.Fatal(err)
	}

	ctx := f.Context()
	if s.app, err = svc.CreateApp(ctx, "fuzz"); err != nil {
		f.Fatal(err)
	}
	// A key of its own, which no seed holds, so that no input can ban it
	// and end the session.
	if s.key, err = attesta.GenerateKey(attesta.X25519); err != nil {
		f.Fatal(err)
	}
	s.session = s.connect(f)
	sess, err := svc.Authenticate(ctx, s.session)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.AddIdentifier(ctx, sess.PartyID, attesta.Nickname, fuzzNickname); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.AddIdentifier(ctx, sess.PartyID, attesta.Email, fuzzEmail); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.PutRegistry(ctx, sess.PartyID, sealedBlock(f), 0); err != nil {
		f.Fatal(err)
	}
	// An entitled instance, with a service key to fetch.
	tok, err := svc.RegisterInstance(ctx, sess, s.key.Public().Pack())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.GrantEntitlement(ctx, tok.String()); err != nil {
		f.Fatal(err)
	}
	if _, err := svc.SetServiceKey(ctx, "fuzz", "weather", []byte("fuzz-service-key")); err != nil {
		f.Fatal(err)
	}
	return s
}

// connect runs the connect flow with the server's own key and returns a
// new session.
func (s *server) connect(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	req, err := s.svc.AuthKeyRequest(ctx, s.key.Public().Pack(), s.app)
	if err != nil {
		tb.Fatal(err)
	}
	token, err := s.key.DecryptToken(req.EncryptedToken)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := s.svc.AuthKeyToken(ctx, token)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Session
}

func sealedBlock(tb testing.TB) []byte {
	tb.Helper()
	b, err := registry.Seal(context.Background(), fuzzPlaintexts[1], []byte(fuzzPassword), cheapParams(tb)[2])
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// request is one request of a target.
type request struct {
	route               route
	auth                uint8
	contentType, accept string
	query               string
	body                []byte
}

// serve sends r to the handler and returns the answer. It returns nil for
// a request no HTTP server would hand to a handler (a query or header
// value with control characters or spaces).
func (s *server) serve(t *testing.T, r request) *httptest.ResponseRecorder {
	t.Helper()
	if strings.ContainsFunc(r.query, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return nil
	}
	if _, err := url.ParseRequestURI(r.route.path + "?" + r.query); err != nil {
		return nil
	}
	req := httptest.NewRequest(r.route.method, r.route.path, bytes.NewReader(bytes.ReplaceAll(r.body, []byte(appPlaceholder), []byte(s.app))))
	req.URL.RawQuery = r.query
	if r.query != "" {
		req.RequestURI += "?" + r.query
	}
	for name, v := range map[string]string{"Content-Type": r.contentType, "Accept": r.accept} {
		// A server trims a header value and refuses control characters.
		v = strings.Trim(v, " \t")
		if strings.ContainsFunc(v, func(c rune) bool { return c < ' ' && c != '\t' || c == 0x7f }) {
			return nil
		}
		if v != "" {
			req.Header.Set(name, v)
		}
	}
	switch r.auth % 4 {
	case authSession:
		session := s.session
		if r.route.path == "/v1/logout" {
			session = s.connect(t) // logging out the shared session would end it
		}
		req.Header.Set("Authorization", "Bearer "+session)
	case authUnknown:
		req.Header.Set("Authorization", "Bearer "+s.unknown)
	case authApp:
		req.Header.Set("Authorization", "Bearer "+s.app)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec
}

// check checks an answer: never a 5xx; every answer uncacheable; a 200 in
// JSON or CBOR, well formed; a 204 empty; every 4xx an
// application/problem+json document whose code is a known one with its
// status. It returns the problem code, "" for a 2xx.
func (s *server) check(t *testing.T, r request, rec *httptest.ResponseRecorder) string {
	t.Helper()
	what := r.route.method + " " + r.route.path
	if rec.Code >= 500 {
		t.Fatalf("%s: %d answer %q; server log: %s", what, rec.Code, rec.Body.Bytes(), s.log.last())
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("%s: %d answer with Cache-Control %q", what, rec.Code, cc)
	}
	ct := rec.Header().Get("Content-Type")
	switch {
	case rec.Code == http.StatusNoContent:
		if rec.Body.Len() != 0 {
			t.Fatalf("%s: 204 with a body", what)
		}
		return ""
	case rec.Code == http.StatusOK:
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "application/json":
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s: 200 with a body that is not JSON", what)
			}
		case "application/cbor":
			if err := cborx.Wellformed(rec.Body.Bytes()); err != nil {
				t.Fatalf("%s: 200 with a body that is not CBOR: %v", what, err)
			}
		default:
			t.Fatalf("%s: 200 with Content-Type %q", what, ct)
		}
		return ""
	case rec.Code >= 400 && rec.Code < 500:
	default:
		t.Fatalf("%s: status %d", what, rec.Code)
	}
	if ct != "application/problem+json" {
		t.Fatalf("%s: %d answer with Content-Type %q", what, rec.Code, ct)
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	var p transport.Problem
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %d answer that is not a problem document: %v: %q", what, rec.Code, err, rec.Body.Bytes())
	}
	known, ok := knownCodes[p.Code]
	switch {
	case !ok:
		t.Fatalf("%s: %d answer with code %q, which the fuzz targets do not know: add it to knownCodes if it is new in transport's table", what, rec.Code, p.Code)
	case known.status != rec.Code || p.Status != rec.Code:
		t.Fatalf("%s: code %q answered %d with status %d in the document; the table says %d", what, p.Code, rec.Code, p.Status, known.status)
	case p.Title == "":
		t.Fatalf("%s: problem %q without a title", what, p.Code)
	}
	return p.Code
}

// lastLog keeps the last record the handler logged at error level, to
// explain a 500.
type lastLog struct {
	mu   sync.Mutex
	line []byte
}

func (l *lastLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = append(l.line[:0], p...)
	return len(p), nil
}

func (l *lastLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(string(l.line))
}

// wireBodies returns valid request bodies of each body route, as wire
// values, from the fixtures.
func wireBodies(tb testing.TB) map[reflect.Type][]any {
	tb.Helper()
	out := map[reflect.Type][]any{}
	for _, alg := range testkeys.Algorithms {
		k := testkeys.Key(tb, alg, 1)
		out[authKeyRequestBody] = append(out[authKeyRequestBody],
			transport.AuthKeyRequestBody{Key: k.Public().Pack(), AppToken: appPlaceholder},
			transport.AuthKeyRequestBody{Key: k.Public().MarshalPEM(), AppToken: appPlaceholder})
	}
	// Disclosures, which ban the fixture key: the same key in every form.
	k := testkeys.Key(tb, attesta.X25519, 2)
	der, err := k.MarshalPKCS8()
	if err != nil {
		tb.Fatal(err)
	}
	for _, b := range [][]byte{k.Pack(), k.MarshalPEM(), der} {
		out[authKeyRequestBody] = append(out[authKeyRequestBody], transport.AuthKeyRequestBody{Key: b, AppToken: appPlaceholder})
	}
	out[authKeyRequestBody] = append(out[authKeyRequestBody],
		transport.AuthKeyRequestBody{Key: testkeys.Key(tb, attesta.RSA2048, 2).Public().Pack(), AppToken: "ata_"},
		transport.AuthKeyRequestBody{})

	out[authKeyTokenBody] = []any{
		transport.AuthKeyTokenBody{Token: make([]byte, attesta.TokenSize)},
		transport.AuthKeyTokenBody{Token: []byte{1}},
		transport.AuthKeyTokenBody{},
	}

	decoy, err := registry.Decoy(make([]byte, 16))
	if err != nil {
		tb.Fatal(err)
	}
	block := sealedBlock(tb)
	out[putRegistryBody] = []any{
		transport.PutRegistryBody{Registry: block, Version: 1},
		transport.PutRegistryBody{Registry: block, Version: 0},
		transport.PutRegistryBody{Registry: decoy, Version: 1 << 40},
		transport.PutRegistryBody{Registry: []byte{0x82, 0x80, 0x40}},
	}

	ids := []any{
		transport.IdentifierBody{Kind: attesta.Nickname, Value: "Fuzzy  Nick"},
		transport.IdentifierBody{Kind: attesta.Nickname, Value: fuzzNickname},
		transport.IdentifierBody{Kind: attesta.Email, Value: " New@Example.COM"},
		transport.IdentifierBody{Kind: attesta.Email, Value: fuzzEmail},
		transport.IdentifierBody{Kind: attesta.Phone, Value: "+1 (555) 123-4567"},
		transport.IdentifierBody{Kind: attesta.Nickname, Value: "ab"},
		transport.IdentifierBody{Kind: "handle", Value: "somebody"},
	}
	out[instanceBody] = []any{
		transport.RegisterInstanceBody{Key: testkeys.Key(tb, attesta.RSA2048, 1).Public().Pack()},
		transport.RegisterInstanceBody{Key: testkeys.Key(tb, attesta.X25519, 2).Pack()},
		transport.RegisterInstanceBody{Key: []byte{0x82, 0x11}},
		transport.RegisterInstanceBody{},
	}
	out[identifierBody] = ids
	out[confirmBody] = []any{
		transport.ConfirmIdentifierBody{Kind: attesta.Email, Value: fuzzEmail, Code: "123456"},
		transport.ConfirmIdentifierBody{Kind: attesta.Phone, Value: "+15551234567", Code: "000000"},
		transport.ConfirmIdentifierBody{Kind: attesta.Nickname, Value: fuzzNickname, Code: ""},
		transport.ConfirmIdentifierBody{Kind: attesta.Email, Value: "a@b", Code: "12345a"},
	}
	return out
}

func encodeJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzHandler sends any request to any route of transport.Handler, over a
// real Service and Pebble store: any method and path of the API (and some
// it does not have), with no Authorization, a live session, an unknown one
// or an application token, any Content-Type, Accept, query and body. The
// handler must never panic, never answer 5xx, and answer every refusal as
// an application/problem+json document with a known code and its status.
func FuzzHandler(f *testing.F) {
	s := newServer(f)
	const (
		mJSON = "application/json"
		mCBOR = "application/cbor"
	)
	c := &corpus{f: f}
	bodies := wireBodies(f)
	for i, r := range routes {
		var js []byte
		if r.body != nil {
			js = encodeJSON(f, bodies[r.body][0])
		}
		for auth := range uint8(4) {
			c.add(uint8(i), auth, mJSON, "", "", js)
		}
		for _, v := range bodies[r.body] {
			c.add(uint8(i), uint8(authSession), mJSON, "", "", encodeJSON(f, v))
			c.add(uint8(i), uint8(authSession), mCBOR, mCBOR, "", mustCBOR(f, v))
		}
	}
	for _, ct := range []string{"application/json; charset=utf-8", "application/json; charset=latin1", "text/plain", "",
		"application/cbor; x=y", "application/json, application/cbor", "application/problem+json", "application/json;", "APPLICATION/JSON"} {
		c.add(routeIndex(f, "POST /v1/auth_key_request"), uint8(authNone), ct, "", "", encodeJSON(f, bodies[authKeyRequestBody][0]))
		c.add(routeIndex(f, "POST /v1/identifiers"), uint8(authSession), ct, "", "", encodeJSON(f, bodies[identifierBody][0]))
	}
	for _, accept := range []string{"application/cbor", "application/json;q=0, application/cbor", "application/cbor;q=0",
		"*/*", "application/cbor;q=2", "application/cbor;q=0.5, application/json;q=0.4", "text/html", "application/json;q=x"} {
		c.add(routeIndex(f, "GET /v1/party"), uint8(authSession), "", accept, "", []byte(nil))
		c.add(routeIndex(f, "POST /v1/identifiers"), uint8(authSession), mJSON, accept, "", encodeJSON(f, bodies[identifierBody][0]))
	}
	for _, q := range []string{"login=" + fuzzNickname, "login=" + url.QueryEscape(fuzzEmail), "login=%2B15551234567",
		"login=nobody-here", "login=", "login=a&login=b", "x=1", "login=%zz", "login=FUZZER&x=", "login=%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80"} {
		c.add(routeIndex(f, "GET /v1/registry"), uint8(authNone), "", "", q, []byte(nil))
		c.add(routeIndex(f, "GET /v1/registry"), uint8(authSession), "", mCBOR, q, []byte(nil))
	}
	c.add(routeIndex(f, "POST /v1/logout"), uint8(authSession), "", "", "", []byte("x"))
	c.add(routeIndex(f, "POST /v1/instance"), uint8(authSession), mJSON, "", "", encodeJSON(f, transport.RegisterInstanceBody{Key: s.key.Public().Pack()}))
	c.add(routeIndex(f, "POST /v1/instance"), uint8(authSession), mCBOR, mCBOR, "", mustCBOR(f, transport.RegisterInstanceBody{Key: s.key.Public().Pack()}))
	c.add(routeIndex(f, "GET /v1/service_keys/weather"), uint8(authSession), "", mCBOR, "", []byte(nil))
	for _, v := range httpVectors() {
		c.add(v.route, v.auth, v.contentType, v.accept, v.query, v.body)
	}
	c.done()

	f.Fuzz(func(t *testing.T, ri, auth uint8, contentType, accept, query string, body []byte) {
		r := request{route: routes[int(ri)%len(routes)], auth: auth, contentType: contentType, accept: accept, query: query, body: body}
		if rec := s.serve(t, r); rec != nil {
			s.check(t, r, rec)
		}
	})
}

// FuzzBodiesJSON sends any JSON body to each route that takes one, with a
// live session, through the handler's strict decoder. Beside FuzzHandler's
// checks: a body the handler accepts (its answer is not bad_request)
// decodes into the route's wire type with encoding/json, re-encodes to a
// value that decodes to the same, and that re-encoding is accepted too.
func FuzzBodiesJSON(f *testing.F) { fuzzBodies(f, "application/json") }

// FuzzBodiesCBOR sends any CBOR body to each route that takes one, with a
// live session. Beside FuzzHandler's checks: the handler refuses a body
// (bad_request) exactly when the strict decoder refuses it, and a body it
// accepts is the deterministic encoding of the decoded wire value.
func FuzzBodiesCBOR(f *testing.F) { fuzzBodies(f, "application/cbor") }

func fuzzBodies(f *testing.F, media string) {
	s := newServer(f)
	isCBOR := media == "application/cbor"
	encode := func(v any) []byte {
		if isCBOR {
			return mustCBOR(f, v)
		}
		return encodeJSON(f, v)
	}
	c := &corpus{f: f}
	bodies := wireBodies(f)
	for i, r := range routes[:bodyRoutes] {
		for _, v := range bodies[r.body] {
			c.add(uint8(i), encode(v))
		}
	}
	for _, v := range httpVectors() {
		if mt, _, _ := mime.ParseMediaType(v.contentType); mt == media && v.route < bodyRoutes {
			c.add(v.route, v.body)
		}
	}
	c.done()

	f.Fuzz(func(t *testing.T, ri uint8, body []byte) {
		r := request{route: routes[int(ri)%bodyRoutes], auth: authSession, contentType: media, body: body}
		rec := s.serve(t, r)
		code := s.check(t, r, rec)
		if code == "too_large" || code == "unsupported_media_type" {
			return
		}
		sent := bytes.ReplaceAll(body, []byte(appPlaceholder), []byte(s.app))
		v := reflect.New(r.route.body).Interface()
		if isCBOR {
			err := cborx.Decode(sent, v)
			switch {
			case code == "bad_request" && err == nil:
				t.Fatalf("%s: the handler refused a body the strict decoder accepts", r.route.path)
			case code != "bad_request" && err != nil:
				t.Fatalf("%s: the handler accepted a body the strict decoder refuses (%v)", r.route.path, err)
			case err == nil:
				if re := mustCBOR(t, reflect.ValueOf(v).Elem().Interface()); !bytes.Equal(re, sent) {
					t.Fatalf("%s: an accepted body re-encodes to other bytes:\n%x\n%x", r.route.path, sent, re)
				}
			}
			return
		}
		if code == "bad_request" {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(sent))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: the handler accepted a body encoding/json refuses: %v", r.route.path, err)
		}
		re := encodeJSON(t, reflect.ValueOf(v).Elem().Interface())
		again := reflect.New(r.route.body).Interface()
		if err := json.Unmarshal(re, again); err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("%s: an accepted body does not survive re-encoding: %s, %v", r.route.path, re, err)
		}
		r.body = re
		if code := s.check(t, r, s.serve(t, r)); code == "bad_request" {
			t.Fatalf("%s: the handler refuses the re-encoding %s of a body it accepted", r.route.path, re)
		}
	})
}
