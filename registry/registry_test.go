package registry_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

var password = []byte("correct horse battery staple")

func must(t testing.TB) func(kdf.Params, error) kdf.Params {
	return func(p kdf.Params, err error) kdf.Params {
		t.Helper()
		require.NoError(t, err)
		return p
	}
}

// cheap returns inexpensive parameters for each algorithm.
func cheap(t testing.TB) map[kdf.Algorithm]kdf.Params {
	m := must(t)
	return map[kdf.Algorithm]kdf.Params{
		kdf.Argon2id:     m(kdf.Argon2idParams(1024, 1, 1)),
		kdf.Scrypt:       m(kdf.ScryptParams(10, 8, 1)),
		kdf.PBKDF2SHA256: m(kdf.PBKDF2Params(1000)),
	}
}

func samplePlaintext() registry.Plaintext {
	return registry.Plaintext{
		PartyID: "party-6f1c",
		Keys:    [][]byte{{0x84, 0x00, 0x01, 0x02}, bytes.Repeat([]byte{7}, 300)},
		Created: time.Date(2026, 3, 1, 12, 30, 45, 0, time.UTC),
		AppData: map[string][]byte{"theme": []byte("dark"), "z": {}, "": []byte("empty key")},
	}
}

func seal(t testing.TB, pt registry.Plaintext, params kdf.Params) []byte {
	t.Helper()
	b, err := registry.Seal(context.Background(), pt, password, params)
	require.NoError(t, err)
	return b
}

func TestRoundTrip(t *testing.T) {
	for alg, params := range cheap(t) {
		t.Run(alg.String(), func(t *testing.T) {
			pt := samplePlaintext()
			block := seal(t, pt, params)

			h, err := registry.Inspect(block)
			require.NoError(t, err)
			assert.Equal(t, registry.Header{Version: 1, KDF: params}, h)

			got, err := registry.Open(t.Context(), block, password, kdf.DefaultCeilings())
			require.NoError(t, err)
			assert.Equal(t, pt, got)

			// Each seal draws a nonce.
			assert.NotEqual(t, block, seal(t, pt, params))
		})
	}
}

