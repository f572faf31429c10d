package testvectors_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

type packedKeysFile struct {
	Description string            `json:"description"`
	Vectors     []packedKeyVector `json:"vectors"`
}

// packedKeyVector is one packed key, given to the public-key parser
// (parser "public": what the server does with auth_key_request's key) or
// to the private-key parser (parser "private": what a client does with a
// registry's keys).
type packedKeyVector struct {
	vectorBase
	Parser string `json:"parser"`
	Packed Hex    `json:"packed"`
	// For an accepted key: its type code and name, the RSA modulus size,
	// the packed public key (for a private key, its public half) and the
	// key id, SHA-256 of the packed public key in unpadded base64url.
	Type     *int   `json:"type,omitempty"`
	TypeName string `json:"type_name,omitempty"`
	Bits     int    `json:"bits,omitempty"`
	Public   Hex    `json:"public,omitempty"`
	KeyID    string `json:"key_id,omitempty"`
	// For a refused key: the error, and (parser "public") the problem code
	// the server answers auth_key_request with.
	Error       string `json:"error,omitempty"`
	ProblemCode string `json:"problem_code,omitempty"`
	// Bans (parser "public", present exactly when the input is a private
	// key in a form the server recognises, docs/PROTOCOL.md §2.4): the key
	// ids the server bans on it, those whose private half the input
	// proves; empty when it proves none.
	Bans *[]string `json:"bans,omitempty"`
}

// codeOf is the problem code the server answers a refused key with, by
// error (a disclosed private key is private_key_disclosed instead).
var codeOf = map[string]string{
	"attesta.ErrBadKey":         "bad_key",
	"attesta.ErrUnsupportedKey": "unsupported_key",
	"attesta.ErrKeyTooSmall":    "key_too_small",
	"attesta.ErrKeyTooLarge":    "key_too_large",
	"attesta.ErrEvenModulus":    "key_even_modulus",
	"attesta.ErrBadExponent":    "key_bad_exponent",

	"attesta.ErrPrivateKeyDisclosed": "private_key_disclosed",
}

// detectedCode is the problem code and the banned key ids of a refused
// public-parser input that the server's disclosure check recognises; ok
// is false when it does not.
func detectedCode(t *testing.T, packed []byte) (code string, bans []string, ok bool) {
	t.Helper()
	proven, err := attesta.DetectPrivateKey(packed)
	if err == nil {
		return "", nil, false
	}
	bans = []string{}
	for _, k := range proven {
		bans = append(bans, k.ID().String())
	}
	for name, code := range codeOf {
		if exactly(err, name) == nil {
			return code, bans, true
		}
	}
	t.Fatalf("disclosure check answered %v, which no problem code names", err)
	return "", nil, false
}

// packedFields decodes a packed key into its type code and byte fields.
func packedFields(t *testing.T, packed []byte) (uint64, [][]byte) {
	t.Helper()
	var v []any
	if err := cborx.Decode(packed, &v); err != nil {
		t.Fatal(err)
	}
	f := make([][]byte, len(v)-1)
	for i := range f {
		f[i] = v[i+1].([]byte)
	}
	return v[0].(uint64), f
}

