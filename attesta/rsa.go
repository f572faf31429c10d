package attesta

import (
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/rnd"
)

// Limits on RSA keys.
//
// Every number of an RSA key that reaches this package from outside is
// checked against one of these bounds while it is still a byte string,
// before any arithmetic sees it (rsaPartsOf), and every function that
// computes with RSA numbers checks them again on entry (checkRSASizes).
// The cost of RSA arithmetic grows with the square (multiplication) to
// the cube (exponentiation) of the size of its numbers, so an unbounded
// number is an unbounded amount of server CPU: a 2 KB PKCS#1 key with a
// 16384-bit prime cost 8.7 s in crypto/rsa's precomputation, and the
// 32 KiB input limit leaves room for primes of 250,000 bits.
const (
	// MinRSABits and MaxRSABits bound the RSA modulus accepted by the
	// protocol. Below 2048 bits RSA is not a safe long-term credential;
	// above 16384 bits a key is a denial-of-service lever (the server's
	// encryption cost grows with the square of the size; EncryptCost).
	MinRSABits = 2048
	MaxRSABits = 16384
	// MaxRSAPrimeBits bounds each prime of an RSA private key, and the CRT
	// values (d mod p−1, d mod q−1, q⁻¹ mod p) that are reduced modulo a
	// prime. It is half of MaxRSABits plus a margin of 64 bits: a
	// two-prime key of at most MaxRSABits bits made by any generator in
	// use has primes of half its size (FIPS 186-5 §A.1.3; OpenSSL, Go,
	// OpenSSH) or, for odd sizes and some older tools, a few bits more on
	// one side; 64 bits cover them all. The margin costs (8256/8192)³ ≈
	// 1.024 times the work of a balanced key in the one cubic step (the
	// client's own precomputation), and nothing measurable on the server,
	// which never exponentiates (proveRSA). A prime of more than
	// MaxRSAPrimeBits is refused with ErrKeyTooLarge even where the
	// modulus would fit.
	MaxRSAPrimeBits = MaxRSABits/2 + 64
	// RSAExponent is the only public exponent accepted for a public key.
	RSAExponent = 65537
	// maxRSAPrivateExponent bounds the public exponent e read from an RSA
	// private key (3 ≤ e ≤ 2³¹−1): the bound of crypto/rsa, which keeps e
	// one machine word on every platform. A one-word e costs one pass
	// over the other number in every step that uses it (d·e, φ mod e in
	// the inverse), so it adds no term to the cost. Public keys accept
	// only 65537 (RSAExponent).
	maxRSAPrivateExponent = 1<<31 - 1
)

// rsaParts are the numbers of an RSA private key as one container holds
// them, each read through rsaPartsOf. n, d and the CRT values are nil where
// the container does not carry them (the packed form has only e, p, q;
// OpenSSH has no dP, dQ).
type rsaParts struct {
	e                        int
	n, d, p, q, dP, dQ, qInv *big.Int
}

// rsaField is one number of an RSA private key, as containers name them.
type rsaField int

const (
	fieldN rsaField = iota
	fieldE
	fieldD
	fieldP
	fieldQ
	fieldDP
	fieldDQ
	fieldQInv
)

// rsaBounds are the bound in bits and the name of each field (the
// exponent's is checked by rsaExponent).
var rsaBounds = [...]struct {
	max  int
	what string
}{
	fieldN: {MaxRSABits, "modulus"}, fieldE: {0, "public exponent"}, fieldD: {MaxRSABits, "private exponent"},
	fieldP: {MaxRSAPrimeBits, "prime"}, fieldQ: {MaxRSAPrimeBits, "prime"},
	fieldDP: {MaxRSAPrimeBits, "crt exponent"}, fieldDQ: {MaxRSAPrimeBits, "crt exponent"}, fieldQInv: {MaxRSAPrimeBits, "crt coefficient"},
}

