package attesta_test

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
)

func TestKeyRoundTrips(t *testing.T) {
	for _, alg := range testkeys.Algorithms {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			k := testkeys.Key(t, alg, 0)
			pub := k.Public()
			assert.False(t, pub.Type().IsPrivate())
			assert.True(t, k.Type().IsPrivate())

			// Packed public and private forms re-encode identically.
			p2, err := attesta.ParsePublicKey(pub.Pack())
			require.NoError(t, err)
			assert.Equal(t, pub.Pack(), p2.Pack())
			assert.Equal(t, pub.ID(), p2.ID())
			k2, err := attesta.ParsePrivateKey(k.Pack())
			require.NoError(t, err)
			assert.Equal(t, k.Pack(), k2.Pack())
			assert.True(t, k2.Public().Equal(pub))

			// PEM forms.
			k3, err := attesta.ParsePrivateKeyPEM(k.MarshalPEM())
			require.NoError(t, err)
			assert.Equal(t, k.Pack(), k3.Pack())
			p3, err := attesta.ParsePublicKeyPEM(pub.MarshalPEM())
			require.NoError(t, err)
			assert.True(t, p3.Equal(pub))

			// Key id string form.
			id, err := attesta.ParseKeyID(pub.ID().String())
			require.NoError(t, err)
			assert.Equal(t, pub.ID(), id)
			assert.Len(t, pub.ID().String(), 43)

			// Token encryption round trip, bound to the key.
			token := []byte("0123456789abcdef0123456789abcdef")
			ct, err := pub.EncryptToken(token)
			require.NoError(t, err)
			got, err := k.DecryptToken(ct)
			require.NoError(t, err)
			assert.Equal(t, token, got)
			other := testkeys.Key(t, alg, 1)
			_, err = other.DecryptToken(ct)
			assert.ErrorIs(t, err, attesta.ErrDecrypt)
		})
	}
}

func pack(t testing.TB, v ...any) []byte {
	t.Helper()
	b, err := cborx.Marshal(v)
	require.NoError(t, err)
	return b
}

// rsaFields returns e and n of a fixture RSA key.
func rsaFields(t *testing.T, alg attesta.Algorithm) (e, n []byte) {
	der, err := testkeys.Key(t, alg, 0).Public().MarshalPKIX()
	require.NoError(t, err)
	k, err := x509.ParsePKIXPublicKey(der)
	require.NoError(t, err)
	r := k.(*rsa.PublicKey)
	return big.NewInt(int64(r.E)).Bytes(), r.N.Bytes()
}

func TestParsePublicKeyRefusals(t *testing.T) {
	e, n := rsaFields(t, attesta.RSA2048)
	small := new(big.Int).Rsh(new(big.Int).SetBytes(n), 1030)
	small.SetBit(small, 0, 1)
	huge := new(big.Int).Lsh(big.NewInt(1), attesta.MaxRSABits)
	huge.SetBit(huge, 0, 1)
	even := new(big.Int).SetBytes(n)
	even.SetBit(even, 0, 0)
	x := testkeys.Key(t, attesta.X25519, 0).Public().Pack()
	good := testkeys.Key(t, attesta.RSA2048, 0).Public().Pack()

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, attesta.ErrBadKey},
		{"not cbor", []byte("hello"), attesta.ErrBadKey},
		{"not an array", pack(t)[:0], attesta.ErrBadKey},
		{"map", func() []byte { b, _ := cborx.Marshal(map[int]int{1: 1}); return b }(), attesta.ErrBadKey},
		{"unknown type code", pack(t, uint64(7), []byte{1}), attesta.ErrUnsupportedKey},
		{"type code too big", pack(t, uint64(1000), []byte{1}), attesta.ErrUnsupportedKey},
		{"negative type code", pack(t, int64(-1), []byte{1}), attesta.ErrBadKey},
		{"rsa missing n", pack(t, uint64(1), e), attesta.ErrBadKey},
		{"rsa extra field", pack(t, uint64(1), e, n, []byte{1}), attesta.ErrBadKey},
		{"rsa leading zero n", pack(t, uint64(1), e, append([]byte{0}, n...)), attesta.ErrBadKey},
		{"rsa leading zero e", pack(t, uint64(1), []byte{0, 1, 0, 1}, n), attesta.ErrBadKey},
		{"rsa e=3", pack(t, uint64(1), []byte{3}, n), attesta.ErrBadExponent},
		{"rsa e=3 unsupported", pack(t, uint64(1), []byte{3}, n), attesta.ErrUnsupportedKey},
		{"rsa 1024", pack(t, uint64(1), e, small.Bytes()), attesta.ErrKeyTooSmall},
		{"rsa over 16384", pack(t, uint64(1), e, huge.Bytes()), attesta.ErrKeyTooLarge},
		{"rsa even modulus", pack(t, uint64(1), e, even.Bytes()), attesta.ErrEvenModulus},
		{"rsa even modulus is bad key", pack(t, uint64(1), e, even.Bytes()), attesta.ErrBadKey},
		{"rsa e as integer", pack(t, uint64(1), uint64(65537), n), attesta.ErrBadKey},
		{"x25519 short", pack(t, uint64(17), make([]byte, 31)), attesta.ErrBadKey},
		{"x25519 long", pack(t, uint64(17), make([]byte, 33)), attesta.ErrBadKey},
		{"x25519 zero point", pack(t, uint64(17), make([]byte, 32)), attesta.ErrBadKey},
		{"x25519 order-1 point", pack(t, uint64(17), append([]byte{1}, make([]byte, 31)...)), attesta.ErrBadKey},
		{"mlkem low-order x25519 part", pack(t, uint64(19), append(testkeys.Key(t, attesta.MLKEM768X25519, 0).Public().Pack()[5:5+1184], make([]byte, 32)...)), attesta.ErrBadKey},
		{"mlkem short", pack(t, uint64(19), make([]byte, 1215)), attesta.ErrBadKey},
		{"private where public expected", testkeys.Key(t, attesta.X25519, 0).Pack(), attesta.ErrBadKey},
		{"trailing byte", append(append([]byte{}, x...), 0), attesta.ErrBadKey},
		{"indefinite length array", append(append([]byte{0x9f}, x[1:]...), 0xff), attesta.ErrBadKey},
		{"non-minimal type code", append([]byte{0x82, 0x18, 17}, x[2:]...), attesta.ErrBadKey},
		{"over size", make([]byte, attesta.MaxPackedKeySize+1), attesta.ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := attesta.ParsePublicKey(tt.in)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, k)
		})
	}
	// Every truncation of a good key fails.
	for i := range good {
		_, err := attesta.ParsePublicKey(good[:i])
		assert.ErrorIs(t, err, attesta.ErrBadKey, "truncated to %d", i)
	}
}

