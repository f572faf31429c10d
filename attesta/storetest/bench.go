package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// Bench times a store's own steps, no cryptography: what the store adds
// to a request, step by step, the same way for every store.
//
//   - RedeemChallenge/new: a first connect's one durable step (used-token
//     mark, party, key index, session); /known: a known key's (mark,
//     session); /new-parallel: first connects from GOMAXPROCS×4
//     goroutines at once (what grouping commits buys).
//   - Spend, UseOnce: a budget taken from, a mark recorded, each durable;
//     Spend/parallel: fresh budgets from GOMAXPROCS×4 goroutines at once
//     (unrelated budgets must not conflict).
//   - PutRegistry: a 1 KiB block replaced under compare-and-swap.
//   - AppByToken, KeyBanned, Session: the point reads of every connect
//     and every authenticated request.
//
// open opens a fresh store for each sub-benchmark and closes it when b
// ends.
func Bench(b *testing.B, open func(testing.TB) attesta.Store) {
	ctx := context.Background()
	redeem := func(st attesta.Store, kid attesta.KeyID) error {
		_, err := st.RedeemChallenge(ctx, redemption(kid, t0, t0.Add(time.Hour), t0.Add(time.Hour)))
		return err
	}
	b.Run("RedeemChallenge/new", func(b *testing.B) {
		st := open(b)
		for b.Loop() {
			if err := redeem(st, keyID()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RedeemChallenge/known", func(b *testing.B) {
		st := open(b)
		kid := keyID()
		if err := redeem(st, kid); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := redeem(st, kid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RedeemChallenge/new-parallel", func(b *testing.B) {
		st := open(b)
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := redeem(st, keyID()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("Spend", func(b *testing.B) {
		st := open(b)
		k := hash()
		l := attesta.Limit{Burst: 1 << 30, Every: time.Nanosecond}
		for b.Loop() {
			if err := st.Spend(ctx, t0, attesta.Spend{Key: k, Limit: l, Cost: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Spend/parallel", func(b *testing.B) {
		st := open(b)
		l := attesta.Limit{Burst: 1 << 30, Every: time.Nanosecond}
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := st.Spend(ctx, t0, attesta.Spend{Key: hash(), Limit: l, Cost: 1}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("UseOnce", func(b *testing.B) {
		st := open(b)
		for b.Loop() {
			if err := st.UseOnce(ctx, hash(), t0.Add(time.Hour), t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutRegistry", func(b *testing.B) {
		st := open(b)
		party, block := partyID(), make([]byte, 1024)
		v := uint64(0)
		for b.Loop() {
			var err error
			if v, err = st.PutRegistry(ctx, party, block, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppByToken", func(b *testing.B) {
		st := open(b)
		app := attesta.App{Name: "bench", TokenHash: hash(), Created: t0}
		if err := st.CreateApp(ctx, app); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.AppByToken(ctx, app.TokenHash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("KeyBanned", func(b *testing.B) {
		st := open(b)
		kid := keyID()
		for b.Loop() {
			if banned, err := st.KeyBanned(ctx, kid); err != nil || banned {
				b.Fatal(banned, err)
			}
		}
	})
	b.Run("Session", func(b *testing.B) {
		st := open(b)
		r := redemption(keyID(), t0, t0.Add(time.Hour), t0.Add(time.Hour))
		if _, err := st.RedeemChallenge(ctx, r); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := st.Session(ctx, r.Session.Hash); err != nil {
				b.Fatal(err)
			}
		}
	})
}
