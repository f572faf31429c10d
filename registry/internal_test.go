package registry

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
)

var testPassword = []byte("correct horse battery staple")

func sealCheap(t testing.TB) ([]byte, *block) {
	t.Helper()
	params, err := kdf.Argon2idParams(1024, 1, 1)
	require.NoError(t, err)
	in, err := Seal(t.Context(), Plaintext{PartyID: "p", Keys: [][]byte{{1, 2, 3}}}, testPassword, params)
	require.NoError(t, err)
	b, err := parseBlock(in)
	require.NoError(t, err)
	return in, b
}

func mustEnc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := cborx.Marshal(v)
	require.NoError(t, err)
	return b
}

// The associated data is the exact encoded header, nothing more or less.
func TestHeaderIsAssociatedData(t *testing.T) {
	in, b := sealCheap(t)
	assert.Equal(t, in, encodeBlock(b.header, b.ct), "parsing keeps the header bytes")
	aead, err := newAEAD(t.Context(), b.params, testPassword)
	require.NoError(t, err)
	_, err = aead.Open(nil, b.nonce, b.ct, b.header)
	require.NoError(t, err)
	for _, ad := range [][]byte{nil, b.header[1:], append(bytes.Clone(b.header), 0), in} {
		_, err = aead.Open(nil, b.nonce, b.ct, ad)
		assert.Error(t, err)
	}
}

// Changing any header field makes Open fail: with ErrWrongPassword while the
// block still parses (the AEAD check, or a different key, refuses it), with
// ErrUnsupportedVersion, ErrUnsupportedAEAD or ErrMalformed when it does not.
func TestHeaderTampering(t *testing.T) {
	_, b := sealCheap(t)
	salt := b.params.Salt()
	flip := func(p []byte, i int) []byte { p = bytes.Clone(p); p[i] ^= 1; return p }
	argon := func(salt []byte, m, tc, p uint64) []byte { return mustEnc(t, []any{1, salt, m, tc, p}) }
	kdfOK := argon(salt, 1024, 1, 1)
	require.Equal(t, b.params.Bytes(), kdfOK)

	for _, tc := range []struct {
		name   string
		header []any
		ct     []byte
		err    error
	}{
		{"unchanged", []any{1, cbor.RawMessage(kdfOK), 1, b.nonce}, b.ct, nil},
		{"version 2", []any{2, cbor.RawMessage(kdfOK), 1, b.nonce}, b.ct, ErrUnsupportedVersion},
		{"version 0", []any{0, cbor.RawMessage(kdfOK), 1, b.nonce}, b.ct, ErrUnsupportedVersion},
		{"kdf algorithm", []any{1, cbor.RawMessage(mustEnc(t, []any{2, salt, 10, 8, 1})), 1, b.nonce}, b.ct, ErrWrongPassword},
		{"kdf salt", []any{1, cbor.RawMessage(argon(flip(salt, 0), 1024, 1, 1)), 1, b.nonce}, b.ct, ErrWrongPassword},
		{"kdf salt longer", []any{1, cbor.RawMessage(argon(append(bytes.Clone(salt), 0), 1024, 1, 1)), 1, b.nonce}, b.ct, ErrWrongPassword},
		{"kdf salt shorter", []any{1, cbor.RawMessage(argon(salt[:15], 1024, 1, 1)), 1, b.nonce}, b.ct, ErrMalformed},
		{"kdf memory", []any{1, cbor.RawMessage(argon(salt, 1032, 1, 1)), 1, b.nonce}, b.ct, ErrWrongPassword},
		{"kdf time", []any{1, cbor.RawMessage(argon(salt, 1024, 2, 1)), 1, b.nonce}, b.ct, ErrWrongPassword},
		{"kdf threads", []any{1, cbor.RawMessage(argon(salt, 1024, 1, 2)), 1, b.nonce}, b.ct, ErrWrongPassword},
		{"kdf threads 0", []any{1, cbor.RawMessage(argon(salt, 1024, 1, 0)), 1, b.nonce}, b.ct, ErrMalformed},
		{"aead 2", []any{1, cbor.RawMessage(kdfOK), 2, b.nonce}, b.ct, ErrUnsupportedAEAD},
		{"aead 0", []any{1, cbor.RawMessage(kdfOK), 0, b.nonce}, b.ct, ErrUnsupportedAEAD},
		{"nonce", []any{1, cbor.RawMessage(kdfOK), 1, flip(b.nonce, 23)}, b.ct, ErrWrongPassword},
		{"nonce 23 bytes", []any{1, cbor.RawMessage(kdfOK), 1, b.nonce[:23]}, b.ct, ErrMalformed},
		{"extra header field", []any{1, cbor.RawMessage(kdfOK), 1, b.nonce, 0}, b.ct, ErrMalformed},
		{"missing header field", []any{1, cbor.RawMessage(kdfOK), 1}, b.ct, ErrMalformed},
		{"ciphertext first byte", []any{1, cbor.RawMessage(kdfOK), 1, b.nonce}, flip(b.ct, 0), ErrWrongPassword},
		{"ciphertext tag", []any{1, cbor.RawMessage(kdfOK), 1, b.nonce}, flip(b.ct, len(b.ct)-1), ErrWrongPassword},
		{"ciphertext one bucket less tag", []any{1, cbor.RawMessage(kdfOK), 1, b.nonce}, b.ct[:PadBlock], ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := encodeBlock(mustEnc(t, tc.header), tc.ct)
			pt, err := Open(t.Context(), in, testPassword, kdf.DefaultCeilings())
			if tc.err == nil {
				require.NoError(t, err)
				assert.Equal(t, "p", pt.PartyID)
				return
			}
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, Plaintext{}, pt)
		})
	}
}