func TestRoundTripFields(t *testing.T) {
	params := cheap(t)[kdf.Argon2id]
	for name, tc := range map[string]struct{ in, want registry.Plaintext }{
		"empty": {},
		"created truncated to the second, in UTC": {
			in:   registry.Plaintext{Created: time.Date(2026, 3, 1, 12, 30, 45, 999, time.FixedZone("X", 3600))},
			want: registry.Plaintext{Created: time.Date(2026, 3, 1, 11, 30, 45, 0, time.UTC)},
		},
		"the epoch is stored": {
			in:   registry.Plaintext{Created: time.Unix(0, 0)},
			want: registry.Plaintext{Created: time.Unix(0, 0).UTC()},
		},
		"before the epoch": {
			in:   registry.Plaintext{Created: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)},
			want: registry.Plaintext{Created: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
		"empty containers are left out": {
			in: registry.Plaintext{Keys: [][]byte{}, AppData: map[string][]byte{}},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := registry.Open(t.Context(), seal(t, tc.in, params), password, kdf.DefaultCeilings())
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestWrongPassword(t *testing.T) {
	block := seal(t, samplePlaintext(), cheap(t)[kdf.Argon2id])
	for _, pw := range [][]byte{[]byte("Correct horse battery staple"), password[:len(password)-1], {0}} {
		pt, err := registry.Open(t.Context(), block, pw, kdf.DefaultCeilings())
		assert.ErrorIs(t, err, registry.ErrWrongPassword)
		assert.Equal(t, registry.Plaintext{}, pt)
	}
}

func TestOpenCeilings(t *testing.T) {
	block := seal(t, samplePlaintext(), must(t)(kdf.Argon2idParams(2048, 1, 1)))
	c := kdf.DefaultCeilings()
	c.Argon2idMaxMemoryKiB = 1024
	_, err := registry.Open(t.Context(), block, password, c)
	assert.ErrorIs(t, err, kdf.ErrMemoryAboveCeiling)
	assert.ErrorIs(t, err, kdf.ErrAboveCeiling)

	_, err = registry.Open(t.Context(), block, password, kdf.Ceilings{})
	assert.ErrorIs(t, err, kdf.ErrAboveCeiling, "the zero Ceilings allow nothing")
}

func TestOpenContext(t *testing.T) {
	block := seal(t, samplePlaintext(), cheap(t)[kdf.Argon2id])
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := registry.Open(ctx, block, password, kdf.DefaultCeilings())
	assert.ErrorIs(t, err, context.Canceled)
	_, err = registry.Seal(ctx, samplePlaintext(), password, cheap(t)[kdf.Argon2id])
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSealRefuses(t *testing.T) {
	params := cheap(t)[kdf.Argon2id]
	_, err := registry.Seal(t.Context(), samplePlaintext(), nil, params)
	assert.Error(t, err, "empty password")
	_, err = registry.Seal(t.Context(), samplePlaintext(), password, kdf.Params{})
	assert.ErrorIs(t, err, kdf.ErrUnknownAlgorithm)
	_, err = registry.Seal(t.Context(), registry.Plaintext{PartyID: "\xff"}, password, params)
	assert.ErrorIs(t, err, registry.ErrMalformed, "not UTF-8")
	_, err = registry.Seal(t.Context(), registry.Plaintext{AppData: map[string][]byte{"\xff": nil}}, password, params)
	assert.ErrorIs(t, err, registry.ErrMalformed, "not UTF-8")
	_, err = registry.Seal(t.Context(), registry.Plaintext{Keys: make([][]byte, 1025)}, password, params)
	assert.ErrorIs(t, err, registry.ErrMalformed, "more keys than Open accepts")
}

// withAppData returns a plaintext whose encoding is about n bytes.
func withAppData(n int) registry.Plaintext {
	return registry.Plaintext{PartyID: "p", AppData: map[string][]byte{"blob": make([]byte, n)}}
}

func TestPadding(t *testing.T) {
	params := cheap(t)[kdf.PBKDF2SHA256]
	small := seal(t, withAppData(10), params)
	medium := seal(t, withAppData(3000), params)
	large := seal(t, withAppData(5000), params)
	assert.Equal(t, len(small), len(medium), "10 B and 3 KB fill one bucket")
	assert.Equal(t, len(small)+registry.PadBlock, len(large), "5 KB fills two")
	assert.Equal(t, len(small), len(seal(t, registry.Plaintext{}, params)))

	// A plaintext that exactly fills a bucket needs no padding; one byte
	// more needs a second bucket. The map head, party id and "blob" key take 14 bytes.
	exact := seal(t, withAppData(registry.PadBlock-14), params)
	assert.Equal(t, len(small), len(exact))
	assert.Equal(t, len(large), len(seal(t, withAppData(registry.PadBlock-13), params)))

	// Largest plaintext: 15 buckets.
	biggest := seal(t, withAppData(15*registry.PadBlock-14), params)
	assert.LessOrEqual(t, len(biggest), registry.MaxBlockSize)
	assert.Equal(t, len(small)+14*registry.PadBlock, len(biggest))
	_, err := registry.Open(t.Context(), biggest, password, kdf.DefaultCeilings())
	require.NoError(t, err)
}

func TestTooLarge(t *testing.T) {
	params := cheap(t)[kdf.PBKDF2SHA256]
	for _, n := range []int{15*registry.PadBlock - 13, 62 << 10, 100 << 10} {
		_, err := registry.Seal(t.Context(), withAppData(n), password, params)
		assert.ErrorIs(t, err, registry.ErrTooLarge, n)
	}
	_, err := registry.Inspect(make([]byte, registry.MaxBlockSize+1))
	assert.ErrorIs(t, err, registry.ErrTooLarge)
	_, err = registry.Open(t.Context(), make([]byte, registry.MaxBlockSize+1), password, kdf.DefaultCeilings())
	assert.ErrorIs(t, err, registry.ErrTooLarge)
}

// TestBadLengths: every truncation and a lengthened block fail, before any
// KDF work.
func TestBadLengths(t *testing.T) {
	block := seal(t, samplePlaintext(), cheap(t)[kdf.Argon2id])
	for n := range len(block) {
		_, err := registry.Inspect(block[:n])
		require.ErrorIs(t, err, registry.ErrMalformed, "truncated to %d", n)
		_, err = registry.Open(t.Context(), block[:n], password, kdf.DefaultCeilings())
		require.ErrorIs(t, err, registry.ErrMalformed, "truncated to %d", n)
	}
	for _, tail := range [][]byte{{0}, {0xf6}, block} {
		long := append(bytes.Clone(block), tail...)
		_, err := registry.Inspect(long)
		assert.ErrorIs(t, err, registry.ErrMalformed)
		_, err = registry.Open(t.Context(), long, password, kdf.DefaultCeilings())
		assert.ErrorIs(t, err, registry.ErrMalformed)
	}
}

func TestChangePassword(t *testing.T) {
	params := cheap(t)[kdf.Argon2id]
	pt := samplePlaintext()
	block := seal(t, pt, params)
	newPassword := []byte("new password")

	_, err := registry.ChangePassword(t.Context(), block, []byte("wrong"), newPassword, kdf.DefaultCeilings())
	assert.ErrorIs(t, err, registry.ErrWrongPassword)

	changed, err := registry.ChangePassword(t.Context(), block, password, newPassword, kdf.DefaultCeilings())
	require.NoError(t, err)
	got, err := registry.Open(t.Context(), changed, newPassword, kdf.DefaultCeilings())
	require.NoError(t, err)
	assert.Equal(t, pt, got)
	_, err = registry.Open(t.Context(), changed, password, kdf.DefaultCeilings())
	assert.ErrorIs(t, err, registry.ErrWrongPassword)

	h, err := registry.Inspect(changed)
	require.NoError(t, err)
	assert.Equal(t, params.String(), h.KDF.String(), "same costs")
	assert.NotEqual(t, params.Salt(), h.KDF.Salt(), "new salt")
}

func TestDecoy(t *testing.T) {
	seed := bytes.Repeat([]byte{0x42}, 32)
	d1, err := registry.Decoy(seed)
	require.NoError(t, err)
	d2, err := registry.Decoy(bytes.Clone(seed))
	require.NoError(t, err)
	assert.Equal(t, d1, d2, "deterministic in seed")
	other, err := registry.Decoy(append(bytes.Clone(seed[:31]), 0x43))
	require.NoError(t, err)
	assert.NotEqual(t, d1, other)
	assert.Equal(t, len(d1), len(other))

	_, err = registry.Decoy(seed[:15])
	assert.Error(t, err)

	// Shaped like a real block sealed with the default parameters.
	real := seal(t, samplePlaintext(), kdf.Default())
	assert.Equal(t, len(real), len(d1))
	hr, err := registry.Inspect(real)
	require.NoError(t, err)
	hd, err := registry.Inspect(d1)
	require.NoError(t, err)
	assert.Equal(t, hr.Version, hd.Version)
	assert.Equal(t, hr.KDF.String(), hd.KDF.String())
	assert.Len(t, hd.KDF.Salt(), len(hr.KDF.Salt()))
	assert.NoError(t, kdf.DefaultFloors().Check(hd.KDF))
	// Everything before the salt, and between salt and nonce, is the same.
	saltAt := bytes.Index(real, hr.KDF.Salt())
	require.Positive(t, saltAt)
	assert.Equal(t, real[:saltAt], d1[:saltAt])
	end := saltAt + kdf.SaltSize
	assert.Equal(t, real[end:end+10], d1[end:end+10])

	if !testing.Short() {
		_, err = registry.Open(t.Context(), d1, password, kdf.DefaultCeilings())
		assert.ErrorIs(t, err, registry.ErrWrongPassword)
	}
}
