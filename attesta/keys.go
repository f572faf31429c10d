package attesta

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/rnd"
)

// KeyType is the type code, the first element of a packed key.
//
// Codes 0 and 1 are the Universa/Attesta RSA forms; the HPKE types follow the
// same rule, even for private and odd for public.
type KeyType uint8

const (
	RSAPrivate            KeyType = 0  // [0, e, p, q]
	RSAPublic             KeyType = 1  // [1, e, n]
	X25519Private         KeyType = 16 // [16, scalar (32 bytes)]
	X25519Public          KeyType = 17 // [17, point (32 bytes)]
	MLKEM768X25519Private KeyType = 18 // [18, seed (32 bytes)]
	MLKEM768X25519Public  KeyType = 19 // [19, encapsulation key (1216 bytes)]
)

func (t KeyType) String() string {
	switch t {
	case RSAPrivate:
		return "rsa-private"
	case RSAPublic:
		return "rsa-public"
	case X25519Private:
		return "x25519-private"
	case X25519Public:
		return "x25519-public"
	case MLKEM768X25519Private:
		return "mlkem768x25519-private"
	case MLKEM768X25519Public:
		return "mlkem768x25519-public"
	}
	return fmt.Sprintf("keytype(%d)", uint8(t))
}

// IsPrivate reports whether t is a private key type.
func (t KeyType) IsPrivate() bool { return t%2 == 0 }

// Limits on packed keys.
const (
	// MinRSABits and MaxRSABits bound the RSA modulus accepted by the
	// protocol. Below 2048 bits RSA is not a safe long-term credential;
	// above 16384 bits a key is a denial-of-service lever (the server's
	// encryption cost grows with the square of the size).
	MinRSABits = 2048
	MaxRSABits = 16384
	// RSAExponent is the only public exponent accepted.
	RSAExponent = 65537
	// MaxPackedKeySize bounds the bytes ParsePublicKey and ParsePrivateKey
	// read: a 16384-bit private key packs to about 2 KiB.
	MaxPackedKeySize = 4096

	x25519Size        = 32
	mlkem768x25519Pub = 1216
	mlkem768x25519Sk  = 32
)

// TokenLabel is the RSA-OAEP label and the HPKE info string under which the
// server encrypts a challenge token. It binds the ciphertext to this
// protocol and this use.
const TokenLabel = "attesta/v1 auth_key_request"

// KeyID is SHA-256 of a packed public key.
type KeyID [32]byte

