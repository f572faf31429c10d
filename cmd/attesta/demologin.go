package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// passwordSteps walk through password login, after connectSteps (which
// leave a party with one key, and a logged-out session).
var passwordSteps = []demoStep{
	{"Connect again, and add a nickname: active at once", (*demo).addNickname},
	{"Add an email: pending until the code sent to it is confirmed", (*demo).addEmail},
	{"GET /v1/party shows the identifiers as hints, never their values", (*demo).identifiers},
	{"A registry sealed with a weak KDF is refused", (*demo).weakRegistry},
	{"Seal the registry under a password and store it", (*demo).pushRegistry},
	{"A second device, with no key, logs in with the nickname and the password", (*demo).passwordLogin},
	{"A wrong password fails, and tells nothing more", (*demo).wrongPassword},
	{"An unknown login gets a decoy, shaped like a real registry", (*demo).decoy},
}

// The demo's identifiers and password. The nickname is added as typed in
// demoNickname and logged in with as demoLogin: the server normalises
// both to "ada lovelace".
const (
	demoNickname = "  Ada   Lovelace "
	demoLogin    = "Ada Lovelace"
	demoEmail    = "Ada@Example.org"
	demoPassword = "correct horse battery staple"
	demoUnknown  = "grace hopper"
)

func (d *demo) addNickname(ctx context.Context) error {
	r, err := d.client.Connect(ctx, d.key, d.appToken)
	if err != nil {
		return err
	}
	d.session = r.Session
	d.say("client.Connect: a new session %s for party %s", abbrev(d.session), r.PartyID)
	d.say("-> POST /v1/identifiers  {kind: nickname, value: %q}", demoNickname)
	st, err := d.client.AddIdentifier(ctx, d.session, attesta.Nickname, demoNickname)
	if err != nil {
		return err
	}
	d.say("<- status: %s", st)
	if st != attesta.StatusActive {
		return fmt.Errorf("a free nickname must be active at once, got %s", st)
	}
	id, err := attesta.NormalizeIdentifier(attesta.Nickname, demoNickname)
	if err != nil {
		return err
	}
	d.say("   the server normalised it to %q; it keeps a keyed hash of that, and the hint %q", id.Value, id.Hint())
	return nil
}

func (d *demo) addEmail(ctx context.Context) error {
	d.say("-> POST /v1/identifiers  {kind: email, value: %q}", demoEmail)
	st, err := d.client.AddIdentifier(ctx, d.session, attesta.Email, demoEmail)
	if err != nil {
		return err
	}
	d.say("<- status: %s", st)
	if st != attesta.StatusPending {
		return fmt.Errorf("a new email must be pending until confirmed, got %s", st)
	}
	id, err := attesta.NormalizeIdentifier(attesta.Email, demoEmail)
	if err != nil {
		return err
	}
	code, err := outbox.LastCode(d.srv.outbox, id.Value)
	if err != nil {
		return fmt.Errorf("no code in the outbox for %s: %w", id.Value, err)
	}
	d.say("   the server sent a code to %s; the demo's notifier wrote it to outbox.jsonl: %s", id.Value, code)
	n, err := strconv.Atoi(code)
	if err != nil || len(code) != 6 {
		return fmt.Errorf("the outbox holds %q, not a 6-digit code", code)
	}
	wrong := fmt.Sprintf("%06d", (n+1)%1000000)
	d.say("-> POST /v1/identifiers/confirm  {kind: email, value: %q, code: %s}  (a wrong code)", demoEmail, wrong)
	err = d.client.ConfirmIdentifier(ctx, d.session, attesta.Email, demoEmail, wrong)
	if err := d.refused(err, "wrong_code", attesta.ErrWrongCode); err != nil {
		return err
	}
	d.say("-> POST /v1/identifiers/confirm  {kind: email, value: %q, code: %s}", demoEmail, code)
	if err := d.client.ConfirmIdentifier(ctx, d.session, attesta.Email, demoEmail, code); err != nil {
		return err
	}
	d.say("<- done: the email is an active login identifier")
	return nil
}

func (d *demo) identifiers(ctx context.Context) error {
	d.say("-> GET /v1/party  Authorization: Bearer %s", abbrev(d.session))
	p, err := d.client.Party(ctx, d.session)
	if err != nil {
		return err
	}
	d.say("<- party_id: %s, %d key(s), identifiers:", p.PartyID, len(p.Keys))
	hints := map[attesta.IdentifierKind]string{}
	for _, id := range p.Identifiers {
		state := "active"
		if id.Pending {
			state = "pending"
		}
		d.say("   %-8s %-18s %s", id.Kind, id.Hint, state)
		if !id.Pending {
			hints[id.Kind] = id.Hint
		}
	}
	nick, _ := attesta.NormalizeIdentifier(attesta.Nickname, demoNickname)
	email, _ := attesta.NormalizeIdentifier(attesta.Email, demoEmail)
	if len(p.Identifiers) != 2 || hints[attesta.Nickname] != nick.Hint() || hints[attesta.Email] != email.Hint() {
		return fmt.Errorf("want the active nickname %s and email %s", nick.Hint(), email.Hint())
	}
	return nil
}

func (d *demo) weakRegistry(ctx context.Context) error {
	weak, err := kdf.PBKDF2Params(1000)
	if err != nil {
		return err
	}
	block, err := registry.Seal(ctx, d.plaintext(), []byte(demoPassword), weak)
	if err != nil {
		return err
	}
	d.say("sealed with %v: anyone can download a registry and try passwords", weak)
	d.say("offline, so the server stores none whose KDF is below its floors")
	d.say("-> PUT /v1/registry  {registry: %d bytes, version: 0}", len(block))
	_, err = d.client.PutRegistry(ctx, d.session, block, 0)
	return d.refused(err, "kdf_too_weak", attesta.ErrKDFTooWeak)
}

