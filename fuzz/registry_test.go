package fuzz

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

// fuzzCeilings allow only cheap derivations, so that a mutated header
// cannot make a fuzzing run allocate gigabytes or spend seconds.
var fuzzCeilings = kdf.Ceilings{
	Argon2idMaxMemoryKiB: 64,
	Argon2idMaxTime:      1,
	Argon2idMaxThreads:   1,
	ScryptMaxLogN:        4,
	ScryptMaxMemoryBytes: 16 << 10,
	ScryptMaxP:           1,
	PBKDF2MaxIterations:  1000,
}

const fuzzPassword = "fuzz"

// The registry format as docs/PROTOCOL.md describes it, written again
// here so that the targets can re-encode what the package accepted and
// build blocks around plaintexts of their own. Setup checks it against
// registry.Seal.
const (
	registryAEAD    = 1 // XChaCha20-Poly1305
	registryKeyInfo = "attesta registry v1 key"
)

func encodeHeader(tb testing.TB, params kdf.Params, nonce []byte) []byte {
	return mustCBOR(tb, []any{uint64(registry.Version), cbor.RawMessage(params.Bytes()), uint64(registryAEAD), nonce})
}

func encodeBlock(tb testing.TB, header, ct []byte) []byte {
	return mustCBOR(tb, []any{cbor.RawMessage(header), ct})
}

// splitBlock returns the header, nonce and ciphertext of a block that
// registry.Inspect accepted.
func splitBlock(tb testing.TB, block []byte) (header, nonce, ct []byte) {
	tb.Helper()
	outer, err := cborx.Array(block)
	if err != nil || len(outer) != 2 {
		tb.Fatalf("an accepted block is not a pair: %v", err)
	}
	fields, err := cborx.Array(outer[0])
	if err != nil || len(fields) != 4 {
		tb.Fatalf("an accepted header is not four items: %v", err)
	}
	if nonce, err = cborx.ByteString(fields[3]); err != nil {
		tb.Fatal(err)
	}
	if ct, err = cborx.ByteString(outer[1]); err != nil {
		tb.Fatal(err)
	}
	return outer[0], nonce, ct
}

// blockAEAD derives the AEAD of blocks sealed under password with params.
func blockAEAD(tb testing.TB, params kdf.Params, password string) cipher.AEAD {
	tb.Helper()
	prk, err := params.Derive(context.Background(), []byte(password), 32)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := hkdf.Expand(sha256.New, prk, registryKeyInfo, chacha20poly1305.KeySize)
	if err != nil {
		tb.Fatal(err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		tb.Fatal(err)
	}
	return aead
}

// openPadded decrypts a block accepted by registry.Open and returns its
// padded plaintext.
func openPadded(tb testing.TB, block []byte, password string) []byte {
	tb.Helper()
	h, err := registry.Inspect(block)
	if err != nil {
		tb.Fatal(err)
	}
	header, nonce, ct := splitBlock(tb, block)
	padded, err := blockAEAD(tb, h.KDF, password).Open(nil, nonce, ct, header)
	if err != nil {
		tb.Fatalf("the re-written format does not open a block registry.Open opens: %v", err)
	}
	return padded
}

var fuzzPlaintexts = []registry.Plaintext{
	{},
	{PartyID: "p", Keys: [][]byte{{1, 2}}, AppData: map[string][]byte{"a": {3}}},
	{PartyID: "AAAAAAAAAAAAAAAAAAAAAA", Keys: [][]byte{{1, 2}, {}}, AppData: map[string][]byte{"a": {3}, "bb": nil}},
	{AppData: map[string][]byte{"big": make([]byte, 5000)}},
}

// registrySeeds are blocks sealed under fuzzPassword with cheapParams,
// the blocks of the vectors, a decoy, and a few that are not blocks.
func registrySeeds(f *testing.F) [][]byte {
	f.Helper()
	params := cheapParams(f)
	var seeds [][]byte
	for i, pt := range fuzzPlaintexts {
		b, err := registry.Seal(f.Context(), pt, []byte(fuzzPassword), params[i%len(params)])
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	d, err := registry.Decoy(bytes.Repeat([]byte{1}, 16))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, d, nil, []byte{0x82, 0x80, 0x40}, []byte{0x82, 0x84, 0x02})
	return append(seeds, vectorBytes("registry", "block")...)
}

// FuzzRegistryInspect checks the header parser every server runs on a
// block it is asked to store: a refused block gives the zero Header, and
// registry.Open refuses it with the same error before any KDF work; an
// accepted block is version 1 and the canonical encoding of what was
// parsed.
func FuzzRegistryInspect(f *testing.F) {
	c := &corpus{f: f}
	for _, s := range registrySeeds(f) {
		c.add(s)
	}
	c.done()
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := registry.Inspect(in)
		if err != nil {
			if h.Version != 0 || !equalParams(h.KDF, kdf.Params{}) {
				t.Fatal("a failed parse returned a header")
			}
			// The zero Ceilings allow nothing: Open must refuse before
			// deriving, with the parse error.
			_, oerr := registry.Open(t.Context(), in, []byte(fuzzPassword), kdf.Ceilings{})
			if oerr == nil || oerr.Error() != err.Error() {
				t.Fatalf("Inspect says %v, Open says %v", err, oerr)
			}
			return
		}
		if h.Version != registry.Version {
			t.Fatalf("accepted version %d", h.Version)
		}
		if _, err := kdf.Parse(h.KDF.Bytes()); err != nil {
			t.Fatalf("accepted KDF parameters that do not parse: %v", err)
		}
		_, nonce, ct := splitBlock(t, in)
		if re := encodeBlock(t, encodeHeader(t, h.KDF, nonce), ct); !bytes.Equal(re, in) {
			t.Fatalf("an accepted block re-encodes to other bytes")
		}
		if len(in) > registry.MaxBlockSize {
			t.Fatalf("accepted a block of %d bytes", len(in))
		}
	})
}

