package attesta

import (
	"crypto/hpke"
	"crypto/sha256"
	"fmt"

	"github.com/attesta-go/attesta/internal/cborx"
)

// The HPKE key types (X25519, MLKEM768-X25519) share one encryption:
// HPKE base mode (RFC 9180) with HKDF-SHA256 and ChaCha20-Poly1305, the
// info string of its use (TokenLabel for a challenge, ServiceKeyLabel for
// a service key), written as enc || ciphertext.

func hpkeSeal(k hpke.PublicKey, info string, msg []byte) ([]byte, error) {
	return hpke.Seal(k, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte(info), msg)
}

func hpkeOpen(k hpke.PrivateKey, info string, ct []byte) ([]byte, error) {
	return hpke.Open(k, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte(info), ct)
}

func newHPKEPublicKey(typ KeyType, raw []byte, mk func() (hpke.PublicKey, error)) (*PublicKey, error) {
	pk, err := mk()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	packed, err := cborx.Marshal([]any{uint64(typ), raw})
	if err != nil {
		return nil, err
	}
	return &PublicKey{typ: typ, hpke: pk, packed: packed, id: sha256.Sum256(packed)}, nil
}
