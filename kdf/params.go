package kdf

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/attesta-go/attesta/internal/cborx"

	"github.com/attesta-go/attesta/internal/rnd"
)

// Algorithm identifies a password KDF. Its value is the type code that opens
// the encoded parameters.
type Algorithm uint8

const (
	// Argon2id is Argon2id version 0x13 (RFC 9106), the default.
	Argon2id Algorithm = 1
	// Scrypt is scrypt (RFC 7914), readable for compatibility.
	Scrypt Algorithm = 2
	// PBKDF2SHA256 is PBKDF2 with HMAC-SHA-256 (RFC 8018), readable for
	// compatibility.
	PBKDF2SHA256 Algorithm = 3
)

// String returns the algorithm's name: "argon2id", "scrypt" or
// "pbkdf2-sha256".
func (a Algorithm) String() string {
	switch a {
	case Argon2id:
		return "argon2id"
	case Scrypt:
		return "scrypt"
	case PBKDF2SHA256:
		return "pbkdf2-sha256"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

const (
	// SaltSize is the length of the salt the constructors draw. Parse accepts
	// salts of 16 to 64 bytes.
	SaltSize = 16

	// DefaultMemoryKiB, DefaultTime and DefaultThreads are the Argon2id costs
	// of Default: the second recommended option of RFC 9106, Section 4.
	DefaultMemoryKiB = 64 << 10
	DefaultTime      = 3
	DefaultThreads   = 4

	minSaltSize = 16
	maxSaltSize = 64
	// maxEncodedSize bounds Parse's input before any decoding; the largest
	// valid encoding (a 64-byte salt and 4-byte costs) is 81 bytes.
	maxEncodedSize = 128
)

var (
	// ErrMalformed is returned by Parse for bytes that are not the encoding
	// of valid parameters, and by the constructors for costs that the
	// algorithm cannot run.
	ErrMalformed = errors.New("kdf: malformed parameters")
	// ErrUnknownAlgorithm is returned for a type code this package does not
	// implement, and for the zero Params.
	ErrUnknownAlgorithm = errors.New("kdf: unknown algorithm")
)

// Params names a password KDF and holds its salt and costs. Build one with
// Default, Calibrate, a constructor or Parse; the zero value is not valid.
// Params is an immutable value: copies may be shared freely.
type Params struct {
	alg  Algorithm
	salt []byte

	// Argon2id
	memoryKiB uint32
	time      uint32
	threads   uint8

	// scrypt
	logN uint8
	r, p uint32

	// PBKDF2-SHA-256
	iterations uint32
}

// Default returns Argon2id parameters with m = 64 MiB, t = 3, p = 4 and a
// fresh salt.
func Default() Params {
	p, err := Argon2idParams(DefaultMemoryKiB, DefaultTime, DefaultThreads)
	if err != nil {
		panic("kdf: default parameters are invalid: " + err.Error())
	}
	return p
}

// Argon2idParams returns Argon2id parameters with a fresh salt: memoryKiB
// KiB of memory, time passes over it, and threads lanes. It returns
// ErrMalformed if time or threads is zero or memoryKiB is below 8·threads.
// It does not apply any policy: check the result with Floors or Ceilings.
func Argon2idParams(memoryKiB, time uint32, threads uint8) (Params, error) {
	p := Params{alg: Argon2id, salt: rnd.Bytes(SaltSize), memoryKiB: memoryKiB, time: time, threads: threads}
	if err := p.validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// ScryptParams returns scrypt parameters with a fresh salt: N = 2^logN, block
// size r and parallelization p. It returns ErrMalformed if logN is not in
// 1..63, r or p is zero, or r·p ≥ 2³⁰.
func ScryptParams(logN uint8, r, p uint32) (Params, error) {
	q := Params{alg: Scrypt, salt: rnd.Bytes(SaltSize), logN: logN, r: r, p: p}
	if err := q.validate(); err != nil {
		return Params{}, err
	}
	return q, nil
}

// PBKDF2Params returns PBKDF2-HMAC-SHA-256 parameters with a fresh salt. It
// returns ErrMalformed if iterations is zero.
func PBKDF2Params(iterations uint32) (Params, error) {
	p := Params{alg: PBKDF2SHA256, salt: rnd.Bytes(SaltSize), iterations: iterations}
	if err := p.validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// WithNewSalt returns the same algorithm and costs with a fresh salt. Use it
// when the password changes, so that the new key shares nothing with the old.
// On the zero Params it returns the zero Params.
func (p Params) WithNewSalt() Params {
	if p.alg == 0 {
		return Params{}
	}
	p.salt = rnd.Bytes(SaltSize)
	return p
}

// Algorithm returns the KDF; zero for the zero Params.
func (p Params) Algorithm() Algorithm { return p.alg }

// Salt returns a copy of the salt.
func (p Params) Salt() []byte { return append([]byte(nil), p.salt...) }

// MemoryKiB returns the Argon2id memory cost in KiB (zero for the others).
func (p Params) MemoryKiB() uint32 { return p.memoryKiB }

// Time returns the number of Argon2id passes (zero for the others).
func (p Params) Time() uint32 { return p.time }

// Threads returns the Argon2id degree of parallelism (zero for the others).
func (p Params) Threads() uint8 { return p.threads }

// LogN returns the base-2 logarithm of scrypt's N (zero for the others).
func (p Params) LogN() uint8 { return p.logN }

// R returns scrypt's block size r (zero for the others).
func (p Params) R() uint32 { return p.r }

// P returns scrypt's parallelization p (zero for the others).
func (p Params) P() uint32 { return p.p }

// Iterations returns the PBKDF2 iteration count (zero for the others).
func (p Params) Iterations() uint32 { return p.iterations }

// String describes the algorithm and costs, without the salt, for logs and
// user interfaces: "argon2id(m=65536KiB,t=3,p=4)".
func (p Params) String() string {
	switch p.alg {
	case Argon2id:
		return fmt.Sprintf("argon2id(m=%dKiB,t=%d,p=%d)", p.memoryKiB, p.time, p.threads)
	case Scrypt:
		return fmt.Sprintf("scrypt(N=2^%d,r=%d,p=%d)", p.logN, p.r, p.p)
	case PBKDF2SHA256:
		return fmt.Sprintf("pbkdf2-sha256(i=%d)", p.iterations)
	}
	return p.alg.String()
}

// validate checks what the algorithm itself requires; policy is for Ceilings
// and Floors.
func (p Params) validate() error {
	if len(p.salt) < minSaltSize || len(p.salt) > maxSaltSize {
		if p.alg == 0 {
			return ErrUnknownAlgorithm
		}
		return fmt.Errorf("%w: salt is %d bytes, not 16..64", ErrMalformed, len(p.salt))
	}
	switch p.alg {
	case Argon2id:
		switch {
		case p.time == 0:
			return fmt.Errorf("%w: argon2id time is zero", ErrMalformed)
		case p.threads == 0:
			return fmt.Errorf("%w: argon2id threads is zero", ErrMalformed)
		case p.memoryKiB < 8*uint32(p.threads):
			// RFC 9106, Section 3.1: m >= 8*p. x/crypto/argon2 would
			// silently raise it; refuse instead, so that the encoded
			// costs are the costs that run.
			return fmt.Errorf("%w: argon2id memory below 8 KiB per thread", ErrMalformed)
		}
	case Scrypt:
		switch {
		case p.logN < 1 || p.logN > 63:
			return fmt.Errorf("%w: scrypt logN %d not in 1..63", ErrMalformed, p.logN)
		case p.r == 0 || p.p == 0:
			return fmt.Errorf("%w: scrypt r or p is zero", ErrMalformed)
		case uint64(p.r)*uint64(p.p) >= 1<<30:
			// RFC 7914, Section 2: p <= ((2^32-1) * hLen) / MFLen.
			return fmt.Errorf("%w: scrypt r*p not below 2^30", ErrMalformed)
		}
	case PBKDF2SHA256:
		if p.iterations == 0 {
			return fmt.Errorf("%w: pbkdf2 iterations is zero", ErrMalformed)
		}
	default:
		return ErrUnknownAlgorithm
	}
	return nil
}

// Bytes returns the canonical CBOR encoding of p, or nil for the zero
// Params.
func (p Params) Bytes() []byte {
	b, err := p.MarshalCBOR()
	if err != nil {
		return nil
	}
	return b
}

// MarshalCBOR implements cbor.Marshaler, so that Params can be a field of
// another CBOR structure. It fails only for the zero Params.
func (p Params) MarshalCBOR() ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var v []any
	switch p.alg {
	case Argon2id:
		v = []any{uint64(p.alg), p.salt, uint64(p.memoryKiB), uint64(p.time), uint64(p.threads)}
	case Scrypt:
		v = []any{uint64(p.alg), p.salt, uint64(p.logN), uint64(p.r), uint64(p.p)}
	case PBKDF2SHA256:
		v = []any{uint64(p.alg), p.salt, uint64(p.iterations)}
	}
	return cborx.Marshal(v)
}

// UnmarshalCBOR implements cbor.Unmarshaler with the rules of Parse. On
// error p is left unchanged.
func (p *Params) UnmarshalCBOR(b []byte) error {
	q, err := Parse(b)
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// Parse decodes parameters encoded by Bytes. It accepts only the canonical
// encoding of valid parameters (see the package documentation): anything
// else is ErrMalformed, or ErrUnknownAlgorithm for a well-formed array with
// an unknown type code. On error it returns the zero Params.
func Parse(b []byte) (Params, error) {
	p, err := parse(b)
	if err != nil {
		return Params{}, err
	}
	return p, nil
}

func parse(b []byte) (Params, error) {
	if len(b) > maxEncodedSize {
		return Params{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	items, err := cborx.Array(b)
	if err != nil {
		return Params{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(items) == 0 {
		return Params{}, fmt.Errorf("%w: empty array", ErrMalformed)
	}
	code, err := cborx.Uint(items[0])
	if err != nil {
		return Params{}, fmt.Errorf("%w: type code: %v", ErrMalformed, err)
	}
	var p Params
	var want int
	if code > 255 {
		return Params{}, fmt.Errorf("%w: type code %d", ErrUnknownAlgorithm, code)
	}
	switch Algorithm(code) {
	case Argon2id, Scrypt:
		want = 5
	case PBKDF2SHA256:
		want = 3
	default:
		return Params{}, fmt.Errorf("%w: type code %d", ErrUnknownAlgorithm, code)
	}
	p.alg = Algorithm(code)
	if len(items) != want {
		return Params{}, fmt.Errorf("%w: %v takes %d elements, not %d", ErrMalformed, p.alg, want, len(items))
	}
	if p.salt, err = cborx.ByteString(items[1]); err != nil {
		return Params{}, fmt.Errorf("%w: salt: %v", ErrMalformed, err)
	}
	costs := make([]uint64, len(items)-2)
	for i := range costs {
		if costs[i], err = cborx.Uint(items[i+2]); err != nil {
			return Params{}, fmt.Errorf("%w: cost: %v", ErrMalformed, err)
		}
	}
	switch p.alg {
	case Argon2id:
		if costs[0] > 1<<32-1 || costs[1] > 1<<32-1 || costs[2] > 255 {
			return Params{}, fmt.Errorf("%w: argon2id cost out of range", ErrMalformed)
		}
		p.memoryKiB, p.time, p.threads = uint32(costs[0]), uint32(costs[1]), uint8(costs[2])
	case Scrypt:
		if costs[0] > 63 || costs[1] > 1<<32-1 || costs[2] > 1<<32-1 {
			return Params{}, fmt.Errorf("%w: scrypt cost out of range", ErrMalformed)
		}
		p.logN, p.r, p.p = uint8(costs[0]), uint32(costs[1]), uint32(costs[2])
	case PBKDF2SHA256:
		if costs[0] > 1<<32-1 {
			return Params{}, fmt.Errorf("%w: pbkdf2 iterations out of range", ErrMalformed)
		}
		p.iterations = uint32(costs[0])
	}
	if err := p.validate(); err != nil {
		return Params{}, err
	}
	// Core deterministic encoding gives every value one encoding; anything
	// the decoder accepted but that is not that encoding (a non-minimal
	// integer or length) is refused here.
	if re, err := p.MarshalCBOR(); err != nil || string(re) != string(b) {
		return Params{}, fmt.Errorf("%w: not in canonical encoding", ErrMalformed)
	}
	return p, nil
}