// rsaPartsOf turns the magnitudes a container lists, in its order, into
// rsaParts: every size is checked against its field's bound before any
// number exists (ErrKeyTooLarge), then the exponent (rsaExponent). order
// must name fieldE, fieldP and fieldQ.
func rsaPartsOf(order []rsaField, mags [][]byte) (rsaParts, error) {
	for i, f := range order {
		if b := rsaBounds[f]; b.max > 0 && bitLen(mags[i]) > b.max {
			return rsaParts{}, fmt.Errorf("%w: rsa %s over %d bits", ErrKeyTooLarge, b.what, b.max)
		}
	}
	var r rsaParts
	for i, f := range order {
		v := new(big.Int).SetBytes(mags[i])
		switch f {
		case fieldE:
			var err error
			if r.e, err = rsaExponent(mags[i]); err != nil {
				return rsaParts{}, err
			}
		case fieldN:
			r.n = v
		case fieldD:
			r.d = v
		case fieldP:
			r.p = v
		case fieldQ:
			r.q = v
		case fieldDP:
			r.dP = v
		case fieldDQ:
			r.dQ = v
		case fieldQInv:
			r.qInv = v
		}
	}
	return r, nil
}

// bitLen is the size in bits of an unsigned big-endian magnitude without
// leading zero bytes.
func bitLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return (len(b)-1)*8 + bitLen8(b[0])
}

func bitLen8(b byte) int {
	n := 0
	for ; b != 0; b >>= 1 {
		n++
	}
	return n
}

// rsaExponent reads a private key's public exponent: 3 ≤ e ≤ 2³¹−1.
func rsaExponent(b []byte) (int, error) {
	if len(b) > 4 {
		return 0, ErrBadExponent
	}
	var e uint64
	for _, c := range b {
		e = e<<8 | uint64(c)
	}
	if e < 3 || e > maxRSAPrivateExponent {
		return 0, ErrBadExponent
	}
	return int(e), nil
}

// checkRSASizes is the entry check of every function that computes with
// RSA numbers: the same bounds as rsaPartsOf, on numbers that exist. It
// costs nothing (BitLen reads a length), and it keeps the bound true for
// numbers that did not come through rsaPartsOf.
func checkRSASizes(r rsaParts) error {
	if r.e < 3 || r.e > maxRSAPrivateExponent {
		return ErrBadExponent
	}
	for _, x := range []struct {
		v    *big.Int
		max  int
		what string
	}{
		{r.n, MaxRSABits, "modulus"}, {r.d, MaxRSABits, "private exponent"},
		{r.p, MaxRSAPrimeBits, "prime"}, {r.q, MaxRSAPrimeBits, "prime"},
		{r.dP, MaxRSAPrimeBits, "crt exponent"}, {r.dQ, MaxRSAPrimeBits, "crt exponent"},
		{r.qInv, MaxRSAPrimeBits, "crt coefficient"},
	} {
		if x.v != nil && (x.v.Sign() < 0 || x.v.BitLen() > x.max) {
			return fmt.Errorf("%w: rsa %s over %d bits", ErrKeyTooLarge, x.what, x.max)
		}
	}
	if r.p == nil || r.q == nil {
		return fmt.Errorf("%w: rsa primes missing", ErrBadKey)
	}
	// n = p·q has bits(p)+bits(q) or one bit fewer: known before the
	// multiplication.
	if r.p.BitLen()+r.q.BitLen()-1 > MaxRSABits {
		return fmt.Errorf("%w: rsa modulus over %d bits", ErrKeyTooLarge, MaxRSABits)
	}
	return nil
}

// testHookRSAArithmetic, when a test sets it (export_test.go), is called
// by every function that computes with RSA numbers, after its size checks
// and before its first operation, with the sizes in bits of the numbers
// it is about to use: n, d, p, q, dP, dQ, qInv (0 where absent). Tests use
// it to prove that an input was refused before any arithmetic, and that
// no number above its bound reaches any.
var testHookRSAArithmetic func(sizes [7]int)

func rsaArithmetic(r rsaParts) {
	if testHookRSAArithmetic == nil {
		return
	}
	var sizes [7]int
	for i, v := range []*big.Int{r.n, r.d, r.p, r.q, r.dP, r.dQ, r.qInv} {
		if v != nil {
			sizes[i] = v.BitLen()
		}
	}
	testHookRSAArithmetic(sizes)
}

