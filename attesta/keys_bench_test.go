package attesta_test

import (
	"fmt"
	"testing"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// costBuckets are the RSA modulus sizes of EncryptCost's table.
var costBuckets = []int{2048, 3072, 4096, 6144, 8192, 12288, 16384}

// costKeys are a public key of each row of EncryptCost's table. An RSA
// public key's modulus is checked for size and parity only, so a random
// odd number of the bucket's size costs what any key of that size costs.
func costKeys(b testing.TB) map[string]*attesta.PublicKey {
	keys := map[string]*attesta.PublicKey{}
	for _, bits := range costBuckets {
		k, err := attesta.ParsePublicKey(pack(b, uint64(attesta.RSAPublic), []byte{1, 0, 1}, testkeys.Odd(bits).Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		keys[fmt.Sprintf("rsa%d", bits)] = k
	}
	keys["x25519"] = testkeys.Key(b, attesta.X25519, 0).Public()
	keys["mlkem768x25519"] = testkeys.Key(b, attesta.MLKEM768X25519, 0).Public()
	return keys
}

// BenchmarkEncryptCost measures EncryptToken for each row of EncryptCost's
// table, and reports the table's cost beside it ("cost"): ns/op of a row
// divided by ns/op of rsa2048, rounded up, is that cost.
func BenchmarkEncryptCost(b *testing.B) {
	keys := costKeys(b)
	token := make([]byte, attesta.TokenSize)
	var names []string
	for _, bits := range costBuckets {
		names = append(names, fmt.Sprintf("rsa%d", bits))
	}
	for _, name := range append(names, "x25519", "mlkem768x25519") {
		k := keys[name]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.EncryptToken(token); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(k.EncryptCost()), "cost")
		})
	}
}

// keyWork is the server's key work for one auth_key_request's key.
func keyWork(in, token []byte) {
	if k, err := attesta.ParsePublicKey(in); err == nil {
		if _, err := k.EncryptToken(token); err != nil {
			panic(err)
		}
		return
	}
	attesta.DetectPrivateKey(in)
}

// BenchmarkWorstKeyInput reports the server's key work (parse, disclosure
// check, encryption; no store) for the most expensive key inputs beside a
// normal RSA-2048 connect key, measured in the same run: "x-normal" is
// each input's ns/op over the normal one's. The endpoint-level figures
// (with the store's writes) are BenchmarkWorstRequest's.
func BenchmarkWorstKeyInput(b *testing.B) {
	token := make([]byte, attesta.TokenSize)
	var normal float64
	b.Run("normal/rsa2048", func(b *testing.B) {
		in := testkeys.Key(b, attesta.RSA2048, 0).Public().Pack()
		for b.Loop() {
			keyWork(in, token)
		}
		normal = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	for _, w := range testkeys.WorstKeyInputs(b) {
		b.Run(w.Name, func(b *testing.B) {
			b.SetBytes(int64(len(w.In)))
			for b.Loop() {
				keyWork(w.In, token)
			}
			if normal > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/normal, "x-normal")
			}
		})
	}
}
