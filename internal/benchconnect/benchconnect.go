// Package benchconnect runs the connect benchmarks of attesta and
// transport the same way: b.N connects by about 64 goroutines, in chunks,
// each chunk's requests timed, their decryptions (the client's work, not
// the server's) untimed, then its tokens timed. Chunks keep the number of
// challenges outstanding at once near what a loaded server sees (a few per
// key), rather than a backlog of b.N decryptions held in memory.
package benchconnect

import (
	"runtime"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Goroutines is how many connects run at once, so that synced Pebble
// commits are grouped as under real load.
const Goroutines = 64

// Steps are the three steps of connect i.
type Steps struct {
	// Request runs auth_key_request for connect i and returns the
	// encrypted token.
	Request func(i int) ([]byte, error)
	// Decrypt is the client's decryption (untimed).
	Decrypt func(i int, ct []byte) ([]byte, error)
	// Token runs auth_key_token for connect i.
	Token func(i int, token []byte) error
}

// Run runs b.N connects in chunks of chunk and reports request-ns/op and
// token-ns/op beside ns/op (their sum).
func Run(b *testing.B, chunk int, s Steps) {
	b.Helper()
	cts := make([][]byte, b.N)
	tokens := make([][]byte, b.N)
	var reqTime, tokTime time.Duration
	b.ResetTimer()
	for lo := 0; lo < b.N; lo += chunk {
		hi := min(lo+chunk, b.N)
		t0 := time.Now()
		parallel(lo, hi, func(i int) error {
			ct, err := s.Request(i)
			cts[i] = ct
			return err
		}, b)
		reqTime += time.Since(t0)
		b.StopTimer()
		parallel(lo, hi, func(i int) error {
			tok, err := s.Decrypt(i, cts[i])
			tokens[i] = tok
			return err
		}, b)
		b.StartTimer()
		t1 := time.Now()
		parallel(lo, hi, func(i int) error { return s.Token(i, tokens[i]) }, b)
		tokTime += time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(reqTime.Nanoseconds())/float64(b.N), "request-ns/op")
	b.ReportMetric(float64(tokTime.Nanoseconds())/float64(b.N), "token-ns/op")
}

// parallel runs f(i) for i in [lo, hi) on Goroutines goroutines.
func parallel(lo, hi int, f func(i int) error, b *testing.B) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	next.Store(int64(lo))
	for range min(Goroutines, hi-lo) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= hi {
					return
				}
				if err := f(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	runtime.Gosched()
}

// Keys returns the keys a connect benchmark of alg cycles through and how
// many challenges each has outstanding in one chunk (connect i uses key i
// mod len(keys), chunks are len(keys) × perKey): enough keys that
// Goroutines connects run at once with 4 outstanding per key, except for
// RSA-4096, whose keys are slow to make.
func Keys(b *testing.B, alg attesta.Algorithm) (keys []*attesta.PrivateKey, perKey int) {
	n := map[attesta.Algorithm]int{attesta.RSA4096: 4}[alg]
	if n == 0 {
		n = Goroutines
	}
	return testkeys.Many(b, alg, n), max(4, Goroutines/n)
}
