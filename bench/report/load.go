package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// poolKeys is the size of a key pool: attesta load logs in with up to 4
// known keys per client, so 256 serve 64 clients. RSA-4096 keys take a
// second each to make: 96 of them still give each of 64 clients a key of
// its own most of the time, and the server allows 4 pending challenges
// per key.
func poolKeys(alg string) int {
	if alg == "rsa4096" {
		return 96
	}
	return 256
}

// Store setups of the load runs.
const (
	setupPebble    = "pebble"     // one server, Pebble in its data directory
	setupPostgres  = "postgres"   // one server, a fresh PostgreSQL schema
	setupPostgres2 = "postgres-2" // two servers on one fresh schema, every connect crossing them
	defaultSetups  = setupPebble + "," + setupPostgres + "," + setupPostgres2
)

var setupNames = map[string]string{
	setupPebble:    "Pebble, 1 server",
	setupPostgres:  "PostgreSQL, 1 server",
	setupPostgres2: "PostgreSQL, 2 servers",
}

// loadResult is one run of attesta load against fresh attesta-servers.
type loadResult struct {
	Setup   string
	Alg     string
	Clients int
	Report  loadReport
	// ServerCores is the servers' CPU time over the measured run divided
	// by its wall time; ServerCPUPerConnect that CPU time per connect, in
	// ns. DBCores and DBCPUPerConnect are the same for every process of
	// the PostgreSQL server (NaN for Pebble, or if its processes are not
	// visible from here).
	ServerCores, ServerCPUPerConnect float64
	DBCores, DBCPUPerConnect         float64
	// TxPerConnect and RetriesPerConnect are the PostgreSQL store's
	// transactions and retries per connect, from the servers' metrics
	// (NaN for Pebble).
	TxPerConnect, RetriesPerConnect float64
	// RSSKiB and HWMKiB are the servers' resident memory after the run,
	// and their peak so far (VmRSS, VmHWM), summed.
	RSSKiB, HWMKiB int
	Err            string
}

// loadReport is the part of attesta load's -json report the document
// uses.
type loadReport struct {
	DurationSec    float64                 `json:"duration_sec"`
	Connects       int64                   `json:"connects"`
	ConnectsPerSec float64                 `json:"connects_per_sec"`
	LatencyUS      map[string]latencyStats `json:"latency_us"`
	Errors         map[string]int64        `json:"errors"`
	ErrorCount     int64                   `json:"error_count"`
	ClientCPUSec   float64                 `json:"client_cpu_sec"`
	ClientCPUShare float64                 `json:"client_cpu_share"`
	GOMAXPROCS     int                     `json:"gomaxprocs"`
	NewFraction    float64                 `json:"new_fraction"`
	SourceAddrs    int                     `json:"source_addrs"`
}

type latencyStats struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// loadRuns starts fresh attesta-servers per store setup and key type and
// runs attesta load against them at each client count.
func (e *env) loadRuns(ctx context.Context, rep *report) {
	if !e.have("attesta-server") || !e.have("attesta") {
		e.problem("load runs skipped: attesta-server or attesta did not build")
		return
	}
	if out, err := exec.CommandContext(ctx, e.path("attesta"), "help", "load").CombinedOutput(); err != nil {
		e.problem("load runs skipped: this attesta has no load command (%v: %s)", err, trim(out))
		return
	}
	for _, setup := range e.cfg.loadSetups {
		if setup != setupPebble && e.pg == nil {
			continue // said once, in run
		}
		for _, alg := range e.cfg.loadKeys {
			if ctx.Err() != nil {
				return
			}
			pool, err := e.pool(ctx, alg)
			if err != nil {
				e.problem("load %s: %v", alg, err)
				continue
			}
			srvs, done, err := e.startServers(ctx, setup, alg)
			if err != nil {
				e.problem("load %s on %s: starting attesta-server: %v", alg, setup, err)
				continue
			}
			for _, n := range e.cfg.loadClients {
				r := e.loadOnce(ctx, srvs, setup, alg, pool, n)
				if r.Err != "" {
					e.problem("load %s on %s, %d clients: %s", alg, setup, n, r.Err)
				}
				rep.loads = append(rep.loads, r)
				logf("load %s on %s, %d clients: %.0f connects/s, servers %.2f cores (%.0f µs a connect), database %.0f µs a connect, client %.2f cores",
					alg, setup, n, r.Report.ConnectsPerSec, r.ServerCores, r.ServerCPUPerConnect/1e3, r.DBCPUPerConnect/1e3,
					r.Report.ClientCPUSec/max(r.Report.DurationSec, 1e-9))
			}
			for _, s := range srvs {
				s.stop()
			}
			done()
		}
	}
}

