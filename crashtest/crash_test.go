// Package crashtest kills attesta-server with SIGKILL under load and checks
// that no acknowledged state was lost and no half-made state was left.
//
// It builds the real binaries, so it is slow (a couple of minutes) and runs
// only when asked:
//
//	ATTESTA_CRASHTEST=1 go test -count=1 -run TestCrash -v ./crashtest/
//
// .ci/run does so on every submission. TestCrash runs one server on a
// Pebble directory; TestCrashPostgres runs two servers on one PostgreSQL
// database (from $ATTESTA_TEST_POSTGRES, see internal/pgtest), each under
// its own load, and kills one of them each round while the other serves
// on: the same checks, against the database.
package crashtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/attesta-go/attesta/internal/syncbuf"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/pgtest"
	"github.com/attesta-go/attesta/transport"
)

// The shape of a run. Each round runs the load generator for
// loadDuration, kills the server at a random moment between killAfterMin
// and killAfterMax, restarts it at once on the same directory while the
// load goes on, and then checks every registration made so far.
const (
	rounds         = 6
	postgresRounds = 3 // each with two servers under load
	loadClients    = 32
	loadDuration   = 5 * time.Second
	killAfterMin   = time.Second
	killAfterMax   = 4 * time.Second
	// loadSourceAddrs and verifySourceAddrs spread the load and the
	// checks over loopback addresses, so that the server's rate limit per
	// client address (20 a second) is not what is measured.
	loadSourceAddrs   = 128
	verifySourceAddrs = 256
	verifyWorkers     = 32
)

// loadRate caps the load generator's connects a second, so that the
// checks (every registration of every round so far, after each round)
// stay within the time budget. The race detector slows both sides.
func loadRate() int {
	if raceEnabled {
		return 60
	}
	return 300
}

func TestCrash(t *testing.T) {
	skipUnlessAsked(t)
	crash(t, newHarness(t, "", 1), rounds)
}

// TestCrashPostgres: two servers on one PostgreSQL database, each under
// load; each round kills one of them (in turn) and restarts it while the
// other goes on.
func TestCrashPostgres(t *testing.T) {
	skipUnlessAsked(t)
	dsn, _ := pgtest.DSN(t)
	crash(t, newHarness(t, dsn, 2), postgresRounds)
}

func skipUnlessAsked(t *testing.T) {
	if os.Getenv("ATTESTA_CRASHTEST") != "1" {
		t.Skip("the crash test runs only with ATTESTA_CRASHTEST=1 (it takes a couple of minutes)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the crash test spreads clients over 127.0.0.0/8, which only Linux routes to the loopback interface")
	}
}

func crash(t *testing.T, h *harness, rounds int) {
	start := time.Now()
	h.setUp()
	r := 1
	for ; r <= rounds && !t.Failed(); r++ {
		h.round(r)
	}
	h.finalCheck()
	t.Logf("crash test: %d servers, %d rounds, %d registrations checked after the last round, %v in all",
		len(h.lanes), r-1, len(h.partyOf), time.Since(start).Round(time.Second))
}

// harness holds the binaries, the servers (lanes) and what the test
// knows the store must hold.
type harness struct {
	t       *testing.T
	bin     string // the directory holding attesta and attesta-server
	dsn     string // the PostgreSQL store, or "" for Pebble in lanes[0].data
	secret  string // the secret file the lanes share
	lanes   []*lane
	token   string // the demo application's
	revoked string // the token of an application revoked before round 1
	pool    []*attesta.PrivateKey
	poolIdx map[string]int // key id -> index in pool

	spread []*transport.Client // one per verification source address, over the lanes
	next   atomic.Uint64

	// What the server must hold: every key known to be registered, with
	// its party, and the converse; and every banned key.
	partyOf map[string]string // key id -> party id
	keyOf   map[string]string // party id -> key id
	banned  []*attesta.PrivateKey
	extra   map[string]*attesta.PrivateKey // the probes' keys, by id
}

