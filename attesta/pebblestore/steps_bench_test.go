package pebblestore_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
)

// BenchmarkStoreSteps times the store's own steps on a connect's path, one
// goroutine, no cryptography: what the protocol adds above its primitive
// floor, step by step.
//
//   - RedeemChallenge/new: a first connect's one synced batch (used-token
//     mark, party, key index, session); /known: a known key's (mark,
//     session).
//   - Spend: a budget taken from, one synced batch.
//   - AppByToken, KeyBanned: the point reads of auth_key_request.
func BenchmarkStoreSteps(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	redeem := func(st *pebblestore.Store, kid attesta.KeyID) error {
		r := attesta.Redemption{
			Challenge: attesta.Challenge{KeyID: kid, KeyType: attesta.X25519Public, App: "bench", ExpiresAt: now.Add(time.Hour)},
			Now:       now,
			Session:   attesta.Session{ExpiresAt: now.Add(time.Hour)},
		}
		rand.Read(r.Challenge.TokenHash[:])
		rand.Read(r.NewParty[:])
		rand.Read(r.Session.Hash[:])
		_, err := st.RedeemChallenge(ctx, r)
		return err
	}
	b.Run("RedeemChallenge/new", func(b *testing.B) {
		st := openBenchStore(b)
		for range b.N {
			var kid attesta.KeyID
			rand.Read(kid[:])
			if err := redeem(st, kid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RedeemChallenge/known", func(b *testing.B) {
		st := openBenchStore(b)
		var kid attesta.KeyID
		rand.Read(kid[:])
		if err := redeem(st, kid); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if err := redeem(st, kid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Spend", func(b *testing.B) {
		st := openBenchStore(b)
		var k attesta.Hash
		rand.Read(k[:])
		l := attesta.Limit{Burst: 1 << 30, Every: time.Nanosecond}
		for range b.N {
			if err := st.Spend(ctx, now, attesta.Spend{Key: k, Limit: l, Cost: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppByToken", func(b *testing.B) {
		st := openBenchStore(b)
		app := attesta.App{Name: "bench", Created: now}
		rand.Read(app.TokenHash[:])
		if err := st.CreateApp(ctx, app); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := st.AppByToken(ctx, app.TokenHash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KeyBanned", func(b *testing.B) {
		st := openBenchStore(b)
		var kid attesta.KeyID
		rand.Read(kid[:])
		b.ResetTimer()
		for range b.N {
			if banned, err := st.KeyBanned(ctx, kid); err != nil || banned {
				b.Fatal(banned, err)
			}
		}
	})
}

func openBenchStore(b *testing.B) *pebblestore.Store {
	b.Helper()
	st, err := pebblestore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