// proveRSA is the disclosure proof for RSA (see DetectPrivateKey): it
// returns the public key [1, e, p·q] when the numbers are one consistent
// RSA private key, and an error saying why not otherwise.
//
// The proof is the factorisation: the modulus is computed here as p·q,
// with 1 < q, p odd and distinct, and any modulus the container states
// must equal it. Whoever holds a non-trivial factorisation of a modulus
// made of two primes holds its private key (d follows with one inverse),
// and a factorisation of someone else's modulus cannot be forged: a
// container that puts a victim's modulus beside other numbers fails here
// and bans nothing. The other numbers, where the container has them, must
// be those of the same key: d·e ≡ 1 modulo p−1 and q−1 (without d: e
// invertible modulo both), dP = d mod p−1, dQ = d mod q−1 and
// qInv·q ≡ 1 mod p — the identities crypto/rsa checks in Validate.
// Primality is not tested (crypto/rsa does not test it either): it is not
// needed for the factorisation to be a proof.
//
// The cost is a few multiplications and divisions of numbers of at most
// MaxRSABits bits, and no exponentiation: crypto/rsa's own validation
// computes q⁻¹ mod p by Fermat's theorem (an exponentiation modulo p,
// 0.78 s for an 8192-bit p), which an attacker could ask for with any odd
// numbers, primes or not. The checks here run in variable time, which is
// harmless: they only ever see a key that has just been published.
func proveRSA(r rsaParts) (*PublicKey, error) {
	if err := checkRSASizes(r); err != nil {
		return nil, err
	}
	rsaArithmetic(r)
	one := big.NewInt(1)
	p, q := r.p, r.q
	if p.Cmp(one) <= 0 || q.Cmp(one) <= 0 || p.Bit(0) == 0 || q.Bit(0) == 0 || p.Cmp(q) == 0 {
		return nil, fmt.Errorf("%w: rsa primes", ErrBadKey)
	}
	n := new(big.Int).Mul(p, q)
	if n.BitLen() > MaxRSABits {
		return nil, fmt.Errorf("%w: rsa modulus over %d bits", ErrKeyTooLarge, MaxRSABits)
	}
	if r.n != nil && r.n.Cmp(n) != 0 {
		return nil, fmt.Errorf("%w: rsa modulus is not the product of the primes", ErrBadKey)
	}
	pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	e := big.NewInt(int64(r.e))
	if r.d == nil {
		for _, m := range []*big.Int{pm1, qm1} {
			if new(big.Int).GCD(nil, nil, new(big.Int).Mod(m, e), e).Cmp(one) != 0 {
				return nil, fmt.Errorf("%w: exponent not invertible", ErrBadKey)
			}
		}
	} else {
		// d·e ≡ 1 mod p−1 is (d mod p−1)·e ≡ 1 mod p−1: one reduction of d
		// per prime, which the CRT exponents must also equal.
		for _, m := range []struct{ m, crt *big.Int }{{pm1, r.dP}, {qm1, r.dQ}} {
			dm := new(big.Int).Mod(r.d, m.m)
			if m.crt != nil && dm.Cmp(m.crt) != 0 {
				return nil, fmt.Errorf("%w: rsa crt exponents", ErrBadKey)
			}
			if dm.Mul(dm, e).Mod(dm, m.m).Cmp(one) != 0 {
				return nil, fmt.Errorf("%w: rsa private exponent", ErrBadKey)
			}
		}
	}
	if r.qInv != nil {
		x := new(big.Int).Mul(r.qInv, q)
		if x.Mod(x, p).Cmp(one) != 0 {
			return nil, fmt.Errorf("%w: rsa crt coefficient", ErrBadKey)
		}
	}
	return unvettedRSAPublic(r.e, n), nil
}

// rsaPackedParts reads the fields of a packed RSA private key [0, e, p, q]:
// canonical magnitudes, 3 ≤ e ≤ 2³¹−1, primes of at most MaxRSAPrimeBits.
func rsaPackedParts(f [][]byte) (rsaParts, error) {
	if len(f) != 3 {
		return rsaParts{}, fmt.Errorf("%w: rsa private key needs [0, e, p, q]", ErrBadKey)
	}
	for _, b := range f {
		if _, err := magnitude(b); err != nil {
			return rsaParts{}, err
		}
	}
	return rsaPartsOf([]rsaField{fieldE, fieldP, fieldQ}, f)
}

