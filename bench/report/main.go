// Command report runs Attesta's benchmarks, the peers' (bench/peers), the
// scale and disk measurements and the loopback load runs, and writes
// docs/PERFORMANCE.md from what it measured. Nothing in that file is typed
// by hand: change this program and run it again.
//
//	go run ./bench/report            # the full report (about 30 minutes)
//	go run ./bench/report -quick     # one short round, to try it out
//
// PostgreSQL (the store step benchmark on pgstore, and the load runs of
// one and of two servers on PostgreSQL) is measured on the server that
// -postgres names (default $ATTESTA_TEST_POSTGRES), each benchmark and
// run in a fresh schema dropped after; the load runs count that server's
// CPU too, so give a database server nobody else uses, on this machine:
//
//	go run ./bench/report -postgres 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
//
// Without it, the PostgreSQL figures are marked not measured.
//
// Run it from the repository root on an otherwise idle machine. Every
// benchmark runs in rounds (-rounds, default 5); each round runs each
// benchmark once, the protocol beside its floor, and the report gives
// medians, and ratios as the median of each round's ratio, so that noise
// from other work on the machine hits both sides of a ratio alike.
//
// Filled stores for the scale benchmark (10k, 100k and 1M parties) and key
// pools for the load runs are kept in -cache (bench/.cache, not in git)
// and reused; the first full run fills them (the 1M store takes several
// minutes). The raw output of every command goes to
// -cache/runs/TIMESTAMP/.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// algs are the key types of the report, in the order of its tables and
// as the benchmarks name them.
var algs = []string{"rsa2048", "rsa4096", "x25519", "mlkem768x25519"}

var algNames = map[string]string{
	"rsa2048":        "RSA-2048",
	"rsa4096":        "RSA-4096",
	"x25519":         "X25519",
	"mlkem768x25519": "ML-KEM-768+X25519",
}

type config struct {
	quick        bool
	rounds       int
	benchtime    string
	scale        string
	scaleN       string
	stepsN       string
	cache        string
	loadKeys     []string
	loadClients  []int
	loadSetups   []string
	postgres     string
	worstN       string
	loadDuration time.Duration
	sourceAddrs  int
	out          string
	profile      bool
	args         []string
}

