package kdf_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/kdf"
)

// Cheap parameters for tests that do not measure cost.
func cheap(t testing.TB) map[kdf.Algorithm]kdf.Params {
	t.Helper()
	a, err := kdf.Argon2idParams(1024, 1, 1)
	require.NoError(t, err)
	s, err := kdf.ScryptParams(10, 8, 1)
	require.NoError(t, err)
	p, err := kdf.PBKDF2Params(1000)
	require.NoError(t, err)
	return map[kdf.Algorithm]kdf.Params{kdf.Argon2id: a, kdf.Scrypt: s, kdf.PBKDF2SHA256: p}
}

func TestAlgorithmString(t *testing.T) {
	assert.Equal(t, "argon2id", kdf.Argon2id.String())
	assert.Equal(t, "scrypt", kdf.Scrypt.String())
	assert.Equal(t, "pbkdf2-sha256", kdf.PBKDF2SHA256.String())
	assert.Equal(t, "Algorithm(9)", kdf.Algorithm(9).String())
}

func TestDefault(t *testing.T) {
	p := kdf.Default()
	assert.Equal(t, kdf.Argon2id, p.Algorithm())
	assert.Equal(t, uint32(65536), p.MemoryKiB())
	assert.Equal(t, uint32(3), p.Time())
	assert.Equal(t, uint8(4), p.Threads())
	assert.Len(t, p.Salt(), kdf.SaltSize)
	assert.Equal(t, "argon2id(m=65536KiB,t=3,p=4)", p.String())
	assert.NoError(t, kdf.DefaultCeilings().Check(p))
	assert.NoError(t, kdf.DefaultFloors().Check(p))
	assert.NotEqual(t, p.Salt(), kdf.Default().Salt(), "each call draws a salt")
}

func TestAccessors(t *testing.T) {
	ps := cheap(t)
	s := ps[kdf.Scrypt]
	assert.Equal(t, uint8(10), s.LogN())
	assert.Equal(t, uint32(8), s.R())
	assert.Equal(t, uint32(1), s.P())
	assert.Zero(t, s.MemoryKiB())
	assert.Equal(t, "scrypt(N=2^10,r=8,p=1)", s.String())
	p := ps[kdf.PBKDF2SHA256]
	assert.Equal(t, uint32(1000), p.Iterations())
	assert.Equal(t, "pbkdf2-sha256(i=1000)", p.String())

	salt := p.Salt()
	salt[0] ^= 0xff
	assert.NotEqual(t, salt, p.Salt(), "Salt returns a copy")
}

func TestWithNewSalt(t *testing.T) {
	for alg, p := range cheap(t) {
		q := p.WithNewSalt()
		assert.Equal(t, alg, q.Algorithm())
		assert.NotEqual(t, p.Salt(), q.Salt())
		assert.Len(t, q.Salt(), kdf.SaltSize)
		assert.Equal(t, p.String(), q.String(), "same costs")
	}
	assert.Equal(t, kdf.Params{}, kdf.Params{}.WithNewSalt())
}

func TestConstructorsReject(t *testing.T) {
	for name, f := range map[string]func() (kdf.Params, error){
		"argon2id time 0":        func() (kdf.Params, error) { return kdf.Argon2idParams(1024, 0, 1) },
		"argon2id threads 0":     func() (kdf.Params, error) { return kdf.Argon2idParams(1024, 1, 0) },
		"argon2id m < 8 threads": func() (kdf.Params, error) { return kdf.Argon2idParams(31, 1, 4) },
		"scrypt logN 0":          func() (kdf.Params, error) { return kdf.ScryptParams(0, 8, 1) },
		"scrypt logN 64":         func() (kdf.Params, error) { return kdf.ScryptParams(64, 8, 1) },
		"scrypt r 0":             func() (kdf.Params, error) { return kdf.ScryptParams(10, 0, 1) },
		"scrypt p 0":             func() (kdf.Params, error) { return kdf.ScryptParams(10, 8, 0) },
		"scrypt r*p 2^30":        func() (kdf.Params, error) { return kdf.ScryptParams(10, 1<<15, 1<<15) },
		"pbkdf2 0":               func() (kdf.Params, error) { return kdf.PBKDF2Params(0) },
	} {
		t.Run(name, func(t *testing.T) {
			p, err := f()
			assert.ErrorIs(t, err, kdf.ErrMalformed)
			assert.Equal(t, kdf.Params{}, p)
		})
	}
	_, err := kdf.Argon2idParams(32, 1, 4)
	assert.NoError(t, err, "m = 8·p is the minimum")
}

