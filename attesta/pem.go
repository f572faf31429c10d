package attesta

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/attesta-go/attesta/internal/cborx"
)

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

func (k *PublicKey) rawX25519() (*ecdh.PublicKey, error) {
	_, f, err := decodePacked(k.packed)
	if err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPublicKey(f[0])
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
// private key, under the protocol's rules on size and exponent.
func ParsePrivateKeyDER(der []byte) (*PrivateKey, error) {
	k, err := privateFromDER(der)
	if err != nil {
		return nil, err
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
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return publicFromCrypto(k)
}

func publicFromCrypto(k any) (*PublicKey, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if !big.NewInt(int64(k.E)).IsInt64() || k.E != RSAExponent {
			return nil, ErrBadExponent
		}
		return newRSAPublicKey(k.N.Bytes(), big.NewInt(int64(k.E)).Bytes())
	case *ecdh.PublicKey:
		if k.Curve() != ecdh.X25519() {
			break
		}
		return ParsePublicKey(mustPack(X25519Public, k.Bytes()))
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
}

func mustPack(t KeyType, fields ...[]byte) []byte {
	v := []any{uint64(t)}
	for _, f := range fields {
		v = append(v, f)
	}
	b, err := cborx.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// privateFromDER parses PKCS#8, PKCS#1 or SEC 1 DER without the protocol's
// policy, for both the converters and the disclosure check.
func privateFromDER(der []byte) (*PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return privateFromCrypto(k)
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return privateFromCrypto(k)
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return privateFromCrypto(k)
	}
	return nil, fmt.Errorf("%w: not a PKCS#8, PKCS#1 or SEC 1 private key", ErrBadKey)
}

// errForeignPrivate marks a private key of a type the protocol has no packed
// form for (ECDSA, Ed25519): still a disclosure, but with no key id to ban.
var errForeignPrivate = errors.New("attesta: private key of a foreign type")

func privateFromCrypto(k any) (*PrivateKey, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, fmt.Errorf("%w: multi-prime rsa", ErrUnsupportedKey)
		}
		return rsaFromPrimes(k.E, k.Primes[0], k.Primes[1])
	case *ecdh.PrivateKey:
		if k.Curve() == ecdh.X25519() {
			return newX25519PrivateKey(k)
		}
	}
	return nil, errForeignPrivate
}

// vetPrivate applies the protocol's policy (RSA size and exponent) to a
// private key parsed leniently.
func vetPrivate(k *PrivateKey) error {
	if k.typ != RSAPrivate {
		return nil
	}
	_, err := ParsePublicKey(k.pub.packed)
	return err
}

// DetectPrivateKey reports whether data is a private key in any form the server
// recognises: the packed private form, PKCS#1, PKCS#8 or SEC 1 DER, PEM of
// any private key type (including OpenSSH and encrypted PKCS#8), or an
// OpenSSH key. It returns the public key to ban when the key is of a type
// the protocol can name (RSA, X25519, ML-KEM-768+X25519), else nil.
func DetectPrivateKey(data []byte) (pub *PublicKey, disclosed bool) {
	if len(data) > MaxKeyFileSize {
		return nil, false
	}
	if k, err := parsePackedPrivate(data); err == nil {
		return k.pub, true
	}
	if k, err := privateFromDER(data); err == nil {
		return k.pub, true
	} else if errors.Is(err, errForeignPrivate) {
		return nil, true
	}
	if bytes.HasPrefix(data, []byte("openssh-key-v1\x00")) {
		data = pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: data})
	}
	rest := data
	for range 8 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if !strings.Contains(b.Type, "PRIVATE KEY") {
			continue
		}
		return publicOfPEMPrivate(b), true
	}
	return nil, false
}

// publicOfPEMPrivate derives the public key of a PEM private key block, or
// nil when it cannot (foreign types, encrypted keys without a clear public
// part).
func publicOfPEMPrivate(b *pem.Block) *PublicKey {
	switch b.Type {
	case pemPrivate:
		if k, err := parsePackedPrivate(b.Bytes); err == nil {
			return k.pub
		}
		return nil
	case "OPENSSH PRIVATE KEY":
		raw, err := ssh.ParseRawPrivateKey(pem.EncodeToMemory(b))
		var missing *ssh.PassphraseMissingError
		switch {
		case err == nil:
			if k, err := privateFromCrypto(raw); err == nil {
				return k.pub
			}
		case errors.As(err, &missing) && missing.PublicKey != nil:
			// An encrypted OpenSSH key carries its public key in clear.
			if cp, ok := missing.PublicKey.(ssh.CryptoPublicKey); ok {
				if rk, ok := cp.CryptoPublicKey().(*rsa.PublicKey); ok {
					return unvettedRSAPublic(rk)
				}
			}
		}
		return nil
	}
	if k, err := privateFromDER(b.Bytes); err == nil {
		return k.pub
	}
	return nil
}

// unvettedRSAPublic packs an RSA public key without the size policy, so that
// a disclosed small key can still be banned by id.
func unvettedRSAPublic(k *rsa.PublicKey) *PublicKey {
	packed := mustPack(RSAPublic, big.NewInt(int64(k.E)).Bytes(), k.N.Bytes())
	return &PublicKey{typ: RSAPublic, rsa: k, packed: packed, id: sha256.Sum256(packed)}
}