func TestInspectRejects(t *testing.T) {
	in, b := sealCheap(t)
	kdfOK := b.params.Bytes()
	hdr := func(v ...any) cbor.RawMessage { return mustEnc(t, v) }
	h := func(s string) []byte {
		x, err := hex.DecodeString(s)
		require.NoError(t, err)
		return x
	}
	okHeader := hdr(1, cbor.RawMessage(kdfOK), 1, b.nonce)
	require.Equal(t, in, mustEnc(t, []any{okHeader, b.ct}))

	for _, tc := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, ErrMalformed},
		{"null", h("f6"), ErrMalformed},
		{"map", mustEnc(t, map[int]any{0: okHeader, 1: b.ct}), ErrMalformed},
		{"one element", mustEnc(t, []any{okHeader}), ErrMalformed},
		{"three elements", mustEnc(t, []any{okHeader, b.ct, 0}), ErrMalformed},
		{"header not an array", mustEnc(t, []any{[]byte(okHeader), b.ct}), ErrMalformed},
		{"header empty", mustEnc(t, []any{hdr(), b.ct}), ErrMalformed},
		{"header null", mustEnc(t, []any{nil, b.ct}), ErrMalformed},
		{"version text", mustEnc(t, []any{hdr("1", cbor.RawMessage(kdfOK), 1, b.nonce), b.ct}), ErrMalformed},
		{"version null", mustEnc(t, []any{hdr(nil, cbor.RawMessage(kdfOK), 1, b.nonce), b.ct}), ErrMalformed},
		{"version negative", mustEnc(t, []any{hdr(-1, cbor.RawMessage(kdfOK), 1, b.nonce), b.ct}), ErrMalformed},
		{"version non-minimal", bytes.Replace(in, h("8401"), h("841801"), 1), ErrMalformed},
		{"outer length non-minimal", append(h("9802"), in[1:]...), ErrMalformed},
		{"outer indefinite", append(append(h("9f"), in[1:]...), 0xff), ErrMalformed},
		{"tagged", append(h("d818"), in...), ErrMalformed},
		{"kdf unknown", mustEnc(t, []any{hdr(1, cbor.RawMessage(mustEnc(t, []any{9, b.params.Salt()})), 1, b.nonce), b.ct}), kdf.ErrUnknownAlgorithm},
		{"kdf malformed", mustEnc(t, []any{hdr(1, []byte(kdfOK), 1, b.nonce), b.ct}), kdf.ErrMalformed},
		{"aead text", mustEnc(t, []any{hdr(1, cbor.RawMessage(kdfOK), "x", b.nonce), b.ct}), ErrMalformed},
		{"nonce text", mustEnc(t, []any{hdr(1, cbor.RawMessage(kdfOK), 1, string(make([]byte, 24))), b.ct}), ErrMalformed},
		{"nonce 25 bytes", mustEnc(t, []any{hdr(1, cbor.RawMessage(kdfOK), 1, make([]byte, 25)), b.ct}), ErrMalformed},
		{"ciphertext text", mustEnc(t, []any{okHeader, string(b.ct)}), ErrMalformed},
		{"ciphertext empty", mustEnc(t, []any{okHeader, []byte{}}), ErrMalformed},
		{"ciphertext tag only", mustEnc(t, []any{okHeader, b.ct[:16]}), ErrMalformed},
		{"ciphertext one byte short", mustEnc(t, []any{okHeader, b.ct[:len(b.ct)-1]}), ErrMalformed},
		{"ciphertext one byte long", mustEnc(t, []any{okHeader, append(bytes.Clone(b.ct), 0)}), ErrMalformed},
		{"ciphertext length non-minimal", bytes.Replace(in, h("591010"), h("5a00001010"), 1), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd, err := Inspect(tc.in)
			assert.ErrorIs(t, err, tc.err)
			assert.Equal(t, Header{}, hd)
		})
	}

	// Errors that are not ErrMalformed.
	_, err := Inspect(mustEnc(t, []any{hdr(1, cbor.RawMessage(mustEnc(t, []any{9, b.params.Salt()})), 1, b.nonce), b.ct}))
	assert.NotErrorIs(t, err, ErrMalformed)
	_, err = Inspect(mustEnc(t, []any{hdr(2, "anything"), "at all"}))
	assert.ErrorIs(t, err, ErrUnsupportedVersion)
}

