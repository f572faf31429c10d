package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

var demoCmd = &command{
	name:    "demo",
	summary: "run the whole flow against an in-process server (a smoke test)",
	usage: `Usage: attesta demo [-v] [-cbor]

Starts a server inside this process (a real Pebble store in a temporary
directory, removed at the end, a random server secret, verification codes
written to an outbox file beside the store, and real HTTP on 127.0.0.1)
and walks through the whole story with the Go client, step by step: the
key register/connect flow, then password login (login identifiers, the
password-sealed registry, a second device that logs in with a nickname
and the password, a wrong password, the decoy an unknown login gets),
then an application instance (its TOKEN, the payment that entitles it,
the service key it receives encrypted to its own key, a rotation).
Each step checks what the server answers; the demo stops and exits 1 at
the first step that does not behave as expected, so it doubles as a smoke
test. The password KDF runs with its default parameters, a few times: the
demo takes a second or two.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		verbose := fs.Bool("v", false, "show the server's log on stderr")
		useCBOR := fs.Bool("cbor", false, "talk CBOR instead of JSON")
		return func(ctx context.Context, e *env) int { return runDemo(ctx, e, *verbose, *useCBOR) }
	},
}

// demoTimeout bounds the whole demo; it takes a second or two, most of it
// in the password KDF.
const demoTimeout = 2 * time.Minute

// demo is the state the steps share.
type demo struct {
	out      io.Writer
	srv      *demoServer
	client   *transport.Client
	appToken string
	key      *attesta.PrivateKey // the party's key
	partyID  string
	session  string

	// password login
	clientOpts []transport.ClientOption // JSON or CBOR, for a second device's client
	password   []byte
	block      []byte // the registry as stored

	inst instanceDemo // application instances (demoinstance.go)
}

// demoStep is one step: a title, and a body that prints what it does with
// d.say and returns an error when the server does not behave as expected.
type demoStep struct {
	title string
	run   func(d *demo, ctx context.Context) error
}

// demoPart is a chapter of the walk-through: one flow, in steps. Steps
// are numbered across parts, and each may use what the steps before it,
// in its part or an earlier one, left in demo.
type demoPart struct {
	title string
	steps []demoStep
}

// demoParts is the walk-through, in order. A later issue adds its flow as
// a part at the end.
var demoParts = []demoPart{
	{"Key register/connect", connectSteps},
	{"Password login", passwordSteps},
	{"Application instances and their service keys (keypeer)", instanceSteps},
}

// demoSteps returns every step, in order.
func demoSteps() []demoStep {
	var all []demoStep
	for _, p := range demoParts {
		all = append(all, p.steps...)
	}
	return all
}

// connectSteps walk through the key register/connect flow.
var connectSteps = []demoStep{
	{`Create the application "demo"`, (*demo).createApp},
	{"Generate a key", (*demo).generateKey},
	{"A new key registers: a new party", (*demo).register},
	{"The same key connects again: the same party", (*demo).login},
	{"A challenge token works once", (*demo).replay},
	{"A private key sent as a key is refused, and banned", (*demo).disclose},
	{"GET /v1/party shows the party and its key", (*demo).party},
	{"Log out: the session is refused afterwards", (*demo).logout},
}

func runDemo(ctx context.Context, e *env, verbose, useCBOR bool) (code int) {
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	start := time.Now()
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	srv, err := startDemoServer(log)
	if err != nil {
		return e.errorf("starting the server: %v", err)
	}
	defer func() {
		if err := srv.close(); err != nil {
			code = e.errorf("stopping the server: %v", err)
		}
	}()
	var opts []transport.ClientOption
	format := "JSON"
	if useCBOR {
		opts, format = append(opts, transport.WithCBOR()), "CBOR"
	}
	d := &demo{out: e.stdout, srv: srv, client: transport.NewClient(srv.url, opts...), clientOpts: opts}

	fmt.Fprintf(d.out, "Attesta demo: a real server in this process\n")
	fmt.Fprintf(d.out, "   data    %s (removed at the end)\n", srv.dir)
	fmt.Fprintf(d.out, "   store   %s (Pebble)\n", srv.storeDir)
	fmt.Fprintf(d.out, "   outbox  %s (where the server's notifier writes codes)\n", srv.outbox)
	fmt.Fprintf(d.out, "   server  %s (%s)\n", srv.url, format)
	if err := d.client.Health(ctx); err != nil {
		return e.errorf("GET /healthz: %s", describe(err))
	}
	steps, n := demoSteps(), 0
	for _, p := range demoParts {
		fmt.Fprintf(d.out, "\n== %s\n", p.title)
		for _, s := range p.steps {
			n++
			fmt.Fprintf(d.out, "\n%d. %s\n", n, s.title)
			if err := s.run(d, ctx); err != nil {
				fmt.Fprintf(d.out, "   FAIL: %s\n", describe(err))
				return e.errorf("step %d of %d (%s) did not behave as expected", n, len(steps), s.title)
			}
			fmt.Fprintln(d.out, "   ok")
		}
	}
	fmt.Fprintf(d.out, "\nAll %d steps behaved as expected (%v).\n", len(steps), time.Since(start).Round(time.Millisecond))
	return 0
}

// say prints one indented line of a step.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "   "+format+"\n", args...)
}

// refused checks that err is the problem answer with the given code and
// that it matches the attesta sentinel want, and shows it.
func (d *demo) refused(err error, code string, want error) error {
	var p *transport.Problem
	switch {
	case err == nil:
		return fmt.Errorf("accepted; want a %s refusal", code)
	case !errors.As(err, &p) || p.Code != code || !errors.Is(err, want):
		return fmt.Errorf("want a %s refusal, got: %s", code, describe(err))
	}
	d.say("<- %d %s: %s", p.Status, p.Code, p.Title)
	return nil
}

// abbrev shortens a secret or a long id for display.
func abbrev(s string) string {
	if len(s) <= 12 {
		return s
	}
	return s[:12] + "…"
}

func (d *demo) createApp(ctx context.Context) error {
	token, err := d.srv.svc.CreateApp(ctx, "demo")
	if err != nil {
		return err
	}
	d.appToken = token
	d.say("app token %s (shown once; the server keeps only its hash)", abbrev(token))
	return nil
}

func (d *demo) generateKey(context.Context) error {
	start := time.Now()
	k, err := attesta.GenerateKey(attesta.RSA2048)
	if err != nil {
		return err
	}
	d.key = k
	d.say("RSA-2048, to keep the demo fast (attesta keygen makes RSA-4096 by default), in %v", time.Since(start).Round(time.Millisecond))
	d.say("key id %s (SHA-256 of the packed public key)", k.Public().ID())
	return nil
}

// challenge runs step 1 of a connect by hand, and decrypts the token.
func (d *demo) challenge(ctx context.Context, k *attesta.PrivateKey) ([]byte, error) {
	packed := k.Public().Pack()
	d.say("-> POST /v1/auth_key_request  key: packed public key (%d bytes), app_token", len(packed))
	r, err := d.client.AuthKeyRequest(ctx, packed, d.appToken)
	if err != nil {
		return nil, err
	}
	d.say("<- encrypted_token (%d bytes), expires_at %s", len(r.EncryptedToken), r.ExpiresAt.UTC().Format(time.RFC3339))
	token, err := k.DecryptToken(r.EncryptedToken)
	if err != nil {
		return nil, err
	}
	d.say("   decrypted with the private key: a %d-byte token", len(token))
	return token, nil
}

func (d *demo) register(ctx context.Context) error {
	token, err := d.challenge(ctx, d.key)
	if err != nil {
		return err
	}
	d.say("-> POST /v1/auth_key_token  token")
	r, err := d.client.AuthKeyToken(ctx, token)
	if err != nil {
		return err
	}
	d.say("<- is_new: %t, party_id: %s, session: %s", r.IsNew, r.PartyID, abbrev(r.Session))
	if !r.IsNew || r.PartyID == "" || r.Session == "" {
		return errors.New("a new key must make a new party (is_new: true) with a session")
	}
	d.partyID, d.session = r.PartyID, r.Session
	return nil
}

func (d *demo) login(ctx context.Context) error {
	d.say("client.Connect runs both calls: request, decrypt, token")
	r, err := d.client.Connect(ctx, d.key, d.appToken)
	if err != nil {
		return err
	}
	d.say("<- is_new: %t, party_id: %s, session: %s", r.IsNew, r.PartyID, abbrev(r.Session))
	if r.IsNew || r.PartyID != d.partyID {
		return fmt.Errorf("a known key must log in to its party (is_new: false, party_id: %s)", d.partyID)
	}
	d.say("same party id; a new session")
	return nil
}

func (d *demo) replay(ctx context.Context) error {
	token, err := d.challenge(ctx, d.key)
	if err != nil {
		return err
	}
	d.say("-> POST /v1/auth_key_token  token (first time)")
	r, err := d.client.AuthKeyToken(ctx, token)
	if err != nil {
		return err
	}
	d.say("<- is_new: %t, party_id: %s", r.IsNew, r.PartyID)
	if r.PartyID != d.partyID {
		return fmt.Errorf("party_id %s, want %s", r.PartyID, d.partyID)
	}
	d.say("-> POST /v1/auth_key_token  the same token again")
	_, err = d.client.AuthKeyToken(ctx, token)
	return d.refused(err, "challenge_unknown", attesta.ErrChallengeUnknown)
}

func (d *demo) disclose(ctx context.Context) error {
	leaked, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		return err
	}
	d.say("a second key (X25519, id %s) whose owner sends its private half", abbrev(leaked.Public().ID().String()))
	d.say("-> POST /v1/auth_key_request  key: the packed PRIVATE key")
	_, err = d.client.AuthKeyRequest(ctx, leaked.Pack(), d.appToken)
	if err := d.refused(err, "private_key_disclosed", attesta.ErrPrivateKeyDisclosed); err != nil {
		return err
	}
	d.say("-> POST /v1/auth_key_request  key: its public key, which was fine until now")
	_, err = d.client.AuthKeyRequest(ctx, leaked.Public().Pack(), d.appToken)
	return d.refused(err, "key_banned", attesta.ErrKeyBanned)
}

func (d *demo) party(ctx context.Context) error {
	d.say("-> GET /v1/party  Authorization: Bearer %s", abbrev(d.session))
	p, err := d.client.Party(ctx, d.session)
	if err != nil {
		return err
	}
	d.say("<- party_id: %s, created %s", p.PartyID, p.Created.UTC().Format(time.RFC3339))
	for _, k := range p.Keys {
		d.say("   key %s  %s", k.KeyID, k.Type)
	}
	if p.PartyID != d.partyID || len(p.Keys) != 1 || p.Keys[0].KeyID != d.key.Public().ID().String() {
		return fmt.Errorf("want party %s with the one key %s", d.partyID, d.key.Public().ID())
	}
	return nil
}

func (d *demo) logout(ctx context.Context) error {
	d.say("-> POST /v1/logout  Authorization: Bearer %s", abbrev(d.session))
	if err := d.client.Logout(ctx, d.session); err != nil {
		return err
	}
	d.say("<- done")
	d.say("-> GET /v1/party  with the same session")
	_, err := d.client.Party(ctx, d.session)
	return d.refused(err, "unauthorized", attesta.ErrUnauthorized)
}
