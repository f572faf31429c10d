package attesta

import (
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math/big"
)

// x25519Size is the size of an X25519 scalar and of a u-coordinate.
const x25519Size = 32

// x25519P is the field prime of Curve25519, 2^255 - 19.
var x25519P = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// lowOrder lists the canonical encodings of the points of small order
// on Curve25519 and its twist (the list libsodium refuses, less the
// encodings at or above p, which the canonical check already refuses):
// with any of them every X25519 shared secret is all zeros (RFC 7748 §6.1).
// TestLowOrderPoints proves each one is refused by crypto/ecdh; a table
// instead of a test multiplication keeps the check off the request path's
// profile (it was 12% of a server's CPU under load).
var lowOrder = [][x25519Size]byte{
	{0},
	{1},
	mustHex32("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
	mustHex32("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
	mustHex32("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
}

func mustHex32(s string) (b [x25519Size]byte) {
	if n, err := hex.Decode(b[:], []byte(s)); err != nil || n != x25519Size {
		panic("attesta: bad low-order point constant")
	}
	return b
}

func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

// x25519Point parses an X25519 public key and refuses what is not one
// usable point under one encoding.
func x25519Point(b []byte) (*ecdh.PublicKey, error) {
	// One point, one encoding, one key id: X25519 ignores bit 255 and
	// reduces u modulo p = 2^255 - 19 (RFC 7748 §5), so a key with bit
	// 255 set or u >= p would be a banned key under another id.
	if len(b) != x25519Size || b[31]&0x80 != 0 || new(big.Int).SetBytes(reversed(b)).Cmp(x25519P) >= 0 {
		return nil, fmt.Errorf("%w: x25519 point not in canonical form", ErrBadKey)
	}
	for _, lo := range lowOrder {
		if subtle.ConstantTimeCompare(b, lo[:]) == 1 {
			return nil, fmt.Errorf("%w: x25519 low-order point", ErrBadKey)
		}
	}
	pk, err := ecdh.X25519().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return pk, nil
}

// parseX25519Public vets the field of a packed public key [17, u].
func parseX25519Public(f [][]byte) (*PublicKey, error) {
	if len(f) != 1 || len(f[0]) != x25519Size {
		return nil, fmt.Errorf("%w: x25519 public key needs 32 bytes", ErrBadKey)
	}
	pk, err := x25519Point(f[0])
	if err != nil {
		return nil, err
	}
	return newHPKEPublicKey(X25519Public, pk.Bytes(), func() (hpke.PublicKey, error) { return hpke.NewDHKEMPublicKey(pk) })
}

// parseX25519Private reads a packed private key [16, scalar]. Any 32 bytes
// are a scalar (X25519 clamps it when used), and the public key is
// computed from it: for the disclosure check this is the proof, one
// scalar multiplication whatever the input.
func parseX25519Private(f [][]byte) (*PrivateKey, error) {
	if len(f) != 1 || len(f[0]) != x25519Size {
		return nil, fmt.Errorf("%w: x25519 private key needs 32 bytes", ErrBadKey)
	}
	return x25519FromScalar(f[0])
}

func x25519FromScalar(scalar []byte) (*PrivateKey, error) {
	k, err := ecdh.X25519().NewPrivateKey(scalar)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return newX25519PrivateKey(k)
}

func newX25519PrivateKey(k *ecdh.PrivateKey) (*PrivateKey, error) {
	hk, err := hpke.NewDHKEMPrivateKey(k)
	if err != nil {
		return nil, err
	}
	pub, err := newHPKEPublicKey(X25519Public, k.PublicKey().Bytes(), func() (hpke.PublicKey, error) { return hk.PublicKey(), nil })
	if err != nil {
		return nil, err
	}
	return &PrivateKey{typ: X25519Private, x25519: k, hpke: hk, pub: pub}, nil
}

func (k *PublicKey) rawX25519() (*ecdh.PublicKey, error) {
	_, f, err := decodePacked(k.packed)
	if err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPublicKey(f[0])
}

// x25519EncryptCost is EncryptCost for an X25519 key (BenchmarkEncryptCost).
const x25519EncryptCost = 3
