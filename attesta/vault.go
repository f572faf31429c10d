package attesta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/internal/rnd"
)

// The service-key vault: the operator stores an application's keys for
// third-party services (a provider's API key), and the application's
// entitled instances fetch them, each encrypted to the instance's own
// connect key.
//
// # At rest
//
// A service key is stored sealed, never in clear:
//
//	sealed = 0x01 || nonce (24 random bytes) || XChaCha20-Poly1305(K, nonce, value, ad)
//	K      = HKDF-Expand(secret, "attesta v1 service key vault", 32)
//	ad     = "attesta v1 service key" || 0x00 || len(app) (1 byte) || app
//	         || len(provider) (1 byte) || provider || version (8 bytes, big endian)
//
// The associated data binds a sealed value to its application, provider
// and version: a copy of one row into another (another application's, an
// older version's number) does not open. A copy of the store alone
// reveals no service key; the store and the secret together do, as they
// do everything else (docs/SECURITY.md).
//
// # On the wire
//
// An entitled instance receives the value encrypted to the public key its
// session connected with, which it registered (RegisterInstance), by the
// challenge's encryption under another label: RSA-OAEP-SHA256 with label
// ServiceKeyLabel, or HPKE base mode (HKDF-SHA256, ChaCha20-Poly1305)
// with info ServiceKeyLabel. Only the instance's private key opens it; a
// ciphertext of one use never opens as the other's. One RSA-OAEP block
// holds 190 bytes under the smallest accepted key (2048 bits), hence
// MaxServiceKeySize: a provider's API key fits; a longer credential
// (a service-account file) does not, and is refused when set.
//
// # Versions
//
// Each SetServiceKey of an application and provider is the next version
// (1, 2, …), replacing the one before: the store keeps the current value
// only, so that a rotated-out key is no longer anywhere to steal.
// Instances receive the version with the value, and see a rotation as a
// new number.

const (
	// ServiceKeyLabel is the RSA-OAEP label and HPKE info under which a
	// service key is encrypted to an instance.
	ServiceKeyLabel = "attesta/v1 service key"
	// MaxServiceKeySize bounds a service key: what RSA-OAEP-SHA256 holds
	// under a 2048-bit key (256 - 2·32 - 2 bytes).
	MaxServiceKeySize = 190

	vaultVersion = 1
	vaultAD      = "attesta v1 service key"
	// maxSealedServiceKeySize is the largest sealed value.
	maxSealedServiceKeySize = 1 + chacha20poly1305.NonceSizeX + MaxServiceKeySize + chacha20poly1305.Overhead
)

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// EncryptServiceKey encrypts a service key to k, as the server does for
// an instance: RSA-OAEP-SHA256 (MGF1 SHA-256) with label ServiceKeyLabel,
// or HPKE base mode with info ServiceKeyLabel, as enc || ciphertext.
func (k *PublicKey) EncryptServiceKey(value []byte) ([]byte, error) {
	return k.encrypt(ServiceKeyLabel, value)
}

// DecryptServiceKey decrypts a service key encrypted to k's public half
// (the answer of GET /v1/service_keys/{provider}); ErrDecrypt if it does
// not open.
func (k *PrivateKey) DecryptServiceKey(ct []byte) ([]byte, error) {
	return k.decrypt(ServiceKeyLabel, ct)
}

func vaultAssociatedData(app, provider string, version uint64) []byte {
	ad := make([]byte, 0, len(vaultAD)+3+len(app)+len(provider)+8)
	ad = append(ad, vaultAD...)
	ad = append(ad, 0, byte(len(app)))
	ad = append(ad, app...)
	ad = append(ad, byte(len(provider)))
	ad = append(ad, provider...)
	return binary.BigEndian.AppendUint64(ad, version)
}

func (s *Service) sealServiceKey(app, provider string, version uint64, value []byte) []byte {
	aead, err := chacha20poly1305.NewX(s.keys.vault)
	if err != nil {
		panic("attesta: the vault key: " + err.Error()) // a 32-byte key never fails
	}
	out := make([]byte, 1+chacha20poly1305.NonceSizeX, maxSealedServiceKeySize)
	out[0] = vaultVersion
	rnd.Read(out[1:])
	return aead.Seal(out, out[1:], value, vaultAssociatedData(app, provider, version))
}

// errVaultCorrupt: a sealed value that does not open (changed, moved to
// another row, or sealed under another secret). An internal error.
var errVaultCorrupt = errors.New("attesta: a sealed service key does not open (store changed, or another server secret)")

func (s *Service) openServiceKey(k ServiceKey) ([]byte, error) {
	if len(k.Sealed) < 1+chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead || len(k.Sealed) > maxSealedServiceKeySize || k.Sealed[0] != vaultVersion {
		return nil, errVaultCorrupt
	}
	aead, err := chacha20poly1305.NewX(s.keys.vault)
	if err != nil {
		return nil, err
	}
	nonce := k.Sealed[1 : 1+chacha20poly1305.NonceSizeX]
	pt, err := aead.Open(nil, nonce, k.Sealed[1+chacha20poly1305.NonceSizeX:], vaultAssociatedData(k.App, k.Provider, k.Version))
	if err != nil {
		return nil, errVaultCorrupt
	}
	return pt, nil
}

