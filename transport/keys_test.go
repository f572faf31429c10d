package transport_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// pemBytes returns the bytes of the first PEM block of a fixture file.
func pemBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, _ := pem.Decode(testkeys.File(t, name))
	require.NotNil(t, b)
	return b.Bytes
}

// foreignRSAPublic is the packed public key of the RSA key in the PKCS#1,
// OpenSSH and encrypted OpenSSH fixtures (one key in three forms).
func foreignRSAPublic(t *testing.T) []byte {
	t.Helper()
	k, err := attesta.ParsePrivateKeyPEM(testkeys.File(t, "rsa2048-pkcs1.pem"))
	require.NoError(t, err)
	// The OpenSSH files hold the same key.
	raw, err := ssh.ParseRawPrivateKey(testkeys.File(t, "rsa2048-openssh.pem"))
	require.NoError(t, err)
	require.True(t, raw.(*rsa.PrivateKey).PublicKey.Equal(publicRSA(t, k)))
	return k.Public().Pack()
}

func publicRSA(t *testing.T, k *attesta.PrivateKey) *rsa.PublicKey {
	t.Helper()
	der, err := k.Public().MarshalPKIX()
	require.NoError(t, err)
	pub, err := x509.ParsePKIXPublicKey(der)
	require.NoError(t, err)
	return pub.(*rsa.PublicKey)
}

// packRSA packs an RSA public key by hand, without the protocol's checks.
func packRSA(t *testing.T, e []byte, n *big.Int) []byte {
	t.Helper()
	b, err := cborx.Marshal([]any{uint64(attesta.RSAPublic), e, n.Bytes()})
	require.NoError(t, err)
	return b
}

// TestPrivateKeyDisclosure sends a private key in every form the server
// recognises: each is private_key_disclosed, and afterwards its public key
// is key_banned when the input proved its private half (a foreign type has
// no public key the protocol can name, a 1024-bit key is refused for its
// size before any ban is looked up, and an encrypted container proves
// nothing: the key in it still connects).
func TestPrivateKeyDisclosure(t *testing.T) {
	pkcs8 := func(alg attesta.Algorithm, i int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			der, err := testkeys.Key(t, alg, i).MarshalPKCS8()
			require.NoError(t, err)
			return der
		}
	}
	packed := func(alg attesta.Algorithm, i int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return testkeys.Key(t, alg, i).Pack() }
	}
	pemOf := func(alg attesta.Algorithm, i int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return testkeys.Key(t, alg, i).MarshalPEM() }
	}
	publicOf := func(alg attesta.Algorithm, i int) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return testkeys.Key(t, alg, i).Public().Pack() }
	}
	file := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return testkeys.File(t, name) }
	}
	block := func(name string) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return pemBytes(t, name) }
	}
	rsa1024Public := func(t *testing.T) []byte {
		k, err := x509.ParsePKCS8PrivateKey(pemBytes(t, "rsa1024-pkcs8.pem"))
		require.NoError(t, err)
		pub := k.(*rsa.PrivateKey).PublicKey
		return packRSA(t, big.NewInt(int64(pub.E)).Bytes(), pub.N)
	}

	tests := []struct {
		name   string
		sent   func(t *testing.T) []byte
		public func(t *testing.T) []byte // nil: nothing to ban
		after  string                    // the code for public afterwards
	}{
		{"packed/rsa2048", packed(attesta.RSA2048, 0), publicOf(attesta.RSA2048, 0), "key_banned"},
		{"packed/rsa4096", packed(attesta.RSA4096, 0), publicOf(attesta.RSA4096, 0), "key_banned"},
		{"packed/x25519", packed(attesta.X25519, 0), publicOf(attesta.X25519, 0), "key_banned"},
		{"packed/mlkem768x25519", packed(attesta.MLKEM768X25519, 0), publicOf(attesta.MLKEM768X25519, 0), "key_banned"},
		{"pkcs8-pem/rsa2048", pemOf(attesta.RSA2048, 1), publicOf(attesta.RSA2048, 1), "key_banned"},
		{"pkcs8-pem/x25519", pemOf(attesta.X25519, 1), publicOf(attesta.X25519, 1), "key_banned"},
		{"attesta-pem/mlkem768x25519", pemOf(attesta.MLKEM768X25519, 1), publicOf(attesta.MLKEM768X25519, 1), "key_banned"},
		{"pkcs8-der/rsa4096", pkcs8(attesta.RSA4096, 1), publicOf(attesta.RSA4096, 1), "key_banned"},
		{"pkcs8-der/x25519", pkcs8(attesta.X25519, 2), publicOf(attesta.X25519, 2), "key_banned"},
		{"pkcs1-pem", file("rsa2048-pkcs1.pem"), foreignRSAPublic, "key_banned"},
		{"pkcs1-der", block("rsa2048-pkcs1.pem"), foreignRSAPublic, "key_banned"},
		{"openssh-pem", file("rsa2048-openssh.pem"), foreignRSAPublic, "key_banned"},
		{"openssh-raw", block("rsa2048-openssh.pem"), foreignRSAPublic, "key_banned"},
		{"openssh-encrypted", file("rsa2048-openssh-encrypted.pem"), foreignRSAPublic, "connects"},
		{"rsa1024-pkcs8-pem", file("rsa1024-pkcs8.pem"), rsa1024Public, "key_too_small"},
		{"ec-sec1-pem", file("p256-sec1.pem"), nil, ""},
		{"ec-sec1-der", block("p256-sec1.pem"), nil, ""},
		{"ed25519-openssh", file("ed25519-openssh.pem"), nil, ""},
	}
	for i, tc := range tests {
		f := formats[i%2]
		t.Run(tc.name+"/"+f.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, attesta.Config{}, generous)
			c := e.client(f.cbor)
			_, err := c.AuthKeyRequest(t.Context(), tc.sent(t), e.app)
			requireProblem(t, err, http.StatusBadRequest, "private_key_disclosed", attesta.ErrPrivateKeyDisclosed)
			if tc.public == nil {
				return
			}
			_, err = c.AuthKeyRequest(t.Context(), tc.public(t), e.app)
			switch tc.after {
			case "key_banned":
				requireProblem(t, err, http.StatusForbidden, "key_banned", attesta.ErrKeyBanned)
			case "key_too_small":
				requireProblem(t, err, http.StatusBadRequest, "key_too_small", attesta.ErrKeyTooSmall)
			case "connects":
				require.NoError(t, err)
			}
		})
	}
}

