package transport_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// BenchmarkWorstRequest reports, for each endpoint, the server's CPU for
// the most expensive request an attacker can construct beside a normal
// request of that endpoint, in the same run (issue 14): "cpu-ns/op" is the
// process's user + system CPU per request (getrusage), which counts what
// the server works and not what it waits for (fsync), and "x-normal" is a
// case's cpu-ns/op over its endpoint's normal case. Requests go through the
// real Handler, Service and Pebble store in-process (ServeHTTP, no
// socket), under limits no request reaches, so that every request does
// all its work.
//
// For auth_key_request, "units" is what the request is charged to its
// address's budget (attesta.PublicKey.EncryptCost): an RSA-16384 key costs
// the server ~120 times an RSA-2048 one, and is charged ~150 times.
//
//	go test -run '^$' -bench BenchmarkWorstRequest -benchtime 200x ./transport
func BenchmarkWorstRequest(b *testing.B) {
	w := newWorstEnv(b)
	for _, ep := range w.endpoints(b) {
		var normal float64
		for i, c := range ep.cases {
			b.Run(ep.name+"/"+c.name, func(b *testing.B) {
				reqs := make([]*http.Request, b.N)
				for i := range reqs {
					reqs[i] = c.request(i)
				}
				cpu := cpuTime()
				b.ResetTimer()
				for i := range b.N {
					rec := httptest.NewRecorder()
					w.h.ServeHTTP(rec, reqs[i])
					if c.status != 0 && rec.Code != c.status {
						b.Fatalf("%d %s, want %d", rec.Code, rec.Body, c.status)
					}
				}
				b.StopTimer()
				per := float64((cpuTime() - cpu).Nanoseconds()) / float64(b.N)
				b.ReportMetric(per, "cpu-ns/op")
				if i == 0 {
					normal = per
				} else if normal > 0 {
					b.ReportMetric(per/normal, "x-normal")
				}
				if c.units > 0 {
					b.ReportMetric(float64(c.units), "units")
				}
			})
		}
	}
}

// cpuTime is the process's user + system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type worstEnv struct {
	h       http.Handler
	svc     *attesta.Service
	app     string
	session string // of a party with the most identifiers, a registry
	party   attesta.PartyID
	// Entitled instances: the party above (X25519), and one of
	// RSA-4096, the costliest fixture key to encrypt a service key to.
	rsaInstance string
	plain       string // a session of a party that is no instance
}

type worstCase struct {
	name    string
	status  int // the answer expected, 0 for any
	units   int
	request func(i int) *http.Request
}

type worstEndpoint struct {
	name  string
	cases []worstCase // the first is the normal request
}