func main() {
	var c config
	flag.BoolVar(&c.quick, "quick", false, "one short round of everything, with the 10k store only and X25519 load runs of 3s (for trying the report out; its numbers are not the report's)")
	flag.IntVar(&c.rounds, "rounds", 5, "how many times each benchmark runs")
	flag.StringVar(&c.benchtime, "benchtime", "1s", "-test.benchtime of the connect benchmarks")
	flag.StringVar(&c.scale, "scale", "10k,100k,1M", "party counts of the scale benchmark (drop 1M to skip filling it)")
	flag.StringVar(&c.scaleN, "scale-logins", "6000x", "-test.benchtime of the scale benchmark")
	flag.StringVar(&c.stepsN, "steps-n", "2000x", "-test.benchtime of the store step benchmark")
	flag.StringVar(&c.cache, "cache", "bench/.cache", "directory for filled stores, key pools and raw output")
	keys := flag.String("load-keys", strings.Join(algs, ","), "key types of the load runs")
	clients := flag.String("load-clients", "1,16,64", "client counts of the load runs")
	flag.DurationVar(&c.loadDuration, "load-duration", 10*time.Second, "length of one load run")
	setups := flag.String("load-stores", defaultSetups, "store setups of the load runs: pebble (one server), postgres (one server), postgres-2 (two servers on one database)")
	flag.StringVar(&c.postgres, "postgres", os.Getenv("ATTESTA_TEST_POSTGRES"), "a PostgreSQL `URL` (default $ATTESTA_TEST_POSTGRES) for the store step benchmark and the PostgreSQL load runs, each in a schema of its own that is dropped after; empty: PostgreSQL is not measured. Its server's CPU is counted too, so give one nothing else uses")
	flag.StringVar(&c.worstN, "worst-n", "100x", "-test.benchtime of BenchmarkWorstRequest (run once)")
	flag.IntVar(&c.sourceAddrs, "source-addrs", 512, "loopback source addresses the load generator spreads over (so that the per-address rate limit does not bind)")
	flag.StringVar(&c.out, "out", "docs/PERFORMANCE.md", "the file to write")
	flag.BoolVar(&c.profile, "profile", true, "profile the connect benchmarks and put the top of the profiles in the report")
	flag.Parse()
	c.args = os.Args[1:]
	c.loadKeys = strings.Split(*keys, ",")
	c.loadSetups = strings.Split(*setups, ",")
	for _, s := range strings.Split(*clients, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 {
			fatalf("-load-clients: bad count %q", s)
		}
		c.loadClients = append(c.loadClients, n)
	}
	if c.quick {
		c.rounds, c.benchtime, c.scale, c.scaleN, c.stepsN, c.worstN = 1, "200ms", "10k", "1000x", "300x", "10x"
		c.loadKeys, c.loadDuration = []string{"x25519"}, 3*time.Second
	}
	if c.rounds < 1 {
		fatalf("-rounds must be at least 1")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "report: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s report: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// env is one run of the report: where things are and what went wrong.
type env struct {
	cfg      config
	root     string // repository root
	bin      string // built binaries
	logs     string // raw output of this run
	pg       *pgDB  // nil without -postgres
	problems []string
}

func (e *env) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	logf("PROBLEM: %s", msg)
	e.problems = append(e.problems, msg)
}

func run(ctx context.Context, c config) error {
	start := time.Now()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	cache, err := filepath.Abs(c.cache)
	if err != nil {
		return err
	}
	c.cache = cache
	e := &env{cfg: c, root: root, logs: filepath.Join(c.cache, "runs", start.Format("20060102-150405"))}
	if err := os.MkdirAll(e.logs, 0o755); err != nil {
		return err
	}
	if e.bin, err = os.MkdirTemp("", "attesta-report-"); err != nil {
		return err
	}
	defer os.RemoveAll(e.bin)
	logf("raw output in %s", e.logs)

	rep := &report{cfg: c, started: start, machine: machine(ctx), rounds: newRounds(c.rounds)}
	if c.postgres == "" {
		rep.pgNote = "not measured: no -postgres URL (or $ATTESTA_TEST_POSTGRES) was given"
	} else if e.pg, err = openPG(ctx, c.postgres); err != nil {
		e.problem("PostgreSQL not measured: %v", err)
		rep.pgNote = "not measured: " + firstLine(err.Error())
	} else if e.pg.postmaster == 0 {
		rep.pgNote = "the database server's processes are not visible from here, so its CPU is not measured"
	}
	e.build(ctx)

	for r := range c.rounds {
		logf("round %d/%d", r+1, c.rounds)
		e.benchRound(ctx, rep, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	e.worstRequests(ctx, rep)
	e.floorCPU(ctx, rep)
	rep.fixtures = e.readFixtures(rep)
	if len(c.loadKeys) > 0 && c.loadKeys[0] != "" {
		e.loadRuns(ctx, rep)
	}
	if c.profile {
		e.profiles(ctx, rep)
		e.serverProfile(ctx, rep)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rep.took = time.Since(start)
	rep.problems = e.problems
	rep.endLoad = machine(ctx).Load
	var doc bytes.Buffer
	if err := writeDoc(&doc, rep); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.out, doc.Bytes(), 0o644); err != nil {
		return err
	}
	logf("wrote %s in %s", c.out, rep.took.Round(time.Second))
	return nil
}

func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run from inside the attesta module")
	}
	raw, err := os.ReadFile(mod)
	if err != nil {
		return "", err
	}
	if !bytes.Contains(raw, []byte("module github.com/attesta-go/attesta\n")) {
		return "", fmt.Errorf("%s is not attesta's go.mod: run from the repository root", mod)
	}
	return filepath.Dir(mod), nil
}

// build compiles the test binaries and commands the report runs.
func (e *env) build(ctx context.Context) {
	steps := []struct {
		name string
		dir  string
		args []string
	}{
		{"attesta.test", ".", []string{"test", "-c", "-o", e.path("attesta.test"), "./attesta"}},
		{"transport.test", ".", []string{"test", "-c", "-o", e.path("transport.test"), "./transport"}},
		{"pebblestore.test", ".", []string{"test", "-c", "-o", e.path("pebblestore.test"), "./attesta/pebblestore"}},
		{"pgstore.test", ".", []string{"test", "-c", "-o", e.path("pgstore.test"), "./attesta/pgstore"}},
		{"peers.test", "bench/peers", []string{"test", "-c", "-o", e.path("peers.test"), "."}},
		{"attesta-server", ".", []string{"build", "-o", e.path("attesta-server"), "./cmd/attesta-server"}},
		{"attesta", ".", []string{"build", "-o", e.path("attesta"), "./cmd/attesta"}},
		{"profserver", ".", []string{"build", "-o", e.path("profserver"), "./bench/profserver"}},
	}
	for _, s := range steps {
		logf("building %s", s.name)
		cmd := exec.CommandContext(ctx, "go", s.args...)
		cmd.Dir = filepath.Join(e.root, s.dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			e.problem("building %s failed: %v\n%s", s.name, err, trim(out))
		}
	}
}

func (e *env) path(name string) string { return filepath.Join(e.bin, name) }

func (e *env) have(name string) bool {
	_, err := os.Stat(e.path(name))
	return err == nil
}

// runLogged runs a command, with env added to its environment, its
// output saved under logName, and returns its stdout.
func (e *env) runLogged(ctx context.Context, logName, dir string, env []string, name string, args ...string) ([]byte, *os.ProcessState, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	f, ferr := os.Create(filepath.Join(e.logs, logName))
	if ferr == nil {
		fmt.Fprintf(f, "$ (cd %s && %s %s)\n", dir, name, strings.Join(args, " "))
		f.Write(stdout.Bytes())
		if stderr.Len() > 0 {
			fmt.Fprintf(f, "--- stderr\n%s", stderr.Bytes())
		}
		f.Close()
	}
	if err != nil {
		err = fmt.Errorf("%s: %w\n%s%s", filepath.Base(name), err, trim(stdout.Bytes()), trim(stderr.Bytes()))
	}
	return stdout.Bytes(), cmd.ProcessState, err
}

// bench runs benchmarks of a test binary and returns their results.
func (e *env) bench(ctx context.Context, logName, binary, dir, pattern, benchtime string, extra ...string) ([]result, *os.ProcessState, error) {
	return e.benchEnv(ctx, logName, binary, dir, pattern, benchtime, nil, extra...)
}

// benchEnv is bench with env added to the binary's environment.
func (e *env) benchEnv(ctx context.Context, logName, binary, dir, pattern, benchtime string, env []string, extra ...string) ([]result, *os.ProcessState, error) {
	args := append([]string{"-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime,
		"-test.count", "1", "-test.timeout", "0"}, extra...)
	out, ps, err := e.runLogged(ctx, logName, dir, env, e.path(binary), args...)
	if err != nil {
		return nil, ps, err
	}
	rs, err := parseBench(bytes.NewReader(out))
	return rs, ps, err
}

// benchRound runs every benchmark once.
func (e *env) benchRound(ctx context.Context, rep *report, r int) {
	c := e.cfg
	type job struct {
		binary, dir, pattern, benchtime string
		extra                           []string
		env                             []string
		as                              string // the results' names get this suffix
	}
	jobs := []job{
		{"attesta.test", "attesta", "^(BenchmarkConnect|BenchmarkPrimitives)$", c.benchtime, nil, nil, ""},
		{"transport.test", "transport", "^BenchmarkConnectHTTP(Metrics)?$", c.benchtime, nil, nil, ""},
		{"peers.test", "bench/peers", ".", c.benchtime, nil, nil, ""},
		{"attesta.test", "attesta", "^BenchmarkLoginAtScale$", c.scaleN,
			[]string{"-attesta.scale=" + c.scale, "-attesta.scaledir=" + filepath.Join(c.cache, "scale")}, nil, ""},
		{"pebblestore.test", "attesta/pebblestore", "^BenchmarkStoreSteps$", c.stepsN, nil, nil, ""},
	}
	if e.pg != nil {
		// The same steps on PostgreSQL (each sub-benchmark in a schema of
		// its own), named apart from Pebble's.
		jobs = append(jobs, job{"pgstore.test", "attesta/pgstore", "^BenchmarkStoreSteps$", c.stepsN, nil,
			[]string{"ATTESTA_TEST_POSTGRES=" + c.postgres, "ATTESTA_REQUIRE_POSTGRES=1"}, "@postgres"})
	}
	for i, j := range jobs {
		if !e.have(j.binary) {
			continue
		}
		t0 := time.Now()
		rs, _, err := e.benchEnv(ctx, fmt.Sprintf("round%d-%d-%s.txt", r+1, i+1, strings.TrimSuffix(j.binary, ".test")),
			j.binary, filepath.Join(e.root, j.dir), j.pattern, j.benchtime, j.env, j.extra...)
		if err != nil {
			e.problem("round %d: %s %s: %v", r+1, j.binary, j.pattern, err)
		}
		for k := range rs {
			rs[k].Name += j.as
		}
		rep.rounds.add(r, rs)
		logf("  %s %s: %d results in %s", j.binary, j.pattern, len(rs), time.Since(t0).Round(time.Second))
	}
}

// floorCPU measures the CPU time one primitive floor takes, for each key
// type: BenchmarkPrimitives run a fixed number of times in a process of its
// own, whose user+system time is divided by the iterations. The load runs
// compare the server's CPU with it.
func (e *env) floorCPU(ctx context.Context, rep *report) {
	rep.floorCPU = map[string]float64{}
	if !e.have("attesta.test") {
		return
	}
	for _, alg := range algs {
		wall := rep.rounds.get("BenchmarkPrimitives/"+alg, "ns/op").median()
		if wall != wall || wall <= 0 {
			continue
		}
		n := int(max(200, min(20000, 2e9/wall)))
		rs, ps, err := e.bench(ctx, "floor-cpu-"+alg+".txt", "attesta.test", filepath.Join(e.root, "attesta"),
			"^BenchmarkPrimitives$/^"+alg+"$", fmt.Sprintf("%dx", n))
		if err != nil || len(rs) != 1 {
			e.problem("floor CPU of %s: %v", alg, err)
			continue
		}
		cpu := ps.UserTime() + ps.SystemTime()
		rep.floorCPU[alg] = float64(cpu.Nanoseconds()) / float64(n+1) // b.N=1 runs first
		logf("floor CPU %s: %.0f µs per connect", alg, rep.floorCPU[alg]/1e3)
	}
}

// profiles takes CPU profiles of the connect benchmarks and keeps the top
// of each, the client's decryption left out.
func (e *env) profiles(ctx context.Context, rep *report) {
	benchtime := "3s"
	if e.cfg.quick {
		benchtime = "300ms"
	}
	scale := []string{"-attesta.scale=10k", "-attesta.scaledir=" + filepath.Join(e.cfg.cache, "scale")}
	for _, p := range []struct {
		binary, dir, bench string
		extra              []string
	}{
		{"attesta.test", "attesta", "^BenchmarkConnect$/^x25519$", nil},
		{"attesta.test", "attesta", "^BenchmarkConnect$/^rsa2048$", nil},
		{"attesta.test", "attesta", "^BenchmarkLoginAtScale$/^parties=10k$", scale},
		{"transport.test", "transport", "^BenchmarkConnectHTTP$/^x25519$", nil},
	} {
		if !e.have(p.binary) {
			continue
		}
		prof := filepath.Join(e.logs, fmt.Sprintf("cpu-%d.pprof", len(rep.profiles)))
		bt := benchtime
		if p.extra != nil {
			bt = e.cfg.scaleN
		}
		if _, _, err := e.bench(ctx, filepath.Base(prof)+".txt", p.binary, filepath.Join(e.root, p.dir), p.bench, bt,
			append([]string{"-test.cpuprofile", prof}, p.extra...)...); err != nil {
			e.problem("profiling %s: %v", p.bench, err)
			continue
		}
		out, _, err := e.runLogged(ctx, filepath.Base(prof)+".top.txt", e.root, nil, "go", "tool", "pprof", "-top", "-cum",
			"-nodecount=30", "-ignore=DecryptToken|testkeys|openFixture|Revoke", e.path(p.binary), prof)
		if err != nil {
			e.problem("pprof %s: %v", p.bench, err)
			continue
		}
		rep.profiles = append(rep.profiles, profile{Bench: p.bench, Binary: p.binary, Top: pprofTop(out)})
	}
}

// serverProfile profiles the server's request path under attesta load:
// bench/profserver (attesta-server's store, Service and Handler with a
// CPU profile) against 64 X25519 clients, on Pebble and, with -postgres,
// on PostgreSQL; each profile's CPU per connect, whole and by part, goes
// to rep.breakdown.
func (e *env) serverProfile(ctx context.Context, rep *report) {
	if !e.have("profserver") || !e.have("attesta") {
		return
	}
	pool, err := e.pool(ctx, "x25519")
	if err != nil {
		e.problem("server profile: %v", err)
		return
	}
	for _, setup := range []string{setupPebble, setupPostgres} {
		if setup == setupPostgres && e.pg == nil {
			continue
		}
		if err := e.serverProfileOf(ctx, rep, setup, pool); err != nil {
			e.problem("server profile on %s: %v", setup, err)
		}
	}
}

func (e *env) serverProfileOf(ctx context.Context, rep *report, setup, pool string) error {
	data, err := os.MkdirTemp(e.bin, "profserver-")
	if err != nil {
		return err
	}
	args := []string{"-data", data}
	storePkg := "attesta/pebblestore"
	if setup == setupPostgres {
		dsn, drop, err := e.pg.freshSchema(ctx)
		if err != nil {
			return err
		}
		defer drop()
		args = append(args, "-store", dsn)
		storePkg = "attesta/pgstore|jackc/pgx"
	}
	prof := filepath.Join(e.logs, fmt.Sprintf("cpu-%d.pprof", len(rep.profiles)))
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	srv := exec.Command(e.path("profserver"), append(args, "-addr", addr, "-cpuprofile", prof)...)
	if err := srv.Start(); err != nil {
		return err
	}
	token := filepath.Join(data, "demo-app-token")
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(token); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	dur := e.cfg.loadDuration
	loadOut, _, lerr := e.runLogged(ctx, "profserver-load-"+setup+".txt", e.root, nil, e.path("attesta"), "load", "-server", "http://"+addr,
		"-app-token-file", token, "-clients", "64", "-duration", dur.String(), "-pool", pool, "-new-fraction", "0",
		"-source-addrs", strconv.Itoa(e.cfg.sourceAddrs), "-json")
	srv.Process.Signal(os.Interrupt)
	if err := srv.Wait(); err != nil || lerr != nil {
		return fmt.Errorf("%v %v", err, lerr)
	}
	var lr loadReport
	if err := json.Unmarshal(loadOut, &lr); err != nil {
		return fmt.Errorf("the load's report: %w", err)
	}
	out, _, err := e.runLogged(ctx, filepath.Base(prof)+".top.txt", e.root, nil, "go", "tool", "pprof", "-top", "-cum",
		"-nodecount=45", e.path("profserver"), prof)
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	rep.profiles = append(rep.profiles, profile{Bench: "attesta load -clients 64 (X25519, " + dur.String() + ") against bench/profserver on " + setupNames[setup],
		Binary: "profserver", Top: pprofTop(out)})
	// The CPU per connect of the whole profile and of the parts that
	// differ between the stores: samples with a part's functions on the
	// stack (pprof -focus), over the run's connects.
	if lr.Connects == 0 {
		return errors.New("the profiled load made no connect")
	}
	bd := map[string]float64{}
	for _, g := range profileGroups(storePkg) {
		args := []string{"tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0", "-edgefraction=0"}
		if g.focus != "" {
			args = append(args, "-focus="+g.focus)
		}
		out, _, err := e.runLogged(ctx, filepath.Base(prof)+"."+g.name+".txt", e.root, nil, "go", append(args, e.path("profserver"), prof)...)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		if sec, ok := focusSeconds(out); ok {
			bd[g.name] = sec * 1e9 / float64(lr.Connects)
		}
	}
	if rep.breakdown == nil {
		rep.breakdown = map[string]map[string]float64{}
	}
	rep.breakdown[setup] = bd
	return nil
}

// profileGroups are the parts of a server profile the report compares
// between the stores.
func profileGroups(storePkg string) []struct{ name, focus string } {
	return []struct{ name, focus string }{
		{"all", ""},
		{"store", storePkg},
		{"crypto", `^crypto/`},
		{"scheduler", `^runtime\.(schedule|findRunnable|park_m|netpoll|futex|notewakeup|wakep|ready)`},
		{"gc", `^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge)`},
		{"syscalls", `^(syscall|internal/runtime/syscall)\.`},
	}
}

// focusSeconds reads the samples pprof kept, in seconds, from its
// "Showing nodes accounting for 1.2s, 34.5% of 3.4s total" line (with
// every node shown, the samples a -focus kept).
func focusSeconds(out []byte) (float64, bool) {
	m := regexp.MustCompile(`accounting for ([0-9.]+)(ms|s|us|µs|ns|min|h)?, `).FindSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, false
	}
	switch string(m[2]) {
	case "ms":
		v /= 1e3
	case "us", "µs":
		v /= 1e6
	case "ns":
		v /= 1e9
	case "min":
		v *= 60
	case "h":
		v *= 3600
	}
	return v, true
}

