package fuzz

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/attesta-go/attesta/attesta"
)

// FuzzBearerTokens checks the form checks of sessions and application
// tokens, and the parsers of party and key ids, all of which read strings
// from requests: no string is both a session and an application token; an
// accepted token is its prefix and the one base64url spelling of 32 bytes;
// a refused one is refused with the protocol's error; an accepted id
// prints back to the same string, a refused one is the zero id.
func FuzzBearerTokens(f *testing.F) {
	c := &corpus{f: f}
	for _, s := range []string{
		"ats_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "ata_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"ats_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", "ats_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"", "ats_", "ata_====", "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		c.add(s)
	}
	for _, s := range vectorText("token", "session", "party", "key_id", "authorization") {
		c.add(strings.TrimPrefix(s, "Bearer "))
	}
	c.done()
	f.Fuzz(func(t *testing.T, s string) {
		sessErr, appErr := attesta.ParseSession(s), attesta.ParseAppToken(s)
		if sessErr == nil && appErr == nil {
			t.Fatal("one string is both a session and an app token")
		}
		checkBearer(t, s, attesta.SessionPrefix, sessErr, attesta.ErrUnauthorized)
		checkBearer(t, s, attesta.AppTokenPrefix, appErr, attesta.ErrBadAppToken)

		if p, err := attesta.ParsePartyID(s); err != nil {
			if !p.IsZero() {
				t.Fatal("a failed parse returned a party id")
			}
		} else if p.String() != s {
			t.Fatalf("party id %q prints as %q", s, p.String())
		}
		if id, err := attesta.ParseKeyID(s); err != nil {
			if id != (attesta.KeyID{}) {
				t.Fatal("a failed parse returned a key id")
			}
			if !errors.Is(err, attesta.ErrBadKey) {
				t.Fatalf("key id refused with %v", err)
			}
		} else if id.String() != s {
			t.Fatalf("key id %q prints as %q", s, id.String())
		}
	})
}

// checkBearer checks one token parser's verdict on s: an accepted token is
// prefix and the only spelling of 32 bytes, a refused one carries want.
func checkBearer(t *testing.T, s, prefix string, err, want error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, want) {
			t.Fatalf("refused with %v, not %v", err, want)
		}
		return
	}
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		t.Fatalf("accepted without the prefix %q", prefix)
	}
	b, derr := base64.RawURLEncoding.DecodeString(rest)
	if derr != nil || len(b) != attesta.TokenSize || base64.RawURLEncoding.EncodeToString(b) != rest {
		t.Fatal("accepted a token that is not the one spelling of 32 bytes")
	}
}
