package fuzz

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// FuzzInstanceToken feeds any string to the instance TOKEN parser, which
// reads what operators paste from payment labels (`attesta-server
// entitlement grant TOKEN`) and what the admin API receives. A refused
// string is ErrBadInstanceToken and no value; an accepted one is its one
// spelling up to ASCII case (String is the input in lower case, and
// parses back to the same TOKEN); the server's check (sign again and
// compare) and the offline check (Ed25519 with the published key) agree
// on every TOKEN, and of the TOKENs that name this process's instance
// accept exactly the one the server made.
func FuzzInstanceToken(f *testing.F) {
	st, err := pebblestore.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{Store: st, Secret: bytes.Repeat([]byte{0x5a}, attesta.SecretSize)})
	if err != nil {
		f.Fatal(err)
	}
	ctx := f.Context()
	appToken, err := svc.CreateApp(ctx, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	key := testkeys.Key(f, attesta.X25519, 0)
	req, err := svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
	if err != nil {
		f.Fatal(err)
	}
	ct, err := key.DecryptToken(req.EncryptedToken)
	if err != nil {
		f.Fatal(err)
	}
	res, err := svc.AuthKeyToken(ctx, ct)
	if err != nil {
		f.Fatal(err)
	}
	sess, err := svc.Authenticate(ctx, res.Session)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := svc.RegisterInstance(ctx, sess, key.Public().Pack())
	if err != nil {
		f.Fatal(err)
	}
	pub := svc.InstanceTokenKey().Public
	good := tok.String()

	c := &corpus{f: f}
	for _, s := range []string{
		good, strings.ToUpper(good), good[:len(good)-1], good + "a", "fuzz:" + good[5:len(good)-1] + "b",
		"other" + good[4:], strings.Replace(good, ":", "", 1), "", ":", "a:", strings.Repeat("a", 64) + good[4:],
		good[:20] + "\n" + good[21:], "Fuzz:" + strings.ToUpper(good[5:]),
	} {
		c.add(s)
	}
	for _, s := range vectorText("instance_token", "token") {
		c.add(s)
	}
	c.done()
	f.Fuzz(func(t *testing.T, s string) {
		p, err := attesta.ParseInstanceToken(s)
		v, verr := svc.VerifyInstanceToken(s)
		if err != nil {
			if !errors.Is(err, attesta.ErrBadInstanceToken) {
				t.Fatalf("refused with %v", err)
			}
			if !p.IsZero() || !v.IsZero() || verr == nil {
				t.Fatal("a failed parse returned a TOKEN")
			}
			return
		}
		if p.String() != asciiLower(s) {
			t.Fatalf("%q prints as %q", s, p.String())
		}
		again, err := attesta.ParseInstanceToken(p.String())
		if err != nil || again != p {
			t.Fatalf("%q does not parse back: %v", p.String(), err)
		}
		offline := p.Verify(pub)
		if (verr == nil) != (offline == nil) {
			t.Fatalf("the server says %v, the public key %v", verr, offline)
		}
		if verr == nil && v != p {
			t.Fatalf("%q verifies as another TOKEN", s)
		}
		if p.App() == tok.App() && p.PartyID() == tok.PartyID() && (verr == nil) != (p == tok) {
			t.Fatalf("%q names this process's instance: verified %v", s, verr)
		}
		if verr != nil && !errors.Is(verr, attesta.ErrBadInstanceToken) {
			t.Fatalf("refused with %v", verr)
		}
	})
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