func TestParsePrivateKeyRefusals(t *testing.T) {
	k := testkeys.Key(t, attesta.RSA2048, 0)
	packed := k.Pack()
	var v []any
	require.NoError(t, cborx.Decode(packed, &v))
	swapped := pack(t, v[0], v[1], v[3], v[2])
	_, err := attesta.ParsePrivateKey(swapped)
	assert.ErrorIs(t, err, attesta.ErrBadKey, "primes out of order")
	_, err = attesta.ParsePrivateKey(pack(t, v[0], v[1], v[2], v[2]))
	assert.ErrorIs(t, err, attesta.ErrBadKey, "p == q")
	_, err = attesta.ParsePrivateKey(k.Public().Pack())
	assert.ErrorIs(t, err, attesta.ErrBadKey)
	for i := range packed {
		_, err := attesta.ParsePrivateKey(packed[:i])
		assert.Error(t, err, "truncated to %d", i)
	}
	small, err := attesta.ParsePrivateKeyPEM(testkeys.File(t, "rsa1024-pkcs8.pem"))
	assert.ErrorIs(t, err, attesta.ErrKeyTooSmall)
	assert.Nil(t, small)
}

func TestGenerateKey(t *testing.T) {
	for _, alg := range []attesta.Algorithm{attesta.X25519, attesta.MLKEM768X25519} {
		k, err := attesta.GenerateKey(alg)
		require.NoError(t, err)
		_, err = attesta.ParsePublicKey(k.Public().Pack())
		require.NoError(t, err)
	}
	_, err := attesta.GenerateKey("dsa")
	assert.ErrorIs(t, err, attesta.ErrUnsupportedKey)
}

// TestEncryptCost checks EncryptCost's table: RSA-2048 is the unit, the
// cost grows with the modulus bucket by bucket, every key costs at least
// one unit, and the fixtures' costs are the table's.
func TestEncryptCost(t *testing.T) {
	keys := costKeys(t)
	assert.Equal(t, 1, keys["rsa2048"].EncryptCost())
	prev := 0
	for _, bits := range costBuckets {
		c := keys[fmt.Sprintf("rsa%d", bits)].EncryptCost()
		assert.Greater(t, c, prev, "rsa%d", bits)
		prev = c
		// A modulus one bit over the bucket's lower edge costs the bucket.
		if bits > attesta.MinRSABits {
			k, err := attesta.ParsePublicKey(pack(t, uint64(attesta.RSAPublic), []byte{1, 0, 1}, testkeys.Odd(bits-1).Bytes()))
			require.NoError(t, err)
			assert.Equal(t, c, k.EncryptCost(), "rsa%d", bits-1)
		}
	}
	assert.Equal(t, 158, keys["rsa16384"].EncryptCost())
	for _, name := range []string{"x25519", "mlkem768x25519"} {
		assert.GreaterOrEqual(t, keys[name].EncryptCost(), 1, name)
		assert.Less(t, keys[name].EncryptCost(), keys["rsa4096"].EncryptCost(), name)
	}
	assert.Equal(t, keys["rsa4096"].EncryptCost(), testkeys.Key(t, attesta.RSA4096, 0).Public().EncryptCost())
	assert.Equal(t, 3, testkeys.Key(t, attesta.X25519, 0).Public().EncryptCost())
	assert.Equal(t, 5, testkeys.Key(t, attesta.MLKEM768X25519, 0).Public().EncryptCost())
}