// lane is one server: its data directory, address, the part of the key
// pool its load takes from, and its runs.
type lane struct {
	data     string
	addr     string // 127.0.0.1:PORT, the same across restarts
	url      string
	srv      *server
	probe    *transport.Client // from 127.0.0.1, for the single-use and ban probes
	poolFile string
	base     int // its part of the pool starts at pool[base]
	offset   int // the first key of its part no round has taken yet, from base
}

// newHarness makes a harness of n servers on the store dsn names ("" for
// Pebble, n = 1).
func newHarness(t *testing.T, dsn string, n int) *harness {
	h := &harness{
		t:       t,
		bin:     t.TempDir(),
		dsn:     dsn,
		secret:  filepath.Join(t.TempDir(), "secret"),
		partyOf: map[string]string{},
		keyOf:   map[string]string{},
		extra:   map[string]*attesta.PrivateKey{},
	}
	for range n {
		h.lanes = append(h.lanes, &lane{data: filepath.Join(t.TempDir(), "data")})
	}
	return h
}

// setUp builds the binaries, makes the key pool, starts the server a first
// time, and makes and revokes a second application.
func (h *harness) setUp() {
	t := h.t
	t0 := time.Now()
	args := []string{"build", "-o", h.bin + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/attesta-go/attesta/cmd/attesta-server", "github.com/attesta-go/attesta/cmd/attesta")
	out, err := exec.CommandContext(t.Context(), "go", args...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	t.Logf("built attesta-server and attesta in %v", time.Since(t0).Round(time.Millisecond))

	// A pool of x25519 keys (quick to make), made by attesta keypool,
	// with room for every round at the capped rate, split between the
	// lanes' loads.
	each := rounds * loadRate() * int(loadDuration/time.Second) * 3 / 2
	poolFile := filepath.Join(t.TempDir(), "pool.pem")
	t0 = time.Now()
	h.run("attesta", "keypool", "-type", "x25519", "-n", strconv.Itoa(each*len(h.lanes)), "-out", poolFile)
	blocks := h.readPool(poolFile)
	t.Logf("made a pool of %d x25519 keys in %v", len(h.pool), time.Since(t0).Round(time.Millisecond))

	for i, l := range h.lanes {
		l.base = i * each
		l.poolFile = filepath.Join(t.TempDir(), fmt.Sprintf("pool-%d.pem", i))
		require.NoError(t, os.WriteFile(l.poolFile, bytes.Join(blocks[l.base:l.base+each], nil), 0o600))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		l.addr = ln.Addr().String()
		require.NoError(t, ln.Close())
		l.url = "http://" + l.addr
		l.probe = transport.NewClient(l.url, transport.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	}
	for i := range verifySourceAddrs {
		local := &net.TCPAddr{IP: net.IPv4(127, 101, byte(i>>8), byte(i+1))}
		tr := &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}).DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}
		t.Cleanup(tr.CloseIdleConnections)
		url := h.lanes[i%len(h.lanes)].url
		h.spread = append(h.spread, transport.NewClient(url, transport.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second})))
	}

	// First start: the demo application (made by the first server).
	for _, l := range h.lanes {
		h.start(l)
	}
	raw, err := os.ReadFile(filepath.Join(h.lanes[0].data, "demo-app-token"))
	require.NoError(t, err)
	h.token = strings.TrimSpace(string(raw))

	// An application that works, then is revoked.
	h.revoked = strings.TrimSpace(h.appCommand("create", "victim"))
	k := h.fresh()
	res, err := h.lanes[0].probe.Connect(t.Context(), k, h.revoked)
	require.NoError(t, err, "the victim app's token works before it is revoked")
	h.registered(k.Public().ID().String(), res.PartyID)
	h.appCommand("revoke", "victim")
	for _, l := range h.lanes {
		h.wantProblem(h.request(l, h.fresh().Public().Pack(), h.revoked), "bad_app_token", "the revoked app's token")
	}
}

// storeArgs are the flags that give a lane's server, or an app command,
// its store and secret.
func (h *harness) storeArgs(l *lane) []string {
	args := []string{"-data", l.data, "-secret", h.secret}
	if h.dsn != "" {
		args = append(args, "-store", h.dsn)
	}
	return args
}

