package attesta

import (
	"crypto/ecdh"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// The PEM, DER, PKIX and PKCS#8 converters, for key files. They are the
// client's and the CLI's: the server reads keys only in the packed form
// (ParsePublicKey) and, to catch a disclosure, through DetectPrivateKey.
//
// Bounded work: every input is at most MaxKeyFileSize bytes; a private
// key's DER is read for shape and the size of its numbers (der.go) before
// x509 parses it. The public-key parsers hand their input to x509
// directly: crypto/x509 reads an RSA public key's integers without
// computing with them, and the sizes are checked right after
// (newRSAPublicKey, before n is used); an elliptic-curve key is checked
// against its named curve only, a fixed cost, and other curves are
// refused unread.

// PEM block types of Attesta's own key files, used for key types that have
// no standard PKIX/PKCS#8 encoding (ML-KEM-768+X25519). The block holds the
// packed key.
const (
	pemPrivate = "ATTESTA PRIVATE KEY"
	pemPublic  = "ATTESTA PUBLIC KEY"
)

// MaxKeyFileSize bounds the input of the PEM/DER parsers and of the
// server's disclosure check: a 16384-bit RSA private key is about 13 KiB in
// PEM.
const MaxKeyFileSize = 32 << 10

// MarshalPKCS8 returns the PKCS#8 DER form of an RSA or X25519 private key.
// ML-KEM-768+X25519 keys have no PKCS#8 form yet: ErrUnsupportedKey.
func (k *PrivateKey) MarshalPKCS8() ([]byte, error) {
	switch k.typ {
	case RSAPrivate:
		return x509.MarshalPKCS8PrivateKey(k.rsa)
	case X25519Private:
		return x509.MarshalPKCS8PrivateKey(k.x25519)
	}
	return nil, fmt.Errorf("%w: no pkcs#8 form for %v", ErrUnsupportedKey, k.typ)
}

// MarshalPEM returns the key as a PEM "PRIVATE KEY" (PKCS#8) block where a
// standard form exists, else as an "ATTESTA PRIVATE KEY" block holding the
// packed key. It is secret: write it with mode 0600.
func (k *PrivateKey) MarshalPEM() []byte {
	if der, err := k.MarshalPKCS8(); err == nil {
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: k.Pack()})
}

// MarshalPKIX returns the PKIX (SubjectPublicKeyInfo) DER form of an RSA or
// X25519 public key.
func (k *PublicKey) MarshalPKIX() ([]byte, error) {
	switch k.typ {
	case RSAPublic:
		return x509.MarshalPKIXPublicKey(k.rsa)
	case X25519Public:
		raw, err := k.rawX25519()
		if err != nil {
			return nil, err
		}
		return x509.MarshalPKIXPublicKey(raw)
	}
	return nil, fmt.Errorf("%w: no pkix form for %v", ErrUnsupportedKey, k.typ)
}

// MarshalPEM returns the key as a PEM "PUBLIC KEY" (PKIX) block, or an
// "ATTESTA PUBLIC KEY" block holding the packed key.
func (k *PublicKey) MarshalPEM() []byte {
	if der, err := k.MarshalPKIX(); err == nil {
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: k.Pack()})
}

// ParsePrivateKeyPEM parses the first PEM block of data: "PRIVATE KEY"
// (PKCS#8), "RSA PRIVATE KEY" (PKCS#1) or "ATTESTA PRIVATE KEY" (packed).
func ParsePrivateKeyPEM(data []byte) (*PrivateKey, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file over %d bytes", ErrBadKey, MaxKeyFileSize)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrBadKey)
	}
	switch b.Type {
	case pemPrivate:
		return ParsePrivateKey(b.Bytes)
	case "PRIVATE KEY", "RSA PRIVATE KEY":
		return ParsePrivateKeyDER(b.Bytes)
	}
	return nil, fmt.Errorf("%w: PEM block %q", ErrUnsupportedKey, b.Type)
}

// ParsePrivateKeyDER parses a PKCS#8 (RSA or X25519) or PKCS#1 (RSA) DER
// private key, under the protocol's rules on size and exponent. The DER is
// read for shape and the size of every number first (readDER: a number
// over its bound is ErrKeyTooLarge, and x509 never sees it), then parsed
// by crypto/x509; an RSA key is rebuilt from its primes as the packed form
// is (rsaFromPrimes), which costs one exponentiation modulo its larger
// prime.
func ParsePrivateKeyDER(der []byte) (*PrivateKey, error) {
	if len(der) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file over %d bytes", ErrBadKey, MaxKeyFileSize)
	}
	dk, err := readDER(der)
	if errors.Is(err, errNotPrivate) {
		return nil, fmt.Errorf("%w: not a PKCS#8, PKCS#1 or SEC 1 private key", ErrBadKey)
	} else if err != nil {
		return nil, err
	}
	var raw any
	switch dk.kind {
	case derPKCS1:
		raw, err = x509.ParsePKCS1PrivateKey(der)
	case derPKCS8RSA, derPKCS8X25519:
		raw, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil, fmt.Errorf("%w: a private key of a type with no packed form", ErrUnsupportedKey)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	var k *PrivateKey
	switch raw := raw.(type) {
	case *rsa.PrivateKey:
		if len(raw.Primes) != 2 {
			return nil, fmt.Errorf("%w: multi-prime rsa", ErrUnsupportedKey)
		}
		if k, err = rsaFromPrimes(raw.E, raw.Primes[0], raw.Primes[1]); err != nil {
			return nil, err
		}
		if k.rsa.N.Cmp(raw.N) != 0 {
			return nil, fmt.Errorf("%w: rsa modulus is not the product of the primes", ErrBadKey)
		}
	case *ecdh.PrivateKey:
		if raw.Curve() != ecdh.X25519() {
			return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, raw)
		}
		if k, err = newX25519PrivateKey(raw); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, raw)
	}
	if err := vetPrivate(k); err != nil {
		return nil, err
	}
	return k, nil
}

// ParsePublicKeyPEM parses a "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY" (PKCS#1)
// or "ATTESTA PUBLIC KEY" (packed) block.
func ParsePublicKeyPEM(data []byte) (*PublicKey, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file over %d bytes", ErrBadKey, MaxKeyFileSize)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrBadKey)
	}
	switch b.Type {
	case pemPublic:
		return ParsePublicKey(b.Bytes)
	case "PUBLIC KEY":
		return ParsePublicKeyDER(b.Bytes)
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		return publicFromCrypto(k)
	}
	return nil, fmt.Errorf("%w: PEM block %q", ErrUnsupportedKey, b.Type)
}

// ParsePublicKeyDER parses a PKIX DER public key (RSA or X25519).
func ParsePublicKeyDER(der []byte) (*PublicKey, error) {
	if len(der) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file over %d bytes", ErrBadKey, MaxKeyFileSize)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return publicFromCrypto(k)
}

func publicFromCrypto(k any) (*PublicKey, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.E != RSAExponent {
			return nil, ErrBadExponent
		}
		return newRSAPublicKey(k.N.Bytes(), []byte{0x01, 0x00, 0x01})
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			break
		}
		return ParsePublicKey(mustPack(X25519Public, k.Bytes()))
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
}
