package fuzz

import (
	"bytes"
	"testing"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
)

// cheapParams are parameters of every algorithm, cheap enough to derive
// on every fuzzing iteration, and all within fuzzCeilings.
func cheapParams(tb testing.TB) []kdf.Params {
	tb.Helper()
	var out []kdf.Params
	for _, mk := range []func() (kdf.Params, error){
		func() (kdf.Params, error) { return kdf.Argon2idParams(8, 1, 1) },
		func() (kdf.Params, error) { return kdf.ScryptParams(4, 1, 1) },
		func() (kdf.Params, error) { return kdf.PBKDF2Params(1) },
	} {
		p, err := mk()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// mustCBOR encodes v in core deterministic encoding.
func mustCBOR(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := cborx.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzKDFParams checks kdf.Parse, which reads the KDF parameters of every
// registry block a server stores or a device downloads: a failed parse
// returns the zero Params and leaves an UnmarshalCBOR target as it was; an
// accepted input is the canonical encoding of the parameters (Bytes and
// MarshalCBOR give it back, and parsing that gives the same Params); the
// policies never panic on a parsed value.
func FuzzKDFParams(f *testing.F) {
	c := &corpus{f: f}
	for _, p := range cheapParams(f) {
		c.add(p.Bytes())
	}
	// The calibration of other packages' tests, and the default.
	for _, mk := range []func() (kdf.Params, error){
		func() (kdf.Params, error) { return kdf.Argon2idParams(1024, 1, 1) },
		func() (kdf.Params, error) { return kdf.ScryptParams(10, 8, 1) },
		func() (kdf.Params, error) { return kdf.PBKDF2Params(1000) },
		func() (kdf.Params, error) { return kdf.Default(), nil },
	} {
		p, err := mk()
		if err != nil {
			f.Fatal(err)
		}
		c.add(p.Bytes())
	}
	// Edges: the largest costs, the smallest salt, other type codes, an
	// indefinite-length array, a truncated one, nothing.
	c.add(mustCBOR(f, []any{1, make([]byte, 64), uint64(1<<32 - 1), uint64(1<<32 - 1), 255}))
	c.add(mustCBOR(f, []any{2, make([]byte, 16), 63, 1, 1<<30 - 1}))
	c.add(mustCBOR(f, []any{3, make([]byte, 16), uint64(1<<32 - 1)}))
	c.add(mustCBOR(f, []any{4, make([]byte, 16), 1}))
	c.add([]byte{0x9f, 0x01, 0xff})
	c.add([]byte{0x85, 0x18, 0x01})
	c.add([]byte(nil))
	for _, b := range vectorBytes("kdf", "param") {
		c.add(b)
	}
	c.done()

	sentinel, err := kdf.PBKDF2Params(7)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := kdf.Parse(b)
		q := sentinel
		uerr := q.UnmarshalCBOR(b)
		if (err == nil) != (uerr == nil) {
			t.Fatalf("Parse says %v, UnmarshalCBOR says %v", err, uerr)
		}
		if err != nil {
			if !equalParams(p, kdf.Params{}) {
				t.Fatal("a failed parse returned parameters")
			}
			if !equalParams(q, sentinel) {
				t.Fatal("a failed UnmarshalCBOR changed its target")
			}
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("accepted %x, re-encodes to %x", b, p.Bytes())
		}
		if m, err := p.MarshalCBOR(); err != nil || !bytes.Equal(m, b) {
			t.Fatalf("MarshalCBOR: %x, %v", m, err)
		}
		if !equalParams(p, q) {
			t.Fatal("Parse and UnmarshalCBOR disagree")
		}
		again, err := kdf.Parse(p.Bytes())
		if err != nil || !equalParams(again, p) {
			t.Fatalf("the re-encoding parses to something else (%v)", err)
		}
		if n := len(p.Salt()); n < 16 || n > 64 {
			t.Fatalf("accepted a salt of %d bytes", n)
		}
		_ = p.String()
		_ = kdf.DefaultCeilings().Check(p)
		_ = kdf.DefaultFloors().Check(p)
		_ = fuzzCeilings.Check(p)
	})
}

// equalParams compares two Params by their observable parts.
func equalParams(a, b kdf.Params) bool {
	return a.Algorithm() == b.Algorithm() && bytes.Equal(a.Salt(), b.Salt()) &&
		a.MemoryKiB() == b.MemoryKiB() && a.Time() == b.Time() && a.Threads() == b.Threads() &&
		a.LogN() == b.LogN() && a.R() == b.R() && a.P() == b.P() && a.Iterations() == b.Iterations()
}