// String is the unpadded base64url form of the id.
func (id KeyID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// ParseKeyID parses the unpadded base64url form of a key id.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	// Length first: the decoder skips '\r' and '\n' (see ParsePartyID).
	if len(s) != base64.RawURLEncoding.EncodedLen(len(id)) {
		return KeyID{}, fmt.Errorf("%w: key id", ErrBadKey)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != len(id) {
		return KeyID{}, fmt.Errorf("%w: key id", ErrBadKey)
	}
	copy(id[:], b)
	return id, nil
}

// PublicKey is a vetted public key of one of the accepted types. It is
// immutable and safe for concurrent use.
type PublicKey struct {
	typ    KeyType
	rsa    *rsa.PublicKey
	hpke   hpke.PublicKey
	packed []byte
	id     KeyID
}

// Type is the key's packed type code.
func (k *PublicKey) Type() KeyType { return k.typ }

// Pack returns the packed (CBOR) form of the key.
func (k *PublicKey) Pack() []byte { return bytes.Clone(k.packed) }

// ID returns the key id, SHA-256 of the packed form.
func (k *PublicKey) ID() KeyID { return k.id }

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool { return o != nil && bytes.Equal(k.packed, o.packed) }

// EncryptToken encrypts a challenge token to k: RSA-OAEP with SHA-256 (MGF1
// SHA-256) and label TokenLabel, or HPKE base mode with HKDF-SHA256 and
// ChaCha20-Poly1305, info TokenLabel, as enc || ciphertext.
func (k *PublicKey) EncryptToken(token []byte) ([]byte, error) {
	if k.rsa != nil {
		return rsa.EncryptOAEP(sha256.New(), rnd.Reader, k.rsa, token, []byte(TokenLabel))
	}
	return hpke.Seal(k.hpke, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte(TokenLabel), token)
}

// PrivateKey is a private key of one of the accepted types. Its secret
// material is reachable only through Pack and the PEM/DER converters.
type PrivateKey struct {
	typ    KeyType
	rsa    *rsa.PrivateKey
	x25519 *ecdh.PrivateKey
	hpke   hpke.PrivateKey
	seed   []byte // MLKEM768X25519 seed
	pub    *PublicKey
}

// Type is the key's packed (private) type code.
func (k *PrivateKey) Type() KeyType { return k.typ }

// Public returns the key's public half.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// Pack returns the packed private form. It is secret.
func (k *PrivateKey) Pack() []byte {
	var v []any
	switch k.typ {
	case RSAPrivate:
		p, q := k.rsa.Primes[0], k.rsa.Primes[1]
		if p.Cmp(q) < 0 {
			p, q = q, p
		}
		v = []any{uint64(RSAPrivate), big.NewInt(int64(k.rsa.E)).Bytes(), p.Bytes(), q.Bytes()}
	case X25519Private:
		v = []any{uint64(X25519Private), k.x25519.Bytes()}
	case MLKEM768X25519Private:
		v = []any{uint64(MLKEM768X25519Private), k.seed}
	}
	b, err := cborx.Marshal(v)
	if err != nil {
		panic("attesta: packing a private key: " + err.Error())
	}
	return b
}

// DecryptToken decrypts a challenge token encrypted by EncryptToken to this
// key's public half.
func (k *PrivateKey) DecryptToken(ct []byte) ([]byte, error) {
	var (
		pt  []byte
		err error
	)
	if k.rsa != nil {
		pt, err = rsa.DecryptOAEP(sha256.New(), nil, k.rsa, ct, []byte(TokenLabel))
	} else {
		pt, err = hpke.Open(k.hpke, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), []byte(TokenLabel), ct)
	}
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// Algorithm names a kind of key to generate.
type Algorithm string

const (
	RSA2048        Algorithm = "rsa2048"
	RSA3072        Algorithm = "rsa3072"
	RSA4096        Algorithm = "rsa4096"
	X25519         Algorithm = "x25519"
	MLKEM768X25519 Algorithm = "mlkem768x25519"
)

// Algorithms lists every algorithm GenerateKey accepts, recommended first.
var Algorithms = []Algorithm{RSA4096, RSA3072, RSA2048, X25519, MLKEM768X25519}

// GenerateKey makes a new private key. RSA-4096 takes around a second.
func GenerateKey(alg Algorithm) (*PrivateKey, error) {
	switch alg {
	case RSA2048, RSA3072, RSA4096:
		bits := map[Algorithm]int{RSA2048: 2048, RSA3072: 3072, RSA4096: 4096}[alg]
		k, err := rsa.GenerateKey(rnd.Reader, bits)
		if err != nil {
			return nil, err
		}
		return newRSAPrivateKey(k)
	case X25519:
		k, err := ecdh.X25519().GenerateKey(rnd.Reader)
		if err != nil {
			return nil, err
		}
		return newX25519PrivateKey(k)
	case MLKEM768X25519:
		return newMLKEMPrivateKey(rnd.Bytes(mlkem768x25519Sk))
	}
	return nil, fmt.Errorf("%w: algorithm %q", ErrUnsupportedKey, alg)
}

// ParsePublicKey parses and vets a packed public key: the encoding must be
// canonical, RSA keys must have a 2048-16384-bit odd modulus and exponent
// 65537, HPKE keys must have their exact lengths. A private key is refused
// with ErrBadKey here; the server's disclosure check is separate.
func ParsePublicKey(packed []byte) (*PublicKey, error) {
	typ, f, err := decodePacked(packed)
	if err != nil {
		return nil, err
	}
	switch typ {
	case RSAPublic:
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: rsa public key needs [1, e, n]", ErrBadKey)
		}
		e, err := magnitude(f[0])
		if err != nil {
			return nil, err
		}
		n, err := magnitude(f[1])
		if err != nil {
			return nil, err
		}
		return newRSAPublicKey(n, e)
	case X25519Public:
		if len(f) != 1 || len(f[0]) != x25519Size {
			return nil, fmt.Errorf("%w: x25519 public key needs 32 bytes", ErrBadKey)
		}
		pk, err := x25519Point(f[0])
		if err != nil {
			return nil, err
		}
		return newHPKEPublicKey(X25519Public, pk.Bytes(), func() (hpke.PublicKey, error) { return hpke.NewDHKEMPublicKey(pk) })
	case MLKEM768X25519Public:
		if len(f) != 1 || len(f[0]) != mlkem768x25519Pub {
			return nil, fmt.Errorf("%w: mlkem768x25519 public key needs 1216 bytes", ErrBadKey)
		}
		if _, err := x25519Point(f[0][mlkem768x25519Pub-x25519Size:]); err != nil {
			return nil, err
		}
		return newHPKEPublicKey(MLKEM768X25519Public, f[0], func() (hpke.PublicKey, error) { return hpke.MLKEM768X25519().NewPublicKey(f[0]) })
	case RSAPrivate, X25519Private, MLKEM768X25519Private:
		return nil, fmt.Errorf("%w: a private key where a public key is expected", ErrBadKey)
	}
	return nil, fmt.Errorf("%w: type code %d", ErrUnsupportedKey, typ)
}

