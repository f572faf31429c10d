package attesta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/attesta-go/attesta/internal/rnd"
)

// A challenge token is stateless: instead of storing a pending challenge
// under a random token, the server puts the challenge in the token itself
// and authenticates it with a key derived from its secret. The token then
// travels only encrypted to the key (auth_key_request) and back in clear
// from the key's holder (auth_key_token).
//
// # Why
//
// A public key is public. If pending challenges were stored per key and
// bounded per key, whoever knows a victim's public key could fill its slots
// and stop the victim from connecting; if they were not bounded, anyone
// could fill the store. With the challenge in the token, a request creates
// no state at all, whoever sends it and however often: the only state is
// the record of a redeemed token, which only the key's holder can make,
// kept until the token expires so that it works once.
//
// # Format
//
//	token = version (1 byte, 1) || purpose (1 byte, 1: connect)
//	        || nonce (16 random bytes) || expires (8 bytes, Unix seconds, big endian)
//	        || key id (32 bytes) || key type (1 byte)
//	        || context length (1 byte) || context (the application name for a connect)
//	        || tag (32 bytes)
//	tag   = HMAC-SHA256(K, every byte before it), K = HKDF-Expand(secret, "attesta v1 challenge token", 32)
//
// At most 156 bytes, within RSA-OAEP-SHA256's 190-byte limit for a
// 2048-bit key. The client treats the token as opaque bytes and returns it
// as decrypted. A token that does not authenticate, whatever the defect
// (length, version, tag), is ErrChallengeUnknown: the answer says nothing
// about which check failed. The tag is compared in constant time.

const (
	challengeVersion = 1
	purposeConnect   = 1

	challengeNonceSize = 16
	challengeTagSize   = sha256.Size
	// challengeFixedSize is the token's size without its context.
	challengeFixedSize = 2 + challengeNonceSize + 8 + len(KeyID{}) + 1 + 1 + challengeTagSize
	// MaxChallengeTokenSize bounds a challenge token: the fixed part and
	// an application name of at most 64 bytes.
	MaxChallengeTokenSize = challengeFixedSize + maxAppNameLen
	maxAppNameLen         = 64
)

// sealChallenge makes the token that carries c for purpose, c.App being the
// context. c.ExpiresAt is carried in whole seconds.
func (s *Service) sealChallenge(purpose byte, c Challenge) []byte {
	tok := make([]byte, 0, challengeFixedSize+len(c.App))
	tok = append(tok, challengeVersion, purpose)
	tok = append(tok, rnd.Bytes(challengeNonceSize)...)
	tok = binary.BigEndian.AppendUint64(tok, uint64(c.ExpiresAt.Unix()))
	tok = append(tok, c.KeyID[:]...)
	tok = append(tok, byte(c.KeyType), byte(len(c.App)))
	tok = append(tok, c.App...)
	m := hmac.New(sha256.New, s.keys.challenge)
	m.Write(tok)
	return m.Sum(tok)
}

// openChallenge authenticates a token of purpose and returns the challenge
// it carries, its TokenHash set; ok is false for anything else.
func (s *Service) openChallenge(purpose byte, tok []byte) (c Challenge, ok bool) {
	if len(tok) < challengeFixedSize || len(tok) > MaxChallengeTokenSize {
		return Challenge{}, false
	}
	body, tag := tok[:len(tok)-challengeTagSize], tok[len(tok)-challengeTagSize:]
	m := hmac.New(sha256.New, s.keys.challenge)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), tag) {
		return Challenge{}, false
	}
	// Authenticated: the server wrote every field below, so they are
	// well formed; the checks only guard against a future format.
	if body[0] != challengeVersion || body[1] != purpose {
		return Challenge{}, false
	}
	rest := body[2+challengeNonceSize:]
	c.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(rest)), 0)
	rest = rest[8:]
	copy(c.KeyID[:], rest)
	rest = rest[len(c.KeyID):]
	c.KeyType = KeyType(rest[0])
	if int(rest[1]) != len(rest)-2 {
		return Challenge{}, false
	}
	c.App = string(rest[2:])
	c.TokenHash = hashOf(tok)
	return c, true
}
