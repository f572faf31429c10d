package main

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/transport"
)

// loadServer is a real server for load tests: a Pebble store, the
// transport handler, and the client addresses it has seen.
type loadServer struct {
	url   string
	token string
	mu    sync.Mutex
	addrs map[string]bool
}

// unlimited is a handler configuration under which the tests' one client
// address is never rate-limited; limited one under which it soon is (15
// units a second: an X25519 request costs 3, EncryptCost).
var (
	unlimited = transport.HandlerConfig{RatePerSecond: 1e9, RateBurst: 1e9, NewPartiesPerAddress: transport.Limit{Burst: 1e9, Every: time.Nanosecond}}
	limited   = transport.HandlerConfig{RatePerSecond: 15, RateBurst: 15}
)

func startLoadServer(t *testing.T, cfg transport.HandlerConfig) *loadServer {
	t.Helper()
	store, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, store.Close()) })
	// A fixed secret will do: it keys only the identifiers, which load
	// does not touch.
	svc, err := attesta.New(attesta.Config{Store: store, Secret: make([]byte, attesta.SecretSize)})
	require.NoError(t, err)
	h, err := transport.NewHandler(svc, cfg)
	require.NoError(t, err)
	s := &loadServer{addrs: map[string]bool{}}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		s.mu.Lock()
		s.addrs[host] = true
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	s.token, err = svc.CreateApp(t.Context(), "load")
	require.NoError(t, err)
	return s
}

// makePool writes a pool of n x25519 keys with the keypool command and
// reads it back.
func makePool(t *testing.T, n int) (string, []poolKey) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pool.pem")
	code, stdout, stderr := cli(t, "keypool", "-type", "x25519", "-n", strconv.Itoa(n), "-out", path)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "wrote "+strconv.Itoa(n)+" x25519 private keys to "+path)
	keys, alg, err := readPool(path)
	require.NoError(t, err)
	require.Len(t, keys, n)
	assert.Equal(t, attesta.X25519, alg)
	return path, keys
}

// runLoad runs attesta load with -json and decodes the report.
func runLoad(t *testing.T, args ...string) (int, *loadReport, string) {
	t.Helper()
	code, stdout, stderr := cli(t, append([]string{"load", "-json"}, args...)...)
	var rep loadReport
	if stdout != "" {
		dec := json.NewDecoder(strings.NewReader(stdout))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(&rep), stdout)
	}
	return code, &rep, stderr
}

// readAcked reads an -acked file: key id -> party id, failing on a key or
// a party named twice.
func readAcked(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	acked := map[string]string{}
	parties := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Fields(line)
		require.Len(t, f, 2, "line %q", line)
		require.NotContains(t, acked, f[1], "key acknowledged twice")
		require.NotContains(t, parties, f[0], "party acknowledged twice")
		acked[f[1]], parties[f[0]] = f[0], true
	}
	return acked
}