// rsaFromPrimes rebuilds a private key from e, p and q as the Universa
// packing does (d, dP, dQ and qInv are recomputed), then lets crypto/rsa
// validate it. This is the client's path (a registry's key, a key file):
// crypto/rsa's precomputation exponentiates modulo p in constant time,
// which is the right trade for a key that is still secret and the
// client's own cost. The sizes are bounded first, so that the work is at
// most that of a MaxRSABits key. It applies no policy on the modulus
// size or exponent (vetPrivate does).
func rsaFromPrimes(e int, p, q *big.Int) (*PrivateKey, error) {
	if err := checkRSASizes(rsaParts{e: e, p: p, q: q}); err != nil {
		return nil, err
	}
	rsaArithmetic(rsaParts{e: e, p: p, q: q})
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
	return &PrivateKey{typ: RSAPrivate, rsa: k, pub: unvettedRSAPublic(k.E, k.N)}, nil
}

// packRSAPrivate is the packed form [0, e, p, q] with the larger prime
// first.
func packRSAPrivate(k *rsa.PrivateKey) []any {
	p, q := k.Primes[0], k.Primes[1]
	if p.Cmp(q) < 0 {
		p, q = q, p
	}
	return []any{uint64(RSAPrivate), big.NewInt(int64(k.E)).Bytes(), p.Bytes(), q.Bytes()}
}

// parseRSAPublic vets the fields of a packed public key [1, e, n].
func parseRSAPublic(f [][]byte) (*PublicKey, error) {
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
}

// newRSAPublicKey applies the protocol's rules to a public key: e = 65537,
// MinRSABits ≤ bits(n) ≤ MaxRSABits (read from the byte string, before n
// becomes a number), n odd. The modulus is not checked for primality or
// factors: no check short of factoring it would prove anything.
func newRSAPublicKey(n, e []byte) (*PublicKey, error) {
	if len(e) != 3 || e[0] != 0x01 || e[1] != 0x00 || e[2] != 0x01 {
		return nil, ErrBadExponent
	}
	bits := bitLen(n)
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

// unvettedRSAPublic packs an RSA public key without the protocol's size
// and exponent policy, so that a disclosed key of any size the bounds
// allow can be banned by id. Such a key is only ever banned or compared,
// never encrypted to.
func unvettedRSAPublic(e int, n *big.Int) *PublicKey {
	packed := mustPack(RSAPublic, big.NewInt(int64(e)).Bytes(), n.Bytes())
	return &PublicKey{typ: RSAPublic, rsa: &rsa.PublicKey{N: n, E: e}, packed: packed, id: sha256.Sum256(packed)}
}

// rsaEncrypt is RSA-OAEP with SHA-256 (MGF1 SHA-256) and the label of its
// use (TokenLabel, ServiceKeyLabel).
func rsaEncrypt(k *rsa.PublicKey, label string, msg []byte) ([]byte, error) {
	return rsa.EncryptOAEP(sha256.New(), rnd.Reader, k, msg, []byte(label))
}

func rsaDecrypt(k *rsa.PrivateKey, label string, ct []byte) ([]byte, error) {
	return rsa.DecryptOAEP(sha256.New(), nil, k, ct, []byte(label))
}

// rsaEncryptCost is EncryptCost for an RSA modulus of the given size: the
// cost of the first bucket at least as large. See EncryptCost for how the
// table was measured.
func rsaEncryptCost(bits int) int {
	for _, b := range rsaCostBuckets {
		if bits <= b.bits {
			return b.cost
		}
	}
	return rsaCostBuckets[len(rsaCostBuckets)-1].cost
}

// rsaCostBuckets: BenchmarkEncryptCost, RSA-OAEP-SHA256 of a 32-byte token
// to a modulus of the bucket's top size, divided by the same for 2048 bits
// and rounded to the nearest integer (the table of EncryptCost).
var rsaCostBuckets = []struct{ bits, cost int }{
	{2048, 1},
	{3072, 6},
	{4096, 11},
	{6144, 24},
	{8192, 41},
	{12288, 96},
	{16384, 158},
}
