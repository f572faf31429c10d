package attesta_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/benchconnect"
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
// one synced Pebble batch, measured the same way in the same run. The
// client's decryption is not timed (benchconnect).
func BenchmarkConnect(b *testing.B) {
	for _, alg := range testkeys.Algorithms {
		b.Run(string(alg), func(b *testing.B) {
			ctx := context.Background()
			keys, perKey := benchconnect.Keys(b, alg)
			st, svc, app := benchService(b, perKey)
			defer st.Close()
			b.ReportAllocs()
			benchconnect.Run(b, len(keys)*perKey, benchconnect.Steps{
				Request: func(i int) ([]byte, error) {
					req, err := svc.AuthKeyRequest(ctx, keys[i%len(keys)].Public().Pack(), app)
					return req.EncryptedToken, err
				},
				Decrypt: func(i int, ct []byte) ([]byte, error) { return keys[i%len(keys)].DecryptToken(ct) },
				Token: func(i int, token []byte) error {
					_, err := svc.AuthKeyToken(ctx, token)
					return err
				},
			})
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

func benchService(b *testing.B, perKey int) (interface{ Close() error }, *attesta.Service, string) {
	b.Helper()
	st, err := openStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, attesta.SecretSize)
	rand.Read(secret)
	svc, err := attesta.New(attesta.Config{Store: st, Secret: secret})
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
