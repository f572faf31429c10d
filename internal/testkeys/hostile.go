package testkeys

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
)

// Hostile keys: the numbers an attacker can put into a private-key
// container (any size, consistent or not) and the containers themselves,
// written without crypto/x509 or x/crypto/ssh, which refuse to write what
// they would not read (and precompute with what they are given). For the
// tests, vectors, fuzz seeds and benchmarks of the disclosure check.

// RSAParts are the numbers of an RSA private key as a container holds
// them. A nil field is written as zero.
type RSAParts struct {
	N, E, D, P, Q, Dp, Dq, Qinv *big.Int
}

// RSANumbers returns the numbers of a real RSA key.
func RSANumbers(tb testing.TB, k *attesta.PrivateKey) RSAParts {
	tb.Helper()
	der, err := k.MarshalPKCS8()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		tb.Fatal(err)
	}
	r := raw.(*rsa.PrivateKey)
	return RSAParts{
		N: r.N, E: big.NewInt(int64(r.E)), D: r.D, P: r.Primes[0], Q: r.Primes[1],
		Dp: r.Precomputed.Dp, Dq: r.Precomputed.Dq, Qinv: r.Precomputed.Qinv,
	}
}

// Odd returns a random odd number of exactly bits bits, from crypto/rand
// (deterministic under testing/cryptotest.SetGlobalRandom).
func Odd(bits int) *big.Int {
	b := make([]byte, (bits+7)/8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[0] &= 0xff >> (len(b)*8 - bits)
	b[0] |= 0x80 >> (len(b)*8 - bits)
	b[len(b)-1] |= 1
	return new(big.Int).SetBytes(b)
}

// FakeRSA returns a key that satisfies every identity an RSA key
// satisfies (n = p·q, d·e ≡ 1 mod p−1 and q−1, the CRT values) with random
// odd numbers of pBits > qBits bits for primes, e = 65537: what an
// attacker makes in microseconds, and what a server must not spend
// seconds on. It is not a key anyone can use (p and q are not prime).
func FakeRSA(pBits, qBits int) RSAParts {
	one, e := big.NewInt(1), big.NewInt(65537)
	for {
		p, q := Odd(pBits), Odd(qBits)
		pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		d := new(big.Int).ModInverse(e, new(big.Int).Mul(pm1, qm1))
		qInv := new(big.Int).ModInverse(q, p)
		if d == nil || qInv == nil || p.Cmp(q) <= 0 {
			continue
		}
		return RSAParts{
			N: new(big.Int).Mul(p, q), E: e, D: d, P: p, Q: q,
			Dp: new(big.Int).Mod(d, pm1), Dq: new(big.Int).Mod(d, qm1), Qinv: qInv,
		}
	}
}

// BigPrime returns the shape of finding 2 of issue 14: n = 3, d = 1 and
// a prime p of bits bits, the CRT values 1: a few kilobytes that cost
// crypto/rsa seconds to hours.
func BigPrime(bits int) RSAParts {
	one := big.NewInt(1)
	return RSAParts{N: big.NewInt(3), E: big.NewInt(65537), D: one, P: Odd(bits), Q: big.NewInt(3), Dp: one, Dq: one, Qinv: one}
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

// PKCS1 is the RSAPrivateKey DER (RFC 8017 §A.1.2), version 0.
func (r RSAParts) PKCS1() []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		for _, x := range []*big.Int{r.N, r.E, r.D, r.P, r.Q, r.Dp, r.Dq, r.Qinv} {
			b.AddASN1BigInt(orZero(x))
		}
	})
	return b.BytesOrPanic()
}

// PKCS8 is the PrivateKeyInfo DER (RFC 5208) of r's PKCS1 form.
func (r RSAParts) PKCS8() []byte { return r.pkcs8(0, nil) }

// PKCS8WithPublic is the OneAsymmetricKey DER (RFC 5958, version 1) of
// r's PKCS1 form with public (any bytes, a victim's PKIX key say) in its
// publicKey field.
func (r RSAParts) PKCS8WithPublic(public []byte) []byte { return r.pkcs8(1, public) }

func (r RSAParts) pkcs8(version int64, public []byte) []byte {
	inner := r.PKCS1()
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(version)
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier([]int{1, 2, 840, 113549, 1, 1, 1})
			b.AddASN1NULL()
		})
		b.AddASN1OctetString(inner)
		if public != nil {
			b.AddASN1(asn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddUint8(0) // no unused bits
				b.AddBytes(public)
			})
		}
	})
	return b.BytesOrPanic()
}

// Packed is the packed private form [0, e, p, q], p and q as given.
func (r RSAParts) Packed() []byte {
	b, err := cborx.Marshal([]any{uint64(attesta.RSAPrivate), orZero(r.E).Bytes(), orZero(r.P).Bytes(), orZero(r.Q).Bytes()})
	if err != nil {
		panic(err)
	}
	return b
}

// PKCS8Of is a PrivateKeyInfo DER (RFC 5208) of the algorithm oid (no
// parameters) holding inner.
func PKCS8Of(oid []int, inner []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
		})
		b.AddASN1OctetString(inner)
	})
	return b.BytesOrPanic()
}

// PEM wraps der in a PEM block of the given type.
func PEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// OpenSSH is an openssh-key-v1 container (OpenSSH's PROTOCOL.key) with
// one RSA key.
type OpenSSH struct {
	Cipher, KDF string // "none" for a clear container
	KDFOptions  []byte // see BcryptOptions
	// Public is the key written in clear (its N and E).
	Public RSAParts
	// Private is the key of a clear private section (Cipher "none").
	Private RSAParts
	// Section, when not nil, is the private section as written (for an
	// encrypted container, what it claims is ciphertext).
	Section []byte
}

