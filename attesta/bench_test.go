package attesta_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// benchParallelism makes b.RunParallel run about 64 goroutines on any
// machine, so that synced Pebble commits are grouped as under real load.
func benchParallelism(b *testing.B) {
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
}

// BenchmarkConnect is the server-side cost of one full connect in the core
// (AuthKeyRequest + AuthKeyToken on the real Pebble store), beside
// BenchmarkPrimitives, the floor: parsing the key, encrypting the token and
// one synced Pebble batch, measured the same way in the same run.
//
// The client's decryption is not the server's cost, so the benchmark runs
// in three phases over b.N connects: all requests (timed), all decryptions
// (timer stopped), all tokens (timed).
func BenchmarkConnect(b *testing.B) {
	for _, alg := range testkeys.Algorithms {
		b.Run(string(alg), func(b *testing.B) {
			ctx := context.Background()
			st, svc, app := benchService(b)
			defer st.Close()
			keys := make([]*attesta.PrivateKey, testkeys.PerAlgorithm)
			for i := range keys {
				keys[i] = testkeys.Key(b, alg, i)
			}
			cts := make([][]byte, b.N)
			var next atomic.Int64
			b.ReportAllocs()
			benchParallelism(b)
			b.ResetTimer()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					req, err := svc.AuthKeyRequest(ctx, keys[i%int64(len(keys))].Public().Pack(), app)
					if err != nil {
						b.Error(err)
						return
					}
					cts[i] = req.EncryptedToken
				}
			})
			b.StopTimer()
			reqTime := time.Since(t0)
			tokens := make([][]byte, b.N)
			for i, ct := range cts {
				t, err := keys[i%len(keys)].DecryptToken(ct)
				if err != nil {
					b.Fatal(err)
				}
				tokens[i] = t
			}
			next.Store(0)
			b.StartTimer()
			t1 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					if _, err := svc.AuthKeyToken(ctx, tokens[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(reqTime.Nanoseconds())/float64(b.N), "request-ns/op")
			b.ReportMetric(float64(time.Since(t1).Nanoseconds())/float64(b.N), "token-ns/op")
		})
	}
}

// BenchmarkPrimitives is the floor of one connect: key parse + token
// encryption + one synced Pebble batch of the size a redemption writes.
func BenchmarkPrimitives(b *testing.B) {
	for _, alg := range testkeys.Algorithms {
		b.Run(string(alg), func(b *testing.B) {
			db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: discardLogger{}})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			packed := testkeys.Key(b, alg, 0).Public().Pack()
			benchParallelism(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				token := make([]byte, 32)
				k := make([]byte, 33)
				v := make([]byte, 64)
				for pb.Next() {
					pub, err := attesta.ParsePublicKey(packed)
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := pub.EncryptToken(token); err != nil {
						b.Error(err)
						return
					}
					rand.Read(k)
					batch := db.NewBatch()
					for j := range 6 {
						k[0] = byte(j)
						batch.Set(k, v, nil)
					}
					if err := batch.Commit(pebble.Sync); err != nil {
						b.Error(err)
						return
					}
					batch.Close()
				}
			})
		})
	}
}

func benchService(b *testing.B) (interface{ Close() error }, *attesta.Service, string) {
	b.Helper()
	st, err := openStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, attesta.SecretSize)
	rand.Read(secret)
	svc, err := attesta.New(attesta.Config{Store: st, Secret: secret, MaxChallengesPerKey: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	app, err := svc.CreateApp(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return st, svc, app
}

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Fatalf(f string, a ...any) {
	panic(fmt.Sprintf(f, a...))
}
