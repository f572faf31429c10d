package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/attesta-go/attesta/attesta"
)

// instanceSteps walk through keypeer's story: an application instance, its
// TOKEN, the payment that entitles it, and the service keys it receives
// encrypted to its own key. The operator's side (attesta-server
// service-key set, entitlement grant) is the Service's methods, which the
// commands call through the administration socket.
var instanceSteps = []demoStep{
	{"An application instance connects with its own key and registers", (*demo).registerInstance},
	{"Its TOKEN verifies offline with the server's published key", (*demo).verifyToken},
	{"The operator stores a service key, sealed under the server secret", (*demo).setServiceKey},
	{"Not entitled yet: refused, and an unknown provider answers the same", (*demo).notEntitled},
	{"The payment: the operator entitles the TOKEN", (*demo).grant},
	{"The instance receives the key encrypted to its own key, and decrypts it", (*demo).fetchServiceKey},
	{"The operator rotates the key: the instance gets the new version", (*demo).rotate},
}

// instanceDemo is what the instance steps share.
type instanceDemo struct {
	key     *attesta.PrivateKey
	session string
	token   string
}

const (
	demoProvider = "weather"
	demoKeyV1    = "wk_live_4f1c9e2a7b"
	demoKeyV2    = "wk_live_88d03b51c6"
)

func (d *demo) registerInstance(ctx context.Context) error {
	k, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		return err
	}
	d.inst.key = k
	d.say("a new X25519 key for the instance, id %s", abbrev(k.Public().ID().String()))
	d.say("client.ConnectInstance: connect, then POST /v1/instance  key: the packed public key it connected with")
	r, tok, err := d.client.ConnectInstance(ctx, k, d.appToken)
	if err != nil {
		return err
	}
	d.inst.session, d.inst.token = r.Session, tok.String()
	d.say("<- is_new: %t, party %s", r.IsNew, r.PartyID)
	d.say("<- token: %s", d.inst.token)
	d.say("   (%d characters: the application, a colon, base32 of the party id and the server's Ed25519 signature)", len(d.inst.token))
	again, err := d.client.InstanceToken(ctx, d.inst.session)
	if err != nil {
		return err
	}
	if !r.IsNew || tok.PartyID().String() != r.PartyID || again.String() != d.inst.token {
		return errors.New("a new instance must be a new party, and GET /v1/instance/token must answer the same TOKEN")
	}
	d.say("GET /v1/instance/token answers the same TOKEN: the signature is deterministic, and nothing is stored")
	return nil
}

func (d *demo) verifyToken(context.Context) error {
	key := d.srv.svc.InstanceTokenKey()
	d.say("the server's public key: kid %s (in the JWKS)", abbrev(key.KeyID))
	tok, err := attesta.ParseInstanceToken(strings.ToUpper(d.inst.token))
	if err != nil {
		return err
	}
	if err := tok.Verify(key.Public); err != nil {
		return err
	}
	d.say("the TOKEN upper-cased (as a bank may print it) parses and verifies: app %q, party %s", tok.App(), tok.PartyID())
	forged := []byte(d.inst.token)
	forged[len(forged)-1] ^= 1 // another base32 letter
	if f, err := attesta.ParseInstanceToken(string(forged)); err == nil && f.Verify(key.Public) == nil {
		return errors.New("a forged TOKEN verified")
	}
	other := "other" + d.inst.token[strings.IndexByte(d.inst.token, ':'):]
	if f, err := attesta.ParseInstanceToken(other); err == nil && f.Verify(key.Public) == nil {
		return errors.New("the TOKEN moved to another application verified")
	}
	d.say("one letter changed, or another application's name: refused")
	return nil
}

func (d *demo) setServiceKey(ctx context.Context) error {
	d.say("attesta-server service-key set demo %s  (the key on stdin, never on the command line)", demoProvider)
	v, err := d.srv.svc.SetServiceKey(ctx, "demo", demoProvider, []byte(demoKeyV1))
	if err != nil {
		return err
	}
	d.say("stored version %d: XChaCha20-Poly1305 under a key derived from the server secret; the store has no copy in clear", v.Version)
	return nil
}

func (d *demo) notEntitled(ctx context.Context) error {
	d.say("-> GET /v1/service_keys/%s  Authorization: Bearer %s", demoProvider, abbrev(d.inst.session))
	_, _, err := d.client.ServiceKey(ctx, d.inst.session, demoProvider, d.inst.key)
	if err := d.refused(err, "not_entitled", attesta.ErrNotEntitled); err != nil {
		return err
	}
	d.say("-> GET /v1/service_keys/no-such-provider")
	_, _, err = d.client.ServiceKey(ctx, d.inst.session, "no-such-provider", d.inst.key)
	return d.refused(err, "not_entitled", attesta.ErrNotEntitled)
}

func (d *demo) grant(ctx context.Context) error {
	d.say("the user pays with the TOKEN as the payment's label; the operator (or a webhook, -entitlement-webhook) sees it")
	d.say("attesta-server entitlement grant %s…", d.inst.token[:20])
	e, err := d.srv.svc.GrantEntitlement(ctx, d.inst.token)
	if err != nil {
		return err
	}
	d.say("the server signs the TOKEN's app and party again and compares: it is its own; entitled party %s", e.Token.PartyID())
	return nil
}

func (d *demo) fetchServiceKey(ctx context.Context) error {
	d.say("-> GET /v1/service_keys/%s", demoProvider)
	value, version, err := d.client.ServiceKey(ctx, d.inst.session, demoProvider, d.inst.key)
	if err != nil {
		return err
	}
	d.say("<- version %d, encrypted_key: HPKE to the instance's X25519 key (label %q)", version, attesta.ServiceKeyLabel)
	d.say("   decrypted with the instance's private key: %s", value)
	if string(value) != demoKeyV1 || version != 1 {
		return fmt.Errorf("want %s at version 1", demoKeyV1)
	}
	return nil
}

func (d *demo) rotate(ctx context.Context) error {
	d.say("attesta-server service-key set demo %s  (a new key from the provider)", demoProvider)
	v, err := d.srv.svc.SetServiceKey(ctx, "demo", demoProvider, []byte(demoKeyV2))
	if err != nil {
		return err
	}
	d.say("stored version %d; the old value is gone from the store", v.Version)
	d.say("-> GET /v1/service_keys/%s", demoProvider)
	value, version, err := d.client.ServiceKey(ctx, d.inst.session, demoProvider, d.inst.key)
	if err != nil {
		return err
	}
	d.say("<- version %d, decrypted: %s", version, value)
	if string(value) != demoKeyV2 || version != 2 {
		return fmt.Errorf("want %s at version 2", demoKeyV2)
	}
	return nil
}
