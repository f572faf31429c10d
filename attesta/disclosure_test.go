package attesta_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ssh"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// disclosureCase is one input to DetectPrivateKey: want is the error it
// must answer (nil: not a private key), proven the packed public keys it
// must prove, in order.
type disclosureCase struct {
	name   string
	in     []byte
	want   error
	proven [][]byte
}

// rsaPublicOf is the packed public key [1, e, n] of r (any size).
func rsaPublicOf(t *testing.T, r testkeys.RSAParts) []byte {
	return pack(t, uint64(attesta.RSAPublic), r.E.Bytes(), r.N.Bytes())
}

// fixturePKCS1 is the foreign RSA fixture (rsa2048-pkcs1.pem; the OpenSSH
// fixtures hold the same key).
func fixturePKCS1(t *testing.T) testkeys.RSAParts {
	b, _ := pem.Decode(testkeys.File(t, "rsa2048-pkcs1.pem"))
	k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	require.NoError(t, err)
	return testkeys.RSAParts{N: k.N, E: big.NewInt(int64(k.E)), D: k.D, P: k.Primes[0], Q: k.Primes[1], Dp: k.Precomputed.Dp, Dq: k.Precomputed.Dq, Qinv: k.Precomputed.Qinv}
}

// fakeAtBound is a consistent key (odd non-primes) at the size bounds:
// primes of MaxRSAPrimeBits and 16384 − MaxRSAPrimeBits bits.
var fakeAtBound = sync.OnceValue(func() testkeys.RSAParts {
	return testkeys.FakeRSA(attesta.MaxRSAPrimeBits, attesta.MaxRSABits-attesta.MaxRSAPrimeBits)
})

// multiPrime is a version-1 RSAPrivateKey with one more prime.
func multiPrime(r testkeys.RSAParts) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		for _, x := range []*big.Int{r.N, r.E, r.D, r.P, r.Q, r.Dp, r.Dq, r.Qinv} {
			b.AddASN1BigInt(x)
		}
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for range 3 {
					b.AddASN1BigInt(big.NewInt(7))
				}
			})
		})
	})
	return b.BytesOrPanic()
}