// pad appends zero bytes to a multiple of PadBlock.
func pad(b []byte) []byte {
	return append(b, make([]byte, (len(b)+PadBlock-1)/PadBlock*PadBlock-len(b))...)
}

func TestPlaintextEncoding(t *testing.T) {
	h := func(s string) []byte {
		x, err := hex.DecodeString(s)
		require.NoError(t, err)
		return x
	}
	pt := Plaintext{PartyID: "p", Keys: [][]byte{{1}}, AppData: map[string][]byte{"b": {2}, "a": nil}}
	padded, err := pt.pad()
	require.NoError(t, err)
	assert.Len(t, padded, PadBlock)
	// {1: "p", 2: [h'01'], 4: {"a": h'', "b": h'02'}}
	want := "a3" + "016170" + "02814101" + "04a2" + "616140" + "61624102"
	assert.Equal(t, want, hex.EncodeToString(bytes.TrimRight(padded, "\x00")))

	got, err := decodePadded(padded)
	require.NoError(t, err)
	assert.Equal(t, "p", got.PartyID)

	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"array", pad(h("80"))},
		{"null", pad(h("f6"))},
		{"unknown key 5", pad(h("a1" + "0540"))},
		{"key 0", pad(h("a1" + "006170"))},
		{"text key", pad(h("a1" + "6131" + "6170"))},
		{"negative key", pad(h("a1" + "20" + "6170"))},
		{"duplicate key", pad(h("a2" + "016170" + "016171"))},
		{"unsorted keys", pad(h("a2" + "02814101" + "016170"))},
		{"non-minimal key", pad(h("a1" + "1801" + "6170"))},
		{"non-minimal map length", pad(h("b801" + "016170"))},
		{"indefinite map", pad(h("bf" + "016170" + "ff"))},
		{"tagged", pad(h("c0" + "a1016170"))},
		{"party id null", pad(h("a1" + "01f6"))},
		{"party id empty", pad(h("a1" + "0160"))},
		{"party id bytes", pad(h("a1" + "014170"))},
		{"party id not UTF-8", pad(h("a1" + "0161ff"))},
		{"keys empty", pad(h("a1" + "0280"))},
		{"keys null element", pad(h("a1" + "0281f6"))},
		{"keys text element", pad(h("a1" + "02816161"))},
		{"created zero time", pad(h("a1" + "033b0000000e7791f6ff"))},
		{"created float", pad(h("a1" + "03f93c00"))},
		{"app data empty", pad(h("a1" + "04a0"))},
		{"app data unsorted", pad(h("a1" + "04a2" + "61624102" + "616140"))},
		{"app data byte key", pad(h("a1" + "04a1" + "416140"))},
		{"non-zero padding", append(pad(h("a1016170"))[:PadBlock-1], 1)},
		{"second item", pad(h("a1016170" + "a1016170"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := decodePadded(tc.in)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.Equal(t, Plaintext{}, pt)
		})
	}

	// The epoch is a stored value, unlike the zero Time.
	got, err = decodePadded(pad(h("a1" + "0300")))
	require.NoError(t, err)
	assert.Equal(t, int64(0), got.Created.Unix())
}

func TestBlockSize(t *testing.T) {
	for _, n := range []int{0, 23, 24, 255, 256, 65535, 65536} {
		assert.Equal(t, len(encodeBlock([]byte{0x80}, make([]byte, n))), blockSize(1, n), n)
	}
	assert.Equal(t, chacha20poly1305.NonceSizeX, 24)
}