func TestEncoding(t *testing.T) {
	for alg, p := range cheap(t) {
		b := p.Bytes()
		q, err := kdf.Parse(b)
		require.NoError(t, err, alg)
		assert.Equal(t, p, q, alg)
		assert.Equal(t, b, q.Bytes(), alg)
	}

	// The exact layout, from the package documentation.
	a := cheap(t)[kdf.Argon2id]
	want := "8501" + "50" + hex.EncodeToString(a.Salt()) + "190400" + "01" + "01"
	assert.Equal(t, want, hex.EncodeToString(a.Bytes()))
	s := cheap(t)[kdf.Scrypt]
	assert.Equal(t, "8502"+"50"+hex.EncodeToString(s.Salt())+"0a"+"08"+"01", hex.EncodeToString(s.Bytes()))
	p := cheap(t)[kdf.PBKDF2SHA256]
	assert.Equal(t, "8303"+"50"+hex.EncodeToString(p.Salt())+"1903e8", hex.EncodeToString(p.Bytes()))

	assert.Nil(t, kdf.Params{}.Bytes())
	_, err := kdf.Params{}.MarshalCBOR()
	assert.ErrorIs(t, err, kdf.ErrUnknownAlgorithm)
}

// Params can be a field of another CBOR structure.
func TestEmbedding(t *testing.T) {
	type outer struct {
		KDF  kdf.Params `cbor:"1,keyasint"`
		Name string     `cbor:"2,keyasint"`
	}
	em, err := cbor.CoreDetEncOptions().EncMode()
	require.NoError(t, err)
	p := kdf.Default()
	b, err := em.Marshal(outer{KDF: p, Name: "x"})
	require.NoError(t, err)
	assert.True(t, bytes.Contains(b, p.Bytes()))

	var o outer
	require.NoError(t, cbor.Unmarshal(b, &o))
	assert.Equal(t, p, o.KDF)

	// The embedded value is held to Parse's rules.
	bad := bytes.Replace(b, p.Bytes()[:2], []byte{0x85, 0x09}, 1)
	assert.ErrorIs(t, cbor.Unmarshal(bad, &o), kdf.ErrUnknownAlgorithm)
	_, err = em.Marshal(outer{})
	assert.Error(t, err, "the zero Params does not encode")
}