func newWorstEnv(b *testing.B) *worstEnv {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := pebblestore.Open(filepath.Join(dir, "db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	secret := make([]byte, attesta.SecretSize)
	rand.Read(secret)
	free := attesta.Limit{Burst: 1 << 30, Every: time.Nanosecond}
	svc, err := attesta.New(attesta.Config{Store: st, Secret: secret, Notifier: outbox.New(filepath.Join(dir, "outbox.jsonl")),
		KDFFloors: &kdf.Floors{}, MaxCodeTries: 255,
		Limits: attesta.Limits{CodeSendCooldown: free, CodeSendsPerDestination: free, CodeSendsPerParty: free, CodeSendsTotal: free, CodeTriesPerIdentifier: free, RegistryFetchesPerLogin: free}})
	if err != nil {
		b.Fatal(err)
	}
	h, err := transport.NewHandler(svc, transport.HandlerConfig{RatePerSecond: 1e9, RateBurst: 1 << 30,
		LoginPerIdentifierAndAddress: free, LoginPerAddress: free, ConfirmPerParty: free, AddPerParty: free,
		IdentifierPerAddress: free, RegistryPutPerAddress: free, NewPartiesPerAddress: free, InstancePerAddress: free})
	if err != nil {
		b.Fatal(err)
	}
	w := &worstEnv{h: h, svc: svc}
	if w.app, err = svc.CreateApp(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	// Keys no case of WorstKeyInputs discloses (they ban their own).
	k := testkeys.Key(b, attesta.X25519, 2)
	res := w.connect(b, k)
	w.session, w.party = res.Session, res.PartyID
	// The most a party can hold: five nicknames, five emails, a registry.
	for i := range attesta.MaxNicknames {
		if _, err := svc.AddIdentifier(ctx, w.party, attesta.Nickname, fmt.Sprintf("bench nickname %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range attesta.MaxVerified {
		if _, err := svc.AddIdentifier(ctx, w.party, attesta.Email, fmt.Sprintf("bench%d@example.org", i)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := svc.PutRegistry(ctx, w.party, sealBlock(b, w.party.String(), 1), 0); err != nil {
		b.Fatal(err)
	}
	// The instances, entitled, and a service key of the longest value.
	if _, err := svc.SetServiceKey(ctx, "bench", "weather", bytes.Repeat([]byte{'k'}, attesta.MaxServiceKeySize)); err != nil {
		b.Fatal(err)
	}
	w.instance(b, k)
	w.rsaInstance = w.instance(b, testkeys.Key(b, attesta.RSA4096, 0))
	w.plain = w.connect(b, testkeys.Key(b, attesta.RSA2048, 1)).Session
	return w
}

// instance registers k's party as an entitled instance and returns a
// session of it.
func (w *worstEnv) instance(b *testing.B, k *attesta.PrivateKey) string {
	ctx := context.Background()
	res := w.connect(b, k)
	sess, err := w.svc.Authenticate(ctx, res.Session)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := w.svc.RegisterInstance(ctx, sess, k.Public().Pack())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.svc.GrantEntitlement(ctx, tok.String()); err != nil {
		b.Fatal(err)
	}
	return res.Session
}

func (w *worstEnv) connect(b *testing.B, k *attesta.PrivateKey) attesta.KeyToken {
	req, err := w.svc.AuthKeyRequest(context.Background(), k.Public().Pack(), w.app)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := k.DecryptToken(req.EncryptedToken)
	if err != nil {
		b.Fatal(err)
	}
	res, err := w.svc.AuthKeyToken(context.Background(), tok)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// sealBlock is a registry block whose plaintext fills about n of
// registry.PadBlock's buckets, under cheap KDF parameters (the server
// never runs the KDF; it reads the header).
func sealBlock(b testing.TB, party string, n int) []byte {
	p, err := kdf.Argon2idParams(64, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	pt := registry.Plaintext{PartyID: party, Keys: [][]byte{testkeys.Key(b, attesta.X25519, 0).Pack()}}
	if n > 1 {
		pt.AppData = map[string][]byte{"filler": bytes.Repeat([]byte{7}, n*registry.PadBlock-registry.PadBlock/2)}
	}
	block, err := registry.Seal(context.Background(), pt, []byte("pw"), p)
	if err != nil {
		b.Fatal(err)
	}
	return block
}

func (w *worstEnv) post(method, path, session string, body []byte) *http.Request {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		r.Header.Set("Authorization", "Bearer "+session)
	}
	return r
}

// same repeats one request.
func same(mk func() *http.Request) func(int) *http.Request {
	return func(int) *http.Request { return mk() }
}

func (w *worstEnv) endpoints(b *testing.B) []worstEndpoint {
	keyReq := func(name string, key []byte, status int) worstCase {
		body := mustJSON(b, transport.AuthKeyRequestBody{Key: key, AppToken: w.app})
		units := (len(body) + 8<<10 - 1) / (8 << 10) // the handler's bodyUnit
		if k, err := attesta.ParsePublicKey(key); err == nil {
			units = max(units, k.EncryptCost())
		}
		return worstCase{name, status, units, same(func() *http.Request { return w.post("POST", "/v1/auth_key_request", "", body) })}
	}
	req := []worstCase{keyReq("normal/rsa2048", testkeys.Key(b, attesta.RSA2048, 0).Public().Pack(), 200)}
	for _, in := range testkeys.WorstKeyInputs(b) {
		req = append(req, keyReq(in.Name, in.In, 0))
	}
	req = append(req, worstCase{"junk/body-64KiB", 0, 8, same(func() *http.Request {
		return w.post("POST", "/v1/auth_key_request", "", append([]byte(`{"key":"`), append(bytes.Repeat([]byte("A"), 64<<10-20), `"}`...)...))
	})})

	// auth_key_token: a known X25519 key's genuine tokens, one each.
	k := testkeys.Key(b, attesta.X25519, 1)
	tokens := func(i int) *http.Request {
		res, err := w.svc.AuthKeyRequest(context.Background(), k.Public().Pack(), w.app)
		if err != nil {
			b.Fatal(err)
		}
		tok, err := k.DecryptToken(res.EncryptedToken)
		if err != nil {
			b.Fatal(err)
		}
		return w.post("POST", "/v1/auth_key_token", "", mustJSON(b, transport.AuthKeyTokenBody{Token: tok}))
	}
	forged := mustJSON(b, transport.AuthKeyTokenBody{Token: bytes.Repeat([]byte{1}, attesta.MaxChallengeTokenSize)})

	login := func(l string) *http.Request {
		return w.post("GET", "/v1/registry?"+url.Values{"login": {l}}.Encode(), "", nil)
	}
	// The longest login that parses, with what normalisation works hardest
	// on: decomposed characters to compose and fold.
	hardNick := strings.Repeat("E\u0301", 32)
	block := sealBlock(b, w.party.String(), 1)
	bigBlock := sealBlock(b, w.party.String(), registry.MaxBlockSize/registry.PadBlock-1)
	ident := func(kind, value string) []byte {
		return mustJSON(b, transport.IdentifierBody{Kind: attesta.IdentifierKind(kind), Value: value})
	}
	confirm := func(value, code string) []byte {
		return mustJSON(b, transport.ConfirmIdentifierBody{Kind: attesta.Email, Value: value, Code: code})
	}
	return []worstEndpoint{
		{"auth_key_request", req},
		{"auth_key_token", []worstCase{
			{"normal/x25519-known", 200, 0, tokens},
			{"forged/max-length", 400, 0, same(func() *http.Request { return w.post("POST", "/v1/auth_key_token", "", forged) })},
		}},
		{"registry_by_login", []worstCase{
			{"normal/known-nickname", 200, 0, same(func() *http.Request { return login("bench nickname 0") })},
			{"unknown/decoy", 200, 0, same(func() *http.Request { return login("nobody at all") })},
			{"hard/64-decomposed-runes", 200, 0, same(func() *http.Request { return login(hardNick) })},
			{"junk/1KiB-refused", 400, 0, same(func() *http.Request { return login(strings.Repeat("\u200b", 341)) })},
		}},
		{"put_registry", []worstCase{
			{"normal/4KiB", 409, 0, same(func() *http.Request {
				return w.post("PUT", "/v1/registry", w.session, mustJSON(b, transport.PutRegistryBody{Registry: block, Version: 1 << 40}))
			})},
			{"max/64KiB", 409, 0, same(func() *http.Request {
				return w.post("PUT", "/v1/registry", w.session, mustJSON(b, transport.PutRegistryBody{Registry: bigBlock, Version: 1 << 40}))
			})},
		}},
		{"add_identifier", []worstCase{
			{"normal/email-code-sent", 200, 0, same(func() *http.Request {
				return w.post("POST", "/v1/identifiers", w.session, ident("email", "bench0@example.org"))
			})},
			{"own-nickname", 200, 0, same(func() *http.Request {
				return w.post("POST", "/v1/identifiers", w.session, ident("nickname", "bench nickname 0"))
			})},
			{"hard/64-decomposed-runes", 0, 0, same(func() *http.Request { return w.post("POST", "/v1/identifiers", w.session, ident("nickname", hardNick)) })},
		}},
		{"confirm_identifier", []worstCase{
			{"normal/wrong-code", 0, 0, same(func() *http.Request {
				return w.post("POST", "/v1/identifiers/confirm", w.session, confirm("bench1@example.org", "000000x"))
			})},
			{"long/value-and-code", 0, 0, same(func() *http.Request {
				return w.post("POST", "/v1/identifiers/confirm", w.session, confirm(strings.Repeat("a", 1000)+"@example.org", strings.Repeat("9", 60<<10)))
			})},
		}},
		{"party", []worstCase{
			{"normal/most-identifiers", 200, 0, same(func() *http.Request { return w.post("GET", "/v1/party", w.session, nil) })},
			{"unauthorized/forged-session", 401, 0, same(func() *http.Request { return w.post("GET", "/v1/party", "ats_"+strings.Repeat("A", 43), nil) })},
		}},
		{"register_instance", []worstCase{
			{"normal/x25519-again", 200, 0, same(func() *http.Request {
				return w.post("POST", "/v1/instance", w.session, mustJSON(b, transport.RegisterInstanceBody{Key: testkeys.Key(b, attesta.X25519, 2).Public().Pack()}))
			})},
			{"other-key/rsa16384", 400, 0, func() func(int) *http.Request {
				body := mustJSON(b, transport.RegisterInstanceBody{Key: rsa16384Public(b)})
				return same(func() *http.Request { return w.post("POST", "/v1/instance", w.session, body) })
			}()},
			{"junk/body-64KiB", 0, 8, same(func() *http.Request {
				return w.post("POST", "/v1/instance", w.session, append([]byte(`{"key":"`), append(bytes.Repeat([]byte("A"), 64<<10-20), `"}`...)...))
			})},
		}},
		{"instance_token", []worstCase{
			{"normal", 200, 0, same(func() *http.Request { return w.post("GET", "/v1/instance/token", w.session, nil) })},
			{"not-instance", 403, 0, same(func() *http.Request { return w.post("GET", "/v1/instance/token", w.plain, nil) })},
		}},
		{"service_key", []worstCase{
			{"normal/x25519", 200, 3, same(func() *http.Request { return w.post("GET", "/v1/service_keys/weather", w.session, nil) })},
			{"rsa4096", 200, 11, same(func() *http.Request { return w.post("GET", "/v1/service_keys/weather", w.rsaInstance, nil) })},
			{"unknown-provider", 404, 0, same(func() *http.Request { return w.post("GET", "/v1/service_keys/nothing", w.session, nil) })},
			{"not-instance", 403, 0, same(func() *http.Request { return w.post("GET", "/v1/service_keys/weather", w.plain, nil) })},
		}},
		{"healthz", []worstCase{
			{"normal", 200, 0, same(func() *http.Request { return w.post("GET", "/healthz", "", nil) })},
		}},
		{"unknown_path", []worstCase{
			{"normal/short", 404, 0, same(func() *http.Request { return w.post("GET", "/v1/nope", "", nil) })},
			{"long/8KB", 404, 0, same(func() *http.Request { return w.post("GET", "/"+strings.Repeat("x/", 4000), "", nil) })},
			{"long/255B", 404, 0, same(func() *http.Request { return w.post("GET", "/"+strings.Repeat("x/", 127), "", nil) })},
		}},
	}
}

// rsa16384Public is the packed RSA public key of MaxRSABits among the
// worst key inputs.
func rsa16384Public(b *testing.B) []byte {
	for _, in := range testkeys.WorstKeyInputs(b) {
		if in.Name == "public/rsa16384" {
			return in.In
		}
	}
	b.Fatal("no public/rsa16384 among testkeys.WorstKeyInputs")
	return nil
}