// TestBanSurvivesRestart discloses a key that has a party and a pending
// challenge, restarts the server, and finds the key banned for every step.
func TestBanSurvivesRestart(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ctx := t.Context()
	k := testkeys.Key(t, attesta.RSA2048, 2)
	c := e.client(false)
	_, err := c.Connect(ctx, k, e.app)
	require.NoError(t, err)
	pending, err := c.AuthKeyRequest(ctx, k.Public().Pack(), e.app)
	require.NoError(t, err)
	token, err := k.DecryptToken(pending.EncryptedToken)
	require.NoError(t, err)

	_, err = c.AuthKeyRequest(ctx, k.MarshalPEM(), e.app)
	requireProblem(t, err, http.StatusBadRequest, "private_key_disclosed", attesta.ErrPrivateKeyDisclosed)

	e.restart(t)
	for _, f := range formats {
		_, err = e.client(f.cbor).Connect(ctx, k, e.app)
		requireProblem(t, err, http.StatusForbidden, "key_banned", attesta.ErrKeyBanned)
	}
	// The challenge drawn before the ban cannot log in either.
	_, err = e.client(true).AuthKeyToken(ctx, token)
	requireProblem(t, err, http.StatusForbidden, "key_banned", attesta.ErrKeyBanned)
	// Other keys are unaffected.
	_, err = e.client(false).Connect(ctx, testkeys.Key(t, attesta.RSA2048, 3), e.app)
	require.NoError(t, err)
}

// TestKeyRefusals checks every code a public key can be refused with, and
// that the narrow codes still match the broad sentinels.
func TestKeyRefusals(t *testing.T) {
	e65537 := big.NewInt(attesta.RSAExponent).Bytes()
	odd := func(bits int) *big.Int {
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		return n.Add(n, big.NewInt(12345))
	}
	tests := []struct {
		name  string
		key   []byte
		code  string
		is    []error
		isNot []error
	}{
		{"garbage", []byte("not a key"), "bad_key", []error{attesta.ErrBadKey}, []error{attesta.ErrUnsupportedKey}},
		{"empty", nil, "bad_key", []error{attesta.ErrBadKey}, nil},
		{"x25519 short", mustCBOR(t, []any{uint64(attesta.X25519Public), make([]byte, 31)}), "bad_key", []error{attesta.ErrBadKey}, nil},
		{"even modulus", packRSA(t, e65537, new(big.Int).Lsh(big.NewInt(1), 2047)), "key_even_modulus", []error{attesta.ErrEvenModulus, attesta.ErrBadKey}, []error{attesta.ErrUnsupportedKey}},
		{"exponent 3", packRSA(t, []byte{3}, odd(2048)), "key_bad_exponent", []error{attesta.ErrBadExponent, attesta.ErrUnsupportedKey}, []error{attesta.ErrBadKey}},
		{"1024 bits", packRSA(t, e65537, odd(1024)), "key_too_small", []error{attesta.ErrKeyTooSmall}, []error{attesta.ErrBadKey}},
		{"16385 bits", packRSA(t, e65537, odd(16385)), "key_too_large", []error{attesta.ErrKeyTooLarge}, nil},
		{"type 99", mustCBOR(t, []any{uint64(99), []byte{1}}), "unsupported_key", []error{attesta.ErrUnsupportedKey}, []error{attesta.ErrBadExponent}},
	}
	e := newEnv(t, attesta.Config{}, generous)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client(i%2 == 1).AuthKeyRequest(t.Context(), tc.key, e.app)
			requireProblem(t, err, http.StatusBadRequest, tc.code, nil)
			for _, s := range tc.is {
				assert.ErrorIs(t, err, s)
			}
			for _, s := range tc.isNot {
				assert.NotErrorIs(t, err, s)
			}
		})
	}
}

func mustCBOR(t *testing.T, v any) []byte {
	t.Helper()
	b, err := cborx.Marshal(v)
	require.NoError(t, err)
	return b
}
