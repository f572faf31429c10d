package attesta_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/benchconnect"
)

var (
	scaleSizes = flag.String("attesta.scale", "10k",
		"comma-separated party counts for BenchmarkLoginAtScale (10k, 100k, 1M, or plain numbers)")
	scaleDir = flag.String("attesta.scaledir", "",
		"directory where BenchmarkLoginAtScale keeps its filled stores between runs (default: fill anew each run in a temporary directory)")
)

// scaleSample is how many of a scaleFixture's parties the login benchmark logs
// in with, spread evenly over the fill.
const scaleSample = 1024

// BenchmarkLoginAtScale shows that a login does not get slower as the
// store grows: a full connect of a known X25519 key (AuthKeyRequest +
// AuthKeyToken, is_new=false) against stores of 10,000 to 1,000,000
// parties, measured like BenchmarkConnect (three phases, about 64
// goroutines, the client's decryption untimed). The logins go to
// scaleSample parties spread over the whole fill, so the key lookups land
// all over the key space.
//
// The stores are filled through the real Service (GenerateKey,
// AuthKeyRequest, DecryptToken, AuthKeyToken with 64 goroutines, so that
// synced commits group), then flushed and compacted. Each size also
// reports the disk it takes per party (disk-B/party: every file of the
// store after a full compaction, divided by the parties) and the time the
// fill took (fill-s, 0 when the store came from -attesta.scaledir).
//
//	go test -run X -bench LoginAtScale ./attesta -attesta.scale=10k,100k,1M -attesta.scaledir=bench/.cache
func BenchmarkLoginAtScale(b *testing.B) {
	sizes, err := parseSizes(*scaleSizes)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range sizes {
		// Open here, not in the sub-benchmark's function, which runs once
		// for each b.N tried.
		fx := openFixture(b, n)
		b.Run("parties="+sizeName(n), func(b *testing.B) {
			benchLogin(b, fx)
			b.ReportMetric(fx.Disk.CompactedBytes/float64(fx.Parties), "disk-B/party")
			b.ReportMetric(fx.fillSeconds, "fill-s")
		})
		if err := fx.store.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchLogin logs the scaleFixture's sample keys in, b.N times in all.
func benchLogin(b *testing.B, fx *scaleFixture) {
	ctx := context.Background()
	perKey := max(4, benchconnect.Goroutines/len(fx.keys))
	svc, err := attesta.New(attesta.Config{Store: fx.store, Secret: bytes.Repeat([]byte{7}, attesta.SecretSize)})
	if err != nil {
		b.Fatal(err)
	}
	sessions := make([]string, b.N)
	keys := fx.keys
	b.ReportAllocs()
	benchconnect.Run(b, len(keys)*perKey, benchconnect.Steps{
		Request: func(i int) ([]byte, error) {
			req, err := svc.AuthKeyRequest(ctx, keys[i%len(keys)].Public().Pack(), fx.AppToken)
			return req.EncryptedToken, err
		},
		Decrypt: func(i int, ct []byte) ([]byte, error) { return keys[i%len(keys)].DecryptToken(ct) },
		Token: func(i int, token []byte) error {
			r, err := svc.AuthKeyToken(ctx, token)
			if err == nil && r.IsNew {
				err = errors.New("a sample key made a new party")
			}
			sessions[i] = r.Session
			return err
		},
	})

	// Log the sessions out again, so that a store kept in
	// -attesta.scaledir holds the same records run after run.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(sessions)); i = next.Add(1) - 1 {
				if sessions[i] == "" {
					continue
				}
				if err := svc.Revoke(ctx, sessions[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// scaleFixture is a store filled with Parties parties, and what the benchmark
// needs to log some of them in. Its exported fields are saved as
// fixture.json beside the store in -attesta.scaledir.
type scaleFixture struct {
	Parties     int       `json:"parties"`
	AppToken    string    `json:"app_token"`
	SampleKeys  []string  `json:"sample_keys"` // hex of packed private keys
	FillSeconds float64   `json:"fill_seconds"`
	Filled      time.Time `json:"filled"`
	Disk        diskUsage `json:"disk"`

	store       *pebblestore.Store
	keys        []*attesta.PrivateKey
	fillSeconds float64 // this run's fill time, 0 when reused
}

// diskUsage is what a store takes on disk, in bytes.
type diskUsage struct {
	// FlushedBytes: every file in the directory after a memtable flush.
	FlushedBytes float64 `json:"flushed_bytes"`
	// CompactedBytes: every file after a full manual compaction.
	CompactedBytes float64 `json:"compacted_bytes"`
	// SSTBytes: the sstables alone after the compaction.
	SSTBytes float64 `json:"sst_bytes"`
	// Records and RecordBytes: keys and key+value bytes per record kind
	// (the first byte of the key), before compression.
	Records     map[string]int `json:"records"`
	RecordBytes map[string]int `json:"record_bytes"`
}

// openFixture opens the store of n parties in -attesta.scaledir, or fills
// one (there, or in a temporary directory). The store is closed when b
// ends, if not before.
func openFixture(b *testing.B, n int) *scaleFixture {
	b.Helper()
	dir := b.TempDir()
	if *scaleDir != "" {
		dir = filepath.Join(*scaleDir, "parties-"+sizeName(n))
	}
	fx := &scaleFixture{}
	meta := filepath.Join(dir, "fixture.json")
	if raw, err := os.ReadFile(meta); err == nil {
		if err := json.Unmarshal(raw, fx); err != nil {
			b.Fatalf("%s: %v", meta, err)
		}
		if fx.store, err = pebblestore.Open(filepath.Join(dir, "db")); err != nil {
			b.Fatal(err)
		}
		for _, h := range fx.SampleKeys {
			raw, err := hex.DecodeString(h)
			if err != nil {
				b.Fatal(err)
			}
			k, err := attesta.ParsePrivateKey(raw)
			if err != nil {
				b.Fatal(err)
			}
			fx.keys = append(fx.keys, k)
		}
		b.Logf("reusing %d parties filled %s in %s", fx.Parties, fx.Filled.Format(time.RFC3339), dir)
	} else if errors.Is(err, fs.ErrNotExist) {
		os.RemoveAll(filepath.Join(dir, "db")) // a fill that did not finish
		fillFixture(b, fx, filepath.Join(dir, "db"), n)
		if *scaleDir != "" {
			out, err := json.MarshalIndent(fx, "", "  ")
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(meta, out, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.Fatal(err)
	}
	b.Cleanup(func() { fx.store.Close() })
	return fx
}

// fillFixture registers n new X25519 keys through the Service, with 64
// goroutines, keeping scaleSample of them, then measures the disk.
func fillFixture(b *testing.B, fx *scaleFixture, dir string, n int) {
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	st, err := pebblestore.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := attesta.New(attesta.Config{Store: st, Secret: bytes.Repeat([]byte{7}, attesta.SecretSize)})
	if err != nil {
		b.Fatal(err)
	}
	app, err := svc.CreateApp(ctx, "scale")
	if err != nil {
		b.Fatal(err)
	}
	fx.store, fx.Parties, fx.AppToken = st, n, app
	every := max(1, n/scaleSample)
	sample := make([]*attesta.PrivateKey, (n+every-1)/every)
	start := time.Now()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		failure atomic.Value
	)
	for range 64 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				k, err := register(ctx, svc, app)
				if err != nil {
					failure.Store(err)
					return
				}
				if i%every == 0 {
					sample[i/every] = k
				}
				if i > 0 && i%100000 == 0 {
					b.Logf("filled %d parties in %s", i, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failure.Load().(error); ok {
		b.Fatal(err)
	}
	fx.fillSeconds = time.Since(start).Seconds()
	fx.FillSeconds, fx.Filled = fx.fillSeconds, time.Now().UTC()
	fx.keys = sample
	for _, k := range sample {
		fx.SampleKeys = append(fx.SampleKeys, hex.EncodeToString(k.Pack()))
	}

	db := st.DB()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	fx.Disk.FlushedBytes = float64(dirBytes(b, dir, ""))
	if err := db.Compact(ctx, []byte{0}, bytes.Repeat([]byte{0xff}, 64), true); err != nil {
		b.Fatal(err)
	}
	fx.Disk.CompactedBytes = float64(dirBytes(b, dir, ""))
	fx.Disk.SSTBytes = float64(dirBytes(b, dir, ".sst"))
	fx.Disk.Records, fx.Disk.RecordBytes = map[string]int{}, map[string]int{}
	it, err := db.NewIter(nil)
	if err != nil {
		b.Fatal(err)
	}
	for it.First(); it.Valid(); it.Next() {
		kind := string(it.Key()[:1])
		fx.Disk.Records[kind]++
		fx.Disk.RecordBytes[kind] += len(it.Key()) + len(it.Value())
	}
	if err := it.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d parties in %.1fs; %.0f B/party on disk after compaction", n, fx.fillSeconds, fx.Disk.CompactedBytes/float64(n))
}

// register is a first connect of a fresh X25519 key, as a client runs it.
func register(ctx context.Context, svc *attesta.Service, app string) (*attesta.PrivateKey, error) {
	k, err := attesta.GenerateKey(attesta.X25519)
	if err != nil {
		return nil, err
	}
	req, err := svc.AuthKeyRequest(ctx, k.Public().Pack(), app)
	if err != nil {
		return nil, err
	}
	token, err := k.DecryptToken(req.EncryptedToken)
	if err != nil {
		return nil, err
	}
	r, err := svc.AuthKeyToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if !r.IsNew {
		return nil, errors.New("a fresh key logged into an existing party")
	}
	return k, nil
}

// dirBytes adds up the sizes of the files under dir whose names end in
// suffix, or fails the benchmark.
func dirBytes(b *testing.B, dir, suffix string) int64 {
	n, err := storeBytes(os.DirFS(dir), suffix)
	if err != nil {
		b.Fatalf("%s: %v", dir, err)
	}
	return n
}

// storeBytes adds up the sizes of the files in fsys whose names end in
// suffix. Pebble deletes obsolete sstables, WAL and manifest files in the
// background (a compaction's inputs once it is done), so a file listed
// here may be gone before its size is read: it is no longer part of the
// store, and counts as nothing rather than failing the measurement.
func storeBytes(fsys fs.FS, suffix string) (int64, error) {
	var total int64
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != "." && errors.Is(err, fs.ErrNotExist) {
				return nil // a directory that vanished under the walk
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), suffix) {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	return total, err
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			f, mult = strings.TrimSuffix(f, "k"), 1000
		case strings.HasSuffix(f, "M"):
			f, mult = strings.TrimSuffix(f, "M"), 1000000
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("-attesta.scale: bad size %q", f)
		}
		out = append(out, v*mult)
	}
	return out, nil
}

func sizeName(n int) string {
	switch {
	case n%1000000 == 0:
		return strconv.Itoa(n/1000000) + "M"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// A file that Pebble deletes between the listing and the size (the input
// of a compaction that just finished), or a directory that goes between
// the listing and its own listing, is not counted and does not fail the
// measurement; a missing store still does.
func TestStoreBytesVanishingFile(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"000001.sst": 10, "000002.sst": 20, "000003.log": 7, "OPTIONS-000004": 5} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o600))
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "archive"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "archive", "000000.sst"), make([]byte, 100), 0o600))

	n, err := storeBytes(os.DirFS(dir), "")
	require.NoError(t, err)
	assert.EqualValues(t, 142, n)

	fsys := vanishingFS{FS: os.DirFS(dir), remove: []string{filepath.Join(dir, "000002.sst"), filepath.Join(dir, "archive")}}
	n, err = storeBytes(fsys, "")
	require.NoError(t, err)
	assert.EqualValues(t, 22, n, "000001.sst, 000003.log and OPTIONS; not the vanished ones")
	_, err = os.Stat(filepath.Join(dir, "000002.sst"))
	require.ErrorIs(t, err, fs.ErrNotExist, "the file did vanish under the walk")
	n, err = storeBytes(fsys, ".sst")
	require.NoError(t, err)
	assert.EqualValues(t, 10, n)

	_, err = storeBytes(os.DirFS(filepath.Join(dir, "missing")), "")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// vanishingFS removes the files and directories in remove from the disk
// right after listing any directory, as a background deletion can between
// a walk's ReadDir and its Lstat.
type vanishingFS struct {
	fs.FS
	remove []string
}

func (v vanishingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(v.FS, name)
	for _, path := range v.remove {
		if rerr := os.RemoveAll(path); rerr != nil {
			return nil, rerr
		}
	}
	return entries, err
}
