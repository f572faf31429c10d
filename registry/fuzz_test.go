package registry

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/kdf"
)

// fuzzCeilings allow only cheap derivations, so that a mutated header
// cannot make a fuzzing run allocate gigabytes.
var fuzzCeilings = kdf.Ceilings{
	Argon2idMaxMemoryKiB: 64,
	Argon2idMaxTime:      1,
	Argon2idMaxThreads:   1,
	ScryptMaxLogN:        4,
	ScryptMaxMemoryBytes: 16 << 10,
	ScryptMaxP:           1,
	PBKDF2MaxIterations:  10,
}

const fuzzPassword = "fuzz"

// fuzzSeeds are blocks sealed under fuzzPassword with parameters within
// fuzzCeilings, and a few that are not blocks.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	var params []kdf.Params
	for _, mk := range []func() (kdf.Params, error){
		func() (kdf.Params, error) { return kdf.Argon2idParams(8, 1, 1) },
		func() (kdf.Params, error) { return kdf.ScryptParams(4, 1, 1) },
		func() (kdf.Params, error) { return kdf.PBKDF2Params(1) },
	} {
		p, err := mk()
		require.NoError(f, err)
		params = append(params, p)
	}
	var seeds [][]byte
	for i, pt := range []Plaintext{
		{},
		{PartyID: "p", Keys: [][]byte{{1, 2}}, AppData: map[string][]byte{"a": {3}}},
		{AppData: map[string][]byte{"big": make([]byte, 5000)}},
	} {
		b, err := Seal(f.Context(), pt, []byte(fuzzPassword), params[i%len(params)])
		require.NoError(f, err)
		seeds = append(seeds, b)
	}
	d, err := Decoy(bytes.Repeat([]byte{1}, 16))
	require.NoError(f, err)
	seeds = append(seeds, d, nil, []byte{0x82, 0x80, 0x40}, []byte{0x82, 0x84, 0x02})
	return seeds
}

func FuzzInspect(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := Inspect(in)
		if err != nil {
			require.Equal(t, Header{}, h, "a failed parse returns the zero Header")
			return
		}
		b, err := parseBlock(in)
		require.NoError(t, err)
		require.Equal(t, in, encodeBlock(encodeHeader(h.KDF.Bytes(), b.nonce), b.ct), "an accepted block re-encodes to itself")
		require.Equal(t, Version, h.Version)
	})
}

func FuzzOpen(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	if len(seeds) == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, err := Open(t.Context(), in, []byte(fuzzPassword), fuzzCeilings)
		if err != nil {
			require.Equal(t, Plaintext{}, pt, "a failed open returns the zero Plaintext")
			return
		}
		_, err = Inspect(in)
		require.NoError(t, err)
		// Sealing what was opened gives a block of the same size.
		h, _ := Inspect(in)
		again, err := Seal(t.Context(), pt, []byte(fuzzPassword), h.KDF)
		require.NoError(t, err)
		require.Len(t, again, len(in))
	})
}

// FuzzPlaintext reaches the plaintext decoder directly: through Open, the
// AEAD check stops every mutation before it.
func FuzzPlaintext(f *testing.F) {
	seeds := 0
	for _, pt := range []Plaintext{
		{},
		{PartyID: "p", Keys: [][]byte{{1, 2}, {}}, AppData: map[string][]byte{"a": {3}, "bb": nil}},
		{AppData: map[string][]byte{"big": make([]byte, 5000)}},
	} {
		b, err := pt.pad()
		require.NoError(f, err)
		f.Add(b)
		seeds++
	}
	f.Add([]byte{0xa1, 0x03, 0x00})
	seeds++
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, err := decodePadded(in)
		if err != nil {
			require.Equal(t, Plaintext{}, pt)
			return
		}
		re, err := pt.pad()
		require.NoError(t, err)
		// decodePadded does not require whole buckets (the ciphertext
		// length check does); compare the item and its zero tail.
		require.Equal(t, bytes.TrimRight(in, "\x00"), bytes.TrimRight(re, "\x00"))
	})
}