// worstRequests runs BenchmarkWorstRequest once: each endpoint's normal
// and worst requests, the server's CPU per request.
func (e *env) worstRequests(ctx context.Context, rep *report) {
	if !e.have("transport.test") {
		return
	}
	rs, _, err := e.bench(ctx, "worst-request.txt", "transport.test", filepath.Join(e.root, "transport"),
		"^BenchmarkWorstRequest$", e.cfg.worstN)
	if err != nil {
		e.problem("BenchmarkWorstRequest: %v", err)
	}
	rep.worst = rs
}

// pprofTop keeps pprof's table from its header line on.
func pprofTop(out []byte) string {
	s := string(out)
	if i := strings.Index(s, "      flat  flat%"); i >= 0 {
		s = s[i:]
	}
	return strings.TrimRight(s, "\n")
}

func trim(b []byte) string {
	const max = 4000
	if len(b) > max {
		b = append(b[:max:max], "…"...)
	}
	return string(b)
}

// machineInfo is where the report ran.
type machineInfo struct {
	Go, CPU, Kernel, Commit string
	Cores, GOMAXPROCS       int
	Load                    string
}

func machine(ctx context.Context) machineInfo {
	m := machineInfo{Go: runtime.Version(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		m.Go = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(raw))
	}
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load = strings.Join(strings.Fields(string(raw))[:3], " ")
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			m.Commit += " with uncommitted changes"
		}
	}
	return m
}
