package peers

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// threePhase runs a login's server-side work the way Attesta's
// BenchmarkConnect does: begin for every i < b.N with about 64 goroutines
// (timed), then the client's part for every i (timer stopped), then finish
// for every i with about 64 goroutines (timed). It reports the two timed
// phases apart as begin-ns/op and finish-ns/op.
func threePhase(b *testing.B, begin, client, finish func(i int) error) {
	b.Helper()
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	var next atomic.Int64
	parallel := func(f func(int) error) {
		next.Store(0)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := f(int(next.Add(1) - 1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ResetTimer()
	t0 := time.Now()
	parallel(begin)
	b.StopTimer()
	beginTime := time.Since(t0)

	// The client's part, untimed, on every core.
	var wg sync.WaitGroup
	var failed atomic.Value
	var ci atomic.Int64
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int(ci.Add(1) - 1); i < b.N; i = int(ci.Add(1) - 1) {
				if err := client(i); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}

	b.StartTimer()
	t1 := time.Now()
	parallel(finish)
	b.StopTimer()
	b.ReportMetric(float64(beginTime.Nanoseconds())/float64(b.N), "begin-ns/op")
	b.ReportMetric(float64(time.Since(t1).Nanoseconds())/float64(b.N), "finish-ns/op")
}

// stores are the two variants of every benchmark: the protocol alone, and
// the protocol plus one synced Pebble batch on the login step (the store
// part of Attesta's primitive floor), since a real login stores something
// durably (a sign counter, a session).
var stores = []string{"none", "sync"}

// syncer commits one synced batch of six 33-byte keys with 64-byte values,
// exactly what Attesta's BenchmarkPrimitives commits per connect.
type syncer struct{ db *pebble.DB }

func newSyncer(b *testing.B, variant string) *syncer {
	if variant == "none" {
		return nil
	}
	db, err := pebble.Open(b.TempDir(), &pebble.Options{Logger: discardLogger{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return &syncer{db}
}

func (s *syncer) commit() error {
	if s == nil {
		return nil
	}
	k := make([]byte, 33)
	v := make([]byte, 64)
	rand.Read(k)
	batch := s.db.NewBatch()
	defer batch.Close()
	for j := range 6 {
		k[0] = byte(j)
		if err := batch.Set(k, v, nil); err != nil {
			return err
		}
	}
	return batch.Commit(pebble.Sync)
}

// BenchmarkPeerPrimitives is each peer's own floor, measured like
// Attesta's: the public-key operations the server cannot avoid, plus one
// synced Pebble batch.
//
//   - webauthn-es256: one ECDSA P-256 signature verification.
//   - opaque-ristretto255: five ristretto255 scalar multiplications (the
//     OPRF evaluation, the ephemeral key share, three Diffie-Hellmans) and
//     the decoding of the three points received.
func BenchmarkPeerPrimitives(b *testing.B) {
	b.Run("webauthn-es256", func(b *testing.B) {
		floor := es256Floor(b)
		s := newSyncer(b, "sync")
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := floor(); err != nil {
					b.Error(err)
					return
				}
				if err := s.commit(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("opaque-ristretto255", func(b *testing.B) {
		floor := ristrettoFloor(b)
		s := newSyncer(b, "sync")
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := floor(); err != nil {
					b.Error(err)
					return
				}
				if err := s.commit(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

type discardLogger struct{}

func (discardLogger) Infof(string, ...any)  {}
func (discardLogger) Errorf(string, ...any) {}
func (discardLogger) Fatalf(f string, a ...any) {
	panic(fmt.Sprintf(f, a...))
}
