package testvectors_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

type identifiersFile struct {
	Description string             `json:"description"`
	Vectors     []identifierVector `json:"vectors"`
}

// identifierVector is a login identifier as typed: kind "nickname",
// "email" or "phone" normalises it as that kind, kind "login" guesses the
// kind first (ParseLogin), any other kind is refused. The outcome is the
// normalised kind and value and the hint the server keeps, or the error
// and the problem code the server answers with.
type identifierVector struct {
	vectorBase
	Kind string `json:"kind"`
	// Input is the value as typed, present (even empty) for every input
	// that is UTF-8; InputHex replaces it for bytes that are not (which
	// JSON cannot carry).
	Input          *string `json:"input,omitempty"`
	InputHex       Hex     `json:"input_hex,omitempty"`
	NormalizedKind string  `json:"normalized_kind,omitempty"`
	Normalized     string  `json:"normalized,omitempty"`
	Hint           string  `json:"hint,omitempty"`
	Error          string  `json:"error,omitempty"`
	ProblemCode    string  `json:"problem_code,omitempty"`
}

func (v identifierVector) input() string {
	if v.InputHex != nil {
		return string(v.InputHex)
	}
	return *v.Input
}

func normalize(kind, input string) (attesta.Identifier, error) {
	if kind == "login" {
		return attesta.ParseLogin(input)
	}
	return attesta.NormalizeIdentifier(attesta.IdentifierKind(kind), input)
}

