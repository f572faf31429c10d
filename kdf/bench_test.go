package kdf_test

import (
	"testing"

	"github.com/attesta-go/attesta/kdf"
)

// BenchmarkDeriveDefault is the cost of one Default derivation (Argon2id,
// 64 MiB, t = 3, p = 4).
func BenchmarkDeriveDefault(b *testing.B) {
	p := kdf.Default()
	pw := []byte("correct horse battery staple")
	for b.Loop() {
		if _, err := p.Derive(b.Context(), pw, 32); err != nil {
			b.Fatal(err)
		}
	}
}