func disclosureCases(t *testing.T) []disclosureCase {
	rsaKey := testkeys.Key(t, attesta.RSA2048, 0)
	x := testkeys.Key(t, attesta.X25519, 0)
	ml := testkeys.Key(t, attesta.MLKEM768X25519, 0)
	victim := testkeys.RSANumbers(t, testkeys.Key(t, attesta.RSA2048, 2))
	attacker := testkeys.Key(t, attesta.RSA2048, 1)
	atk := testkeys.RSANumbers(t, attacker)
	pkcs8, err := rsaKey.MarshalPKCS8()
	require.NoError(t, err)
	foreign := fixturePKCS1(t)
	foreignPub := rsaPublicOf(t, foreign)
	pkcs1Block, _ := pem.Decode(testkeys.File(t, "rsa2048-pkcs1.pem"))
	sshBlock, _ := pem.Decode(testkeys.File(t, "rsa2048-openssh.pem"))
	sec1Block, _ := pem.Decode(testkeys.File(t, "p256-sec1.pem"))
	small, _ := pem.Decode(testkeys.File(t, "rsa1024-pkcs8.pem"))
	smallKey, err := x509.ParsePKCS8PrivateKey(small.Bytes)
	require.NoError(t, err)
	smallPub := pack(t, uint64(attesta.RSAPublic), big.NewInt(int64(smallKey.(*rsa.PrivateKey).E)).Bytes(), smallKey.(*rsa.PrivateKey).N.Bytes())
	fake := fakeAtBound()
	ed, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	require.NoError(t, err)
	victimPKIX, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: victim.N, E: int(victim.E.Int64())})
	require.NoError(t, err)
	garbage := bytes.Repeat([]byte("hostile!"), 16)
	disclosed, tooLarge := attesta.ErrPrivateKeyDisclosed, attesta.ErrKeyTooLarge
	clear := func(pub, priv testkeys.RSAParts) testkeys.OpenSSH {
		return testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: pub, Private: priv}
	}
	with := func(r testkeys.RSAParts, f func(*testkeys.RSAParts)) testkeys.RSAParts { f(&r); return r }
	one := big.NewInt(1)

	cases := []disclosureCase{
		// Proven: the public key is computed from the private material.
		{"packed/rsa2048", rsaKey.Pack(), disclosed, [][]byte{rsaKey.Public().Pack()}},
		{"packed/x25519", x.Pack(), disclosed, [][]byte{x.Public().Pack()}},
		{"packed/mlkem768x25519", ml.Pack(), disclosed, [][]byte{ml.Public().Pack()}},
		{"pkcs8-der/rsa2048", pkcs8, disclosed, [][]byte{rsaKey.Public().Pack()}},
		{"pkcs8-pem/rsa2048", rsaKey.MarshalPEM(), disclosed, [][]byte{rsaKey.Public().Pack()}},
		{"pkcs8-pem/x25519", x.MarshalPEM(), disclosed, [][]byte{x.Public().Pack()}},
		{"attesta-pem/mlkem768x25519", ml.MarshalPEM(), disclosed, [][]byte{ml.Public().Pack()}},
		{"pkcs1-pem", testkeys.File(t, "rsa2048-pkcs1.pem"), disclosed, [][]byte{foreignPub}},
		{"pkcs1-der", pkcs1Block.Bytes, disclosed, [][]byte{foreignPub}},
		{"openssh-pem", testkeys.File(t, "rsa2048-openssh.pem"), disclosed, [][]byte{foreignPub}},
		{"openssh-raw", sshBlock.Bytes, disclosed, [][]byte{foreignPub}},
		{"rsa1024-pkcs8-pem", testkeys.File(t, "rsa1024-pkcs8.pem"), disclosed, [][]byte{smallPub}},
		{"at-bound/packed", fake.Packed(), disclosed, [][]byte{rsaPublicOf(t, fake)}},
		{"at-bound/pkcs1-der", fake.PKCS1(), disclosed, [][]byte{rsaPublicOf(t, fake)}},
		{"at-bound/pkcs8-der", fake.PKCS8(), disclosed, [][]byte{rsaPublicOf(t, fake)}},
		{"at-bound/openssh-raw", clear(fake, fake).Raw(), disclosed, [][]byte{rsaPublicOf(t, fake)}},
		// The public key in clear is never what is banned.
		{"openssh-clear-public-of-victim", clear(victim, atk).PEM(), disclosed, [][]byte{attacker.Public().Pack()}},
		{"pkcs8-v2-public-of-victim", atk.PKCS8WithPublic(victimPKIX), disclosed, [][]byte{attacker.Public().Pack()}},
		{"pem-two-keys", cat(attacker.MarshalPEM(), x.MarshalPEM()), disclosed, [][]byte{attacker.Public().Pack(), x.Public().Pack()}},
		{"pem-same-key-twice", cat(attacker.MarshalPEM(), attacker.MarshalPEM()), disclosed, [][]byte{attacker.Public().Pack()}},
		{"pem-forged-beside-real", cat(testkeys.PEM("RSA PRIVATE KEY", with(atk, func(r *testkeys.RSAParts) { r.N = victim.N }).PKCS1()), attacker.MarshalPEM()), disclosed, [][]byte{attacker.Public().Pack()}},
		{"pem-too-large-beside-real", cat(testkeys.PEM("RSA PRIVATE KEY", testkeys.BigPrime(50_000).PKCS1()), x.MarshalPEM()), disclosed, [][]byte{x.Public().Pack()}},

		// Disclosed, proves nothing, bans nothing.
		{"openssh-encrypted-fixture", testkeys.File(t, "rsa2048-openssh-encrypted.pem"), disclosed, nil},
		{"openssh-encrypted-kdf-none", testkeys.OpenSSH{Cipher: "aes256-ctr", KDF: "none", Public: victim, Section: garbage}.PEM(), disclosed, nil},
		{"openssh-clear-n-not-pq", clear(victim, with(atk, func(r *testkeys.RSAParts) { r.N = victim.N })).PEM(), disclosed, nil},
		{"openssh-clear-wrong-d", clear(atk, with(atk, func(r *testkeys.RSAParts) { r.D = new(big.Int).Add(r.D, one) })).PEM(), disclosed, nil},
		{"openssh-clear-wrong-qinv", clear(atk, with(atk, func(r *testkeys.RSAParts) { r.Qinv = new(big.Int).Add(r.Qinv, one) })).PEM(), disclosed, nil},
		{"openssh-clear-check-mismatch", func() []byte {
			o := clear(atk, atk)
			s := o.PrivateSection()
			s[7] ^= 1
			o.Section = s
			return o.PEM()
		}(), disclosed, nil},
		{"openssh-clear-bad-padding", func() []byte {
			o := clear(atk, atk)
			s := o.PrivateSection()
			s[len(s)-1] ^= 0x40
			o.Section = s
			return o.PEM()
		}(), disclosed, nil},
		{"openssh-clear-kdf-bcrypt", testkeys.OpenSSH{Cipher: "none", KDF: "bcrypt", KDFOptions: testkeys.BcryptOptions(garbage[:16], 16), Public: atk, Private: atk}.PEM(), disclosed, nil},
		{"openssh-magic-then-garbage", cat([]byte("openssh-key-v1\x00"), garbage), disclosed, nil},
		{"openssh-ed25519", testkeys.File(t, "ed25519-openssh.pem"), disclosed, nil},
		{"pkcs1-n-not-pq", with(atk, func(r *testkeys.RSAParts) { r.N = victim.N }).PKCS1(), disclosed, nil},
		{"pkcs1-wrong-d", with(atk, func(r *testkeys.RSAParts) { r.D = new(big.Int).Add(r.D, one) }).PKCS1(), disclosed, nil},
		{"pkcs1-wrong-dp", with(atk, func(r *testkeys.RSAParts) { r.Dp = new(big.Int).Add(r.Dp, one) }).PKCS1(), disclosed, nil},
		{"pkcs1-wrong-qinv", with(atk, func(r *testkeys.RSAParts) { r.Qinv = new(big.Int).Add(r.Qinv, one) }).PKCS1(), disclosed, nil},
		{"pkcs1-e-even", with(atk, func(r *testkeys.RSAParts) { r.E = big.NewInt(65536) }).PKCS1(), disclosed, nil},
		{"pkcs1-e-over-31-bits", with(atk, func(r *testkeys.RSAParts) { r.E = new(big.Int).Lsh(one, 40) }).PKCS1(), disclosed, nil},
		{"pkcs1-multi-prime", multiPrime(atk), disclosed, nil},
		{"pkcs8-rsa-garbage-inner", testkeys.PKCS8Of([]int{1, 2, 840, 113549, 1, 1, 1}, garbage), disclosed, nil},
		{"pkcs8-unknown-algorithm", testkeys.PKCS8Of([]int{1, 2, 3, 4}, garbage), disclosed, nil},
		{"pkcs8-ed25519", ed, disclosed, nil},
		{"sec1-p256-pem", testkeys.File(t, "p256-sec1.pem"), disclosed, nil},
		{"sec1-p256-der", sec1Block.Bytes, disclosed, nil},
		{"pem-rsa-private-garbage", testkeys.PEM("RSA PRIVATE KEY", garbage), disclosed, nil},
		{"pem-private-garbage", testkeys.PEM("PRIVATE KEY", garbage), disclosed, nil},
		{"pem-encrypted-pkcs8", testkeys.PEM("ENCRYPTED PRIVATE KEY", garbage), disclosed, nil},
		{"pem-dsa-private", testkeys.PEM("DSA PRIVATE KEY", garbage), disclosed, nil},
		{"pem-proc-type-encrypted", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"}, Bytes: atk.PKCS1()}), disclosed, nil},
		{"packed-rsa-e-1", pack(t, uint64(0), []byte{1}, atk.P.Bytes(), atk.Q.Bytes()), disclosed, nil},
		{"packed-rsa-p-equals-q", pack(t, uint64(0), atk.E.Bytes(), atk.P.Bytes(), atk.P.Bytes()), disclosed, nil},

		// A number over its bound: refused before any arithmetic.
		{"too-large/pkcs1-der-prime-250000-bits", testkeys.BigPrime(250_000).PKCS1(), tooLarge, nil},
		{"too-large/pkcs8-der-prime-250000-bits", testkeys.BigPrime(250_000).PKCS8(), tooLarge, nil},
		{"too-large/openssh-raw-prime-250000-bits", clear(victim, testkeys.BigPrime(250_000)).Raw(), tooLarge, nil},
		{"too-large/packed-primes-16000-bits", testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(16_000), Q: testkeys.Odd(16_000)}.Packed(), tooLarge, nil},
		{"too-large/packed-prime-over-bound", testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(attesta.MaxRSAPrimeBits + 1), Q: testkeys.Odd(2048)}.Packed(), tooLarge, nil},
		{"too-large/packed-product-over-bound", testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(attesta.MaxRSAPrimeBits), Q: testkeys.Odd(attesta.MaxRSAPrimeBits)}.Packed(), tooLarge, nil},
		{"too-large/pkcs1-modulus-16385-bits", with(atk, func(r *testkeys.RSAParts) { r.N = testkeys.Odd(attesta.MaxRSABits + 1) }).PKCS1(), tooLarge, nil},
		{"too-large/pkcs1-d-16385-bits", with(atk, func(r *testkeys.RSAParts) { r.D = testkeys.Odd(attesta.MaxRSABits + 1) }).PKCS1(), tooLarge, nil},
		{"too-large/pkcs1-dp-over-bound", with(atk, func(r *testkeys.RSAParts) { r.Dp = testkeys.Odd(attesta.MaxRSAPrimeBits + 1) }).PKCS1(), tooLarge, nil},
		{"too-large/pkcs1-qinv-over-bound", with(atk, func(r *testkeys.RSAParts) { r.Qinv = testkeys.Odd(attesta.MaxRSAPrimeBits + 1) }).PKCS1(), tooLarge, nil},
		{"too-large/pkcs1-pem-prime-100000-bits", testkeys.PEM("RSA PRIVATE KEY", testkeys.BigPrime(100_000).PKCS1()), tooLarge, nil},
		{"too-large/openssh-pem-prime-100000-bits", clear(victim, testkeys.BigPrime(100_000)).PEM(), tooLarge, nil},
		{"too-large/openssh-pem-d-16385-bits", clear(victim, with(atk, func(r *testkeys.RSAParts) { r.D = testkeys.Odd(attesta.MaxRSABits + 1) })).PEM(), tooLarge, nil},

		// Not a private key: ParsePublicKey's answer stands.
		{"packed-public", rsaKey.Public().Pack(), nil, nil},
		{"pem-public", testkeys.File(t, "rsa2048-public.pem"), nil, nil},
		{"junk", []byte("junk"), nil, nil},
		{"empty", nil, nil, nil},
		{"packed-x25519-private-31-bytes", pack(t, uint64(16), make([]byte, 31)), nil, nil},
		{"over-max-key-file-size", cat(attacker.MarshalPEM(), bytes.Repeat([]byte{'\n'}, attesta.MaxKeyFileSize)), nil, nil},
		{"private-pem-after-four-blocks", cat(bytes.Repeat(testkeys.File(t, "rsa2048-public.pem"), 4), attacker.MarshalPEM()), nil, nil},
	}
	for _, c := range []string{"aes256-ctr", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "3des-cbc", "no-such-cipher"} {
		cases = append(cases, disclosureCase{"openssh-forged-encrypted/" + c,
			testkeys.OpenSSH{Cipher: c, KDF: "bcrypt", KDFOptions: testkeys.BcryptOptions(garbage[:16], 1<<32-1), Public: victim, Section: garbage}.PEM(),
			disclosed, nil})
	}
	return cases
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// TestDetectPrivateKey holds the proof rule: a key is banned only when the
// input proves its private half, a container that proves nothing is a
// disclosure that bans nothing, and a number over its bound is refused as
// too large.
func TestDetectPrivateKey(t *testing.T) {
	for _, tc := range disclosureCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proven, err := attesta.DetectPrivateKey(tc.in)
			var got [][]byte
			for _, k := range proven {
				got = append(got, k.Pack())
			}
			assert.Equal(t, tc.proven, got, "proven keys")
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			// Exactly that answer: a disclosure never also matches the
			// reason's sentinel, nor a size refusal a disclosure.
			for _, other := range []error{attesta.ErrBadKey, attesta.ErrUnsupportedKey, attesta.ErrPrivateKeyDisclosed, attesta.ErrKeyTooLarge} {
				if other != tc.want {
					assert.NotErrorIs(t, err, other)
				}
			}
			if len(tc.proven) > 0 {
				assert.Equal(t, attesta.ErrPrivateKeyDisclosed, err, "a proven disclosure is the bare sentinel")
			}
		})
	}
}