func genIdentifiers(t *testing.T) any {
	f := &identifiersFile{Description: "Login identifiers (docs/PROTOCOL.md, Identifiers): each input normalised as its kind (kind \"login\": the kind guessed from the input first), with the hint a server keeps, or the exact error and the problem code a server answers with. Inputs that are not UTF-8 are in input_hex; no JSON or CBOR body can carry them, so they have no problem code."}
	add := func(kind, id, comment, input string, want string) {
		t.Helper()
		v := identifierVector{vectorBase: vectorBase{id, comment}, Kind: kind, Input: &input}
		if !utf8.ValidString(input) {
			v.Input, v.InputHex = nil, Hex(input)
		}
		got, err := normalize(kind, input)
		switch v.Error = expect(t, id, err, want); {
		case err == nil:
			v.NormalizedKind, v.Normalized, v.Hint = string(got.Kind), got.Value, got.Hint()
		case v.InputHex == nil:
			v.ProblemCode = map[string]string{"attesta.ErrBadIdentifier": "bad_identifier", "attesta.ErrUnknownIdentifierKind": "unknown_identifier_kind"}[want]
		}
		f.Vectors = append(f.Vectors, v)
	}
	ok := func(kind, id, comment, input, normalized string) {
		t.Helper()
		add(kind, id, comment, input, "")
		if got := f.Vectors[len(f.Vectors)-1].Normalized; got != normalized {
			t.Fatalf("%s: normalised to %q, the generator expects %q", id, got, normalized)
		}
	}
	const bad = "attesta.ErrBadIdentifier"
	n, e, p, l := "nickname", "email", "phone", "login"

	// Nicknames.
	ok(n, "nickname-plain", "a plain ASCII nickname, already in normal form", "alice", "alice")
	ok(n, "nickname-trim-collapse", "trimmed; inner runs of white space collapsed to one space", "  Alice \t\n Smith  ", "alice smith")
	ok(n, "nickname-nbsp", "U+00A0 NO-BREAK SPACE becomes a space (NFKC), then collapses", "alice\u00a0\u00a0smith", "alice smith")
	ok(n, "nickname-ideographic-space", "U+3000 IDEOGRAPHIC SPACE becomes a space (NFKC)", "alice\u3000smith", "alice smith")
	ok(n, "nickname-fullwidth", "fullwidth letters become ASCII (NFKC), then lower case", "\uff21\uff2c\uff29\uff23\uff25", "alice")
	ok(n, "nickname-ligature", "U+FB01 LATIN SMALL LIGATURE FI becomes \"fi\" (NFKC)", "\ufb01nn", "finn")
	ok(n, "nickname-ligature-length", "two U+FB00 LATIN SMALL LIGATURE FF: two characters typed, four after NFKC, long enough", "\ufb00\ufb00", "ffff")
	ok(n, "nickname-combining-mark", "e followed by U+0301 COMBINING ACUTE ACCENT becomes é (U+00E9)", "E\u0301cole", "\u00e9cole")
	ok(n, "nickname-roman-numeral", "U+216B ROMAN NUMERAL TWELVE becomes \"XII\" (NFKC), then lower case", "\u216b clock", "xii clock")
	ok(n, "nickname-kelvin", "U+212A KELVIN SIGN becomes K (NFKC), then k", "\u212aelvin", "kelvin")
	ok(n, "nickname-long-s", "U+017F LATIN SMALL LETTER LONG S becomes s (NFKC)", "\u017ftar", "star")
	ok(n, "nickname-greek-sigma", "Greek capitals: every Σ becomes σ by the simple lowercase mapping, with no final-sigma rule (no ς)", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3", "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3")
	ok(n, "nickname-final-sigma-kept", "a typed final sigma ς (U+03C2) is kept: lower case is not case folding", "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2", "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2")
	ok(n, "nickname-turkish-dotted-i", "U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE becomes plain i (U+0069), its simple lowercase mapping, not i + U+0307", "\u0130stanbul", "istanbul")
	ok(n, "nickname-turkish-dotless-i", "U+0131 LATIN SMALL LETTER DOTLESS I is kept; I becomes i whatever the language", "I\u0131rmak", "i\u0131rmak")
	ok(n, "nickname-sharp-s", "ß is kept (lower case, not case folding); U+1E9E capital sharp s becomes ß", "Stra\u00dfe \u1e9e", "stra\u00dfe \u00df")
	ok(n, "nickname-emoji", "symbols and emoji are allowed", "\U0001f642\U0001f642\U0001f642\U0001f642", "\U0001f642\U0001f642\U0001f642\U0001f642")
	ok(n, "nickname-four-characters", "the shortest nickname: 4 characters", "abcd", "abcd")
	ok(n, "nickname-64-characters", "the longest nickname: 64 characters", strings.Repeat("ab", 32), strings.Repeat("ab", 32))
	add(n, "nickname-with-at", "a nickname holds no \"@\": a login with \"@\" is read as an email, so such a nickname could never log in", "bob@home", bad)
	add(n, "nickname-leading-plus", "a nickname does not start with \"+\": such a login is read as a phone number", "+alice", bad)
	add(n, "nickname-three-characters", "3 characters: too short", "abc", bad)
	add(n, "nickname-short-after-trim", "2 characters after trimming", "  ab  ", bad)
	add(n, "nickname-65-characters", "65 characters: too long", strings.Repeat("a", 65), bad)
	add(n, "nickname-zero-width-space", "U+200B ZERO WIDTH SPACE is a format character (Cf), refused", "ali\u200bce", bad)
	add(n, "nickname-zero-width-joiner", "U+200D ZERO WIDTH JOINER is a format character (Cf), refused", "alice\u200d", bad)
	add(n, "nickname-soft-hyphen", "U+00AD SOFT HYPHEN is a format character (Cf), refused", "ali\u00adce", bad)
	add(n, "nickname-bom", "U+FEFF ZERO WIDTH NO-BREAK SPACE is a format character (Cf), refused", "\ufeffalice", bad)
	add(n, "nickname-rtl-override", "U+202E RIGHT-TO-LEFT OVERRIDE is a format character (Cf), refused", "alice\u202e", bad)
	add(n, "nickname-nul", "U+0000 is a control character, refused", "ali\x00ce", bad)
	add(n, "nickname-escape", "U+001B ESCAPE is a control character, refused", "alice\x1b[0m", bad)
	add(n, "nickname-del", "U+007F DELETE is a control character, refused", "alice\x7f", bad)
	ok(n, "nickname-tab-is-space", "a tab is white space, not a refused control: it collapses to a space", "alice\tsmith", "alice smith")
	add(n, "nickname-not-utf8", "bytes that are not UTF-8", "\xff\xfealice", bad)
	add(n, "nickname-input-over-1024-bytes", "an input over 1024 bytes is refused before anything else", strings.Repeat(" ", 1021)+"abcd", bad)

	// Emails.
	ok(e, "email-plain", "a plain address, already in normal form", "alice@example.com", "alice@example.com")
	ok(e, "email-trim-lower", "trimmed and lower-cased, local part included", "  Alice.Smith@Example.COM ", "alice.smith@example.com")
	ok(e, "email-unicode-lower", "Unicode letters are lower-cased too", "\u00c9LODIE@EXAMPLE.FR", "\u00e9lodie@example.fr")
	ok(e, "email-nfkc", "emails are NFKC-normalised like nicknames: a fullwidth letter becomes ASCII, then lower case", "\uff21lice@example.com", "alice@example.com")
	ok(e, "email-nfkc-composed", "a decomposed é (e + U+0301) becomes the precomposed U+00E9", "Re\u0301sume\u0301@example.com", "r\u00e9sum\u00e9@example.com")
	ok(e, "email-plus-tag", "a +tag is part of the local part", "alice+tag@example.com", "alice+tag@example.com")
	ok(e, "email-domain-trailing-dot", "NOTE: a domain ending in a dot is accepted when it holds another dot, so alice@example.com. and alice@example.com are two identifiers", "alice@example.com.", "alice@example.com.")
	ok(e, "email-254-bytes", "254 bytes, the most allowed", strings.Repeat("a", 64)+"@"+strings.Repeat("b", 185)+".com", strings.Repeat("a", 64)+"@"+strings.Repeat("b", 185)+".com")
	add(e, "email-255-bytes", "255 bytes, one too many", strings.Repeat("a", 64)+"@"+strings.Repeat("b", 186)+".com", bad)
	add(e, "email-no-at", "no @", "alice.example.com", bad)
	add(e, "email-two-at", "two @", "alice@home@example.com", bad)
	add(e, "email-empty-local", "nothing before @", "@example.com", bad)
	add(e, "email-no-dot", "a domain without a dot", "alice@localhost", bad)
	add(e, "email-leading-dot", "a domain starting with a dot", "alice@.example.com", bad)
	add(e, "email-only-trailing-dot", "a domain whose only dot is its last character", "alice@example.", bad)
	add(e, "email-inner-space", "white space inside", "alice smith@example.com", bad)
	add(e, "email-zero-width", "a zero-width space inside", "alice\u200b@example.com", bad)
	add(e, "email-control", "a control character inside", "alice\x01@example.com", bad)

	// Phones.
	ok(p, "phone-plain", "a plain E.164 number, already in normal form", "+15550109999", "+15550109999")
	ok(p, "phone-punctuation", "spaces, '-', '.', '(' and ')' are dropped", " +1 (555) 010-9999 ", "+15550109999")
	ok(p, "phone-dots", "dots are dropped like the other four separators", "+44.20.7946.0000", "+442079460000")
	ok(p, "phone-seven-digits", "7 digits, the fewest", "+1234567", "+1234567")
	ok(p, "phone-fifteen-digits", "15 digits, the most (E.164)", "+123456789012345", "+123456789012345")
	add(p, "phone-six-digits", "6 digits", "+123456", bad)
	add(p, "phone-sixteen-digits", "16 digits", "+1234567890123456", bad)
	add(p, "phone-no-plus", "no leading +", "15550109999", bad)
	add(p, "phone-leading-zero", "a country code cannot start with 0", "+05550109999", bad)
	add(p, "phone-double-plus", "a second +", "++15550109999", bad)
	add(p, "phone-inner-plus", "a + after digits", "+1555+0109999", bad)
	add(p, "phone-letters", "letters", "+1 555 CALL NOW", bad)
	add(p, "phone-fullwidth-digits", "fullwidth digits are not digits here (no NFKC for phones)", "+\uff11\uff15\uff15\uff15\uff10\uff11\uff10\uff19\uff19\uff19\uff19", bad)
	add(p, "phone-tab", "a tab inside (only the five listed characters are dropped)", "+1555\t0109999", bad)

	// Logins: the kind is guessed.
	ok(l, "login-email", "a login with @ is an email", " Alice@Example.com", "alice@example.com")
	ok(l, "login-phone", "a login that starts with + (after trimming) is a phone number", "  +1 555 010 9999", "+15550109999")
	ok(l, "login-nickname", "anything else is a nickname", "Alice Smith", "alice smith")
	ok(l, "login-nickname-inner-plus", "a + that is not first does not make a phone number", "c++ fan", "c++ fan")
	add(l, "login-nickname-with-at", "\"bob@home\" is read as an email and refused (no dot in the domain); it is no nickname either (nickname-with-at)", "bob@home", bad)
	add(l, "login-nickname-leading-plus", "\"+alice\" is read as a phone number and refused; it is no nickname either (nickname-leading-plus)", "+alice", bad)
	add(l, "login-fullwidth-at", "U+FF20 FULLWIDTH COMMERCIAL AT is not \"@\" when the kind is guessed, so the login is read as a nickname, which NFKC turns into \"bob@home\", refused as a nickname holding \"@\"", "bob\uff20home", bad)
	add(l, "login-empty", "an empty login", "", bad)

	// Kinds.
	add("handle", "unknown-kind", "a kind other than nickname, email or phone", "alice", "attesta.ErrUnknownIdentifierKind")
	return f
}

func TestIdentifiers(t *testing.T) {
	var f identifiersFile
	loadFile(t, "identifiers.json", &f)
	srv := newStack(t, attesta.Config{}, generousLimits)
	key, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		t.Fatal(err)
	}
	session := srv.connect(t, key).Session
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			if (v.InputHex != nil) == (v.Input != nil) || (v.InputHex != nil) == utf8.ValidString(v.input()) {
				t.Fatal("every vector has input, or input_hex for an input that is not UTF-8 (instead of input)")
			}
			id, err := normalize(v.Kind, v.input())
			checkError(t, err, v.Error)
			if err != nil {
				if id != (attesta.Identifier{}) || v.Normalized != "" || v.Hint != "" || v.NormalizedKind != "" {
					t.Fatal("a refused identifier has a value")
				}
				// The server refuses it with the vector's code: a login
				// when fetching a registry, a kind when adding it. Bytes
				// that are not UTF-8 never reach it as an identifier: a
				// CBOR body with them is bad_request, and JSON cannot
				// carry them.
				if v.InputHex != nil {
					if v.ProblemCode != "" {
						t.Fatal("a problem code for an input no body can carry")
					}
					return
				}
				var rec *httptest.ResponseRecorder
				if v.Kind == "login" {
					rec = srv.do(http.MethodGet, "/v1/registry?"+url.Values{"login": {v.input()}}.Encode(), nil, nil)
				} else {
					rec = srv.postJSON(t, http.MethodPost, "/v1/identifiers", session, transport.IdentifierBody{Kind: attesta.IdentifierKind(v.Kind), Value: v.input()})
				}
				if got := problemCode(t, rec); got != v.ProblemCode {
					t.Fatalf("server answered %q, want %q", got, v.ProblemCode)
				}
				return
			}
			if string(id.Kind) != v.NormalizedKind || id.Value != v.Normalized || id.Hint() != v.Hint || v.ProblemCode != "" {
				t.Fatalf("got %v with hint %q", id, id.Hint())
			}
			if v.Kind != "login" && v.NormalizedKind != v.Kind {
				t.Fatalf("kind %q normalised as %q", v.Kind, v.NormalizedKind)
			}
			// Normalising is idempotent: the normalised value is its own
			// normal form.
			again, err := attesta.NormalizeIdentifier(id.Kind, id.Value)
			if err != nil || again != id {
				t.Fatalf("normalising %q again: %v %v", id.Value, again, err)
			}
		})
	}
}