// pool returns a key pool file of alg in the cache, making it once.
func (e *env) pool(ctx context.Context, alg string) (string, error) {
	dir := filepath.Join(e.cfg.cache, "pools")
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pem", alg, poolKeys(alg)))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	logf("making a pool of %d %s keys in %s (once)", poolKeys(alg), alg, path)
	tmp := path + ".tmp"
	os.Remove(tmp)
	if _, _, err := e.runLogged(ctx, "keypool-"+alg+".txt", e.root, nil, e.path("attesta"),
		"keypool", "-type", alg, "-n", strconv.Itoa(poolKeys(alg)), "-out", tmp); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

type server struct {
	cmd        *exec.Cmd
	url        string
	metricsURL string
	tokenFile  string
	done       chan struct{}
}

// startServers starts the servers of setup for a load run of alg, and
// returns them with a function that drops what they used (a PostgreSQL
// schema).
func (e *env) startServers(ctx context.Context, setup, alg string) ([]*server, func(), error) {
	done := func() {}
	var extra []string
	n := 1
	switch setup {
	case setupPebble:
	case setupPostgres, setupPostgres2:
		dsn, drop, err := e.pg.freshSchema(ctx)
		if err != nil {
			return nil, nil, err
		}
		done = drop
		dir, err := os.MkdirTemp(e.bin, "secret-")
		if err != nil {
			drop()
			return nil, nil, err
		}
		// Every server of one database needs the same secret; the first
		// makes it.
		extra = []string{"-store", dsn, "-secret", filepath.Join(dir, "secret")}
		if setup == setupPostgres2 {
			n = 2
		}
	default:
		return nil, nil, fmt.Errorf("unknown setup %q (want %s)", setup, defaultSetups)
	}
	var srvs []*server
	for i := range n {
		s, err := e.startServer(ctx, fmt.Sprintf("%s-%s-%d", setup, alg, i), extra, i == 0)
		if err != nil {
			for _, s := range srvs {
				s.stop()
			}
			done()
			return nil, nil, err
		}
		if i > 0 {
			s.tokenFile = srvs[0].tokenFile // the demo application is the database's
		}
		srvs = append(srvs, s)
	}
	return srvs, done, nil
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts attesta-server with extra flags and waits until it
// answers (and, if first, has written the demo application's token: the
// first server on a database makes it).
func (e *env) startServer(ctx context.Context, name string, extra []string, first bool) (*server, error) {
	data, err := os.MkdirTemp(e.bin, "data-"+name+"-")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	maddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(e.logs, "server-"+name+".txt"))
	if err != nil {
		return nil, err
	}
	args := append([]string{"-data", data, "-addr", addr, "-metrics-addr", maddr, "-log-level", "warn"}, extra...)
	cmd := exec.Command(e.path("attesta-server"), args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, metricsURL: "http://" + maddr + "/metrics",
		tokenFile: filepath.Join(data, "demo-app-token"), done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			_, terr := os.Stat(s.tokenFile)
			if resp.StatusCode == http.StatusOK && (terr == nil || !first) {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, errors.New("the server exited; see its log")
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("the server did not answer /healthz in 30s")
		}
	}
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// mark is what the report samples at the start and end of a measured
// run.
type mark struct {
	wall            time.Time
	servers, db     time.Duration
	serversOK, dbOK bool
	tx, retries     float64
	metricsOK       bool
}

func (e *env) sample(srvs []*server) mark {
	m := mark{wall: time.Now(), serversOK: true, metricsOK: true}
	for _, s := range srvs {
		c, err := procCPU(s.cmd.Process.Pid)
		if err != nil {
			m.serversOK = false
		}
		m.servers += c
		vals, err := scrapeValues(s.metricsURL, "attesta_store_transactions_total", "attesta_store_transaction_retries_total")
		if err != nil {
			m.metricsOK = false
		}
		m.tx += vals[0]
		m.retries += vals[1]
	}
	if e.pg != nil {
		m.db, m.dbOK = e.pg.cpu()
	}
	return m
}

// loadOnce runs attesta load once against srvs. CPU and the servers'
// metrics are sampled when the load generator says its known keys are
// registered (the run starts) and when it exits, so that key
// registration before the run is left out.
func (e *env) loadOnce(ctx context.Context, srvs []*server, setup, alg, pool string, clients int) loadResult {
	nan := math.NaN()
	r := loadResult{Setup: setup, Alg: alg, Clients: clients, DBCores: nan, DBCPUPerConnect: nan, TxPerConnect: nan, RetriesPerConnect: nan}
	urls := make([]string, len(srvs))
	for i, s := range srvs {
		urls[i] = s.url
	}
	args := []string{"load", "-server", strings.Join(urls, ","), "-app-token-file", srvs[0].tokenFile, "-clients", strconv.Itoa(clients),
		"-duration", e.cfg.loadDuration.String(), "-pool", pool, "-new-fraction", "0",
		"-source-addrs", strconv.Itoa(e.cfg.sourceAddrs), "-json"}
	cmd := exec.CommandContext(ctx, e.path("attesta"), args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	logFile, err := os.Create(filepath.Join(e.logs, fmt.Sprintf("load-%s-%s-%d.txt", setup, alg, clients)))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "$ attesta %s\n", strings.Join(args, " "))

	start := e.sample(srvs)
	if err := cmd.Start(); err != nil {
		r.Err = err.Error()
		return r
	}
	var (
		mu      sync.Mutex
		marked  bool
		scanned = make(chan struct{})
	)
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if strings.HasPrefix(line, "registered ") && strings.Contains(line, "known keys") {
				m := e.sample(srvs)
				mu.Lock()
				if !marked {
					start, marked = m, true
				}
				mu.Unlock()
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	<-scanned
	waitErr := cmd.Wait()
	end := e.sample(srvs)
	fmt.Fprintf(logFile, "--- stdout\n%s", stdout.Bytes())
	if waitErr != nil {
		r.Err = fmt.Sprintf("attesta load: %v (see %s)", waitErr, logFile.Name())
		return r
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.Report); err != nil {
		r.Err = fmt.Sprintf("reading the -json report: %v", err)
		return r
	}
	mu.Lock()
	if !marked {
		e.problem("load %s %s %d: no \"registered … known keys\" line; the CPU covers the whole invocation", setup, alg, clients)
	}
	mu.Unlock()
	wall := end.wall.Sub(start.wall).Seconds()
	// The window may run a little past the report's duration; scale the
	// CPU to the report's own.
	share := min(1, r.Report.DurationSec/wall)
	connects := float64(r.Report.Connects)
	if start.serversOK && end.serversOK {
		cpu := end.servers - start.servers
		r.ServerCores = cpu.Seconds() / wall
		if connects > 0 {
			r.ServerCPUPerConnect = float64(cpu.Nanoseconds()) * share / connects
		}
	}
	if setup != setupPebble && start.dbOK && end.dbOK {
		cpu := end.db - start.db
		r.DBCores = cpu.Seconds() / wall
		if connects > 0 {
			r.DBCPUPerConnect = float64(cpu.Nanoseconds()) * share / connects
		}
	}
	if setup != setupPebble && start.metricsOK && end.metricsOK && connects > 0 {
		r.TxPerConnect = (end.tx - start.tx) / connects
		r.RetriesPerConnect = (end.retries - start.retries) / connects
	}
	for _, s := range srvs {
		rss, hwm := procMem(s.cmd.Process.Pid)
		r.RSSKiB += rss
		r.HWMKiB += hwm
	}
	return r
}

// scrapeValues reads the values of unlabelled metrics from a Prometheus
// text endpoint; a metric it does not find is 0.
func scrapeValues(url string, names ...string) ([]float64, error) {
	out := make([]float64, len(names))
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("%s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		for i, n := range names {
			if f[0] == n {
				out[i], _ = strconv.ParseFloat(f[1], 64)
			}
		}
	}
	return out, sc.Err()
}

// clkTck is USER_HZ on Linux: the unit of /proc's CPU times.
const clkTck = 100

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	f, err := procStat(pid)
	if err != nil {
		return 0, err
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat")
	}
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// procMem is a process's VmRSS and VmHWM in KiB.
func procMem(pid int) (rss, hwm int) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}
