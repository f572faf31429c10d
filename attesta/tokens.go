package attesta

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/attesta-go/attesta/internal/rnd"
)

// TokenSize is the size of a challenge token and of the secret inside a
// session or application token: 256 bits.
const TokenSize = 32

// Hash is SHA-256 of a secret. The store keeps secrets (challenge tokens,
// sessions, application tokens) only as hashes: a copy of the database lets
// no one log in. The secrets are 256-bit random values, so a plain hash is
// enough; there is nothing to brute-force.
type Hash [32]byte

func hashOf(secret []byte) Hash { return sha256.Sum256(secret) }

// PartyID names a party for ever: 128 random bits, shown as unpadded
// base64url (22 characters).
type PartyID [16]byte

func (p PartyID) String() string { return base64.RawURLEncoding.EncodeToString(p[:]) }

// IsZero reports whether p is the zero id (no party).
func (p PartyID) IsZero() bool { return p == PartyID{} }

// ParsePartyID parses the string form of a party id.
func ParsePartyID(s string) (PartyID, error) {
	var p PartyID
	// The length check comes first: the decoder skips '\r' and '\n', so
	// without it one id would have many spellings.
	if len(s) != base64.RawURLEncoding.EncodedLen(len(p)) {
		return PartyID{}, fmt.Errorf("attesta: malformed party id")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(p) {
		return PartyID{}, fmt.Errorf("attesta: malformed party id")
	}
	copy(p[:], b)
	return p, nil
}

func newPartyID() PartyID {
	var p PartyID
	rnd.Read(p[:])
	return p
}

// Bearer token prefixes. A prefix lets secret scanners find leaked tokens
// and lets a human tell a session from an application token.
const (
	SessionPrefix  = "ats_"
	AppTokenPrefix = "ata_"
)

// encodedTokenLen is the length of prefix + base64url(32 bytes).
const encodedTokenLen = 4 + 43

// newBearer draws a bearer token with prefix and returns it with its hash.
func newBearer(prefix string) (string, Hash) {
	secret := rnd.Bytes(TokenSize)
	return prefix + base64.RawURLEncoding.EncodeToString(secret), hashOf(secret)
}

// parseBearer checks a bearer token's form and returns the hash under which
// it is stored. It does no lookup, so its timing says nothing about which
// tokens exist.
func parseBearer(prefix, s string) (Hash, bool) {
	if len(s) != encodedTokenLen || !strings.HasPrefix(s, prefix) {
		return Hash{}, false
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(s[len(prefix):])
	if err != nil || len(secret) != TokenSize {
		return Hash{}, false
	}
	return hashOf(secret), true
}

// ParseSession checks that s has the form of a session token (it does not
// tell whether the session exists).
func ParseSession(s string) error {
	if _, ok := parseBearer(SessionPrefix, s); !ok {
		return ErrUnauthorized
	}
	return nil
}

// ParseAppToken checks that s has the form of an application token.
func ParseAppToken(s string) error {
	if _, ok := parseBearer(AppTokenPrefix, s); !ok {
		return ErrBadAppToken
	}
	return nil
}
