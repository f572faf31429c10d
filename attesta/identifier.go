package attesta

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// IdentifierKind is the kind of a login identifier.
type IdentifierKind string

const (
	Nickname IdentifierKind = "nickname"
	Email    IdentifierKind = "email"
	Phone    IdentifierKind = "phone"
)

// Limits on identifiers.
const (
	MinNicknameRunes = 4
	MaxNicknameRunes = 64
	MaxEmailBytes    = 254 // RFC 5321's path limit
	MaxNicknames     = 5   // per party
	MaxVerified      = 5   // emails plus phones, per party, pending ones included
	maxIdentInput    = 1024
)

var (
	// ErrBadIdentifier: a value that does not normalise to a valid
	// identifier of its kind (too short, no '@', letters in a phone, …).
	ErrBadIdentifier = errors.New("attesta: malformed identifier")
	// ErrUnknownIdentifierKind: a kind other than nickname, email, phone.
	ErrUnknownIdentifierKind = errors.New("attesta: unknown identifier kind")
)

// Identifier is a normalised login identifier. Its Value is what the
// server hashes; the server never stores it.
type Identifier struct {
	Kind  IdentifierKind
	Value string
}

func (id Identifier) String() string { return string(id.Kind) + ":" + id.Value }

// NormalizeIdentifier normalises a value of a known kind:
//
//   - nickname: Unicode NFKC, lower case by each character's simple
//     lowercase mapping (UnicodeData.txt; no context rules such as the
//     Greek final sigma, so that every implementation agrees), NFKC again
//     (lower-casing can leave a string unnormalised), trimmed, every run of
//     white space inside collapsed to one U+0020; 4 to 64 characters; no
//     control or format characters; no "@" and no leading "+" (after
//     NFKC, so "＠" counts), which would make its login an email or a
//     phone number.
//   - email: trimmed, NFKC, lower-cased as nicknames are, NFKC again (the
//     whole address: providers treat the local part case-insensitively in
//     practice, and one mailbox must not be two identifiers; NFKC makes a
//     composed and a decomposed "é", or a fullwidth letter and its ASCII
//     twin, one address — the code goes to the normalised address, so
//     only its owner can confirm it); exactly one '@' with a non-empty local part and
//     a domain holding a dot; no white space or control characters; at
//     most 254 bytes.
//   - phone: the characters space, '-', '.', '(' and ')' are dropped; the
//     rest must be '+' and 7 to 15 digits, the first non-zero (E.164).
func NormalizeIdentifier(kind IdentifierKind, value string) (Identifier, error) {
	if len(value) > maxIdentInput || !utf8.ValidString(value) {
		return Identifier{}, ErrBadIdentifier
	}
	var (
		v   string
		err error
	)
	switch kind {
	case Nickname:
		v, err = normalizeNickname(value)
	case Email:
		v, err = normalizeEmail(value)
	case Phone:
		v, err = normalizePhone(value)
	default:
		return Identifier{}, ErrUnknownIdentifierKind
	}
	if err != nil {
		return Identifier{}, err
	}
	return Identifier{Kind: kind, Value: v}, nil
}

// ParseLogin reads a login name typed by a user, guessing its kind: a value
// with '@' is an email, one that starts with '+' a phone number, anything
// else a nickname.
func ParseLogin(login string) (Identifier, error) {
	t := strings.TrimSpace(login)
	switch {
	case strings.Contains(t, "@"):
		return NormalizeIdentifier(Email, login)
	case strings.HasPrefix(t, "+"):
		return NormalizeIdentifier(Phone, login)
	}
	return NormalizeIdentifier(Nickname, login)
}

func normalizeNickname(s string) (string, error) {
	s = norm.NFKC.String(strings.ToLower(norm.NFKC.String(s)))
	var b strings.Builder
	space := false
	for _, r := range strings.TrimFunc(s, unicode.IsSpace) {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			return "", fmt.Errorf("%w: control character in nickname", ErrBadIdentifier)
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	v := b.String()
	// ParseLogin reads a login with "@" as an email and one starting with
	// "+" as a phone number: such a nickname could never log in.
	if strings.ContainsRune(v, '@') || strings.HasPrefix(v, "+") {
		return "", fmt.Errorf("%w: a nickname holds no \"@\" and does not start with \"+\"", ErrBadIdentifier)
	}
	if n := utf8.RuneCountInString(v); n < MinNicknameRunes || n > MaxNicknameRunes {
		return "", fmt.Errorf("%w: nickname needs %d to %d characters", ErrBadIdentifier, MinNicknameRunes, MaxNicknameRunes)
	}
	return v, nil
}

func normalizeEmail(s string) (string, error) {
	v := norm.NFKC.String(strings.ToLower(norm.NFKC.String(strings.TrimSpace(s))))
	at := strings.IndexByte(v, '@')
	if at <= 0 || at != strings.LastIndexByte(v, '@') || len(v) > MaxEmailBytes {
		return "", fmt.Errorf("%w: email", ErrBadIdentifier)
	}
	domain := v[at+1:]
	if i := strings.IndexByte(domain, '.'); i <= 0 || i == len(domain)-1 {
		return "", fmt.Errorf("%w: email domain", ErrBadIdentifier)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", fmt.Errorf("%w: email", ErrBadIdentifier)
		}
	}
	return v, nil
}

func normalizePhone(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		case r == '+' && b.Len() == 0, r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			return "", fmt.Errorf("%w: phone numbers are + and digits", ErrBadIdentifier)
		}
	}
	v := b.String()
	if len(v) < 8 || len(v) > 16 || v[0] != '+' || v[1] == '0' {
		return "", fmt.Errorf("%w: phone numbers are + and 7 to 15 digits (E.164)", ErrBadIdentifier)
	}
	return v, nil
}

// Hint is what the server keeps of an identifier for display: enough for
// its owner to recognise it, too little to recover it.
func (id Identifier) Hint() string {
	switch id.Kind {
	case Email:
		at := strings.IndexByte(id.Value, '@')
		r, _ := utf8.DecodeRuneInString(id.Value)
		return string(r) + "***" + id.Value[at:]
	case Phone:
		return "+***" + id.Value[len(id.Value)-2:]
	}
	r := []rune(id.Value)
	return string(r[:2]) + "***"
}