// TestDetectPrivateKeyBoundedWork holds the size bounds with the package's
// arithmetic hook: an input with a number over its bound reaches no RSA
// arithmetic at all, and no input brings a number over its bound into
// any. Not parallel: the hook sees the whole package.
func TestDetectPrivateKeyBoundedWork(t *testing.T) {
	cases := disclosureCases(t)
	rec := attesta.RecordRSAArithmetic(t)
	for _, tc := range cases {
		rec.Take()
		_, err := attesta.DetectPrivateKey(tc.in)
		calls := rec.Take()
		if errors.Is(err, attesta.ErrKeyTooLarge) {
			assert.Empty(t, calls, "%s: arithmetic before the refusal", tc.name)
		}
		assert.LessOrEqual(t, len(calls), 4, "%s: more proofs than PEM blocks read", tc.name)
		for _, c := range calls {
			assertWithinBounds(t, tc.name, c)
		}
	}
}

func assertWithinBounds(t *testing.T, name string, c [7]int) {
	t.Helper()
	bounds := [7]int{attesta.MaxRSABits, attesta.MaxRSABits, attesta.MaxRSAPrimeBits, attesta.MaxRSAPrimeBits, attesta.MaxRSAPrimeBits, attesta.MaxRSAPrimeBits, attesta.MaxRSAPrimeBits}
	for i, bits := range c {
		assert.LessOrEqual(t, bits, bounds[i], "%s: number %d of %d bits reached arithmetic", name, i, bits)
	}
}

