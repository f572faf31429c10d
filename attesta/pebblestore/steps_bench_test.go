package pebblestore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
)

// BenchmarkStoreSteps times the store's own steps on a connect's path, one
// goroutine, no cryptography: what the protocol adds above its primitive
// floor, step by step.
//
//   - AddChallenge/pending=N: storing a challenge for a key that has N
//     pending challenges already (AddChallenge reads the key's list and
//     checks each entry with a point read, so its cost grows with N; a
//     Service allows at most MaxChallengesPerKey, 4 by default, 256 at
//     most); consumed=N: after N consumed challenges not yet compacted
//     away, which no longer cost anything.
//   - AppByToken, KeyBanned: the point reads of auth_key_request.
func BenchmarkStoreSteps(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	cases := []struct{ pending, tombstones int }{{0, 0}, {4, 0}, {64, 0}, {256, 0}, {0, 1024}}
	for _, tc := range cases {
		name := fmt.Sprintf("AddChallenge/pending=%d", tc.pending)
		if tc.tombstones > 0 {
			name += fmt.Sprintf("/consumed=%d", tc.tombstones)
		}
		b.Run(name, func(b *testing.B) {
			st := openBenchStore(b)
			var kid attesta.KeyID
			rand.Read(kid[:])
			add := func() (attesta.Challenge, error) {
				c := attesta.Challenge{KeyID: kid, KeyType: attesta.X25519Public, App: "bench", ExpiresAt: now.Add(time.Hour)}
				rand.Read(c.TokenHash[:])
				return c, st.AddChallenge(ctx, c, 1<<30, now)
			}
			// consume deletes a challenge and its index entries, as a
			// redemption does (an expired one: no synced commit).
			consume := func(c attesta.Challenge) {
				if _, err := st.RedeemChallenge(ctx, attesta.Redemption{TokenHash: c.TokenHash, Now: now.Add(2 * time.Hour)}); err != attesta.ErrChallengeExpired {
					b.Fatal(err)
				}
			}
			for range tc.pending {
				if _, err := add(); err != nil {
					b.Fatal(err)
				}
			}
			// Challenges of this key consumed since the last compaction.
			for range tc.tombstones {
				c, err := add()
				if err != nil {
					b.Fatal(err)
				}
				consume(c)
			}
			compact := func() {
				if err := st.DB().Flush(); err != nil {
					b.Fatal(err)
				}
				if err := st.DB().Compact(ctx, []byte{0}, []byte{0xff}, false); err != nil {
					b.Fatal(err)
				}
			}
			if tc.tombstones == 0 {
				compact()
			}
			b.ResetTimer()
			for i := range b.N {
				c, err := add()
				if err != nil {
					b.Fatal(err)
				}
				// Consume it again, untimed, so that the key keeps
				// exactly tc.pending pending challenges; without
				// tombstones, compact now and then so that the deleted
				// entries do not pile up in the scanned range.
				b.StopTimer()
				consume(c)
				if tc.tombstones == 0 && i%256 == 255 {
					compact()
				}
				b.StartTimer()
			}
		})
	}
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