// Low-order X25519 points (RFC 7748 §6.1), as little-endian u-coordinates,
// and non-canonical encodings (u ≥ p) of some of them.
var x25519LowOrder = []struct{ id, u, comment string }{
	{"zero", "0000000000000000000000000000000000000000000000000000000000000000", "u = 0, order 4"},
	{"one", "0100000000000000000000000000000000000000000000000000000000000000", "u = 1, order 1"},
	{"order8-a", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", "a point of order 8"},
	{"order8-b", "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", "the other point of order 8"},
	{"p-minus-1", "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = p - 1, order 2"},
	{"p", "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = p, a non-canonical 0"},
	{"p-plus-1", "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "u = p + 1, a non-canonical 1"},
}

func genPackedKeys(t *testing.T) any {
	f := &packedKeysFile{Description: "Packed keys (docs/PROTOCOL.md, Keys): each fixture type in its public and private form with its key id, and keys each parser must refuse with the exact error. Parser \"public\" is what a server applies to auth_key_request's key, and problem_code is its answer; parser \"private\" is what a client applies to a registry's keys. Binary fields are hex."}
	accept := func(parser, id, comment string, packed []byte) {
		t.Helper()
		v := packedKeyVector{vectorBase: vectorBase{id, comment}, Parser: parser, Packed: packed}
		var pub *attesta.PublicKey
		if parser == "public" {
			k, err := attesta.ParsePublicKey(packed)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			pub = k
			v.Type, v.TypeName = new(int(k.Type())), k.Type().String()
		} else {
			k, err := attesta.ParsePrivateKey(packed)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			pub = k.Public()
			v.Type, v.TypeName = new(int(k.Type())), k.Type().String()
			v.Public = pub.Pack()
		}
		if pub.Type() == attesta.RSAPublic {
			_, fs := packedFields(t, pub.Pack())
			v.Bits = new(big.Int).SetBytes(fs[1]).BitLen()
		}
		v.KeyID = pub.ID().String()
		f.Vectors = append(f.Vectors, v)
	}
	refuse := func(parser, id, comment string, packed []byte, want string) {
		t.Helper()
		var err error
		if parser == "public" {
			_, err = attesta.ParsePublicKey(packed)
		} else {
			_, err = attesta.ParsePrivateKey(packed)
		}
		v := packedKeyVector{vectorBase: vectorBase{id, comment}, Parser: parser, Packed: packed, Error: expect(t, id, err, want)}
		if parser == "public" {
			v.ProblemCode = codeOf[want]
			if code, bans, ok := detectedCode(t, packed); ok {
				v.ProblemCode, v.Bans = code, &bans
			}
		}
		f.Vectors = append(f.Vectors, v)
	}

	// The fixtures, public and private.
	for _, alg := range testkeys.Algorithms {
		k := testkeys.Key(t, alg, 0)
		accept("public", string(alg)+"-public", "fixture key "+string(alg)+"-0", k.Public().Pack())
	}
	for _, alg := range testkeys.Algorithms {
		k := testkeys.Key(t, alg, 0)
		accept("private", string(alg)+"-private", "fixture key "+string(alg)+"-0; public is its public half", k.Pack())
	}

	rsaPub := testkeys.Key(t, attesta.RSA2048, 0).Public().Pack()
	_, rf := packedFields(t, rsaPub)
	e, n := rf[0], rf[1]
	xPub := testkeys.Key(t, attesta.X25519, 0).Public().Pack()
	_, xf := packedFields(t, xPub)
	point := xf[0]
	mPub := testkeys.Key(t, attesta.MLKEM768X25519, 0).Public().Pack()
	_, mf := packedFields(t, mPub)
	ek := mf[0]

	// RSA moduli need not be products of primes to be accepted as public
	// keys: the parser checks size and parity only.
	modulus := func(bits int) []byte {
		b := make([]byte, (bits+7)/8)
		rand.Read(b)
		b[0] &= 0xff >> (len(b)*8 - bits)
		b[0] |= 0x80 >> (len(b)*8 - bits)
		b[len(b)-1] |= 1
		return b
	}
	accept("public", "rsa-public-16384-bits", "the largest modulus accepted (a random odd number: a public key's modulus is checked for size and parity only)", arr(t, uint64(1), e, modulus(16384)))
	accept("public", "x25519-public-base-point", "u = 9, the base point, canonical encoding", arr(t, uint64(17), unhex("0900000000000000000000000000000000000000000000000000000000000000")))
	hi := bytes.Clone(point)
	hi[31] |= 0x80
	refuse("public", "x25519-public-high-bit-set", "the fixture x25519-public with bit 255 of the u-coordinate set. X25519 ignores that bit (RFC 7748 §5), so this would be the same key under another key id, and a banned key could come back: refused", arr(t, uint64(17), hi), "attesta.ErrBadKey")
	refuse("public", "x25519-public-base-point-plus-p", "u = 9 + p, a non-canonical encoding of the base point (u must be below p = 2^255 - 19): refused", arr(t, uint64(17), unhex("f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")), "attesta.ErrBadKey")
	mhi := bytes.Clone(ek)
	mhi[len(mhi)-1] |= 0x80
	refuse("public", "mlkem768x25519-public-high-bit-set", "the fixture mlkem768x25519-public with bit 255 of its X25519 part (the last 32 bytes) set: the same point under another key id, refused", arr(t, uint64(19), mhi), "attesta.ErrBadKey")
	sk := testkeys.Key(t, attesta.X25519, 0).Pack()
	_, sf := packedFields(t, sk)
	unclamped := bytes.Clone(sf[0])
	unclamped[0] ^= 0x07
	accept("private", "x25519-private-clamping-bits-changed", "NOTE: x25519-private with the three low bits of the scalar changed, which X25519 clears (RFC 7748 §5): the same key (same public half and key id) under another packed private form. Private keys have no id, so this is harmless, but the private form is not unique.", arr(t, uint64(16), unclamped))

	// Malformed CBOR and wrong shapes.
	refuse("public", "empty", "no bytes", nil, "attesta.ErrBadKey")
	refuse("public", "not-cbor", "the text \"hello\", which is not CBOR", []byte("hello"), "attesta.ErrBadKey")
	refuse("public", "cbor-map", "a map instead of an array: {1: h'010001'}", unhex("a10143010001"), "attesta.ErrBadKey")
	refuse("public", "cbor-text", "a text string", unhex("6568656c6c6f"), "attesta.ErrBadKey")
	refuse("public", "array-one-element", "[17]", arr(t, uint64(17)), "attesta.ErrBadKey")
	refuse("public", "array-five-elements", "[1, e, n, h'01', h'01']", arr(t, uint64(1), e, n, []byte{1}, []byte{1}), "attesta.ErrBadKey")
	refuse("public", "type-code-unknown", "type code 7, which no key type has", arr(t, uint64(7), point), "attesta.ErrUnsupportedKey")
	refuse("public", "type-code-256", "type code 256, beyond one byte", arr(t, uint64(256), point), "attesta.ErrUnsupportedKey")
	refuse("public", "type-code-negative", "type code -1", arr(t, int64(-1), point), "attesta.ErrBadKey")
	refuse("public", "type-code-text", "type code \"17\", a text string", arr(t, "17", point), "attesta.ErrBadKey")
	refuse("public", "field-text", "[17, point as a text string]", arr(t, uint64(17), string(point)), "attesta.ErrBadKey")
	refuse("public", "trailing-byte", "x25519-public followed by one zero byte", cat(xPub, []byte{0}), "attesta.ErrBadKey")
	refuse("public", "two-keys", "x25519-public twice in a row", cat(xPub, xPub), "attesta.ErrBadKey")
	refuse("public", "non-canonical-type-code", "x25519-public with its type code in two bytes (18 11 instead of 11)", cat([]byte{0x82, 0x18, 0x11}, xPub[2:]), "attesta.ErrBadKey")
	refuse("public", "non-canonical-array-length", "x25519-public with its array length in two bytes (98 02 instead of 82)", cat([]byte{0x98, 0x02}, xPub[1:]), "attesta.ErrBadKey")
	refuse("public", "non-canonical-bytes-length", "x25519-public with the point's length in three bytes (59 00 20 instead of 58 20)", cat(xPub[:2], []byte{0x59, 0x00, 0x20}, point), "attesta.ErrBadKey")
	refuse("public", "indefinite-array", "x25519-public as an indefinite-length array (9f ... ff)", cat([]byte{0x9f}, xPub[1:], []byte{0xff}), "attesta.ErrBadKey")
	refuse("public", "indefinite-bytes", "x25519-public with the point as an indefinite-length byte string of two chunks", cat(xPub[:2], []byte{0x5f, 0x50}, point[:16], []byte{0x50}, point[16:], []byte{0xff}), "attesta.ErrBadKey")
	refuse("public", "tagged", "x25519-public under tag 55799 (self-described CBOR)", cat([]byte{0xd9, 0xd9, 0xf7}, xPub), "attesta.ErrBadKey")
	refuse("public", "over-size", "[1, e, n] with a 4088-byte n: 4097 bytes, over the 4096-byte limit on a packed key", arr(t, uint64(1), e, modulus(4088*8)), "attesta.ErrBadKey")

	// Wrong type codes.
	refuse("public", "rsa-fields-as-x25519", "[17, e, n]: RSA fields under the X25519 type code", arr(t, uint64(17), e, n), "attesta.ErrBadKey")
	refuse("public", "x25519-point-as-rsa", "[1, point]: an X25519 point under the RSA type code", arr(t, uint64(1), point), "attesta.ErrBadKey")
	refuse("public", "x25519-point-as-mlkem768x25519", "[19, point]: an X25519 point under the ML-KEM-768+X25519 type code", arr(t, uint64(19), point), "attesta.ErrBadKey")
	refuse("public", "mlkem768x25519-as-x25519", "[17, encapsulation key]: an ML-KEM-768+X25519 key under the X25519 type code", arr(t, uint64(17), ek), "attesta.ErrBadKey")

	// RSA.
	small := testkeys.File(t, "rsa1024-pkcs8.pem")
	blk, _ := pem.Decode(small)
	k1024, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	r1024 := k1024.(*rsa.PrivateKey)
	even := bytes.Clone(n)
	even[len(even)-1] &^= 1
	refuse("public", "rsa-1024", "a real 1024-bit RSA key (fixture rsa1024-pkcs8.pem)", arr(t, uint64(1), e, r1024.N.Bytes()), "attesta.ErrKeyTooSmall")
	refuse("public", "rsa-2047-bits", "an odd 2047-bit modulus, one bit short", arr(t, uint64(1), e, modulus(2047)), "attesta.ErrKeyTooSmall")
	refuse("public", "rsa-16385-bits", "an odd 16385-bit modulus, one bit over", arr(t, uint64(1), e, modulus(16385)), "attesta.ErrKeyTooLarge")
	refuse("public", "rsa-e-3", "rsa2048-public with e = 3", arr(t, uint64(1), []byte{3}, n), "attesta.ErrBadExponent")
	refuse("public", "rsa-e-1", "rsa2048-public with e = 1", arr(t, uint64(1), []byte{1}, n), "attesta.ErrBadExponent")
	refuse("public", "rsa-e-65539", "rsa2048-public with e = 65539", arr(t, uint64(1), []byte{1, 0, 3}, n), "attesta.ErrBadExponent")
	refuse("public", "rsa-e-integer", "rsa2048-public with e as the integer 65537 instead of a byte string", arr(t, uint64(1), uint64(65537), n), "attesta.ErrBadKey")
	refuse("public", "rsa-e-leading-zero", "rsa2048-public with e = h'00010001'", arr(t, uint64(1), []byte{0, 1, 0, 1}, n), "attesta.ErrBadKey")
	refuse("public", "rsa-e-empty", "rsa2048-public with e = h''", arr(t, uint64(1), []byte{}, n), "attesta.ErrBadKey")
	refuse("public", "rsa-n-leading-zero", "rsa2048-public with a zero byte before n", arr(t, uint64(1), e, cat([]byte{0}, n)), "attesta.ErrBadKey")
	refuse("public", "rsa-n-empty", "[1, e, h'']", arr(t, uint64(1), e, []byte{}), "attesta.ErrBadKey")
	refuse("public", "rsa-even-modulus", "rsa2048-public with the low bit of n cleared", arr(t, uint64(1), e, even), "attesta.ErrEvenModulus")
	refuse("public", "rsa-missing-n", "[1, e]", arr(t, uint64(1), e), "attesta.ErrBadKey")
	refuse("public", "rsa-extra-field", "[1, e, n, h'01']", arr(t, uint64(1), e, n, []byte{1}), "attesta.ErrBadKey")
	refuse("public", "rsa-fields-swapped", "[1, n, e]", arr(t, uint64(1), n, e), "attesta.ErrBadExponent")

	// HPKE keys.
	refuse("public", "x25519-31-bytes", "[17, 31 bytes]", arr(t, uint64(17), point[:31]), "attesta.ErrBadKey")
	refuse("public", "x25519-33-bytes", "[17, 33 bytes]", arr(t, uint64(17), cat(point, []byte{0})), "attesta.ErrBadKey")
	for _, lo := range x25519LowOrder {
		refuse("public", "x25519-low-order-"+lo.id, lo.comment+": a low-order point, with which every shared secret is zero", arr(t, uint64(17), unhex(lo.u)), "attesta.ErrBadKey")
	}
	refuse("public", "mlkem768x25519-1215-bytes", "[19, 1215 bytes]", arr(t, uint64(19), ek[:1215]), "attesta.ErrBadKey")
	refuse("public", "mlkem768x25519-1217-bytes", "[19, 1217 bytes]", arr(t, uint64(19), cat(ek, []byte{0})), "attesta.ErrBadKey")
	refuse("public", "mlkem768x25519-low-order-x25519", "mlkem768x25519-public with its X25519 part (the last 32 bytes) replaced by u = 0", arr(t, uint64(19), cat(ek[:1184], make([]byte, 32))), "attesta.ErrBadKey")
	unreduced := bytes.Clone(ek)
	unreduced[0], unreduced[1] = 0xff, 0xff // the first 12-bit coefficient is 4095, not below q = 3329
	refuse("public", "mlkem768x25519-ek-not-reduced", "mlkem768x25519-public with a first ML-KEM coefficient of 4095 (FIPS 203 §7.2 modulus check)", arr(t, uint64(19), unreduced), "attesta.ErrBadKey")

	// Private keys and other key forms sent as a public key: a disclosure.
	for _, alg := range []attesta.Algorithm{attesta.RSA2048, attesta.X25519, attesta.MLKEM768X25519} {
		refuse("public", string(alg)+"-private-as-public", "the packed private key of fixture "+string(alg)+"-1 where a public key is expected: a disclosure, the server bans its public key", testkeys.Key(t, alg, 1).Pack(), "attesta.ErrBadKey")
	}
	refuse("public", "pkcs1-pem-private-as-public", "a PKCS#1 PEM RSA private key (fixture rsa2048-pkcs1.pem) sent as key: a disclosure", testkeys.File(t, "rsa2048-pkcs1.pem"), "attesta.ErrBadKey")
	refuse("public", "openssh-ed25519-private-as-public", "an OpenSSH Ed25519 private key (fixture ed25519-openssh.pem): a disclosure of a foreign type, with nothing to ban", testkeys.File(t, "ed25519-openssh.pem"), "attesta.ErrBadKey")
	pkixBlock, _ := pem.Decode(testkeys.File(t, "rsa2048-public.pem"))
	refuse("public", "pkix-der-public", "an RSA public key in PKIX DER: only the packed form is accepted", pkixBlock.Bytes, "attesta.ErrBadKey")

	// The private-key parser.
	rsk := testkeys.Key(t, attesta.RSA2048, 0).Pack()
	_, pf := packedFields(t, rsk)
	p, q := pf[1], pf[2]
	refuse("private", "rsa-private-primes-increasing", "rsa2048-private with p and q swapped: the larger prime comes first", arr(t, uint64(0), e, q, p), "attesta.ErrBadKey")
	refuse("private", "rsa-private-p-equals-q", "[0, e, p, p]", arr(t, uint64(0), e, p, p), "attesta.ErrBadKey")
	refuse("private", "rsa-private-p-leading-zero", "rsa2048-private with a zero byte before p", arr(t, uint64(0), e, cat([]byte{0}, p), q), "attesta.ErrBadKey")
	refuse("private", "rsa-private-missing-q", "[0, e, p]", arr(t, uint64(0), e, p), "attesta.ErrBadKey")
	refuse("private", "rsa-private-e-integer", "rsa2048-private with e as an integer", arr(t, uint64(0), uint64(65537), p, q), "attesta.ErrBadKey")
	refuse("private", "rsa-private-q-even", "rsa2048-private with q - 1 (even) for q", arr(t, uint64(0), e, p, new(big.Int).Sub(new(big.Int).SetBytes(q), big.NewInt(1)).Bytes()), "attesta.ErrBadKey")
	p1024, q1024 := r1024.Primes[0], r1024.Primes[1]
	if p1024.Cmp(q1024) < 0 {
		p1024, q1024 = q1024, p1024
	}
	refuse("private", "rsa-private-1024", "a real 1024-bit RSA private key (fixture rsa1024-pkcs8.pem)", arr(t, uint64(0), big.NewInt(int64(r1024.E)).Bytes(), p1024.Bytes(), q1024.Bytes()), "attesta.ErrKeyTooSmall")
	three := func(i int) (p, q []byte, invertible bool) {
		_, f := packedFields(t, testkeys.Key(t, attesta.RSA2048, i).Pack())
		pm1 := new(big.Int).Sub(new(big.Int).SetBytes(f[1]), big.NewInt(1))
		qm1 := new(big.Int).Sub(new(big.Int).SetBytes(f[2]), big.NewInt(1))
		phi := new(big.Int).Mul(pm1, qm1)
		return f[1], f[2], new(big.Int).Mod(phi, big.NewInt(3)).Sign() != 0
	}
	found := map[bool]bool{}
	for i := range testkeys.PerAlgorithm {
		p3, q3, inv := three(i)
		if found[inv] {
			continue
		}
		found[inv] = true
		if inv {
			refuse("private", "rsa-private-e-3", "the primes of fixture rsa2048-"+string(rune('0'+i))+" with e = 3 (invertible modulo (p-1)(q-1)): a valid RSA key, refused for its exponent", arr(t, uint64(0), []byte{3}, p3, q3), "attesta.ErrBadExponent")
		} else {
			refuse("private", "rsa-private-e-3-not-invertible", "the primes of fixture rsa2048-"+string(rune('0'+i))+" with e = 3, which divides (p-1)(q-1): not an RSA key", arr(t, uint64(0), []byte{3}, p3, q3), "attesta.ErrBadKey")
		}
	}
	refuse("private", "x25519-private-31-bytes", "[16, 31 bytes]", arr(t, uint64(16), sf[0][:31]), "attesta.ErrBadKey")
	refuse("private", "x25519-private-33-bytes", "[16, 33 bytes]", arr(t, uint64(16), cat(sf[0], []byte{0})), "attesta.ErrBadKey")
	refuse("private", "mlkem768x25519-private-64-bytes", "[18, 64-byte seed]: the seed is 32 bytes", arr(t, uint64(18), cat(sf[0], sf[0])), "attesta.ErrBadKey")
	refuse("private", "public-as-private", "x25519-public given to the private-key parser", xPub, "attesta.ErrBadKey")
	refuse("private", "private-type-code-unknown", "type code 20, which no key type has", arr(t, uint64(20), sf[0]), "attesta.ErrUnsupportedKey")
	refuse("private", "private-trailing-byte", "x25519-private followed by one zero byte", cat(sk, []byte{0}), "attesta.ErrBadKey")
	refuse("private", "private-non-canonical-bytes-length", "x25519-private with the scalar's length in three bytes", cat(sk[:2], []byte{0x59, 0x00, 0x20}, sf[0]), "attesta.ErrBadKey")

	genHostileKeys(t, refuse)
	return f
}

// genHostileKeys adds the inputs of an attacker who knows a victim's
// public key (docs/PROTOCOL.md §2.4): private-key containers the server
// must answer without banning the victim, and numbers too large to
// compute with. The victim is fixture rsa2048-0 (its public key is an
// accepted vector above, and stays accepted), the attacker's own key
// fixture rsa2048-1.
func genHostileKeys(t *testing.T, refuse func(parser, id, comment string, packed []byte, want string)) {
	victim := testkeys.RSANumbers(t, testkeys.Key(t, attesta.RSA2048, 0))
	atk := testkeys.RSANumbers(t, testkeys.Key(t, attesta.RSA2048, 1))
	e := victim.E
	garbage := bytes.Repeat([]byte("hostile!"), 8)
	withN := func(r testkeys.RSAParts, n *big.Int) testkeys.RSAParts { r.N = n; return r }
	clear := func(pub, priv testkeys.RSAParts) testkeys.OpenSSH {
		return testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: pub, Private: priv}
	}
	forged := func(cipher string) testkeys.OpenSSH {
		return testkeys.OpenSSH{Cipher: cipher, KDF: "bcrypt", KDFOptions: testkeys.BcryptOptions(garbage[:16], 1<<32-1), Public: victim, Section: garbage}
	}

	// Containers that prove nothing: a disclosure, and no ban.
	refuse("public", "openssh-forged-encrypted-aes256-ctr", "an encrypted OpenSSH container (aes256-ctr, bcrypt with 2^32-1 rounds) with the public key of fixture rsa2048-0 in clear and 64 bytes of garbage for a private section: anyone can write it, so it bans nothing; the server never decrypts (it has no passphrase) and runs no KDF", forged("aes256-ctr").Raw(), "attesta.ErrBadKey")
	refuse("public", "openssh-forged-encrypted-unknown-cipher", "the same container under a cipher no one implements, in PEM: bans nothing", forged("no-such-cipher").PEM(), "attesta.ErrBadKey")
	refuse("public", "openssh-encrypted-real-key", "a real encrypted OpenSSH key (fixture rsa2048-openssh-encrypted.pem): the server cannot open it, so it proves nothing and bans nothing", testkeys.File(t, "rsa2048-openssh-encrypted.pem"), "attesta.ErrBadKey")
	refuse("public", "openssh-clear-public-of-victim", "an unencrypted OpenSSH container whose public part in clear is fixture rsa2048-0 and whose private section is fixture rsa2048-1: the key banned is the one computed from the private section (rsa2048-1), never the public part", clear(victim, atk).Raw(), "attesta.ErrBadKey")
	refuse("public", "openssh-clear-modulus-not-pq", "an unencrypted OpenSSH container whose private section has the modulus of fixture rsa2048-0 and the other numbers of rsa2048-1: n is not p·q, the key does not validate, nothing is banned", clear(victim, withN(atk, victim.N)).Raw(), "attesta.ErrBadKey")
	refuse("public", "pkcs1-der-modulus-not-pq", "a PKCS#1 RSAPrivateKey with the modulus of fixture rsa2048-0 and the other numbers of rsa2048-1: nothing is banned", withN(atk, victim.N).PKCS1(), "attesta.ErrBadKey")
	refuse("public", "pem-private-garbage", "a PEM \"RSA PRIVATE KEY\" block of garbage: a disclosure of nothing, nothing banned", testkeys.PEM("RSA PRIVATE KEY", garbage), "attesta.ErrBadKey")
	refuse("public", "pem-forged-beside-real", "two PEM blocks: the forged PKCS#1 key of pkcs1-der-modulus-not-pq, then the real PKCS#8 key of fixture rsa2048-1: only rsa2048-1 is banned", cat(testkeys.PEM("RSA PRIVATE KEY", withN(atk, victim.N).PKCS1()), testkeys.Key(t, attesta.RSA2048, 1).MarshalPEM()), "attesta.ErrBadKey")

	// Numbers over their bounds: refused before any arithmetic, no ban.
	bigP := testkeys.BigPrime(16384)
	refuse("public", "pkcs1-der-prime-16384-bits", "a PKCS#1 RSAPrivateKey with n = 3, d = 1, a 16384-bit p (over the 8256-bit bound on a prime) and q = 3: refused as too large before any arithmetic (crypto/rsa would spend seconds on it), nothing banned", bigP.PKCS1(), "attesta.ErrBadKey")
	refuse("public", "pkcs8-der-prime-16384-bits", "the key of pkcs1-der-prime-16384-bits in PKCS#8", bigP.PKCS8(), "attesta.ErrBadKey")
	refuse("public", "openssh-prime-16384-bits", "the numbers of pkcs1-der-prime-16384-bits in an unencrypted OpenSSH container", clear(victim, bigP).Raw(), "attesta.ErrBadKey")
	p16000 := testkeys.RSAParts{E: e, P: testkeys.Odd(16000), Q: testkeys.Odd(16000)}.Packed()
	refuse("public", "rsa-private-primes-16000-bits-as-public", "a packed private key [0, e, p, q] with two 16000-bit odd numbers for primes: too large, refused before any arithmetic", p16000, "attesta.ErrBadKey")
	refuse("private", "rsa-private-primes-16000-bits", "the key of rsa-private-primes-16000-bits-as-public given to the private-key parser", p16000, "attesta.ErrKeyTooLarge")
	over := testkeys.RSAParts{E: e, P: testkeys.Odd(attesta.MaxRSAPrimeBits + 1), Q: testkeys.Odd(attesta.MaxRSABits - attesta.MaxRSAPrimeBits - 2)}.Packed()
	refuse("private", "rsa-private-prime-8257-bits", "a packed private key whose p has 8257 bits, one over the bound, and q 8126 bits (so that n would fit in 16384 bits): too large", over, "attesta.ErrKeyTooLarge")
	fake := testkeys.FakeRSA(attesta.MaxRSAPrimeBits, attesta.MaxRSABits-attesta.MaxRSAPrimeBits)
	refuse("public", "rsa-private-at-bounds-as-public", "a packed private key with an 8256-bit p and an 8128-bit q (the largest allowed), odd numbers that are not prime but satisfy every identity of an RSA key: it factors its modulus, which is the proof, so that modulus is banned (primality is not checked, as crypto/rsa does not)", fake.Packed(), "attesta.ErrBadKey")
}

func TestPackedKeys(t *testing.T) {
	var f packedKeysFile
	loadFile(t, "packed_keys.json", &f)
	srv := newStack(t, attesta.Config{}, generousLimits)
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			var (
				pub *attesta.PublicKey
				typ attesta.KeyType
			)
			switch v.Parser {
			case "public":
				k, err := attesta.ParsePublicKey(v.Packed)
				checkError(t, err, v.Error)
				if err != nil {
					if k != nil {
						t.Fatal("a refused key returned a value")
					}
					// The disclosure check finds exactly the vector's bans.
					proven, derr := attesta.DetectPrivateKey(v.Packed)
					if (derr != nil) != (v.Bans != nil) {
						t.Fatalf("disclosure check %v, bans %v", derr, v.Bans)
					}
					if v.Bans != nil {
						var ids []string
						for _, k := range proven {
							ids = append(ids, k.ID().String())
						}
						if strings.Join(ids, " ") != strings.Join(*v.Bans, " ") {
							t.Fatalf("disclosure check proves %v, the vector bans %v", ids, *v.Bans)
						}
					}
					// The server answers the same key with the vector's code,
					// and bans what the vector says.
					rec := srv.postJSON(t, http.MethodPost, "/v1/auth_key_request", "", transport.AuthKeyRequestBody{Key: transport.B64(v.Packed), AppToken: srv.app})
					if got := problemCode(t, rec); got != v.ProblemCode || got == "" {
						t.Fatalf("server answered %q, want %q", got, v.ProblemCode)
					}
					for _, k := range proven {
						if _, err := attesta.ParsePublicKey(k.Pack()); err != nil {
							continue // too small to be accepted anyway
						}
						rec := srv.postJSON(t, http.MethodPost, "/v1/auth_key_request", "", transport.AuthKeyRequestBody{Key: transport.B64(k.Pack()), AppToken: srv.app})
						if got := problemCode(t, rec); got != "key_banned" {
							t.Fatalf("the proven key %s answers %q after the disclosure, want key_banned", k.ID(), got)
						}
					}
					return
				}
				pub, typ = k, k.Type()
				if !bytes.Equal(k.Pack(), v.Packed) {
					t.Fatal("the key does not re-encode to the same bytes")
				}
				rec := srv.postJSON(t, http.MethodPost, "/v1/auth_key_request", "", transport.AuthKeyRequestBody{Key: transport.B64(v.Packed), AppToken: srv.app})
				if rec.Code != http.StatusOK {
					t.Fatalf("server answered %d %s", rec.Code, rec.Body)
				}
				if v.Public != nil {
					t.Fatal("a public key vector has a public field")
				}
			case "private":
				k, err := attesta.ParsePrivateKey(v.Packed)
				checkError(t, err, v.Error)
				if v.ProblemCode != "" || v.Bans != nil {
					t.Fatal("a private-parser vector has a problem code or bans")
				}
				if err != nil {
					if k != nil {
						t.Fatal("a refused key returned a value")
					}
					return
				}
				if !bytes.Equal(k.Pack(), v.Packed) {
					t.Fatal("the key does not re-encode to the same bytes")
				}
				pub, typ = k.Public(), k.Type()
				if !bytes.Equal(pub.Pack(), v.Public) {
					t.Fatal("public half differs")
				}
				if _, err := attesta.ParsePublicKey(v.Public); err != nil {
					t.Fatalf("public half: %v", err)
				}
			default:
				t.Fatalf("unknown parser %q", v.Parser)
			}
			// An accepted key: type, size and id.
			if v.ProblemCode != "" || v.Bans != nil {
				t.Fatal("an accepted key has a problem code or bans")
			}
			if v.Type == nil || int(typ) != *v.Type || v.TypeName != typ.String() || typ.IsPrivate() != (v.Parser == "private") {
				t.Fatalf("type %v %q, the key is %d %v", v.Type, v.TypeName, typ, typ)
			}
			if pub.Type() == attesta.RSAPublic {
				_, fs := packedFields(t, pub.Pack())
				if got := new(big.Int).SetBytes(fs[1]).BitLen(); got != v.Bits {
					t.Fatalf("modulus of %d bits, want %d", got, v.Bits)
				}
			} else if v.Bits != 0 {
				t.Fatal("bits on a key that is not RSA")
			}
			sum := sha256.Sum256(pub.Pack())
			if want := base64.RawURLEncoding.EncodeToString(sum[:]); v.KeyID != want || pub.ID().String() != want {
				t.Fatalf("key id %s, SHA-256 of the packed public key is %s", v.KeyID, want)
			}
			id, err := attesta.ParseKeyID(v.KeyID)
			if err != nil || id != pub.ID() {
				t.Fatalf("ParseKeyID: %v", err)
			}
		})
	}
}
