package fuzz

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/attesta-go/attesta/attesta"
)

// emailsInNFKC says whether a normalised email must be in NFKC, as a
// nickname must. DESIGN.md has emails only trimmed and lower-cased, and
// the vectors say so (identifiers.json, email-not-nfkc: "\uff21lice@…"
// normalises to "\uff41lice@…"), so the target does not require it; set
// it to true if emails are ever NFKC-normalised.
const emailsInNFKC = true

var identifierKinds = []attesta.IdentifierKind{attesta.Nickname, attesta.Email, attesta.Phone, "", "Nickname", "nickname "}

// FuzzIdentifier checks NormalizeIdentifier, for each kind, and ParseLogin,
// which read what users type and what requests carry: a refused value
// gives the zero Identifier and one of the two identifier errors; an
// accepted one is valid UTF-8 in NFKC, of the kind asked for, normalises
// to itself (normalisation is idempotent), has a hint, and is read back
// by ParseLogin as the same identifier whenever its form names its kind.
func FuzzIdentifier(f *testing.F) {
	c := &corpus{f: f}
	for _, s := range []string{
		"Alice Smith", "  alice   smith ", "ALİCE", "ǅemal", "ﬁnal ﬁx", "Ωmega", "ΣΊΣΥΦΟΣ", "ab\u00a0cd", "ab\u200bcd", "abc",
		"a\u0301bcd", "\u1100\u1161\u11a8xx", "ᴬbcd", "x\tyz\n", "\u3000ｆｕｌｌ\u3000",
		"Bob@Example.COM", " bob@example.com ", "a@b", "a@b.", "@b.c", "a@@b.c", "ä@ö.de", "a b@c.de",
		"+1 (555) 123-4567", "+15551234567", "+0123456789", "+12", "15551234567", "++15551234567",
		"", " ", strings.Repeat("a", 65), strings.Repeat("é", 64), "\xff\xfe",
	} {
		for k := range identifierKinds[:3] {
			c.add(uint8(k), s)
		}
	}
	for k := range identifierKinds[3:] {
		c.add(uint8(3+k), "Alice Smith")
	}
	// Each vector string once, under one of the three kinds in turn
	// (ParseLogin reads every input too): a baseline of thousands of
	// seeds would use up a short burst.
	for i, s := range vectorText("input", "normalized", "login") {
		c.add(uint8(i%3), s)
	}
	c.done()

	f.Fuzz(func(t *testing.T, kind uint8, value string) {
		k := identifierKinds[int(kind)%len(identifierKinds)]
		id, err := attesta.NormalizeIdentifier(k, value)
		checkIdentifier(t, id, err)
		if err == nil {
			if id.Kind != k {
				t.Fatalf("asked for a %s, got a %s", k, id.Kind)
			}
			loginOf(t, id)
		}
		id, err = attesta.ParseLogin(value)
		checkIdentifier(t, id, err)
		if err == nil {
			loginOf(t, id)
		}
	})
}

// checkIdentifier checks the result of a normalisation.
func checkIdentifier(t *testing.T, id attesta.Identifier, err error) {
	t.Helper()
	if err != nil {
		if id != (attesta.Identifier{}) {
			t.Fatalf("a failed normalisation returned %q", id)
		}
		if !errors.Is(err, attesta.ErrBadIdentifier) && !errors.Is(err, attesta.ErrUnknownIdentifierKind) {
			t.Fatalf("refused with %v", err)
		}
		return
	}
	if !utf8.ValidString(id.Value) {
		t.Fatalf("%s: not valid UTF-8", id)
	}
	if (id.Kind != attesta.Email || emailsInNFKC) && !norm.NFKC.IsNormalString(id.Value) {
		t.Fatalf("%s %+q: not in NFKC", id.Kind, id.Value)
	}
	again, err := attesta.NormalizeIdentifier(id.Kind, id.Value)
	if err != nil {
		t.Fatalf("%+q, a normalised %s, is refused: %v", id.Value, id.Kind, err)
	}
	if again != id {
		t.Fatalf("normalisation is not idempotent: %+q, then %+q", id.Value, again.Value)
	}
	if h := id.Hint(); !utf8.ValidString(h) {
		t.Fatalf("hint %+q of %+q is not valid UTF-8", h, id.Value)
	}
}

// loginOf checks that ParseLogin reads a normalised identifier back as
// itself when its form names its kind: an email has '@', a phone starts
// with '+', and a nickname has neither.
func loginOf(t *testing.T, id attesta.Identifier) {
	t.Helper()
	hasAt, plus := strings.Contains(id.Value, "@"), strings.HasPrefix(id.Value, "+")
	switch {
	case id.Kind == attesta.Email,
		id.Kind == attesta.Phone && !hasAt,
		id.Kind == attesta.Nickname && !hasAt && !plus:
	default:
		return
	}
	got, err := attesta.ParseLogin(id.Value)
	if err != nil || got != id {
		t.Fatalf("ParseLogin(%+q) = %+q, %v; want the %s it is", id.Value, got, err, id.Kind)
	}
}