// enc encodes v in core deterministic encoding, for building test inputs.
func enc(t testing.TB, v any) []byte {
	t.Helper()
	em, err := cbor.CoreDetEncOptions().EncMode()
	require.NoError(t, err)
	b, err := em.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestParseRejects(t *testing.T) {
	salt := bytes.Repeat([]byte{0xaa}, 16)
	saltHex := "50" + hex.EncodeToString(salt)
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	valid := enc(t, []any{1, salt, 1024, 1, 1})
	require.Equal(t, "8501"+saltHex+"1904000101", hex.EncodeToString(valid))
	_, err := kdf.Parse(valid)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, kdf.ErrMalformed},
		{"null", h("f6"), kdf.ErrMalformed},
		{"map", enc(t, map[int]any{1: salt}), kdf.ErrMalformed},
		{"empty array", h("80"), kdf.ErrMalformed},
		{"trailing byte", append(bytes.Clone(valid), 0), kdf.ErrMalformed},
		{"non-minimal type code", h("85" + "1801" + saltHex + "1904000101"), kdf.ErrMalformed},
		{"non-minimal memory", h("8501" + saltHex + "1a000004000101"), kdf.ErrMalformed},
		{"non-minimal time", h("8501" + saltHex + "1904001801" + "01"), kdf.ErrMalformed},
		{"non-minimal salt length", h("85015810" + hex.EncodeToString(salt) + "1904000101"), kdf.ErrMalformed},
		{"non-minimal array length", h("9805" + "01" + saltHex + "1904000101"), kdf.ErrMalformed},
		{"indefinite array", h("9f01" + saltHex + "1904000101ff"), kdf.ErrMalformed},
		{"indefinite salt", h("85015f" + saltHex + "ff1904000101"), kdf.ErrMalformed},
		{"tagged", h("c0" + hex.EncodeToString(valid)), kdf.ErrMalformed},
		{"tagged salt", h("8501d840" + saltHex + "1904000101"), kdf.ErrMalformed},
		{"type code 0", enc(t, []any{0, salt, 1024, 1, 1}), kdf.ErrUnknownAlgorithm},
		{"type code 4", enc(t, []any{4, salt, 1024, 1, 1}), kdf.ErrUnknownAlgorithm},
		{"type code 255", enc(t, []any{255, salt}), kdf.ErrUnknownAlgorithm},
		{"type code negative", enc(t, []any{-1, salt, 1024, 1, 1}), kdf.ErrMalformed},
		{"type code text", enc(t, []any{"argon2id", salt, 1024, 1, 1}), kdf.ErrMalformed},
		{"too few elements", enc(t, []any{1, salt, 1024, 1}), kdf.ErrMalformed},
		{"too many elements", enc(t, []any{1, salt, 1024, 1, 1, 0}), kdf.ErrMalformed},
		{"pbkdf2 with argon2id costs", enc(t, []any{3, salt, 1024, 1, 1}), kdf.ErrMalformed},
		{"salt 15 bytes", enc(t, []any{1, salt[:15], 1024, 1, 1}), kdf.ErrMalformed},
		{"salt empty", enc(t, []any{1, []byte{}, 1024, 1, 1}), kdf.ErrMalformed},
		{"salt 65 bytes", enc(t, []any{1, make([]byte, 65), 1024, 1, 1}), kdf.ErrMalformed},
		{"salt as text", enc(t, []any{1, "0123456789abcdef", 1024, 1, 1}), kdf.ErrMalformed},
		{"salt null", enc(t, []any{1, nil, 1024, 1, 1}), kdf.ErrMalformed},
		{"memory null", enc(t, []any{1, salt, nil, 1, 1}), kdf.ErrMalformed},
		{"memory negative", enc(t, []any{1, salt, -1024, 1, 1}), kdf.ErrMalformed},
		{"memory float", enc(t, []any{1, salt, 1024.0, 1, 1}), kdf.ErrMalformed},
		{"memory 2^32", enc(t, []any{1, salt, uint64(1) << 32, 1, 1}), kdf.ErrMalformed},
		{"memory below 8 per thread", enc(t, []any{1, salt, 31, 1, 4}), kdf.ErrMalformed},
		{"time 0", enc(t, []any{1, salt, 1024, 0, 1}), kdf.ErrMalformed},
		{"time 2^32", enc(t, []any{1, salt, 1024, uint64(1) << 32, 1}), kdf.ErrMalformed},
		{"threads 0", enc(t, []any{1, salt, 1024, 1, 0}), kdf.ErrMalformed},
		{"threads 256", enc(t, []any{1, salt, 1 << 20, 1, 256}), kdf.ErrMalformed},
		{"scrypt logN 0", enc(t, []any{2, salt, 0, 8, 1}), kdf.ErrMalformed},
		{"scrypt logN 64", enc(t, []any{2, salt, 64, 8, 1}), kdf.ErrMalformed},
		{"scrypt r 0", enc(t, []any{2, salt, 10, 0, 1}), kdf.ErrMalformed},
		{"scrypt p 0", enc(t, []any{2, salt, 10, 8, 0}), kdf.ErrMalformed},
		{"scrypt r*p 2^30", enc(t, []any{2, salt, 10, 1 << 10, 1 << 20}), kdf.ErrMalformed},
		{"scrypt r 2^32", enc(t, []any{2, salt, 10, uint64(1) << 32, 1}), kdf.ErrMalformed},
		{"pbkdf2 0", enc(t, []any{3, salt, 0}), kdf.ErrMalformed},
		{"pbkdf2 2^32", enc(t, []any{3, salt, uint64(1) << 32}), kdf.ErrMalformed},
		{"too long", enc(t, []any{1, make([]byte, 200), 1024, 1, 1}), kdf.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := kdf.Parse(tc.in)
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, kdf.Params{}, p)
			var q kdf.Params
			assert.Error(t, q.UnmarshalCBOR(tc.in))
			assert.Equal(t, kdf.Params{}, q, "UnmarshalCBOR leaves p unchanged on error")
		})
	}

	// Every truncation fails.
	for n := range len(valid) {
		_, err := kdf.Parse(valid[:n])
		assert.ErrorIs(t, err, kdf.ErrMalformed, "truncated to %d", n)
	}
}

func TestParseAcceptsLimits(t *testing.T) {
	for _, v := range [][]any{
		{1, make([]byte, 64), uint64(1<<32 - 1), uint64(1<<32 - 1), 255},
		{2, make([]byte, 16), 63, 1, 1<<30 - 1},
		{3, make([]byte, 16), uint64(1<<32 - 1)},
	} {
		b := enc(t, v)
		p, err := kdf.Parse(b)
		require.NoError(t, err, v)
		assert.Equal(t, b, p.Bytes())
	}
}
