package attesta

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Application instances, after keypeer: an instance of an application is
// a party like any other (it connects with its own key, under the
// application's token), that has also registered itself as an instance of
// that application (RegisterInstance, POST /v1/instance). Its TOKEN names
// it: the server's signature over the application's name and the party
// id, which the instance's user puts on a payment, which the operator (or
// a payment system's webhook) then entitles to the application's service
// keys (entitlements.go, vault.go).
//
// # Why a registration of its own
//
// The instance's connect is the ordinary one; what marks it an instance is
// a second, authenticated call that carries the packed public key the
// session connected with. The server needs that key: it encrypts service
// keys to it (vault.go), and a stateless challenge token cannot carry it
// (an RSA-16384 key packs to 2 KiB; the token travels inside one
// RSA-OAEP block of 190 bytes), nor does the store keep public keys (a
// party's keys are known by their ids). The server checks that the key
// hashes to the session's key id, so the call proves nothing new and
// needs nothing new: the session already proved possession. And
// auth_key_request's body stays as it is (its decoders take exactly its
// members), so no client of the connect flow changes.
//
// # The TOKEN
//
//	message = "attesta/v1 instance token" || 0x00 || len(app) (1 byte) || app || party id (16 bytes)
//	sig     = Ed25519(K, message)      (RFC 8032: deterministic)
//	K       = Ed25519 key from the seed HKDF-Expand(secret, "attesta v1 instance token key", 32)
//	TOKEN   = app || ":" || base32(party id || sig)
//
// base32 is RFC 4648's alphabet in lower case, without padding: the 80
// bytes are exactly 128 characters, so every TOKEN has one spelling. The
// TOKEN is compact and plain for a payment's label: letters, digits and
// the application name's own characters, 129 characters more than the
// name (with a name of up to 11 characters, it fits the 140 of a SEPA
// transfer's remittance information), and it survives a bank that
// upper-cases labels: ParseInstanceToken reads it in either case (app
// names are lower case), and String writes it in lower case.
//
// Anyone with the server's public key (InstanceTokenKey, published in the
// JWKS) verifies a TOKEN offline (InstanceToken.Verify); the server checks
// one by signing again and comparing (VerifyInstanceToken), storing
// nothing. A TOKEN is not a secret: it names an instance, as a party id
// does, and grants nothing by itself; what it is entitled to is decided
// by Entitlements. The message begins with a fixed text that is not
// base64url, so that no TOKEN signature is ever a valid JWS signature
// under the same key.

const (
	instanceTokenDomain = "attesta/v1 instance token"
	instanceKeyInfo     = "attesta v1 instance token key"
	// instanceTokenPayload is the decoded size of the part after the
	// colon: a party id and a signature.
	instanceTokenPayload = len(PartyID{}) + ed25519.SignatureSize
	// MaxInstanceTokenLen bounds a TOKEN's length: the longest
	// application name, the colon and 128 characters.
	MaxInstanceTokenLen = maxAppNameLen + 1 + 128
)

// instanceB32 is RFC 4648 base32 in lower case, without padding.
var instanceB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// InstanceToken is an application instance's TOKEN: the application, the
// party, and the server's signature over both. It is not secret.
type InstanceToken struct {
	app   string
	party PartyID
	sig   [ed25519.SignatureSize]byte
}

// App is the application the TOKEN names.
func (t InstanceToken) App() string { return t.app }

// PartyID is the party the TOKEN names.
func (t InstanceToken) PartyID() PartyID { return t.party }

// String is the TOKEN's one spelling, in lower case.
func (t InstanceToken) String() string {
	if t.app == "" {
		return ""
	}
	var b [instanceTokenPayload]byte
	copy(b[:], t.party[:])
	copy(b[len(t.party):], t.sig[:])
	return t.app + ":" + instanceB32.EncodeToString(b[:])
}

// IsZero reports whether t is the zero InstanceToken (none).
func (t InstanceToken) IsZero() bool { return t.app == "" }

// ParseInstanceToken reads a TOKEN's form, in either case, and checks
// nothing else: VerifyInstanceToken (the server) or Verify (anyone with
// the public key) says whether it is the server's. Anything that is not
// exactly one TOKEN (too long, no colon, a bad application name, a
// payload that is not 128 base32 characters) is ErrBadInstanceToken.
func ParseInstanceToken(s string) (InstanceToken, error) {
	if len(s) > MaxInstanceTokenLen {
		return InstanceToken{}, fmt.Errorf("%w: over %d characters", ErrBadInstanceToken, MaxInstanceTokenLen)
	}
	s = asciiLower(s)
	app, payload, ok := strings.Cut(s, ":")
	if !ok || !appName.MatchString(app) {
		return InstanceToken{}, fmt.Errorf("%w: not APP:PAYLOAD", ErrBadInstanceToken)
	}
	// Length first: the decoder skips '\r' and '\n' (see ParsePartyID).
	if len(payload) != instanceB32.EncodedLen(instanceTokenPayload) {
		return InstanceToken{}, fmt.Errorf("%w: payload is not %d characters", ErrBadInstanceToken, instanceB32.EncodedLen(instanceTokenPayload))
	}
	b, err := instanceB32.DecodeString(payload)
	if err != nil || len(b) != instanceTokenPayload {
		return InstanceToken{}, fmt.Errorf("%w: payload is not base32", ErrBadInstanceToken)
	}
	t := InstanceToken{app: app}
	copy(t.party[:], b)
	copy(t.sig[:], b[len(t.party):])
	return t, nil
}

