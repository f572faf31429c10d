package attesta

import (
	"bytes"
	"crypto/hpke"
	"fmt"
)

// Sizes of the MLKEM768-X25519 (X-Wing) keys: the encapsulation key is
// the ML-KEM-768 one (1184 bytes) followed by the X25519 point, and the
// private key is the 32-byte seed both private keys are expanded from.
const (
	mlkem768x25519Pub = 1216
	mlkem768x25519Sk  = 32
)

// parseMLKEMPublic vets the field of a packed public key [19, ek]: its
// exact length, its X25519 part (canonical, not of low order, as for an
// X25519 key), and the ML-KEM part's FIPS 203 §7.2 modulus check
// (crypto/hpke's NewPublicKey).
func parseMLKEMPublic(f [][]byte) (*PublicKey, error) {
	if len(f) != 1 || len(f[0]) != mlkem768x25519Pub {
		return nil, fmt.Errorf("%w: mlkem768x25519 public key needs 1216 bytes", ErrBadKey)
	}
	if _, err := x25519Point(f[0][mlkem768x25519Pub-x25519Size:]); err != nil {
		return nil, err
	}
	return newHPKEPublicKey(MLKEM768X25519Public, f[0], func() (hpke.PublicKey, error) { return hpke.MLKEM768X25519().NewPublicKey(f[0]) })
}

// parseMLKEMPrivate reads a packed private key [18, seed]. Any 32 bytes
// are a seed; the public key is expanded from it, which is the disclosure
// proof, at the fixed cost of one key expansion.
func parseMLKEMPrivate(f [][]byte) (*PrivateKey, error) {
	if len(f) != 1 || len(f[0]) != mlkem768x25519Sk {
		return nil, fmt.Errorf("%w: mlkem768x25519 private key needs a 32-byte seed", ErrBadKey)
	}
	return newMLKEMPrivateKey(f[0])
}

func newMLKEMPrivateKey(seed []byte) (*PrivateKey, error) {
	hk, err := hpke.MLKEM768X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	pk := hk.PublicKey()
	pub, err := newHPKEPublicKey(MLKEM768X25519Public, pk.Bytes(), func() (hpke.PublicKey, error) { return pk, nil })
	if err != nil {
		return nil, err
	}
	return &PrivateKey{typ: MLKEM768X25519Private, hpke: hk, seed: bytes.Clone(seed), pub: pub}, nil
}

// mlkemEncryptCost is EncryptCost for an MLKEM768-X25519 key
// (BenchmarkEncryptCost).
const mlkemEncryptCost = 5