// SetServiceKey stores value as application app's service key for
// provider, sealed, as the next version (1 for the first), and returns
// that version and its time. The value is 1 to MaxServiceKeySize bytes
// (ErrBadServiceKey); app must exist (ErrAppNotFound); provider is 1 to
// 64 characters of [a-z0-9._-], starting with a letter or digit
// (ErrBadProvider). Concurrent sets each get a version of their own.
func (s *Service) SetServiceKey(ctx context.Context, app, provider string, value []byte) (ServiceKeyVersion, error) {
	if !providerName.MatchString(provider) {
		return ServiceKeyVersion{}, ErrBadProvider
	}
	if len(value) == 0 || len(value) > MaxServiceKeySize {
		return ServiceKeyVersion{}, ErrBadServiceKey
	}
	if _, err := s.store.App(ctx, app); errors.Is(err, ErrNotFound) {
		return ServiceKeyVersion{}, ErrAppNotFound
	} else if err != nil {
		return ServiceKeyVersion{}, err
	}
	for attempt := 0; ; attempt++ {
		var version uint64
		cur, err := s.store.ServiceKey(ctx, app, provider)
		switch {
		case err == nil:
			version = cur.Version
		case !errors.Is(err, ErrNotFound):
			return ServiceKeyVersion{}, err
		}
		next := ServiceKey{App: app, Provider: provider, Version: version + 1, Updated: s.now()}
		next.Sealed = s.sealServiceKey(app, provider, next.Version, value)
		err = s.store.PutServiceKey(ctx, next)
		if errors.Is(err, ErrVersionConflict) && attempt < 10 {
			continue // a concurrent set took this version: take the next
		}
		if err != nil {
			return ServiceKeyVersion{}, err
		}
		s.log.InfoContext(ctx, "service key set", "app", app, "provider", provider, "version", next.Version)
		return ServiceKeyVersion{App: app, Provider: provider, Version: next.Version, Updated: next.Updated}, nil
	}
}

// ServiceKeys lists every application's service keys by application and
// provider: names, versions and times, never values.
func (s *Service) ServiceKeys(ctx context.Context) ([]ServiceKeyVersion, error) {
	return s.store.ServiceKeys(ctx)
}

// EncryptedServiceKey is a service key as an instance receives it.
type EncryptedServiceKey struct {
	Provider string
	Version  uint64
	// Ciphertext is the value encrypted to the instance's key
	// (PrivateKey.DecryptServiceKey opens it).
	Ciphertext []byte
	// Cost is what the encryption cost the server, as KeyRequest.Cost.
	Cost int
}

// ServiceKey answers an instance's request for its application's service
// key for provider, encrypted to the key the session connected with. In
// this order: a session whose key is not registered as an instance of its
// application is ErrNotInstance; an instance whose TOKEN Entitlements does
// not entitle (or whose check fails) is ErrNotEntitled, before the
// provider is looked at, so that to an instance that is not entitled an
// unknown provider (or a malformed one) answers the same; then
// ErrBadProvider, ErrServiceKeyNotFound. sess comes from Authenticate,
// which refuses the sessions of a revoked application.
func (s *Service) ServiceKey(ctx context.Context, sess Session, provider string) (EncryptedServiceKey, error) {
	ik, err := s.instanceKey(ctx, sess)
	if err != nil {
		return EncryptedServiceKey{}, err
	}
	t := s.instanceToken(sess.App, sess.PartyID)
	entitled, err := s.entitlements.entitled(ctx, t, s.now())
	if err != nil {
		if ctx.Err() != nil {
			return EncryptedServiceKey{}, err
		}
		s.log.WarnContext(ctx, "entitlement check failed; refused", "app", t.app, "party_id", t.party.String(), "err", err)
	}
	if !entitled {
		return EncryptedServiceKey{}, ErrNotEntitled
	}
	if !providerName.MatchString(provider) {
		return EncryptedServiceKey{}, ErrBadProvider
	}
	k, err := s.store.ServiceKey(ctx, sess.App, provider)
	if errors.Is(err, ErrNotFound) {
		return EncryptedServiceKey{}, ErrServiceKeyNotFound
	} else if err != nil {
		return EncryptedServiceKey{}, err
	}
	value, err := s.openServiceKey(k)
	if err != nil {
		return EncryptedServiceKey{}, err
	}
	pub, err := ParsePublicKey(ik.Key)
	if err != nil {
		return EncryptedServiceKey{}, fmt.Errorf("attesta: the instance key stored for %s: %w", ik.KeyID, err)
	}
	ct, err := pub.EncryptServiceKey(value)
	clear(value)
	if err != nil {
		return EncryptedServiceKey{}, fmt.Errorf("%w: encrypting to the key: %v", ErrBadKey, err)
	}
	s.log.InfoContext(ctx, "service key delivered", "app", sess.App, "party_id", sess.PartyID.String(), "provider", provider, "version", k.Version)
	return EncryptedServiceKey{Provider: provider, Version: k.Version, Ciphertext: ct, Cost: pub.EncryptCost()}, nil
}
