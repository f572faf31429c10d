package registry_test

import (
	"testing"

	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

// The three benchmarks run in one package so that Seal and Open can be
// compared with the KDF they spend nearly all their time in.

func BenchmarkDeriveDefault(b *testing.B) {
	p := kdf.Default()
	for b.Loop() {
		if _, err := p.Derive(b.Context(), password, 32); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	params := kdf.Default()
	pt := samplePlaintext()
	for b.Loop() {
		if _, err := registry.Seal(b.Context(), pt, password, params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	block := seal(b, samplePlaintext(), kdf.Default())
	for b.Loop() {
		if _, err := registry.Open(b.Context(), block, password, kdf.DefaultCeilings()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenCheap isolates the format's own cost (parsing, HKDF, AEAD,
// plaintext decoding) with a KDF that costs almost nothing.
func BenchmarkOpenCheap(b *testing.B) {
	p, err := kdf.PBKDF2Params(1)
	if err != nil {
		b.Fatal(err)
	}
	block := seal(b, samplePlaintext(), p)
	for b.Loop() {
		if _, err := registry.Open(b.Context(), block, password, kdf.DefaultCeilings()); err != nil {
			b.Fatal(err)
		}
	}
}