func TestLoad(t *testing.T) {
	srv := startLoadServer(t, unlimited)
	poolPath, pool := makePool(t, 1000)
	ackedPath := filepath.Join(t.TempDir(), "acked")

	code, rep, stderr := runLoad(t, "-server", srv.url, "-app-token", srv.token, "-clients", "4",
		"-duration", "1500ms", "-keys", "x25519", "-new-fraction", "0.5", "-pool", poolPath, "-acked", ackedPath, "-rate", "300")
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "\r", "no terminal, no redrawn line")

	assert.Positive(t, rep.Connects)
	assert.Positive(t, rep.NewConnects)
	assert.Positive(t, rep.KnownConnects)
	assert.Equal(t, rep.Connects, rep.NewConnects+rep.KnownConnects)
	assert.Empty(t, rep.Errors)
	assert.Zero(t, rep.ErrorCount)
	assert.Empty(t, rep.Anomalies)
	assert.InDelta(t, float64(rep.Connects)/rep.DurationSec, rep.ConnectsPerSec, 1e-6)
	assert.Positive(t, rep.DurationSec) // no wall-clock bound: the machine is shared
	assert.Equal(t, 1.5, rep.RequestedSec)
	assert.Equal(t, "x25519", rep.KeyType)
	assert.Equal(t, 4, rep.Clients)
	assert.Equal(t, 0.5, rep.NewFraction)
	assert.Equal(t, 300.0, rep.TargetRate)
	assert.LessOrEqual(t, rep.ConnectsPerSec, 330.0, "-rate 300")
	assert.False(t, rep.Interrupted)
	assert.Equal(t, "duration", rep.Stopped)
	if runtime.GOOS == "linux" {
		assert.Positive(t, rep.ClientCPUSec)
		assert.Greater(t, rep.ClientCPUShare, 0.0)
	}
	for _, step := range stepNames {
		s := rep.LatencyUS[step]
		assert.Equal(t, uint64(rep.Connects), s.Count, step)
		assert.True(t, 0 < s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.Max, "%s: %+v", step, s)
	}

	// The pool: 16 known keys (4 per client) first, then fresh ones,
	// each used once.
	p := rep.Pool
	assert.Equal(t, poolReport{Source: poolPath, Size: 1000, Known: 16, KnownFrom: "registered before the run",
		NewTaken: rep.NewConnects, NewLeft: 1000 - 16 - rep.NewConnects, NextOffset: 16 + int(rep.NewConnects)}, p)

	// The acked file: the known keys' registrations, then one line per
	// fresh key, and nothing else.
	acked := readAcked(t, ackedPath)
	assert.Len(t, acked, 16+int(rep.NewConnects))
	assert.Equal(t, int64(len(acked)), rep.Acked)
	for i, k := range pool {
		_, ok := acked[k.id]
		assert.Equal(t, i < p.NextOffset, ok, "key %d", i)
	}

	// Every acknowledged registration logs in to its party.
	client := transport.NewClient(srv.url)
	for i := range 20 {
		k := pool[rand.IntN(p.NextOffset)]
		res, err := client.Connect(t.Context(), k.key, srv.token)
		require.NoError(t, err)
		assert.False(t, res.IsNew, "key %d", i)
		assert.Equal(t, acked[k.id], res.PartyID)
	}

	// Continuing at next_offset, the text report.
	code, stdout, stderr := cli(t, "load", "-server", srv.url, "-app-token", srv.token, "-clients", "2",
		"-duration", "300ms", "-new-fraction", "1", "-pool", poolPath, "-pool-offset", strconv.Itoa(p.NextOffset))
	require.Equal(t, 0, code, stderr)
	for _, want := range []string{
		"attesta load: " + srv.url + ", 2 clients, x25519 keys, new fraction 1.00\n",
		"\nlatency         count       p50       p90       p99       max\n",
		"\n  connect   ", "\nerrors      none\n", "\nclient CPU  ",
		"\nkeys        pool " + poolPath + ": 1000 keys, from offset " + strconv.Itoa(p.NextOffset) + "; 0 known; ",
	} {
		assert.Contains(t, stdout, want)
	}
	assert.NotContains(t, stdout, "anomalies")

	// The same fresh keys again: the server knows them, and load says so.
	code, rep, stderr = runLoad(t, "-server", srv.url, "-app-token", srv.token, "-clients", "2",
		"-duration", "300ms", "-new-fraction", "1", "-pool", poolPath)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "answers contradicted earlier ones")
	assert.Equal(t, map[string]int64{"fresh_key_was_known": rep.NewConnects}, rep.Anomalies)
}

// A run stops taking fresh keys when the pool runs out, and says so; with
// no known keys the clients stop.
func TestLoadPoolExhausted(t *testing.T) {
	srv := startLoadServer(t, unlimited)
	poolPath, _ := makePool(t, 30)
	// An hour: the run can end only by running out of keys (or by the
	// test's timeout, if the clients did not stop).
	code, rep, stderr := runLoad(t, "-server", srv.url, "-app-token", srv.token, "-clients", "3",
		"-duration", "1h", "-new-fraction", "1", "-pool", poolPath)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, int64(30), rep.Connects)
	assert.Equal(t, "out_of_keys", rep.Stopped, "the clients stop when nothing is left")
	assert.True(t, rep.Pool.Exhausted)
	assert.Equal(t, int64(30), rep.Pool.NewTaken)
	assert.Zero(t, rep.Pool.NewLeft)
	assert.Equal(t, 30, rep.Pool.NextOffset)

	// With known keys, the run goes on with log-ins.
	poolPath, _ = makePool(t, 12) // 3 known, 9 fresh
	code, stdout, stderr := cli(t, "load", "-server", srv.url, "-app-token", srv.token, "-clients", "2",
		"-duration", "1s", "-new-fraction", "0.9", "-pool", poolPath)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "note: the pool ran out of fresh keys after ")
	assert.NotContains(t, stdout, "the clients stopped before the -duration")
	assert.Regexp(t, `known \d+\)`, stdout)
}