// appCommand runs attesta-server app …: on Pebble with the server
// stopped (the directory is its own while it runs), on PostgreSQL while
// the servers run.
func (h *harness) appCommand(args ...string) string {
	l := h.lanes[0]
	if h.dsn == "" {
		h.stop(l)
		defer h.start(l)
	}
	return h.run("attesta-server", append(append([]string{"app"}, args...), h.storeArgs(l)...)...)
}

// round runs one round: load on every lane, a SIGKILL of one lane's
// server at a random moment, its restart, and the checks.
func (h *harness) round(r int) {
	t := h.t
	ctx := t.Context()
	victim, other := h.lanes[(r-1)%len(h.lanes)], h.lanes[r%len(h.lanes)]

	// The loads: fresh registrations only, acknowledged ones to acked.
	loads := make([]*load, len(h.lanes))
	for i, l := range h.lanes {
		loads[i] = h.startLoad(r, i, l)
	}
	defer func() {
		if t.Failed() {
			for i, ld := range loads {
				t.Logf("round %d: attesta load's stderr (server %d):\n%s", r, i+1, ld.stderr.String())
			}
		}
	}()

	// Wait for the loads to get going (they read the pool first), then
	// for the kill moment.
	deadline := time.Now().Add(30 * time.Second)
	for _, ld := range loads {
		for lines(ld.acked) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		require.Positive(t, lines(ld.acked), "round %d: no registration was acknowledged:\n%s", r, ld.stderr.String())
	}
	killAfter := killAfterMin + rand.N(killAfterMax-killAfterMin)
	time.Sleep(killAfter)

	// Right before the kill: a challenge redeemed (its token kept), a
	// challenge not redeemed, a private key disclosed (the ban is synced
	// before the answer), all on the server about to die.
	a := h.fresh()
	tokenA := h.challenge(victim, a)
	resA, err := victim.probe.AuthKeyToken(ctx, tokenA)
	require.NoError(t, err)
	require.True(t, resA.IsNew)
	h.registered(a.Public().ID().String(), resA.PartyID)
	b := h.fresh()
	tokenB := h.challenge(victim, b)
	leaked := h.fresh()
	_, err = victim.probe.AuthKeyRequest(ctx, leaked.Pack(), h.token)
	h.wantProblem(err, "private_key_disclosed", "a private key sent as key")
	h.banned = append(h.banned, leaked)

	h.kill(victim)
	ackedAtKill := 0
	for _, ld := range loads {
		ackedAtKill += lines(ld.acked)
	}
	restart := h.start(victim)

	// After the restart, while the loads go on: the replays on the other
	// server (the same one with Pebble).
	_, err = other.probe.AuthKeyToken(ctx, tokenA)
	h.wantProblem(err, "challenge_unknown", "a challenge redeemed before the crash, replayed")
	resB, errB := other.probe.AuthKeyToken(ctx, tokenB)
	outcomeB := "lost in the crash (challenge_unknown)"
	if errB == nil {
		outcomeB = "redeemed once"
		require.True(t, resB.IsNew)
		h.registered(b.Public().ID().String(), resB.PartyID)
		_, err = victim.probe.AuthKeyToken(ctx, tokenB)
		h.wantProblem(err, "challenge_unknown", "a challenge redeemed after the crash, replayed")
	} else {
		h.wantProblem(errB, "challenge_unknown", "a challenge made before the crash, redeemed after it")
	}
	for _, l := range h.lanes {
		for _, k := range h.banned {
			h.wantProblem(h.request(l, k.Public().Pack(), h.token), "key_banned", "a key banned before a crash")
		}
		h.wantProblem(h.request(l, h.fresh().Public().Pack(), h.revoked), "bad_app_token", "the revoked app's token")
	}

	// The loads end by themselves at -duration. The acknowledged
	// registrations of this round: no key or party twice, in this round
	// or with any earlier one; keys from this round's part of the pool
	// only.
	ack := map[string]string{}
	var jobs []job
	connects, acked, errs := int64(0), int64(0), map[string]int64{}
	for i, ld := range loads {
		l := h.lanes[i]
		rep := ld.wait(t, r)
		require.Equal(t, l.offset+rep.Pool.NewTaken, rep.Pool.NextOffset)
		from, to := l.base+l.offset, l.base+rep.Pool.NextOffset
		l.offset = rep.Pool.NextOffset
		got := h.readAcked(ld.acked, from, to)
		require.Equal(t, rep.Acked, int64(len(got)))
		maps.Copy(ack, got)
		connects += rep.Connects
		acked += rep.Acked
		for code, n := range rep.Errors {
			errs[code] += n
		}
		// Every key this round took.
		for j := from; j < to; j++ {
			k := h.pool[j]
			jobs = append(jobs, job{key: k, id: k.Public().ID().String(), party: got[k.Public().ID().String()]})
		}
	}
	// And every registration before.
	for id, party := range h.partyOf {
		if _, ok := ack[id]; !ok {
			jobs = append(jobs, job{key: h.keyByID(id), id: id, party: party})
		}
	}
	t0 := time.Now()
	v := h.verify(jobs)
	took := time.Since(t0)
	assert.Zero(t, v.lost, "round %d: acknowledged registrations lost", r)
	assert.Zero(t, v.changed, "round %d: keys that moved to another party", r)
	assert.Zero(t, v.duplicated, "round %d: keys or parties registered twice", r)
	assert.Empty(t, v.failures, "round %d: connects that failed", r)

	t.Logf("round %d: SIGKILL of server %d of %d %.2fs into the load (%d registrations acknowledged by then), restart to /healthz %v | "+
		"load: %d connects, %d acknowledged, errors: %s | taken, unacknowledged: %d durable, %d not registered | "+
		"checked %d registrations in %v: lost %d, duplicated %d, moved %d | replayed challenge refused, pending challenge %s, %d bans and the revoked app hold",
		r, slices.Index(h.lanes, victim)+1, len(h.lanes), killAfter.Seconds(), ackedAtKill, restart.Round(time.Millisecond),
		connects, acked, errorsText(errs), v.durable, v.unregistered,
		v.checked, took.Round(time.Millisecond), v.lost, v.duplicated, v.changed, outcomeB, len(h.banned))
}

