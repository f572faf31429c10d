// Package benchconnect runs the connect benchmarks of attesta and
// transport, and the primitive floor they are compared with, the same
// way: b.N connects by Goroutines goroutines (whatever GOMAXPROCS is), in
// chunks, each chunk's requests timed, their decryptions (the client's
// work, not the server's) untimed, then its tokens timed. Chunks keep the
// number of challenges outstanding at once near what a loaded server sees
// (a few per key), rather than a backlog of b.N decryptions held in
// memory.
//
// # The floor
//
// Floor is the work no implementation of a connect can skip, measured in
// the same chunks and phases as the connect it is compared with, on a
// Pebble database opened by pebblestore.Open (the store's own options,
// its 64 MiB block cache among them): in the request phase, parsing the
// packed key and encrypting a token of a real challenge token's size to
// it; in the token phase, one synced Pebble batch holding exactly the
// records a known key's redemption commits (pebblestore's RedeemChallenge:
// the used-token mark and the session, each with its expiry index entry;
// TestFloorBatchIsARedemptions holds the two to the same bytes). The
// challenge is stateless (attesta/challenge.go), so that batch is all of
// a connect's store writes; the reads of a connect (the application, the
// ban, the used mark, the key index) are the core's cost, not the floor.
package benchconnect

import (
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// Goroutines is how many connects run at once, so that synced Pebble
// commits are grouped as under real load.
const Goroutines = 64

// App is the application name the connect benchmarks register: its length
// is in the challenge token and in the session record, so the floor uses
// it too.
const App = "bench"

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

// tokenSize is the size of the challenge token a connect of App encrypts
// (attesta/challenge.go: a fixed part and the application name).
const tokenSize = attesta.MaxChallengeTokenSize - maxAppNameLen + len(App)

// maxAppNameLen is the longest application name a token carries.
const maxAppNameLen = 64

// Floor runs b.N primitive floors of a connect of alg (see the package
// documentation) in the chunks and phases Run uses for a connect of alg,
// and reports the same metrics.
func Floor(b *testing.B, alg attesta.Algorithm) {
	b.Helper()
	st, err := pebblestore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	db := st.DB()
	keys, perKey := Keys(b, alg)
	packed := make([][]byte, len(keys))
	for i, k := range keys {
		packed[i] = k.Public().Pack()
	}
	party, kid := rnd.Bytes(16), rnd.Bytes(32)
	token := make([]byte, tokenSize)
	b.ReportAllocs()
	Run(b, len(keys)*perKey, Steps{
		Request: func(i int) ([]byte, error) {
			pub, err := attesta.ParsePublicKey(packed[i%len(packed)])
			if err != nil {
				return nil, err
			}
			return pub.EncryptToken(token)
		},
		Decrypt: func(_ int, ct []byte) ([]byte, error) { return ct, nil },
		Token: func(int, []byte) error {
			return commitRedemption(db, time.Now(), rnd.Bytes(32), rnd.Bytes(32), party, kid)
		},
	})
}

// commitRedemption commits, synced, the records pebblestore's
// RedeemChallenge writes for a known key at now: the used-token mark
// under the token's hash (its expiry, 5 minutes on) and its expiry index
// entry, the session under its hash (party id, key id, App, expiry a day
// on) and its expiry index entry, encoded as pebblestore encodes them
// (its layout is in its package documentation).
func commitRedemption(db *pebble.DB, now time.Time, tokenHash, sessionHash, party, kid []byte) error {
	used, expires := now.Add(5*time.Minute), now.Add(24*time.Hour)
	usedVal, err := cborx.Marshal(used.UnixNano())
	if err != nil {
		return err
	}
	sess, err := cborx.Marshal(sessionRec{Party: party, KeyID: kid, App: App, Expires: expires.UnixNano()})
	if err != nil {
		return err
	}
	b := db.NewBatch()
	defer b.Close()
	for _, kv := range [][2][]byte{
		{cat([]byte{'u'}, tokenHash), usedVal},
		{expiryKey(used, 'u', tokenHash), nil},
		{cat([]byte{'s'}, sessionHash), sess},
		{expiryKey(expires, 's', sessionHash), nil},
	} {
		if err := b.Set(kv[0], kv[1], nil); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

// sessionRec is pebblestore's session record.
type sessionRec struct {
	_       struct{} `cbor:",toarray"`
	Party   []byte
	KeyID   []byte
	App     string
	Expires int64
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func expiryKey(t time.Time, kind byte, h []byte) []byte {
	return cat([]byte{'x'}, binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())), []byte{kind}, h)
}