// -source-addrs spreads the connects over loopback source addresses, each
// with the server's rate limit to itself.
func TestLoadSourceAddrs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to the loopback interface")
	}
	srv := startLoadServer(t, limited)
	code, rep, stderr := runLoad(t, "-server", srv.url, "-app-token", srv.token, "-clients", "4",
		"-duration", "1s", "-new-fraction", "0.5", "-pool-size", "1000", "-source-addrs", "16", "-rate", "40")
	require.Equal(t, 0, code, stderr)
	assert.Positive(t, rep.Connects)
	assert.LessOrEqual(t, rep.ConnectsPerSec, 44.0, "-rate 40")
	assert.Empty(t, rep.Errors)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for i := range 16 {
		assert.True(t, srv.addrs[sourceAddr(i).String()], "no request from %s", sourceAddr(i))
	}
	assert.Equal(t, "127.100.0.1", sourceAddr(0).String())
	assert.Equal(t, "127.100.1.0", sourceAddr(255).String())
}

// Without -source-addrs, the server's limit shows as rate_limited errors,
// with a note on what to do.
func TestLoadRateLimited(t *testing.T) {
	srv := startLoadServer(t, limited)
	code, stdout, stderr := cli(t, "load", "-server", srv.url, "-app-token", srv.token, "-clients", "2",
		"-duration", "1500ms", "-new-fraction", "0", "-pool-size", "200")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^  rate_limited +\d+$`, stdout)
	assert.Contains(t, stdout, "note: ")
	assert.Contains(t, stdout, "use -source-addrs")
}

func TestLoadServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	ln.Close()
	code, _, stderr := cli(t, "load", "-server", url, "-app-token", "x", "-pool-size", "10")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "attesta: the server at "+url+" does not answer: ")
	assert.Contains(t, stderr, "connection refused; is attesta-server running at "+url+"?\n")
}

func TestLoadUsage(t *testing.T) {
	dir := t.TempDir()
	mixed := filepath.Join(dir, "mixed.pem")
	k1, err := attesta.GenerateKey(attesta.X25519)
	require.NoError(t, err)
	k2, err := attesta.GenerateKey(attesta.MLKEM768X25519)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mixed, append(k1.MarshalPEM(), k2.MarshalPEM()...), 0o600))
	srv := startLoadServer(t, unlimited)
	base := []string{"load", "-server", srv.url, "-app-token", srv.token}
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"-clients", "0"}, 2, "-clients must be between 1 and"},
		{[]string{"-new-fraction", "1.5"}, 2, "-new-fraction must be between 0 and 1"},
		{[]string{"-new-fraction", "NaN"}, 2, "-new-fraction must be between 0 and 1"},
		{[]string{"-duration", "0s"}, 2, "-duration must be positive"},
		{[]string{"-keys", "rsa1024"}, 2, `unknown key algorithm "rsa1024"`},
		{[]string{"-rate", "-1"}, 2, "-rate must be 0 or positive"},
		{[]string{"-server", "ftp://x"}, 2, "-server needs http://HOST:PORT"},
		{[]string{"-server", "http://192.0.2.1:8700", "-source-addrs", "4"}, 2, "needs a server on a loopback IPv4 address"},
		{[]string{"-pool", mixed}, 1, "key 2 is mlkem768x25519, key 1 is x25519"},
		{[]string{"-pool", "main.go"}, 1, "no PEM block: not a key pool"},
		{[]string{"-pool", mixed, "-pool-size", "5"}, 2, "-pool-size is for a generated pool"},
		{[]string{"-pool-size", "8", "-pool-offset", "9"}, 1, "-pool-offset 9 is past the pool's 8 keys"},
	} {
		code, _, stderr := cli(t, append(base, c.args...)...)
		assert.Equal(t, c.code, code, "%q: %s", c.args, stderr)
		assert.Contains(t, stderr, c.stderr, "%q", c.args)
	}
	code, _, stderr := cli(t, "load", "-server", srv.url, "-pool-size", "1")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no application token")
}

func TestKeypool(t *testing.T) {
	path, keys := makePool(t, 25)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	ids := map[string]bool{}
	for _, k := range keys {
		ids[k.id] = true
	}
	assert.Len(t, ids, 25, "all different")

	before, err := os.ReadFile(path)
	require.NoError(t, err)
	code, _, stderr := cli(t, "keypool", "-type", "x25519", "-n", "3", "-out", path)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "refusing to overwrite")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	for _, c := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"-type", "rsa1024", "-n", "1", "-out", "x"}, `unknown key algorithm "rsa1024"`},
		{[]string{"-type", "x25519", "-n", "0", "-out", "x"}, "-n must be between 1 and"},
		{[]string{"-type", "x25519", "-n", "1"}, "-out FILE is required"},
	} {
		code, _, stderr := cli(t, append([]string{"keypool"}, c.args...)...)
		assert.Equal(t, 2, code, "%q", c.args)
		assert.Contains(t, stderr, c.stderr, "%q", c.args)
	}

	// RSA and ML-KEM pools read back with their algorithm.
	if !testing.Short() {
		for _, alg := range []attesta.Algorithm{attesta.RSA2048, attesta.MLKEM768X25519} {
			p := filepath.Join(t.TempDir(), "pool.pem")
			code, _, stderr := cli(t, "keypool", "-type", string(alg), "-n", "3", "-out", p)
			require.Equal(t, 0, code, stderr)
			keys, got, err := readPool(p)
			require.NoError(t, err)
			assert.Len(t, keys, 3)
			assert.Equal(t, alg, got)
		}
	}
}

// The histogram against exact nearest-rank percentiles of a known sample.
func TestHistogram(t *testing.T) {
	var h histogram
	// 1..1000 µs, shuffled: the nearest-rank p-th percentile is p*10 µs.
	for _, i := range rand.Perm(1000) {
		h.record(time.Duration(i+1) * time.Microsecond)
	}
	s := h.snapshot()
	assert.Equal(t, uint64(1000), s.n)
	assert.Equal(t, int64(1000*time.Microsecond), s.max)
	for _, p := range []float64{1, 50, 90, 99, 99.9} {
		want := int64(p * 10 * float64(time.Microsecond))
		got := s.percentile(p)
		assert.GreaterOrEqual(t, got, want, "p%v", p)
		assert.LessOrEqual(t, float64(got), float64(want)*(1+1.0/histSub), "p%v within one bucket", p)
	}
	assert.Equal(t, s.max, s.percentile(100), "p100 is the max")

	// Below 128 ns, every value is exact.
	var small histogram
	for v := range 100 {
		small.record(time.Duration(v + 1))
	}
	ss := small.snapshot()
	for _, p := range []float64{1, 10, 50, 90, 99, 100} {
		assert.Equal(t, int64(p), ss.percentile(p), "p%v", p)
	}
	assert.Zero(t, histSnapshot{counts: make([]uint64, histBuckets)}.percentile(50), "empty")

	// What was recorded between two snapshots.
	for range 10 {
		h.record(5 * time.Second)
	}
	d := h.snapshot().minus(s)
	assert.Equal(t, uint64(10), d.n)
	assert.InEpsilon(t, float64(5*time.Second), float64(d.percentile(50)), 1.0/histSub)
	assert.Equal(t, int64(5*time.Second), d.max)

	// Buckets tile the values: each value is in its bucket, at most 1/128
	// of it wide.
	for range 20000 {
		v := rand.Int64N(1 << rand.IntN(63))
		i := histIndex(v)
		require.Less(t, i, histBuckets)
		require.GreaterOrEqual(t, histUpper(i), v, "v=%d", v)
		if i > 0 {
			require.Less(t, histUpper(i-1), v, "v=%d", v)
			require.LessOrEqual(t, float64(histUpper(i)-histUpper(i-1)), max(1, float64(v)/histSub), "v=%d", v)
		}
	}
	assert.Equal(t, histBuckets-1, histIndex(1<<63-1))
}

func TestFmtDur(t *testing.T) {
	for ns, want := range map[int64]string{
		0: "0", 999: "999ns", 1000: "1.00µs", 12345: "12.3µs", 123456: "123µs",
		4_920_000: "4.92ms", 1_500_000_000: "1.50s",
	} {
		assert.Equal(t, want, fmtDur(ns), "%d", ns)
	}
}

// The progress line: one a tick, about the interval since the last one.
// The ticks come from the test, not from a clock.
func TestLoadProgressLine(t *testing.T) {
	start := time.Date(2026, 11, 22, 6, 24, 12, 0, time.UTC)
	r := &loadRun{start: start, errors: map[string]int64{"rate_limited": 3}}
	for i := range r.hist {
		r.hist[i] = new(histogram)
	}
	r.connects.Store(42)
	r.newCount.Store(40)
	r.knownCount.Store(2)

	var out strings.Builder
	tick, done, returned := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() {
		r.showProgress(&out, tick, done, 0, false)
		close(returned)
	}()
	tick <- start.Add(time.Second)
	tick <- start.Add(3 * time.Second) // sent once the first line is out
	close(done)
	<-returned
	assert.Equal(t, ""+
		"   1s  42 connects, 42/s  (new 40, known 2)  p50 0 p99 0  errors 3\n"+
		"   3s  42 connects, 0/s  (new 40, known 2)  p50 0 p99 0  errors 3\n", out.String())
}