// ParsePrivateKey parses a packed private key. RSA private keys are
// validated (n = p·q, consistent exponents) and must meet the same size and
// exponent rules as public ones.
func ParsePrivateKey(packed []byte) (*PrivateKey, error) {
	k, err := parsePackedPrivate(packed)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(k.Pack(), packed) {
		return nil, fmt.Errorf("%w: rsa primes must be in decreasing order", ErrBadKey)
	}
	if err := vetPrivate(k); err != nil {
		return nil, err
	}
	return k, nil
}

// parsePackedPrivate parses a packed private key without the protocol's
// size policy, so that the disclosure check can ban any RSA key.
func parsePackedPrivate(packed []byte) (*PrivateKey, error) {
	typ, f, err := decodePacked(packed)
	if err != nil {
		return nil, err
	}
	switch typ {
	case RSAPrivate:
		if len(f) != 3 {
			return nil, fmt.Errorf("%w: rsa private key needs [0, e, p, q]", ErrBadKey)
		}
		var m [3]*big.Int
		for i := range f {
			if m[i], err = bigMagnitude(f[i]); err != nil {
				return nil, err
			}
		}
		if !m[0].IsInt64() || m[0].Int64() > 1<<31-1 || m[0].Int64() < 3 {
			return nil, ErrBadExponent
		}
		return rsaFromPrimes(int(m[0].Int64()), m[1], m[2])
	case X25519Private:
		if len(f) != 1 || len(f[0]) != x25519Size {
			return nil, fmt.Errorf("%w: x25519 private key needs 32 bytes", ErrBadKey)
		}
		k, err := ecdh.X25519().NewPrivateKey(f[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		return newX25519PrivateKey(k)
	case MLKEM768X25519Private:
		if len(f) != 1 || len(f[0]) != mlkem768x25519Sk {
			return nil, fmt.Errorf("%w: mlkem768x25519 private key needs a 32-byte seed", ErrBadKey)
		}
		return newMLKEMPrivateKey(f[0])
	case RSAPublic, X25519Public, MLKEM768X25519Public:
		return nil, fmt.Errorf("%w: a public key where a private key is expected", ErrBadKey)
	}
	return nil, fmt.Errorf("%w: type code %d", ErrUnsupportedKey, typ)
}

// decodePacked checks the outer form shared by all packed keys: a canonical
// CBOR array of 2 to 4 elements, an unsigned type code, then byte strings.
func decodePacked(packed []byte) (KeyType, [][]byte, error) {
	if len(packed) > MaxPackedKeySize {
		return 0, nil, fmt.Errorf("%w: packed key over %d bytes", ErrBadKey, MaxPackedKeySize)
	}
	var v []any
	if err := cborx.Decode(packed, &v); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	if len(v) < 2 || len(v) > 4 {
		return 0, nil, fmt.Errorf("%w: packed key must be an array of 2 to 4 elements", ErrBadKey)
	}
	code, ok := v[0].(uint64)
	if !ok {
		return 0, nil, fmt.Errorf("%w: type code must be an unsigned integer", ErrBadKey)
	}
	if code > 255 {
		return 0, nil, fmt.Errorf("%w: type code %d", ErrUnsupportedKey, code)
	}
	fields := make([][]byte, len(v)-1)
	for i, x := range v[1:] {
		b, ok := x.([]byte)
		if !ok {
			return 0, nil, fmt.Errorf("%w: field %d must be a byte string", ErrBadKey, i+1)
		}
		fields[i] = b
	}
	return KeyType(code), fields, nil
}

// x25519P is the field prime of Curve25519, 2^255 - 19.
var x25519P = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

func reversed(b []byte) []byte {
	r := make([]byte, len(b))
	for i, c := range b {
		r[len(b)-1-i] = c
	}
	return r
}

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

// magnitude checks an unsigned big-endian magnitude: not empty, no leading
// zero byte, so that every integer has one encoding.
func magnitude(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] == 0 {
		return nil, fmt.Errorf("%w: integer with a leading zero or empty", ErrBadKey)
	}
	return b, nil
}

func bigMagnitude(b []byte) (*big.Int, error) {
	m, err := magnitude(b)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(m), nil
}

func newRSAPublicKey(n, e []byte) (*PublicKey, error) {
	if len(e) != 3 || e[0] != 0x01 || e[1] != 0x00 || e[2] != 0x01 {
		return nil, ErrBadExponent
	}
	bits := (len(n)-1)*8 + bitLen8(n[0])
	switch {
	case bits < MinRSABits:
		return nil, fmt.Errorf("%w: %d bits, need at least %d", ErrKeyTooSmall, bits, MinRSABits)
	case bits > MaxRSABits:
		return nil, fmt.Errorf("%w: %d bits, at most %d", ErrKeyTooLarge, bits, MaxRSABits)
	case n[len(n)-1]&1 == 0:
		return nil, ErrEvenModulus
	}
	packed, err := cborx.Marshal([]any{uint64(RSAPublic), e, n})
	if err != nil {
		return nil, err
	}
	return &PublicKey{
		typ:    RSAPublic,
		rsa:    &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: RSAExponent},
		packed: packed,
		id:     sha256.Sum256(packed),
	}, nil
}

