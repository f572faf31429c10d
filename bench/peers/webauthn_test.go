package peers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
)

const (
	rpID     = "example.com"
	rpOrigin = "https://example.com"
)

// waUser is a relying party's user with one ES256 credential.
type waUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return "bench" }
func (u *waUser) WebAuthnDisplayName() string                { return "bench" }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// waAuthenticator is the client side: a P-256 key and its credential id.
type waAuthenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	userID []byte
}

func newWebAuthn(tb testing.TB) (*webauthn.WebAuthn, *waUser, *waAuthenticator) {
	tb.Helper()
	w, err := webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "bench", RPOrigins: []string{rpOrigin}})
	if err != nil {
		tb.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		tb.Fatal(err)
	}
	xy := pub.Bytes()[1:] // uncompressed point without the 0x04
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256),
		XCoord:        xy[:32],
		YCoord:        xy[32:],
	})
	if err != nil {
		tb.Fatal(err)
	}
	a := &waAuthenticator{key: key, credID: make([]byte, 32), userID: make([]byte, 32)}
	rand.Read(a.credID)
	rand.Read(a.userID)
	u := &waUser{id: a.userID, creds: []webauthn.Credential{{
		ID:              a.credID,
		PublicKey:       cose,
		AttestationType: "none",
		Flags:           webauthn.CredentialFlags{UserPresent: true, UserVerified: true},
		Authenticator:   webauthn.Authenticator{AAGUID: make([]byte, 16)},
	}}}
	return w, u, a
}

// assert is what a browser and authenticator return for a challenge: the
// JSON body of navigator.credentials.get(), signed by the credential.
func (a *waAuthenticator) assert(challenge string, counter uint32) ([]byte, error) {
	clientData, err := json.Marshal(map[string]any{
		"type": "webauthn.get", "challenge": challenge, "origin": rpOrigin, "crossOrigin": false,
	})
	if err != nil {
		return nil, err
	}
	rpHash := sha256.Sum256([]byte(rpID))
	authData := append(rpHash[:], byte(protocol.FlagUserPresent|protocol.FlagUserVerified))
	authData = binary.BigEndian.AppendUint32(authData, counter)
	cdHash := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return json.Marshal(map[string]any{
		"id":    b64(a.credID),
		"rawId": b64(a.credID),
		"type":  "public-key",
		"response": map[string]string{
			"clientDataJSON":    b64(clientData),
			"authenticatorData": b64(authData),
			"signature":         b64(sig),
			"userHandle":        b64(a.userID),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// TestWebAuthnLogin checks that the benchmark's login succeeds and that a
// wrong signature fails, so that the benchmark measures a real
// verification.
func TestWebAuthnLogin(t *testing.T) {
	w, u, a := newWebAuthn(t)
	_, session, err := w.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.assert(session.Challenge, 1)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ValidateLogin(u, *session, parsed); err != nil {
		t.Fatal(err)
	}

	_, session2, err := w.BeginLogin(u)
	if err != nil {
		t.Fatal(err)
	}
	// An assertion for another challenge must fail.
	parsed, err = protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ValidateLogin(u, *session2, parsed); err == nil {
		t.Fatal("an assertion for another challenge was accepted")
	}
	// A signature by another key must fail.
	_, _, intruder := newWebAuthn(t)
	intruder.credID, intruder.userID = a.credID, a.userID
	body, err = intruder.assert(session2.Challenge, 2)
	if err != nil {
		t.Fatal(err)
	}
	if parsed, err = protocol.ParseCredentialRequestResponseBytes(body); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ValidateLogin(u, *session2, parsed); err == nil {
		t.Fatal("a signature by another key was accepted")
	}
}

// BenchmarkWebAuthnLogin is a relying party's server-side work for one
// WebAuthn login with go-webauthn: BeginLogin (a fresh challenge and the
// session data; begin-ns/op), then, for the browser's JSON answer,
// ParseCredentialRequestResponseBytes and ValidateLogin (client data,
// origin, RP id hash, flags, and the ES256 signature; finish-ns/op).
// Keeping the session data between the two steps is the caller's job and
// is not measured; with store=sync the finish step commits one synced
// Pebble batch (the sign counter, a session).
func BenchmarkWebAuthnLogin(b *testing.B) {
	for _, variant := range stores {
		b.Run("store="+variant, func(b *testing.B) {
			w, u, a := newWebAuthn(b)
			s := newSyncer(b, variant)
			sessions := make([]*webauthn.SessionData, b.N)
			bodies := make([][]byte, b.N)
			threePhase(b,
				func(i int) error {
					_, session, err := w.BeginLogin(u)
					sessions[i] = session
					return err
				},
				func(i int) (err error) {
					bodies[i], err = a.assert(sessions[i].Challenge, uint32(i+1))
					return err
				},
				func(i int) error {
					parsed, err := protocol.ParseCredentialRequestResponseBytes(bodies[i])
					if err != nil {
						return err
					}
					if _, err := w.ValidateLogin(u, *sessions[i], parsed); err != nil {
						return err
					}
					return s.commit()
				})
		})
	}
}

// es256Floor returns one ECDSA P-256 verification of a valid signature.
func es256Floor(b *testing.B) func() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("floor"))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	return func() error {
		if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
			return errors.New("es256 floor: bad signature")
		}
		return nil
	}
}