// TestPrivateKeyParsersRefuseBigNumbers: the client's parsers (packed,
// DER, PEM) refuse the same oversized numbers with ErrKeyTooLarge, before
// any arithmetic and before x509 sees them. Not parallel (the hook).
func TestPrivateKeyParsersRefuseBigNumbers(t *testing.T) {
	atk := testkeys.RSANumbers(t, testkeys.Key(t, attesta.RSA2048, 1))
	big250k := testkeys.BigPrime(250_000)
	tests := []struct {
		name  string
		parse func([]byte) (*attesta.PrivateKey, error)
		in    []byte
	}{
		{"packed/primes-16000-bits", attesta.ParsePrivateKey, testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(16_000), Q: testkeys.Odd(16_000)}.Packed()},
		{"packed/prime-over-bound", attesta.ParsePrivateKey, testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(attesta.MaxRSAPrimeBits + 1), Q: atk.Q}.Packed()},
		{"packed/product-over-bound", attesta.ParsePrivateKey, testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(attesta.MaxRSAPrimeBits), Q: testkeys.Odd(attesta.MaxRSAPrimeBits)}.Packed()},
		{"pkcs1-der/prime-250000-bits", attesta.ParsePrivateKeyDER, big250k.PKCS1()},
		{"pkcs8-der/prime-250000-bits", attesta.ParsePrivateKeyDER, big250k.PKCS8()},
		{"pkcs1-der/modulus-16385-bits", attesta.ParsePrivateKeyDER, testkeys.RSAParts{N: testkeys.Odd(attesta.MaxRSABits + 1), E: atk.E, D: atk.D, P: atk.P, Q: atk.Q, Dp: atk.Dp, Dq: atk.Dq, Qinv: atk.Qinv}.PKCS1()},
		{"pkcs1-pem/prime-100000-bits", attesta.ParsePrivateKeyPEM, testkeys.PEM("RSA PRIVATE KEY", testkeys.BigPrime(100_000).PKCS1())},
		{"pkcs8-pem/prime-100000-bits", attesta.ParsePrivateKeyPEM, testkeys.PEM("PRIVATE KEY", testkeys.BigPrime(100_000).PKCS8())},
	}
	rec := attesta.RecordRSAArithmetic(t)
	for _, tt := range tests {
		rec.Take()
		k, err := tt.parse(tt.in)
		assert.ErrorIs(t, err, attesta.ErrKeyTooLarge, tt.name)
		assert.Nil(t, k, tt.name)
		assert.Empty(t, rec.Take(), "%s: arithmetic before the refusal", tt.name)
	}
	// The bounds are the only thing refusing: a real key of each form
	// reaches arithmetic, within them.
	k := testkeys.Key(t, attesta.RSA4096, 0)
	der, err := k.MarshalPKCS8()
	require.NoError(t, err)
	for _, in := range [][]byte{k.Pack(), der} {
		parse := attesta.ParsePrivateKey
		if bytes.Equal(in, der) {
			parse = attesta.ParsePrivateKeyDER
		}
		_, err := parse(in)
		require.NoError(t, err)
		calls := rec.Take()
		require.NotEmpty(t, calls)
		for _, c := range calls {
			assertWithinBounds(t, "rsa4096", c)
		}
	}
}