// load is one run of attesta load against one lane.
type load struct {
	cmd            *exec.Cmd
	acked          string
	stdout, stderr syncbuf.Buffer
	done           chan struct{}
	err            error
}

type loadReport struct {
	Connects int64            `json:"connects"`
	Acked    int64            `json:"acked"`
	Errors   map[string]int64 `json:"errors"`
	Pool     struct {
		NewTaken   int `json:"new_taken"`
		NextOffset int `json:"next_offset"`
	} `json:"pool"`
}

// startLoad starts round r's load on lane l (the ith).
func (h *harness) startLoad(r, i int, l *lane) *load {
	t := h.t
	ld := &load{acked: filepath.Join(t.TempDir(), fmt.Sprintf("acked-%d-%d", r, i)), done: make(chan struct{})}
	ld.cmd = exec.Command(filepath.Join(h.bin, "attesta"), "load", "-json",
		"-server", l.url, "-app-token-file", filepath.Join(h.lanes[0].data, "demo-app-token"),
		"-clients", strconv.Itoa(loadClients), "-duration", loadDuration.String(), "-new-fraction", "1",
		"-pool", l.poolFile, "-pool-offset", strconv.Itoa(l.offset), "-acked", ld.acked,
		"-source-addrs", strconv.Itoa(loadSourceAddrs), "-rate", strconv.Itoa(loadRate()), "-timeout", "5s")
	ld.cmd.Stdout, ld.cmd.Stderr = &ld.stdout, &ld.stderr
	require.NoError(t, ld.cmd.Start())
	go func() {
		ld.err = ld.cmd.Wait()
		close(ld.done)
	}()
	t.Cleanup(func() {
		ld.cmd.Process.Kill()
		<-ld.done
	})
	return ld
}

// wait waits for the load to end by itself and returns its report.
func (ld *load) wait(t *testing.T, r int) loadReport {
	select {
	case <-ld.done:
		require.NoError(t, ld.err, "attesta load:\n%s", ld.stderr.String())
	case <-time.After(loadDuration + time.Minute):
		ld.cmd.Process.Kill()
		t.Fatalf("round %d: attesta load did not stop:\n%s", r, ld.stderr.String())
	}
	var rep loadReport
	require.NoError(t, json.Unmarshal([]byte(ld.stdout.String()), &rep), "attesta load's report: %s", ld.stdout.String())
	return rep
}