// plaintext is the party's registry: its id and its one key.
func (d *demo) plaintext() registry.Plaintext {
	return registry.Plaintext{PartyID: d.partyID, Keys: [][]byte{d.key.Pack()}, Created: time.Now()}
}

func (d *demo) pushRegistry(ctx context.Context) error {
	d.password = []byte(demoPassword)
	params := kdf.Default()
	start := time.Now()
	block, err := registry.Seal(ctx, d.plaintext(), d.password, params)
	if err != nil {
		return err
	}
	d.say("sealed the party id and the private key under %q", demoPassword)
	d.say("with %v in %v: %d bytes", params, time.Since(start).Round(time.Millisecond), len(block))
	d.say("-> PUT /v1/registry  {registry: %d bytes, version: 0}", len(block))
	v, err := d.client.PutRegistry(ctx, d.session, block, 0)
	if err != nil {
		return err
	}
	d.say("<- version: %d (the server checked the header and the KDF's floors; it cannot open it)", v)
	if v != 1 {
		return fmt.Errorf("version %d, want 1", v)
	}
	d.block = block
	return nil
}

func (d *demo) passwordLogin(ctx context.Context) error {
	device := transport.NewClient(d.srv.url, d.clientOpts...)
	d.say("a new client, no key; client.LoginWithPassword(app token, %q, password):", demoLogin)
	d.say("-> GET /v1/registry?login=%s  (no session); open it; connect with its key", url.QueryEscape(demoLogin))
	l, err := device.LoginWithPassword(ctx, d.appToken, demoLogin, d.password)
	if err != nil {
		return err
	}
	d.say("   opened the registry in %v (the password KDF)", l.KDFTime.Round(time.Millisecond))
	d.say("<- is_new: %t, party_id: %s, session: %s", l.Session.IsNew, l.Session.PartyID, abbrev(l.Session.Session))
	if l.Session.IsNew || l.Session.PartyID != d.partyID || len(l.Keys) != 1 {
		return fmt.Errorf("want the party %s (is_new: false) with its one key", d.partyID)
	}
	id := l.Keys[0].Public().ID()
	d.say("   recovered key %s", id)
	if id != d.key.Public().ID() || !bytes.Equal(l.Keys[0].Pack(), d.key.Pack()) {
		return fmt.Errorf("recovered key %s, want %s", id, d.key.Public().ID())
	}
	d.say("   the same party, the same key: the new device holds the account")
	return nil
}

func (d *demo) wrongPassword(ctx context.Context) error {
	device := transport.NewClient(d.srv.url, d.clientOpts...)
	wrong := demoPassword + "!"
	d.say("client.LoginWithPassword(app token, %q, %q)", demoLogin, wrong)
	_, err := device.LoginWithPassword(ctx, d.appToken, demoLogin, []byte(wrong))
	if !errors.Is(err, registry.ErrWrongPassword) {
		return fmt.Errorf("want registry.ErrWrongPassword, got %v", err)
	}
	d.say("<- %v", err)
	d.say("   the block's authentication failed on this device: after the fetch, nothing")
	d.say("   reached the server, so it cannot count or tell the guesses (the fetch is rate-limited)")
	return nil
}

func (d *demo) decoy(ctx context.Context) error {
	d.say("-> GET /v1/registry?login=%s  (no party holds it)", url.QueryEscape(demoUnknown))
	fake, err := d.client.GetRegistry(ctx, demoUnknown)
	if err != nil {
		return err
	}
	d.say("-> GET /v1/registry?login=%s  (the real one)", url.QueryEscape(demoLogin))
	genuine, err := d.client.GetRegistry(ctx, demoLogin)
	if err != nil {
		return err
	}
	fh, err := registry.Inspect(fake.Registry)
	if err != nil {
		return fmt.Errorf("the decoy is not a well-formed block: %w", err)
	}
	rh, err := registry.Inspect(genuine.Registry)
	if err != nil {
		return err
	}
	d.say("   %-8s %5d bytes, version %d, format %d, %v", "decoy:", len(fake.Registry), fake.Version, fh.Version, fh.KDF)
	d.say("   %-8s %5d bytes, version %d, format %d, %v", "real:", len(genuine.Registry), genuine.Version, rh.Version, rh.KDF)
	if len(fake.Registry) != len(genuine.Registry) || fake.Version != genuine.Version || fh.Version != rh.Version || fh.KDF.String() != rh.KDF.String() {
		return errors.New("the decoy must look like the real block: the same size, version and KDF")
	}
	if !bytes.Equal(genuine.Registry, d.block) {
		return errors.New("the real block is not the one stored")
	}
	again, err := d.client.GetRegistry(ctx, demoUnknown)
	if err != nil {
		return err
	}
	if !bytes.Equal(again.Registry, fake.Registry) {
		return errors.New("a second fetch of the unknown login gave another block")
	}
	d.say("   a second fetch gives the same decoy: asking again tells nothing either")
	_, err = registry.Open(ctx, fake.Registry, d.password, kdf.DefaultCeilings())
	if !errors.Is(err, registry.ErrWrongPassword) {
		return fmt.Errorf("opening the decoy: want registry.ErrWrongPassword, got %v", err)
	}
	d.say("   opening the decoy with the password: %v", err)
	d.say("   (the same answer as a wrong password: no way to tell whether %q exists)", demoUnknown)
	return nil
}