// asciiLower lowers ASCII letters only, so that no Unicode case rule can
// turn a foreign character into a valid one.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// Verify reports, without the server, whether the TOKEN is signed by the
// key pub (InstanceTokenKey.Public): nil, or ErrBadInstanceToken.
func (t InstanceToken) Verify(pub ed25519.PublicKey) error {
	if t.IsZero() || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, instanceTokenMessage(t.app, t.party), t.sig[:]) {
		return ErrBadInstanceToken
	}
	return nil
}

func instanceTokenMessage(app string, party PartyID) []byte {
	m := make([]byte, 0, len(instanceTokenDomain)+2+len(app)+len(party))
	m = append(m, instanceTokenDomain...)
	m = append(m, 0, byte(len(app)))
	m = append(m, app...)
	return append(m, party[:]...)
}

// instanceToken is the TOKEN of app's instance party.
func (s *Service) instanceToken(app string, party PartyID) InstanceToken {
	t := InstanceToken{app: app, party: party}
	copy(t.sig[:], ed25519.Sign(s.keys.instance, instanceTokenMessage(app, party)))
	return t
}

// VerifyInstanceToken parses a TOKEN and checks that this server made it,
// by signing what it names again and comparing in constant time (the
// server stores no TOKEN): a forged TOKEN, one of another server, or one
// changed in any byte is ErrBadInstanceToken.
func (s *Service) VerifyInstanceToken(token string) (InstanceToken, error) {
	t, err := ParseInstanceToken(token)
	if err != nil {
		return InstanceToken{}, err
	}
	want := s.instanceToken(t.app, t.party)
	if subtle.ConstantTimeCompare(want.sig[:], t.sig[:]) != 1 {
		return InstanceToken{}, ErrBadInstanceToken
	}
	return t, nil
}

// InstanceTokenKey is the public key that verifies instance TOKENs, with
// the key id under which a JWKS publishes it.
type InstanceTokenKey struct {
	// KeyID is the key's JWK thumbprint (RFC 7638 with RFC 8037's
	// members: SHA-256 of {"crv":"Ed25519","kty":"OKP","x":…}),
	// unpadded base64url. It depends on the key alone, so it is the same
	// on every server of one secret, and after every restart.
	KeyID string
	// Public is the Ed25519 public key.
	Public ed25519.PublicKey
}

// JWK returns the key as a JSON Web Key's members (RFC 8037): kty "OKP",
// crv "Ed25519", x, kid, alg "EdDSA" and use "sig", for a JWKS.
func (k InstanceTokenKey) JWK() map[string]string {
	return map[string]string{
		"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(k.Public),
		"kid": k.KeyID, "alg": "EdDSA", "use": "sig",
	}
}

// InstanceTokenKey returns the public key that verifies this server's
// instance TOKENs (derived from Config.Secret), for anyone who verifies
// TOKENs offline: the JWKS at /.well-known/jwks.json publishes it.
func (s *Service) InstanceTokenKey() InstanceTokenKey {
	pub := s.keys.instance.Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return InstanceTokenKey{KeyID: base64.RawURLEncoding.EncodeToString(sum[:]), Public: pub}
}

// RegisterInstance marks the session's party an instance of the session's
// application and records key, the packed public key the session
// connected with, to which the server encrypts service keys; it returns
// the instance's TOKEN. It is idempotent: registering again changes
// nothing and answers the same TOKEN. A key that is not the session's is
// ErrNotSessionKey; a private key sent as key is a disclosure, handled as
// AuthKeyRequest handles one (its key banned, and with it the session).
func (s *Service) RegisterInstance(ctx context.Context, sess Session, key []byte) (InstanceToken, error) {
	pub, err := ParsePublicKey(key)
	if err != nil {
		if proven, refusal := DetectPrivateKey(key); refusal != nil {
			return InstanceToken{}, s.banDisclosed(ctx, proven, refusal, sess.App)
		}
		return InstanceToken{}, err
	}
	if pub.ID() != sess.KeyID {
		return InstanceToken{}, ErrNotSessionKey
	}
	err = s.store.PutInstanceKey(ctx, InstanceKey{App: sess.App, Party: sess.PartyID, KeyID: pub.ID(), Key: pub.Pack(), Added: s.now()})
	if err != nil {
		return InstanceToken{}, err
	}
	s.log.InfoContext(ctx, "instance registered", "app", sess.App, "party_id", sess.PartyID.String(), "key_id", pub.ID().String())
	return s.instanceToken(sess.App, sess.PartyID), nil
}

// instanceKey returns the instance key of the session, or ErrNotInstance
// if the session's key is not registered as an instance of its app.
func (s *Service) instanceKey(ctx context.Context, sess Session) (InstanceKey, error) {
	k, err := s.store.InstanceKey(ctx, sess.App, sess.PartyID, sess.KeyID)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return k, err
	}
	return InstanceKey{}, ErrNotInstance
}

// InstanceToken returns the TOKEN of the session's instance, or
// ErrNotInstance if the session's key was not registered as an instance
// of the session's application.
func (s *Service) InstanceToken(ctx context.Context, sess Session) (InstanceToken, error) {
	if _, err := s.instanceKey(ctx, sess); err != nil {
		return InstanceToken{}, err
	}
	return s.instanceToken(sess.App, sess.PartyID), nil
}