// finalCheck kills every server once more, reads the store's key index,
// parties and bans (opening the Pebble store in this process, or querying
// the database) and checks them against what the test knows: one party
// per key, one key per party, no half-made party.
func (h *harness) finalCheck() {
	t := h.t
	for _, l := range h.lanes {
		h.kill(l)
	}
	var c contents
	if h.dsn == "" {
		c = h.pebbleContents()
	} else {
		c = h.postgresContents()
	}

	var halfMade, unknown int
	for kid, pid := range c.keyIndex {
		if !c.parties[pid] || !slices.Contains(c.partyKeys[pid], kid) {
			halfMade++
		}
		if h.partyOf[kid] != pid {
			unknown++
		}
	}
	for pid := range c.parties {
		if len(c.partyKeys[pid]) != 1 || c.keyIndex[c.partyKeys[pid][0]] != pid {
			halfMade++
		}
	}
	for pid := range c.partyKeys {
		if !c.parties[pid] {
			halfMade++
		}
	}
	assert.Zero(t, halfMade, "half-made parties or key index entries")
	assert.Zero(t, unknown, "registrations the test does not know of")
	assert.Len(t, c.keyIndex, len(h.partyOf), "key index entries")
	assert.Len(t, c.parties, len(h.partyOf), "parties")
	assert.Equal(t, len(h.banned), c.banned, "bans")
	t.Logf("final store check after the last SIGKILL: the store opens; %d parties, %d key index entries, %d party keys, %d bans; "+
		"half-made 0 expected, %d found", len(c.parties), len(c.keyIndex), len(c.partyKeys), c.banned, halfMade)
}

// contents are what finalCheck reads of a store, ids in base64url.
type contents struct {
	keyIndex  map[string]string   // key id -> party id
	parties   map[string]bool     // party ids
	partyKeys map[string][]string // party id -> its keys
	banned    int
}

func newContents() contents {
	return contents{keyIndex: map[string]string{}, parties: map[string]bool{}, partyKeys: map[string][]string{}}
}

// pebbleContents opens the Pebble store after a SIGKILL and reads it.
func (h *harness) pebbleContents() contents {
	t := h.t
	store, err := pebblestore.Open(h.lanes[0].data)
	require.NoError(t, err, "the store opens after a SIGKILL")
	defer func() { assert.NoError(t, store.Close()) }()
	db := store.DB()
	scan := func(prefix byte, f func(k, v []byte)) {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
		require.NoError(t, err)
		defer it.Close()
		for it.First(); it.Valid(); it.Next() {
			f(it.Key()[1:], it.Value())
		}
		require.NoError(t, it.Error())
	}
	// The layout is pebblestore's (see its package documentation):
	// 'k' key id -> party id; 'p' party id -> party; 'P' party id, key id.
	c := newContents()
	scan('k', func(k, v []byte) {
		require.Len(t, k, 32)
		require.Len(t, v, 16)
		c.keyIndex[b64(k)] = b64(v)
	})
	scan('p', func(k, _ []byte) {
		require.Len(t, k, 16)
		c.parties[b64(k)] = true
	})
	scan('P', func(k, _ []byte) {
		require.Len(t, k, 48)
		c.partyKeys[b64(k[:16])] = append(c.partyKeys[b64(k[:16])], b64(k[16:]))
	})
	scan('b', func([]byte, []byte) { c.banned++ })
	return c
}

