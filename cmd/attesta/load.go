package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

var loadCmd = &command{
	name:    "load",
	summary: "drive concurrent connects against a server; report rate and latency",
	usage: `Usage: attesta load [-server URL[,URL…]] (-app-token-file F | -app-token T)
                    [-clients N] [-duration D] [-keys ALG | -pool FILE]
                    [-new-fraction F] [-acked FILE] [-json] [flags]

Runs N clients, each doing whole connects (request, decrypt, token) one
after the other for D, against a running attesta-server, and reports
completed connects per second, latency percentiles of each step (p50,
p90, p99, max), errors by problem code ("transport" for network errors)
and this process's own CPU use, so that one can tell whether the client
or the server was the bottleneck. A progress line on stderr shows the
last second; the report goes to stdout at the end, at -duration or on
SIGINT. Requests go only to URL, never through a proxy.

Keys. A fraction F of the connects registers a fresh key, used once; the
rest log known keys in again. Keys come from a pool made beforehand,
since making keys (an RSA key takes up to seconds) must not be what is
measured: -pool FILE reads one written by "attesta keypool"; without it,
load generates -pool-size keys of ALG before the run and says how long
that took. Known keys are the first keys of the pool (after
-pool-offset), registered before the run starts, or the keys of -known
FILE, registered earlier. When the pool has no fresh key left, the
connects that would have registered log in instead (or, with no known
key, the clients stop): the report says so. The report's next_offset is
the first key the run left untouched: give it as -pool-offset to reuse
the pool in a later run against the same server.

With several URLs (servers on one shared store), each connect asks one
server for its challenge and sends the token to the next one, taking
turns, so that every connect crosses servers (a challenge is redeemed by
any server of the store).

With -acked FILE, every registration the server acknowledges (is_new
true) appends the line "PARTY_ID KEY_ID" to FILE at once, one write per
line.

The server limits each client address (by default 20 requests a second
on each of the two endpoints), so a load from one address measures that
limiter. Against a server on a loopback address, -source-addrs K spreads
the connects over K source addresses (127.100.0.1 onwards), one after
the other, as K devices would: give K above the expected connects per
second divided by 15.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var c loadConfig
		fs.StringVar(&c.server, "server", defaultServer, "server base `URL`, or several, comma-separated (servers on one store)")
		c.token.register(fs)
		fs.IntVar(&c.clients, "clients", 16, "concurrent clients `N`")
		fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to run")
		fs.StringVar(&c.keys, "keys", "", "key algorithm `ALG` to generate (default: the pool's, or x25519)")
		fs.Float64Var(&c.newFraction, "new-fraction", 0.5, "fraction `F` of connects that register a fresh key")
		fs.StringVar(&c.acked, "acked", "", "append \"PARTY_ID KEY_ID\" to `FILE` for each acknowledged registration")
		fs.StringVar(&c.pool, "pool", "", "take keys from `FILE` (made by attesta keypool)")
		fs.IntVar(&c.poolOffset, "pool-offset", 0, "skip the first `K` keys of the pool")
		fs.IntVar(&c.poolSize, "pool-size", 0, "without -pool, generate `N` keys (default by ALG: x25519 50000, mlkem768x25519 10000, rsa2048 200, rsa3072 100, rsa4096 50)")
		fs.StringVar(&c.known, "known", "", "log in with the keys of `FILE` (concatenated PEM, registered already) instead of registering known keys first")
		fs.Float64Var(&c.rate, "rate", 0, "start at most `R` connects a second in all (0: as fast as the clients go)")
		fs.IntVar(&c.sourceAddrs, "source-addrs", 0, "spread the connects over `K` loopback source addresses (loopback server only)")
		fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up on one connect after this long")
		fs.BoolVar(&c.cbor, "cbor", false, "send and receive CBOR instead of JSON")
		fs.BoolVar(&c.json, "json", false, "print the report as one JSON object")
		return func(ctx context.Context, e *env) int { return load(ctx, e, c) }
	},
}

type loadConfig struct {
	server               string
	token                appTokenFlags
	clients              int
	duration, timeout    time.Duration
	keys                 string
	newFraction          float64
	acked, pool, known   string
	poolOffset, poolSize int
	rate                 float64
	sourceAddrs          int
	cbor, json           bool
}

// Bounds of the load flags: enough for any machine, small enough that a
// typo does not open a million connections.
const (
	maxLoadClients = 4096
	maxSourceAddrs = 1 << 16
)

// defaultPoolSize is how many keys load generates without -pool: the HPKE
// kinds are quick to make, RSA keys are not (use attesta keypool).
var defaultPoolSize = map[attesta.Algorithm]int{
	attesta.X25519:         50000,
	attesta.MLKEM768X25519: 10000,
	attesta.RSA2048:        200,
	attesta.RSA3072:        100,
	attesta.RSA4096:        50,
}

func load(ctx context.Context, e *env, c loadConfig) int {
	usage := e.usagef
	switch {
	case c.clients < 1 || c.clients > maxLoadClients:
		return usage("-clients must be between 1 and %d", maxLoadClients)
	case c.duration <= 0:
		return usage("-duration must be positive")
	case c.timeout <= 0:
		return usage("-timeout must be positive")
	case !(c.newFraction >= 0 && c.newFraction <= 1):
		return usage("-new-fraction must be between 0 and 1")
	case c.poolOffset < 0 || c.poolSize < 0 || c.poolSize > maxPoolKeys:
		return usage("-pool-offset and -pool-size must be between 0 and %d", maxPoolKeys)
	case c.pool != "" && c.poolSize != 0:
		return usage("-pool-size is for a generated pool; -pool FILE has its own size")
	case !(c.rate >= 0) || math.IsInf(c.rate, 0):
		return usage("-rate must be 0 or positive")
	case c.sourceAddrs < 0 || c.sourceAddrs > maxSourceAddrs:
		return usage("-source-addrs must be between 0 and %d", maxSourceAddrs)
	}
	if c.keys != "" {
		if err := checkAlgorithm(attesta.Algorithm(c.keys)); err != nil {
			return usage("-keys: %v", err)
		}
	}
	var servers []string
	for u := range strings.SplitSeq(c.server, ",") {
		base, err := checkServerURL(strings.TrimSpace(u), c.sourceAddrs > 0)
		if err != nil {
			return usage("%v", err)
		}
		servers = append(servers, base)
	}
	token, err := c.token.read()
	if err != nil {
		return e.fail(err)
	}

	r := &loadRun{cfg: c, servers: servers, appToken: token, errors: map[string]int64{}, anomalies: map[string]int64{}}
	for i := range r.hist {
		r.hist[i] = new(histogram)
	}
	r.clients, r.transports = newLoadClients(c, servers)
	defer func() {
		for _, t := range r.transports {
			t.CloseIdleConnections()
		}
	}()

	for i, base := range servers {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := r.clients[0][i].Health(hctx)
		cancel()
		if err != nil {
			return e.errorf("the server at %s does not answer: %s", base, describe(err))
		}
	}
	if err := r.preparePool(ctx, e); err != nil {
		return e.errorf("%v", err)
	}
	if c.acked != "" {
		f, err := os.OpenFile(c.acked, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return e.errorf("%v", err)
		}
		defer f.Close()
		r.acked = &ackLog{f: f}
	}
	if err := r.registerKnown(ctx, e); err != nil {
		return e.errorf("registering the known keys before the run: %s", describe(err))
	}

	rep := r.run(ctx, e.stderr)
	if c.json {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return e.errorf("%v", err)
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
	} else {
		rep.writeText(e.stdout)
	}
	if r.acked != nil && r.acked.err != nil {
		return e.errorf("writing %s: %v (the report's acked count is what was written)", c.acked, r.acked.err)
	}
	if n := sum(rep.Anomalies); n > 0 {
		return e.errorf("%d answers contradicted earlier ones (see anomalies in the report)", n)
	}
	return 0
}

// checkServerURL checks that u is an http(s) base URL, and, for
// -source-addrs, that its host is a loopback IPv4 address (the source
// addresses are in 127.0.0.0/8).
func checkServerURL(u string, loopback bool) (string, error) {
	if err := checkServer(u); err != nil {
		return "", err
	}
	p, _ := url.Parse(u) // checkServer parsed it
	if loopback {
		a, err := netip.ParseAddr(p.Hostname())
		if err != nil || !a.Is4() || !a.IsLoopback() {
			return "", errors.New("-source-addrs needs a server on a loopback IPv4 address, such as http://127.0.0.1:8700")
		}
	}
	return strings.TrimRight(u, "/"), nil
}

// sourceAddr returns the i-th source address of -source-addrs:
// 127.100.0.1 onwards.
func sourceAddr(i int) netip.Addr {
	n := 127<<24 | 100<<16 + uint32(i) + 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// newLoadClients makes the Clients that carry the load, by source address
// and server: over a single HTTP transport kept alive for all clients, or
// with -source-addrs over one transport per source address, bound to it.
func newLoadClients(c loadConfig, servers []string) ([][]*transport.Client, []*http.Transport) {
	mk := func(local net.Addr) ([]*transport.Client, *http.Transport) {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: local}
		t := &http.Transport{
			Proxy:               nil, // to -server only, whatever HTTP_PROXY says
			DialContext:         d.DialContext,
			MaxIdleConns:        c.clients,
			MaxIdleConnsPerHost: c.clients,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
			TLSHandshakeTimeout: 10 * time.Second,
		}
		opts := []transport.ClientOption{transport.WithHTTPClient(&http.Client{Transport: t})}
		if c.cbor {
			opts = append(opts, transport.WithCBOR())
		}
		var cls []*transport.Client
		for _, s := range servers {
			cls = append(cls, transport.NewClient(s, opts...))
		}
		return cls, t
	}
	if c.sourceAddrs == 0 {
		cl, t := mk(nil)
		return [][]*transport.Client{cl}, []*http.Transport{t}
	}
	clients := make([][]*transport.Client, c.sourceAddrs)
	transports := make([]*http.Transport, c.sourceAddrs)
	for i := range clients {
		clients[i], transports[i] = mk(&net.TCPAddr{IP: sourceAddr(i).AsSlice()})
	}
	return clients, transports
}

// loadRun is one run of attesta load: its keys, its clients and what it
// has measured so far.
type loadRun struct {
	cfg        loadConfig
	servers    []string
	appToken   string
	clients    [][]*transport.Client // by source address, then server
	transports []*http.Transport
	nextClient atomic.Uint64

	alg           attesta.Algorithm
	poolDesc      poolReport
	known         []*knownKey
	knownFromPool int // how many of the known keys are the pool's first
	fresh         []poolKey
	freshNext     atomic.Int64
	acked         *ackLog

	start     time.Time
	exhausted atomic.Int64 // when the fresh keys ran out, in ns after start; 0: they did not
	keyless   atomic.Int64 // clients that stopped early: no fresh key left, no known key

	hist                           [numSteps]*histogram
	connects, newCount, knownCount atomic.Int64
	mu                             sync.Mutex
	errors                         map[string]int64
	anomalies                      map[string]int64
}

// knownKey is a key that logs in again, with the party it belongs to once
// known.
type knownKey struct {
	poolKey
	mu    sync.Mutex
	party string
}

// Steps of a connect, as measured.
const (
	stepRequest = iota // POST /v1/auth_key_request, round trip
	stepDecrypt        // decrypting the challenge, on the client
	stepToken          // POST /v1/auth_key_token, round trip
	stepConnect        // the whole connect
	numSteps
)

var stepNames = [numSteps]string{"request", "decrypt", "token", "connect"}

// client returns the next Clients in turn: the source address's turn
// comes round as before, and with several servers the one for the
// challenge and the next one, for the token.
func (r *loadRun) client() (request, token *transport.Client) {
	n := r.nextClient.Add(1) - 1
	byServer := r.clients[n%uint64(len(r.clients))]
	s := n % uint64(len(byServer))
	return byServer[s], byServer[(s+1)%uint64(len(byServer))]
}

// preparePool reads or generates the pool and splits it into known and
// fresh keys.
func (r *loadRun) preparePool(ctx context.Context, e *env) error {
	c := r.cfg
	var pool []poolKey
	if c.pool != "" {
		var err error
		if pool, r.alg, err = readPool(c.pool); err != nil {
			return fmt.Errorf("-pool %s: %w", c.pool, err)
		}
		if c.keys != "" && attesta.Algorithm(c.keys) != r.alg {
			return fmt.Errorf("-keys %s, but the pool %s holds %s keys", c.keys, c.pool, r.alg)
		}
		r.poolDesc.Source = c.pool
	} else {
		r.alg = attesta.Algorithm(cmp.Or(c.keys, string(attesta.X25519)))
		n := cmp.Or(c.poolSize, defaultPoolSize[r.alg])
		start := time.Now()
		pool = make([]poolKey, 0, n)
		err := generateKeys(ctx, e.stderr, r.alg, n, func(k *attesta.PrivateKey) error {
			pool = append(pool, newPoolKey(k))
			return nil
		})
		if err != nil {
			return fmt.Errorf("generating the pool: %w", err)
		}
		took := time.Since(start)
		r.poolDesc.Source = "generated"
		r.poolDesc.GeneratedSec = took.Seconds()
		fmt.Fprintf(e.stderr, "generated %d %s keys in %v (before the run, not measured)\n", n, r.alg, took.Round(time.Millisecond))
		if strings.HasPrefix(string(r.alg), "rsa") {
			fmt.Fprintf(e.stderr, "to skip this and have more keys: attesta keypool -type %s -n N -out pool.pem, then attesta load -pool pool.pem\n", r.alg)
		}
	}
	r.poolDesc.Size = len(pool)
	r.poolDesc.Offset = c.poolOffset
	if c.poolOffset > len(pool) {
		return fmt.Errorf("-pool-offset %d is past the pool's %d keys", c.poolOffset, len(pool))
	}
	pool = pool[c.poolOffset:]

	if c.known != "" {
		ks, alg, err := readPool(c.known)
		if err != nil {
			return fmt.Errorf("-known %s: %w", c.known, err)
		}
		if alg != r.alg {
			return fmt.Errorf("-known %s holds %s keys, the pool %s keys", c.known, alg, r.alg)
		}
		for _, k := range ks {
			r.known = append(r.known, &knownKey{poolKey: k})
		}
		r.poolDesc.KnownFrom = c.known
	} else if c.newFraction < 1 {
		// Enough known keys that no two clients log one key in at once,
		// leaving most of the pool fresh.
		n := min(4*c.clients, max(1, len(pool)/4))
		if c.newFraction == 0 {
			n = min(4*c.clients, len(pool))
		}
		for _, k := range pool[:n] {
			r.known = append(r.known, &knownKey{poolKey: k})
		}
		pool = pool[n:]
		r.knownFromPool = n
		r.poolDesc.KnownFrom = "registered before the run"
	}
	r.poolDesc.Known = len(r.known)
	r.fresh = pool
	if c.newFraction < 1 && len(r.known) == 0 {
		return errors.New("no key to log in with: the pool is empty")
	}
	if c.newFraction > 0 && len(r.fresh) == 0 && len(r.known) == 0 {
		return errors.New("no fresh key left in the pool")
	}
	return nil
}

// registerKnown registers the known keys taken from the pool, before the
// run and outside its measurements, and learns their parties.
func (r *loadRun) registerKnown(ctx context.Context, e *env) error {
	if r.cfg.known != "" || len(r.known) == 0 {
		return nil
	}
	start := time.Now()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		errs = make([]error, r.cfg.clients)
	)
	for w := range min(r.cfg.clients, len(r.known)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(r.known) && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if errs[w] = r.registerOne(ctx, r.known[i]); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "registered %d known keys in %v (before the run, not measured)\n", len(r.known), time.Since(start).Round(time.Millisecond))
	return nil
}

// registerOne connects k, waiting out rate limits, and records its party.
func (r *loadRun) registerOne(ctx context.Context, k *knownKey) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
		cl, _ := r.client()
		res, err := cl.Connect(cctx, k.key, r.appToken)
		cancel()
		var p *transport.Problem
		if errors.As(err, &p) && p.Code == "rate_limited" {
			if !sleepCtx(ctx, retryWait(p)) {
				return ctx.Err()
			}
			continue
		}
		if err != nil {
			return err
		}
		k.party = res.PartyID
		if res.IsNew {
			r.acked.add(res.PartyID, k.id)
		}
		return nil
	}
}

// retryWait is how long a rate-limited client waits: the server's
// Retry-After, within reason.
func retryWait(p *transport.Problem) time.Duration {
	return min(max(p.RetryAfter, 10*time.Millisecond), 2*time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// run drives the clients for the configured duration (or until ctx ends)
// with a progress line on progress, and returns the report.
func (r *loadRun) run(ctx context.Context, progress io.Writer) *loadReport {
	c := r.cfg
	cpu0, cpuOK := processCPU()
	r.start = time.Now()
	end := r.start.Add(c.duration)
	// In-flight connects may finish after end, up to -timeout; SIGINT
	// cuts them at once.
	hard, cancel := context.WithDeadline(ctx, end.Add(c.timeout))
	defer cancel()
	pace := &pacer{start: r.start, end: end, rate: c.rate}

	var wg sync.WaitGroup
	for i := range c.clients {
		wg.Go(func() { r.client1(ctx, hard, i, end, pace) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	tick := time.NewTicker(time.Second)
	r.showProgress(progress, tick.C, done, cpu0, cpuOK)
	tick.Stop()
	elapsed := time.Since(r.start)
	cpu1, _ := processCPU()
	return r.report(elapsed, ctx.Err() != nil, cpu1-cpu0, cpuOK)
}

// pacer spaces the starts of connects to -rate a second over all clients.
type pacer struct {
	start, end time.Time
	rate       float64
	n          atomic.Int64
}

// wait blocks until the next connect may start; false means stop.
func (p *pacer) wait(ctx context.Context) bool {
	if p.rate == 0 {
		return time.Now().Before(p.end) && ctx.Err() == nil
	}
	at := p.start.Add(time.Duration(float64(p.n.Add(1)-1) / p.rate * float64(time.Second)))
	if !at.Before(p.end) {
		return false
	}
	if d := time.Until(at); d > 0 && !sleepCtx(ctx, d) {
		return false
	}
	return ctx.Err() == nil
}

// client1 is client i: connect after connect until end.
func (r *loadRun) client1(ctx, hard context.Context, i int, end time.Time, pace *pacer) {
	rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
	// Client i logs in the known keys i, i+N, i+2N…, so that no two
	// clients use one key at once (unless there are fewer keys than
	// clients).
	var mine []*knownKey
	for j := i; j < len(r.known); j += r.cfg.clients {
		mine = append(mine, r.known[j])
	}
	if len(mine) == 0 && len(r.known) > 0 {
		mine = []*knownKey{r.known[i%len(r.known)]}
	}
	failures := 0 // network failures in a row, for backing off
	for j := 0; pace.wait(ctx); {
		var (
			fresh *poolKey
			known *knownKey
		)
		if r.cfg.newFraction > 0 && (r.cfg.newFraction == 1 || rng.Float64() < r.cfg.newFraction) {
			if n := r.freshNext.Add(1) - 1; n < int64(len(r.fresh)) {
				fresh = &r.fresh[n]
			} else {
				r.exhausted.CompareAndSwap(0, int64(time.Since(r.start)))
			}
		}
		if fresh == nil {
			if len(mine) == 0 {
				r.keyless.Add(1)
				return // no fresh key left, and no known key to log in
			}
			known = mine[j%len(mine)]
			j++
		}
		code, wait := r.connect(hard, fresh, known)
		if hard.Err() != nil {
			return
		}
		switch code {
		case "transport":
			// The server is down or unreachable: back off, up to a
			// second, rather than spin.
			failures++
			sleepCtx(ctx, min(time.Duration(1<<min(failures, 7))*10*time.Millisecond, time.Second))
		case "rate_limited":
			failures = 0
			sleepCtx(ctx, min(wait, time.Until(end)))
		default:
			failures = 0
		}
	}
}

// connect runs one measured connect with a fresh key or a known one. It
// returns the error code of a failure ("" on success), and for
// rate_limited how long to wait.
func (r *loadRun) connect(hard context.Context, fresh *poolKey, known *knownKey) (string, time.Duration) {
	k := fresh
	if k == nil {
		k = &known.poolKey
	}
	ctx, cancel := context.WithTimeout(hard, r.cfg.timeout)
	defer cancel()
	cl, tokCl := r.client()
	t0 := time.Now()
	req, err := cl.AuthKeyRequest(ctx, k.packed, r.appToken)
	t1 := time.Now()
	if err != nil {
		return r.failed(hard, err)
	}
	r.hist[stepRequest].record(t1.Sub(t0))
	token, err := k.key.DecryptToken(req.EncryptedToken)
	t2 := time.Now()
	if err != nil {
		return r.failed(hard, err)
	}
	r.hist[stepDecrypt].record(t2.Sub(t1))
	res, err := tokCl.AuthKeyToken(ctx, token)
	t3 := time.Now()
	if err != nil {
		return r.failed(hard, err)
	}
	// Acknowledged: record it before anything else.
	if res.IsNew {
		r.acked.add(res.PartyID, k.id)
	}
	r.hist[stepToken].record(t3.Sub(t2))
	r.hist[stepConnect].record(t3.Sub(t0))
	r.connects.Add(1)
	if fresh != nil {
		r.newCount.Add(1)
		if !res.IsNew {
			r.anomaly("fresh_key_was_known")
		}
		return "", 0
	}
	r.knownCount.Add(1)
	if res.IsNew {
		r.anomaly("known_key_was_new")
	}
	known.mu.Lock()
	if known.party == "" {
		known.party = res.PartyID
	} else if known.party != res.PartyID {
		r.anomaly("party_changed")
	}
	known.mu.Unlock()
	return "", 0
}

// failed counts a failed connect by its error code, unless the run was
// cut (SIGINT, or the end of the grace period after -duration), which is
// no failure of the server's.
func (r *loadRun) failed(hard context.Context, err error) (string, time.Duration) {
	if hard.Err() != nil {
		return "cut", 0
	}
	code := errorCode(err)
	r.mu.Lock()
	r.errors[code]++
	r.mu.Unlock()
	var p *transport.Problem
	if code == "rate_limited" && errors.As(err, &p) {
		return code, retryWait(p)
	}
	return code, 0
}

// errorCode is the report's name for a failure: the problem's code, or
// http_STATUS for an answer without one, "decrypt" when the challenge did
// not decrypt, "timeout" when -timeout ran out, and "transport" for the
// rest (refused or broken connections, unreadable answers).
func errorCode(err error) string {
	var p *transport.Problem
	switch {
	case errors.As(err, &p) && p.Code != "":
		return p.Code
	case p != nil:
		return fmt.Sprintf("http_%d", p.Status)
	case errors.Is(err, attesta.ErrDecrypt):
		return "decrypt"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "transport"
}

func (r *loadRun) anomaly(name string) {
	r.mu.Lock()
	r.anomalies[name]++
	r.mu.Unlock()
}

// showProgress prints a line on w at each tick (once a second) about the
// interval just past, until done is closed.
func (r *loadRun) showProgress(w io.Writer, tick <-chan time.Time, done <-chan struct{}, cpu0 time.Duration, cpuOK bool) {
	p := newProgressLine(w)
	defer p.clear()
	last, lastConnects, lastCPU, lastAt := r.hist[stepConnect].snapshot(), int64(0), cpu0, r.start
	procs := runtime.GOMAXPROCS(0)
	for {
		select {
		case <-done:
			return
		case now := <-tick:
			snap := r.hist[stepConnect].snapshot()
			iv := snap.minus(last)
			n := r.connects.Load()
			dt := now.Sub(lastAt).Seconds()
			line := fmt.Sprintf("%4.0fs  %d connects, %.0f/s  (new %d, known %d)  p50 %s p99 %s  errors %d",
				now.Sub(r.start).Seconds(), n, float64(n-lastConnects)/dt, r.newCount.Load(), r.knownCount.Load(),
				fmtDur(iv.percentile(50)), fmtDur(iv.percentile(99)), r.errorCount())
			if cpuOK {
				cpu, _ := processCPU()
				line += fmt.Sprintf("  client cpu %.0f%%", 100*(cpu-lastCPU).Seconds()/dt/float64(procs))
				lastCPU = cpu
			}
			p.show(line)
			last, lastConnects, lastAt = snap, n, now
		}
	}
}

func (r *loadRun) errorCount() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sum(r.errors)
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// ackLog appends acknowledged registrations to the -acked file: one
// unbuffered write per line, so that a line is in the file as soon as its
// answer has arrived. A nil ackLog records nothing.
type ackLog struct {
	mu  sync.Mutex
	f   *os.File
	n   int64
	err error
}

func (a *ackLog) add(party, keyID string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		if _, a.err = a.f.WriteString(party + " " + keyID + "\n"); a.err == nil {
			a.n++
		}
	}
}

// The report.

type loadReport struct {
	Server         string                  `json:"server"`
	KeyType        string                  `json:"key_type"`
	Clients        int                     `json:"clients"`
	SourceAddrs    int                     `json:"source_addrs"`
	TargetRate     float64                 `json:"target_rate"`
	NewFraction    float64                 `json:"new_fraction"`
	DurationSec    float64                 `json:"duration_sec"`
	RequestedSec   float64                 `json:"requested_duration_sec"`
	Interrupted    bool                    `json:"interrupted"`
	Stopped        string                  `json:"stopped"` // why the run ended: "duration", "interrupted" or "out_of_keys"
	Connects       int64                   `json:"connects"`
	ConnectsPerSec float64                 `json:"connects_per_sec"`
	NewConnects    int64                   `json:"new_connects"`
	KnownConnects  int64                   `json:"known_connects"`
	Acked          int64                   `json:"acked"`
	LatencyUS      map[string]latencyStats `json:"latency_us"`
	Errors         map[string]int64        `json:"errors"`
	ErrorCount     int64                   `json:"error_count"`
	Anomalies      map[string]int64        `json:"anomalies"`
	ClientCPUSec   float64                 `json:"client_cpu_sec"`
	ClientCPUShare float64                 `json:"client_cpu_share"` // of GOMAXPROCS cores; -1 if unknown
	GOMAXPROCS     int                     `json:"gomaxprocs"`
	NumCPU         int                     `json:"num_cpu"`
	Pool           poolReport              `json:"pool"`
}

type latencyStats struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

type poolReport struct {
	Source            string  `json:"source"` // the -pool file, or "generated"
	GeneratedSec      float64 `json:"generated_sec,omitempty"`
	Size              int     `json:"size"`
	Offset            int     `json:"offset"`
	Known             int     `json:"known"`
	KnownFrom         string  `json:"known_from,omitempty"`
	NewTaken          int64   `json:"new_taken"` // fresh keys used, once each, whatever the outcome
	NewLeft           int64   `json:"new_left"`
	NextOffset        int     `json:"next_offset"` // the first pool key this run left untouched (for -pool-offset)
	Exhausted         bool    `json:"exhausted"`
	ExhaustedAfterSec float64 `json:"exhausted_after_sec,omitempty"`
}

func (r *loadRun) report(elapsed time.Duration, interrupted bool, cpu time.Duration, cpuOK bool) *loadReport {
	c := r.cfg
	rep := &loadReport{
		Server: strings.Join(r.servers, ","), KeyType: string(r.alg), Clients: c.clients, SourceAddrs: c.sourceAddrs,
		TargetRate: c.rate, NewFraction: c.newFraction,
		DurationSec: elapsed.Seconds(), RequestedSec: c.duration.Seconds(), Interrupted: interrupted, Stopped: "duration",
		Connects: r.connects.Load(), NewConnects: r.newCount.Load(), KnownConnects: r.knownCount.Load(),
		LatencyUS:  map[string]latencyStats{},
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		Pool: r.poolDesc, ClientCPUShare: -1,
	}
	switch {
	case interrupted:
		rep.Stopped = "interrupted"
	case r.keyless.Load() == int64(c.clients):
		rep.Stopped = "out_of_keys"
	}
	rep.ConnectsPerSec = float64(rep.Connects) / elapsed.Seconds()
	if r.acked != nil {
		rep.Acked = r.acked.n
	}
	for i, h := range r.hist {
		s := h.snapshot()
		us := func(ns int64) float64 { return math.Round(float64(ns)/100) / 10 }
		rep.LatencyUS[stepNames[i]] = latencyStats{Count: s.n, P50: us(s.percentile(50)), P90: us(s.percentile(90)), P99: us(s.percentile(99)), Max: us(s.max)}
	}
	r.mu.Lock()
	rep.Errors, rep.Anomalies = maps.Clone(r.errors), maps.Clone(r.anomalies)
	r.mu.Unlock()
	rep.ErrorCount = sum(rep.Errors)
	if cpuOK {
		rep.ClientCPUSec = cpu.Seconds()
		rep.ClientCPUShare = cpu.Seconds() / elapsed.Seconds() / float64(rep.GOMAXPROCS)
	}
	taken := min(r.freshNext.Load(), int64(len(r.fresh)))
	rep.Pool.NewTaken = taken
	rep.Pool.NewLeft = int64(len(r.fresh)) - taken
	rep.Pool.NextOffset = c.poolOffset + r.knownFromPool + int(taken)
	if ex := r.exhausted.Load(); ex != 0 {
		rep.Pool.Exhausted = true
		rep.Pool.ExhaustedAfterSec = time.Duration(ex).Seconds()
	}
	return rep
}

func (rep *loadReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "attesta load: %s, %d clients", rep.Server, rep.Clients)
	if rep.SourceAddrs > 0 {
		fmt.Fprintf(w, " over %d source addresses", rep.SourceAddrs)
	}
	fmt.Fprintf(w, ", %s keys, new fraction %.2f", rep.KeyType, rep.NewFraction)
	if rep.TargetRate > 0 {
		fmt.Fprintf(w, ", at most %.0f connects/s", rep.TargetRate)
	}
	fmt.Fprintln(w)
	ran := fmt.Sprintf("%.2fs", rep.DurationSec)
	if rep.Interrupted {
		ran += " (interrupted)"
	}
	fmt.Fprintf(w, "connects    %d in %s = %.1f/s  (new %d, known %d)\n", rep.Connects, ran, rep.ConnectsPerSec, rep.NewConnects, rep.KnownConnects)
	fmt.Fprintf(w, "latency     %9s %9s %9s %9s %9s\n", "count", "p50", "p90", "p99", "max")
	for _, name := range stepNames {
		s := rep.LatencyUS[name]
		us := func(v float64) string { return fmtDur(int64(v * 1000)) }
		fmt.Fprintf(w, "  %-9s %9d %9s %9s %9s %9s\n", name, s.Count, us(s.P50), us(s.P90), us(s.P99), us(s.Max))
	}
	if rep.ErrorCount == 0 {
		fmt.Fprintln(w, "errors      none")
	} else {
		fmt.Fprintf(w, "errors      %d\n", rep.ErrorCount)
		for _, code := range slices.Sorted(maps.Keys(rep.Errors)) {
			fmt.Fprintf(w, "  %-22s %d\n", code, rep.Errors[code])
		}
	}
	if len(rep.Anomalies) > 0 {
		fmt.Fprintln(w, "anomalies   answers that contradict earlier ones:")
		for _, a := range slices.Sorted(maps.Keys(rep.Anomalies)) {
			fmt.Fprintf(w, "  %-22s %d\n", a, rep.Anomalies[a])
		}
	}
	if rep.ClientCPUShare >= 0 {
		fmt.Fprintf(w, "client CPU  %.2fs user+sys in %.2fs = %.0f%% of %d cores (GOMAXPROCS; %d CPUs)\n",
			rep.ClientCPUSec, rep.DurationSec, 100*rep.ClientCPUShare, rep.GOMAXPROCS, rep.NumCPU)
	} else {
		fmt.Fprintln(w, "client CPU  not measured on this system")
	}
	p := rep.Pool
	src := p.Source
	if p.GeneratedSec > 0 {
		src = fmt.Sprintf("generated in %.1fs", p.GeneratedSec)
	}
	fmt.Fprintf(w, "keys        pool %s: %d keys, from offset %d; %d known", src, p.Size, p.Offset, p.Known)
	if p.KnownFrom != "" {
		fmt.Fprintf(w, " (%s)", p.KnownFrom)
	}
	fmt.Fprintf(w, "; %d fresh keys taken, %d left; next -pool-offset %d\n", p.NewTaken, p.NewLeft, p.NextOffset)
	if rep.Acked > 0 {
		fmt.Fprintf(w, "acked       %d registrations written\n", rep.Acked)
	}

	// What a reader should make of it.
	if p.Exhausted {
		fmt.Fprintf(w, "note: the pool ran out of fresh keys after %.1fs; from then on no connect registered a new key (make a bigger pool with attesta keypool)\n", p.ExhaustedAfterSec)
	}
	if rep.Stopped == "out_of_keys" {
		fmt.Fprintln(w, "note: the clients stopped before the -duration: no fresh key was left and there was no known key to log in with")
	}
	if n := rep.Errors["rate_limited"]; n > 0 {
		fmt.Fprintf(w, "note: %d connects were refused by the server's rate limit per client address, so the run measured the limiter; "+
			"against a loopback server, use -source-addrs K with K above the connects a second you expect divided by 15 (for example 256)\n", n)
	}
	if rep.Anomalies["fresh_key_was_known"] > 0 {
		fmt.Fprintln(w, "note: fresh keys were registered already: this pool was used against this server before (use -pool-offset with the last run's next offset)")
	}
	if rep.ClientCPUShare >= 0.8 {
		fmt.Fprintln(w, "note: the client used most of its CPU: it may be the bottleneck (run it on another machine, or compare with fewer clients)")
	}
}

// fmtDur shows nanoseconds with three significant digits.
func fmtDur(ns int64) string {
	switch d := float64(ns); {
	case ns == 0:
		return "0"
	case d < 1e3:
		return fmt.Sprintf("%dns", ns)
	case d < 1e6:
		return trim3(d/1e3) + "µs"
	case d < 1e9:
		return trim3(d/1e6) + "ms"
	default:
		return trim3(d/1e9) + "s"
	}
}

func trim3(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// histogram counts durations in log-linear buckets, HDR-style: exact
// below 128 ns, then 128 buckets per power of two, so that a value is
// known to within 1/128 (0.8%) whatever its size, in a fixed 58 KiB. It is
// safe for concurrent use: recording is an atomic add.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits) << histSubBits
)

// histIndex is the bucket of v >= 0.
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits - 1
	return (shift+1)<<histSubBits + int(v>>shift) - histSub
}

// histUpper is the largest value of bucket i.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i>>histSubBits - 1
	lower := int64(i&(histSub-1)+histSub) << shift
	return lower + 1<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[histIndex(v)].Add(1)
	for m := h.max.Load(); v > m && !h.max.CompareAndSwap(m, v); m = h.max.Load() {
	}
}

// histSnapshot is a histogram's counts at one moment.
type histSnapshot struct {
	counts []uint64
	n      uint64
	max    int64
}

func (h *histogram) snapshot() histSnapshot {
	s := histSnapshot{counts: make([]uint64, histBuckets), max: h.max.Load()}
	for i := range h.counts {
		s.counts[i] = h.counts[i].Load()
		s.n += s.counts[i]
	}
	return s
}

// minus is what was recorded between old and s. Its max is the upper
// bound of its highest bucket.
func (s histSnapshot) minus(old histSnapshot) histSnapshot {
	d := histSnapshot{counts: make([]uint64, len(s.counts))}
	for i := range s.counts {
		d.counts[i] = s.counts[i] - old.counts[i]
		d.n += d.counts[i]
		if d.counts[i] > 0 {
			d.max = min(histUpper(i), s.max)
		}
	}
	return d
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100): the
// smallest recorded value that at least p% of the values do not exceed,
// to within its bucket (the bucket's upper bound, never above the max).
// Zero when nothing was recorded.
func (s histSnapshot) percentile(p float64) int64 {
	if s.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(s.n)))
	rank = min(max(rank, 1), s.n)
	var cum uint64
	for i, c := range s.counts {
		if cum += c; cum >= rank {
			return min(histUpper(i), s.max)
		}
	}
	return s.max
}