// FuzzRegistryOpen checks registry.Open with cheap ceilings: a refused
// block gives the zero Plaintext; an opened one passes Inspect, its
// plaintext seals again to a block of the same size that opens to the
// same plaintext, and the padded plaintext it held is the canonical one.
func FuzzRegistryOpen(f *testing.F) {
	c := &corpus{f: f}
	for _, s := range registrySeeds(f) {
		c.add(s)
	}
	c.done()
	f.Fuzz(func(t *testing.T, in []byte) {
		pt, err := registry.Open(t.Context(), in, []byte(fuzzPassword), fuzzCeilings)
		if err != nil {
			if !reflect.DeepEqual(pt, registry.Plaintext{}) {
				t.Fatal("a failed open returned a plaintext")
			}
			return
		}
		h, err := registry.Inspect(in)
		if err != nil {
			t.Fatalf("Open accepted a block Inspect refuses: %v", err)
		}
		checkResealed(t, pt, h.KDF, openPadded(t, in, fuzzPassword), len(in))
	})
}

// checkResealed seals pt again with params and checks that the block is
// size bytes (if size > 0), that it opens to pt, and that its padded
// plaintext is padded up to its trailing zeros.
func checkResealed(t *testing.T, pt registry.Plaintext, params kdf.Params, padded []byte, size int) {
	t.Helper()
	again, err := registry.Seal(t.Context(), pt, []byte(fuzzPassword), params)
	if err != nil {
		t.Fatalf("an opened plaintext does not seal: %v", err)
	}
	if size > 0 && len(again) != size {
		t.Fatalf("an opened block of %d bytes seals again to %d", size, len(again))
	}
	back, err := registry.Open(t.Context(), again, []byte(fuzzPassword), fuzzCeilings)
	if err != nil {
		t.Fatalf("a re-sealed plaintext does not open: %v", err)
	}
	if !reflect.DeepEqual(back, pt) {
		t.Fatalf("a re-sealed plaintext opens to another: %+v, %+v", back, pt)
	}
	// The plaintext decoder does not require whole buckets (the ciphertext
	// length check does): compare the item and its zero tail.
	re := openPadded(t, again, fuzzPassword)
	if !bytes.Equal(bytes.TrimRight(padded, "\x00"), bytes.TrimRight(re, "\x00")) {
		t.Fatalf("an accepted plaintext re-encodes to other bytes:\n%x\n%x", padded, re)
	}
}

// FuzzRegistryPlaintext reaches the plaintext decoder, which mutations of
// a block cannot reach through the AEAD: it seals the input itself (padded
// with zeros to whole buckets) under a cheap KDF and opens it with
// registry.Open. A refused plaintext gives the zero Plaintext; an accepted
// one is the canonical encoding of what was decoded.
func FuzzRegistryPlaintext(f *testing.F) {
	params := cheapParams(f)[2] // PBKDF2, one iteration: the cheapest
	aead := blockAEAD(f, params, fuzzPassword)
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	header := encodeHeader(f, params, nonce)
	const maxPlaintext = (registry.MaxBlockSize - 1024) / registry.PadBlock * registry.PadBlock
	seal := func(tb testing.TB, pt []byte) []byte {
		n := max(1, (len(pt)+registry.PadBlock-1)/registry.PadBlock) * registry.PadBlock
		padded := make([]byte, n)
		copy(padded, pt)
		return encodeBlock(tb, header, aead.Seal(nil, nonce, padded, header))
	}

	c := &corpus{f: f}
	for _, pt := range fuzzPlaintexts {
		b, err := registry.Seal(f.Context(), pt, []byte(fuzzPassword), params)
		if err != nil {
			f.Fatal(err)
		}
		want, err := registry.Open(f.Context(), b, []byte(fuzzPassword), fuzzCeilings)
		if err != nil {
			f.Fatal(err)
		}
		padded := openPadded(f, b, fuzzPassword)
		// The format written again here must agree with the package.
		if got, err := registry.Open(f.Context(), seal(f, padded), []byte(fuzzPassword), fuzzCeilings); err != nil || !reflect.DeepEqual(got, want) {
			f.Fatalf("a block sealed by the target does not open (%v): the target's copy of the format is out of date", err)
		}
		c.add(bytes.TrimRight(padded, "\x00"))
	}
	for _, b := range vectorBytes("plaintext") {
		if b[0]>>5 == 5 { // a map, as a plaintext is
			c.add(b)
		}
	}
	c.add([]byte{0xa1, 0x03, 0x00})
	c.add([]byte{0xa1, 0x03, 0x1a, 0x65, 0x00, 0x00, 0x00})
	c.add([]byte{0xa0, 0x01})
	c.add([]byte{0xa0})
	c.done()

	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > maxPlaintext {
			return
		}
		block := seal(t, in)
		pt, err := registry.Open(t.Context(), block, []byte(fuzzPassword), fuzzCeilings)
		if err != nil {
			if !reflect.DeepEqual(pt, registry.Plaintext{}) {
				t.Fatal("a failed open returned a plaintext")
			}
			if !errors.Is(err, registry.ErrMalformed) {
				t.Fatalf("a plaintext refused with %v, not ErrMalformed", err)
			}
			return
		}
		checkResealed(t, pt, params, openPadded(t, block, fuzzPassword), 0)
	})
}