// TestPublicKeyParsersRefuseBigModuli: the PKIX and PKCS#1 public-key
// converters refuse a modulus over MaxRSABits (x509 reads it without
// computing), and a foreign curve unread.
func TestPublicKeyParsersRefuseBigModuli(t *testing.T) {
	huge := &rsa.PublicKey{N: testkeys.Odd(250_000), E: attesta.RSAExponent}
	pkix, err := x509.MarshalPKIXPublicKey(huge)
	require.NoError(t, err)
	_, err = attesta.ParsePublicKeyDER(pkix)
	assert.ErrorIs(t, err, attesta.ErrKeyTooLarge)
	_, err = attesta.ParsePublicKeyPEM(testkeys.PEM("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsa.PublicKey{N: testkeys.Odd(100_000), E: attesta.RSAExponent})))
	assert.ErrorIs(t, err, attesta.ErrKeyTooLarge)
	_, err = attesta.ParsePublicKeyDER(make([]byte, attesta.MaxKeyFileSize+1))
	assert.ErrorIs(t, err, attesta.ErrBadKey)
}

// TestOpenSSHReaderAgreesWithSSH: on OpenSSH containers x/crypto/ssh
// accepts, the disclosure check proves the same key; where it refuses the
// private section's numbers, the check proves nothing.
func TestOpenSSHReaderAgreesWithSSH(t *testing.T) {
	atk := testkeys.RSANumbers(t, testkeys.Key(t, attesta.RSA2048, 1))
	for _, in := range [][]byte{
		testkeys.File(t, "rsa2048-openssh.pem"),
		testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: atk, Private: atk}.PEM(),
		testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: atk, Private: testkeys.RSAParts{N: atk.N, E: atk.E, D: new(big.Int).Add(atk.D, big.NewInt(2)), P: atk.P, Q: atk.Q, Qinv: atk.Qinv}}.PEM(),
	} {
		raw, sshErr := ssh.ParseRawPrivateKey(in)
		proven, err := attesta.DetectPrivateKey(in)
		require.ErrorIs(t, err, attesta.ErrPrivateKeyDisclosed)
		if sshErr != nil {
			assert.Empty(t, proven)
			continue
		}
		r := raw.(*rsa.PrivateKey)
		require.Len(t, proven, 1)
		assert.Equal(t, pack(t, uint64(attesta.RSAPublic), big.NewInt(int64(r.E)).Bytes(), r.N.Bytes()), proven[0].Pack())
	}
}

// TestDisclosureTruncations: every truncation of a proving container
// proves nothing and does not panic (crypto/mlkem's TestBadLengths).
func TestDisclosureTruncations(t *testing.T) {
	atk := testkeys.RSANumbers(t, testkeys.Key(t, attesta.RSA2048, 1))
	for name, in := range map[string][]byte{
		"pkcs1":   atk.PKCS1(),
		"pkcs8":   atk.PKCS8(),
		"openssh": testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: atk, Private: atk}.Raw(),
		"packed":  testkeys.Key(t, attesta.RSA2048, 1).Pack(),
	} {
		for i := range in {
			proven, _ := attesta.DetectPrivateKey(in[:i])
			assert.Empty(t, proven, "%s truncated to %d", name, i)
		}
		if !strings.HasPrefix(name, "packed") {
			proven, _ := attesta.DetectPrivateKey(append(bytes.Clone(in), 0))
			assert.Empty(t, proven, "%s with a trailing byte", name)
		}
	}
}