func bitLen8(b byte) int {
	n := 0
	for ; b != 0; b >>= 1 {
		n++
	}
	return n
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

// rsaFromPrimes rebuilds a private key from e, p and q as the Universa
// packing does (d, dP, dQ and qInv are recomputed), then lets crypto/rsa
// validate it. It applies no size or exponent policy (vetPrivate does), so
// that any disclosed RSA key can be recognised and banned.
func rsaFromPrimes(e int, p, q *big.Int) (*PrivateKey, error) {
	one := big.NewInt(1)
	if p.Cmp(q) == 0 || p.Bit(0) == 0 || q.Bit(0) == 0 || p.Cmp(one) <= 0 || q.Cmp(one) <= 0 {
		return nil, fmt.Errorf("%w: rsa primes", ErrBadKey)
	}
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(big.NewInt(int64(e)), phi)
	if d == nil {
		return nil, fmt.Errorf("%w: exponent not invertible", ErrBadKey)
	}
	if p.Cmp(q) < 0 {
		p, q = q, p // the packed form lists the larger prime first
	}
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: e},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return newRSAPrivateKey(k)
}

func newRSAPrivateKey(k *rsa.PrivateKey) (*PrivateKey, error) {
	if len(k.Primes) != 2 {
		return nil, fmt.Errorf("%w: multi-prime rsa", ErrUnsupportedKey)
	}
	return &PrivateKey{typ: RSAPrivate, rsa: k, pub: unvettedRSAPublic(&k.PublicKey)}, nil
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