// postgresContents reads the database after the SIGKILLs. The layout is
// pgstore's (see its migrations): party_keys is both the key index and
// the parties' keys, so a half-made party there is one without a key, or
// a key whose party row is missing.
func (h *harness) postgresContents() contents {
	t := h.t
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, h.dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	c := newContents()
	var kid, pid []byte
	rows, err := conn.Query(ctx, `SELECT key_id, party_id FROM party_keys`)
	require.NoError(t, err)
	_, err = pgx.ForEachRow(rows, []any{&kid, &pid}, func() error {
		require.Len(t, kid, 32)
		require.Len(t, pid, 16)
		c.keyIndex[b64(kid)] = b64(pid)
		c.partyKeys[b64(pid)] = append(c.partyKeys[b64(pid)], b64(kid))
		return nil
	})
	require.NoError(t, err)
	rows, err = conn.Query(ctx, `SELECT party_id FROM parties`)
	require.NoError(t, err)
	_, err = pgx.ForEachRow(rows, []any{&pid}, func() error {
		require.Len(t, pid, 16)
		c.parties[b64(pid)] = true
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM bans`).Scan(&c.banned))
	return c
}

// job is one key to check; party is the party it is known to belong to,
// or "" for a key the load took whose registration was not acknowledged.
type job struct {
	key   *attesta.PrivateKey
	id    string
	party string
}

type verdict struct {
	checked, lost, changed, duplicated, durable, unregistered int
	failures                                                  []string
}

// verify connects every job's key: a known registration must log in to
// its party; an unacknowledged one may have been made or not, but
// connecting twice must give one party, new to the test.
func (h *harness) verify(jobs []job) verdict {
	var (
		mu   sync.Mutex
		v    verdict
		next atomic.Int64
		wg   sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(v.failures) < 10 {
			v.failures = append(v.failures, fmt.Sprintf(format, args...))
		}
	}
	for range verifyWorkers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(jobs); i = int(next.Add(1) - 1) {
				j := jobs[i]
				first, err := h.connect(j.key)
				if err != nil {
					fail("%s: %v", j.id, err)
					continue
				}
				if j.party != "" {
					mu.Lock()
					v.checked++
					switch {
					case first.IsNew:
						v.lost++
					case first.PartyID != j.party:
						v.changed++
					}
					mu.Unlock()
					continue
				}
				second, err := h.connect(j.key)
				if err != nil {
					fail("%s: %v", j.id, err)
					continue
				}
				mu.Lock()
				v.checked++
				if first.IsNew {
					v.unregistered++
				} else {
					v.durable++
				}
				if second.IsNew || second.PartyID != first.PartyID {
					v.duplicated++
				} else if !h.registeredLocked(j.id, first.PartyID) {
					v.duplicated++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return v
}

// connect connects k from the next verification address, waiting out a
// rate limit should one bite.
func (h *harness) connect(k *attesta.PrivateKey) (transport.AuthKeyTokenResponse, error) {
	for try := 0; ; try++ {
		c := h.spread[(h.next.Add(1)-1)%uint64(len(h.spread))]
		res, err := c.Connect(h.t.Context(), k, h.token)
		var p *transport.Problem
		if try < 20 && errors.As(err, &p) && p.Code == "rate_limited" {
			time.Sleep(max(p.RetryAfter, 10*time.Millisecond))
			continue
		}
		return res, err
	}
}

// registered records that key id belongs to party, failing the test if
// either is already recorded with another.
func (h *harness) registered(id, party string) {
	h.t.Helper()
	require.True(h.t, h.registeredLocked(id, party), "key %s or party %s registered twice", id, party)
}

// registeredLocked is registered for callers that hold verify's lock (or
// run alone); false if the key or the party is taken.
func (h *harness) registeredLocked(id, party string) bool {
	if p, ok := h.partyOf[id]; ok {
		return p == party
	}
	if _, ok := h.keyOf[party]; ok {
		return false
	}
	h.partyOf[id], h.keyOf[party] = party, id
	return true
}

// readAcked reads a round's -acked file and records its registrations:
// key id -> party id. Every key must come from pool[from:to].
func (h *harness) readAcked(path string, from, to int) map[string]string {
	t := h.t
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	ack := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		require.Len(t, fields, 2, "acked line %q", sc.Text())
		party, id := fields[0], fields[1]
		i, ok := h.poolIdx[id]
		require.True(t, ok && from <= i && i < to, "acked key %s is not one this round took", id)
		require.NotContains(t, ack, id, "key %s acknowledged twice", id)
		h.registered(id, party)
		ack[id] = party
	}
	require.NoError(t, sc.Err())
	return ack
}

func (h *harness) keyByID(id string) *attesta.PrivateKey {
	if i, ok := h.poolIdx[id]; ok {
		return h.pool[i]
	}
	return h.extra[id]
}

// fresh makes a key outside the pool, for the probes; keyByID finds it.
func (h *harness) fresh() *attesta.PrivateKey {
	k, err := attesta.GenerateKey(attesta.X25519)
	require.NoError(h.t, err)
	h.extra[k.Public().ID().String()] = k
	return k
}

// challenge asks lane l for a challenge for k and decrypts it.
func (h *harness) challenge(l *lane, k *attesta.PrivateKey) []byte {
	res, err := l.probe.AuthKeyRequest(h.t.Context(), k.Public().Pack(), h.token)
	require.NoError(h.t, err)
	token, err := k.DecryptToken(res.EncryptedToken)
	require.NoError(h.t, err)
	return token
}

func (h *harness) request(l *lane, packed []byte, appToken string) error {
	_, err := l.probe.AuthKeyRequest(h.t.Context(), packed, appToken)
	return err
}

func (h *harness) wantProblem(err error, code, what string) {
	h.t.Helper()
	var p *transport.Problem
	if assert.ErrorAs(h.t, err, &p, what) {
		assert.Equal(h.t, code, p.Code, what)
	}
}

// readPool reads the pool file the keypool command wrote.
// readPool reads the pool file the keypool command wrote, and returns its
// PEM blocks, one per key, for splitting it.
func (h *harness) readPool(path string) [][]byte {
	data, err := os.ReadFile(path)
	require.NoError(h.t, err)
	h.poolIdx = map[string]int{}
	var blocks [][]byte
	for rest := data; ; {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		block := rest[:len(rest)-len(r)]
		k, err := attesta.ParsePrivateKeyPEM(block)
		require.NoError(h.t, err)
		h.poolIdx[k.Public().ID().String()] = len(h.pool)
		h.pool = append(h.pool, k)
		blocks = append(blocks, block)
		rest = r
	}
	return blocks
}

// run runs one of the built commands to completion and returns its
// stdout.
func (h *harness) run(name string, args ...string) string {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(h.t.Context(), filepath.Join(h.bin, name), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(h.t, cmd.Run(), "%s %q:\n%s", name, args, stderr.String())
	return stdout.String()
}

// server is one run of attesta-server.
type server struct {
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	done   chan struct{}
}

// start starts lane l's server on its data directory and address and
// waits for /healthz; it returns how long that took.
func (h *harness) start(l *lane) time.Duration {
	t := h.t
	t0 := time.Now()
	s := &server{stderr: new(syncbuf.Buffer), done: make(chan struct{})}
	s.cmd = exec.Command(filepath.Join(h.bin, "attesta-server"), append(h.storeArgs(l), "-addr", l.addr, "-log-format", "json")...)
	s.cmd.Stdout, s.cmd.Stderr = s.stderr, s.stderr
	require.NoError(t, s.cmd.Start())
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	l.srv = s
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("attesta-server exited at start:\n%s", s.stderr)
		default:
		}
		if l.probe.Health(t.Context()) == nil {
			return time.Since(t0)
		}
		if time.Now().After(deadline) {
			t.Fatalf("attesta-server did not answer /healthz:\n%s", s.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill kills lane l's server with SIGKILL and waits for it to be gone.
func (h *harness) kill(l *lane) { h.signal(l, syscall.SIGKILL) }

// stop stops lane l's server with SIGTERM: a clean shutdown.
func (h *harness) stop(l *lane) {
	h.signal(l, syscall.SIGTERM)
	require.Equal(h.t, 0, l.srv.cmd.ProcessState.ExitCode(), "attesta-server on SIGTERM:\n%s", l.srv.stderr)
}

func (h *harness) signal(l *lane, sig syscall.Signal) {
	require.NoError(h.t, l.srv.cmd.Process.Signal(sig))
	select {
	case <-l.srv.done:
	case <-time.After(30 * time.Second):
		h.t.Fatalf("attesta-server did not stop on %v:\n%s", sig, l.srv.stderr)
	}
}

// lines counts the lines of a file; 0 if it does not exist yet.
func lines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

func errorsText(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", code, m[code]))
	}
	return strings.Join(parts, ", ")
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