// BcryptOptions are the kdfoptions of OpenSSH's "bcrypt" KDF.
func BcryptOptions(salt []byte, rounds uint32) []byte {
	return cat(sshString(salt), binary.BigEndian.AppendUint32(nil, rounds))
}

// PrivateSection is the clear private section of Private: check ints,
// the key, a comment and the padding.
func (o OpenSSH) PrivateSection() []byte {
	r := o.Private
	section := cat([]byte{1, 2, 3, 4, 1, 2, 3, 4}, sshString([]byte("ssh-rsa")),
		mpint(r.N), mpint(r.E), mpint(r.D), mpint(r.Qinv), mpint(r.P), mpint(r.Q), sshString([]byte("hostile")))
	for i := byte(1); len(section)%8 != 0; i++ {
		section = append(section, i)
	}
	return section
}

// Raw is the binary container.
func (o OpenSSH) Raw() []byte {
	pub := cat(sshString([]byte("ssh-rsa")), mpint(o.Public.E), mpint(o.Public.N))
	section := o.Section
	if section == nil {
		section = o.PrivateSection()
	}
	return cat([]byte("openssh-key-v1\x00"), sshString([]byte(o.Cipher)), sshString([]byte(o.KDF)), sshString(o.KDFOptions),
		binary.BigEndian.AppendUint32(nil, 1), sshString(pub), sshString(section))
}

// PEM is the container in an "OPENSSH PRIVATE KEY" block.
func (o OpenSSH) PEM() []byte { return PEM("OPENSSH PRIVATE KEY", o.Raw()) }

func sshString(b []byte) []byte { return cat(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b) }

// mpint is the RFC 4251 §5 encoding of a non-negative x.
func mpint(x *big.Int) []byte {
	b := orZero(x).Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return sshString(b)
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// KeyInput is one named input sent where a public key is expected.
type KeyInput struct {
	Name string
	In   []byte
}

// WorstKeyInputs are the most expensive inputs for the server's key work
// of one auth_key_request (ParsePublicKey, then DetectPrivateKey if it
// fails, then the token's encryption if it parsed) that fit in
// MaxKeyFileSize, by kind. Numbers at their bounds in a consistent key
// make the disclosure proof do all its work; PEM packs as many such blocks
// as fit. BenchmarkWorstKeyInput (attesta) and BenchmarkWorstRequest
// (transport) both run them.
func WorstKeyInputs(tb testing.TB) []KeyInput {
	fake := FakeRSA(attesta.MaxRSAPrimeBits, attesta.MaxRSABits-attesta.MaxRSAPrimeBits)
	victim := RSANumbers(tb, Key(tb, attesta.RSA2048, 0))
	var pemMax []byte
	for _, bits := range [][2]int{{attesta.MaxRSAPrimeBits, attesta.MaxRSABits - attesta.MaxRSAPrimeBits}, {attesta.MaxRSAPrimeBits, attesta.MaxRSABits - attesta.MaxRSAPrimeBits}, {4096, 4095}, {2048, 2047}, {1024, 1023}} {
		blk := PEM("RSA PRIVATE KEY", FakeRSA(bits[0], bits[1]).PKCS1())
		if len(pemMax)+len(blk) <= attesta.MaxKeyFileSize && bytes.Count(pemMax, []byte("-----BEGIN")) < 4 {
			pemMax = append(pemMax, blk...)
		}
	}
	junk := bytes.Repeat([]byte("-----BEGIN RSA PRIVATE KEY-----\n"), attesta.MaxKeyFileSize/32)
	rsa16384, err := cborx.Marshal([]any{uint64(attesta.RSAPublic), []byte{1, 0, 1}, Odd(attesta.MaxRSABits).Bytes()})
	if err != nil {
		tb.Fatal(err)
	}
	return []KeyInput{
		{"public/rsa16384", rsa16384},
		{"public/x25519", Key(tb, attesta.X25519, 0).Public().Pack()},
		{"public/mlkem768x25519", Key(tb, attesta.MLKEM768X25519, 0).Public().Pack()},
		{"disclosed/packed-rsa-at-bounds", fake.Packed()},
		{"disclosed/pkcs1-der-at-bounds", fake.PKCS1()},
		{"disclosed/pkcs8-der-at-bounds", fake.PKCS8()},
		{"disclosed/openssh-at-bounds", OpenSSH{Cipher: "none", KDF: "none", Public: fake, Private: fake}.Raw()},
		{"disclosed/pem-blocks-at-bounds", pemMax},
		{"disclosed/packed-mlkem768x25519", Key(tb, attesta.MLKEM768X25519, 0).Pack()},
		{"disclosed/pkcs8-x25519", Key(tb, attesta.X25519, 0).MarshalPEM()},
		{"unproven/openssh-forged-encrypted", OpenSSH{Cipher: "aes256-ctr", KDF: "bcrypt", KDFOptions: BcryptOptions(make([]byte, 16), 1<<32-1), Public: victim, Section: make([]byte, 64)}.PEM()},
		{"too-large/pkcs1-der-prime-250000-bits", BigPrime(250_000).PKCS1()},
		{"too-large/openssh-prime-250000-bits", OpenSSH{Cipher: "none", KDF: "none", Public: victim, Private: BigPrime(250_000)}.Raw()},
		{"junk/pem-headers-32KiB", junk},
	}
}
