// Package testkeys serves pre-generated private keys to tests, so that no
// test waits for RSA key generation. The keys are test fixtures, published
// in the repository: never use them for anything else.
//
// Regenerate with: go test ./internal/testkeys -run TestGenerate -generate
package testkeys

import (
	"embed"
	"fmt"
	"sync"
	"testing"

	"github.com/attesta-go/attesta/attesta"
)

//go:embed testdata
var files embed.FS

// PerAlgorithm is how many keys of each algorithm the fixtures hold.
const PerAlgorithm = 4

// Key returns fixture key i (0 <= i < PerAlgorithm) of algorithm alg.
func Key(tb testing.TB, alg attesta.Algorithm, i int) *attesta.PrivateKey {
	tb.Helper()
	k, err := attesta.ParsePrivateKeyPEM(File(tb, fmt.Sprintf("%s-%d.pem", alg, i)))
	if err != nil {
		tb.Fatalf("testkeys: %s-%d: %v", alg, i, err)
	}
	return k
}

// File returns the bytes of a fixture file in testdata/.
func File(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := files.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatalf("testkeys: %v", err)
	}
	return b
}

// Algorithms are the algorithms with fixtures, in a fixed order.
var Algorithms = []attesta.Algorithm{attesta.RSA2048, attesta.RSA4096, attesta.X25519, attesta.MLKEM768X25519}

var (
	manyMu sync.Mutex
	many   = map[attesta.Algorithm][]*attesta.PrivateKey{}
)

// Many returns n keys of alg: the fixtures first, then keys generated once
// per test binary (RSA-4096 generation takes about a second a key: ask for
// few).
func Many(tb testing.TB, alg attesta.Algorithm, n int) []*attesta.PrivateKey {
	tb.Helper()
	manyMu.Lock()
	defer manyMu.Unlock()
	keys := many[alg]
	for i := len(keys); i < min(n, PerAlgorithm); i++ {
		keys = append(keys, Key(tb, alg, i))
	}
	for len(keys) < n {
		k, err := attesta.GenerateKey(alg)
		if err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, k)
	}
	many[alg] = keys
	return keys[:n]
}
