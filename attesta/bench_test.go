package attesta_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/benchconnect"
	"github.com/attesta-go/attesta/internal/testkeys"
)

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
// encryption + one synced Pebble batch of the records a known key's
// redemption commits, on a database opened with the Pebble store's
// options, run in the same chunks, phases and goroutines as
// BenchmarkConnect (benchconnect.Floor).
func BenchmarkPrimitives(b *testing.B) {
	for _, alg := range testkeys.Algorithms {
		b.Run(string(alg), func(b *testing.B) { benchconnect.Floor(b, alg) })
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
	app, err := svc.CreateApp(context.Background(), benchconnect.App)
	if err != nil {
		b.Fatal(err)
	}
	return st, svc, app
}
