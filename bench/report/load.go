package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// loadResult is one run of attesta load against a fresh attesta-server.
type loadResult struct {
	Alg     string
	Clients int
	Report  loadReport
	// ServerCores is the server's CPU time over the measured run divided
	// by its wall time; ServerCPUPerConnect that CPU time per connect, in
	// ns.
	ServerCores         float64
	ServerCPUPerConnect float64
	// RSSKiB and HWMKiB are the server's resident memory after the run,
	// and its peak so far (VmRSS, VmHWM).
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

// loadRuns starts one attesta-server per key type and runs attesta load
// against it at each client count.
func (e *env) loadRuns(ctx context.Context, rep *report) {
	if !e.have("attesta-server") || !e.have("attesta") {
		e.problem("load runs skipped: attesta-server or attesta did not build")
		return
	}
	if out, err := exec.CommandContext(ctx, e.path("attesta"), "help", "load").CombinedOutput(); err != nil {
		e.problem("load runs skipped: this attesta has no load command (%v: %s)", err, trim(out))
		return
	}
	for _, alg := range e.cfg.loadKeys {
		pool, err := e.pool(ctx, alg)
		if err != nil {
			e.problem("load %s: %v", alg, err)
			continue
		}
		srv, err := e.startServer(ctx, alg)
		if err != nil {
			e.problem("load %s: starting attesta-server: %v", alg, err)
			continue
		}
		for _, n := range e.cfg.loadClients {
			r := e.loadOnce(ctx, srv, alg, pool, n)
			if r.Err != "" {
				e.problem("load %s, %d clients: %s", alg, n, r.Err)
			}
			rep.loads = append(rep.loads, r)
			logf("load %s %d clients: %.0f connects/s, server %.2f cores, client %.2f cores, RSS %d MiB",
				alg, n, r.Report.ConnectsPerSec, r.ServerCores, r.Report.ClientCPUSec/max(r.Report.DurationSec, 1e-9), r.RSSKiB>>10)
		}
		srv.stop()
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
	if _, _, err := e.runLogged(ctx, "keypool-"+alg+".txt", e.root, e.path("attesta"),
		"keypool", "-type", alg, "-n", strconv.Itoa(poolKeys(alg)), "-out", tmp); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

type server struct {
	cmd       *exec.Cmd
	url       string
	tokenFile string
	done      chan struct{}
}

func (e *env) startServer(ctx context.Context, alg string) (*server, error) {
	data, err := os.MkdirTemp(e.bin, "data-"+alg+"-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(e.logs, "server-"+alg+".txt"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(e.path("attesta-server"), "-data", data, "-addr", addr, "-log-level", "warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, tokenFile: filepath.Join(data, "demo-app-token"), done: make(chan struct{})}
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
			if _, err := os.Stat(s.tokenFile); err == nil && resp.StatusCode == http.StatusOK {
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

// loadOnce runs attesta load once. The server's CPU is sampled when the
// load generator says its known keys are registered (the run starts) and
// when it exits, so that key registration before the run is left out.
func (e *env) loadOnce(ctx context.Context, s *server, alg, pool string, clients int) loadResult {
	r := loadResult{Alg: alg, Clients: clients}
	pid := s.cmd.Process.Pid
	args := []string{"load", "-server", s.url, "-app-token-file", s.tokenFile, "-clients", strconv.Itoa(clients),
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
	logFile, err := os.Create(filepath.Join(e.logs, fmt.Sprintf("load-%s-%d.txt", alg, clients)))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "$ attesta %s\n", strings.Join(args, " "))

	startCPU, startErr := procCPU(pid)
	startWall := time.Now()
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
				cpu, err := procCPU(pid)
				mu.Lock()
				if err == nil && !marked {
					startCPU, startErr, startWall, marked = cpu, nil, time.Now(), true
				}
				mu.Unlock()
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	<-scanned
	waitErr := cmd.Wait()
	endCPU, endErr := procCPU(pid)
	endWall := time.Now()
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
		e.problem("load %s %d: no \"registered … known keys\" line; the server's CPU covers the whole invocation", alg, clients)
	}
	mu.Unlock()
	if startErr == nil && endErr == nil {
		cpu := endCPU - startCPU
		r.ServerCores = cpu.Seconds() / endWall.Sub(startWall).Seconds()
		if r.Report.Connects > 0 {
			// The window may run a little past the report's duration;
			// scale the CPU to the report's own.
			share := min(1, r.Report.DurationSec/endWall.Sub(startWall).Seconds())
			r.ServerCPUPerConnect = float64(cpu.Nanoseconds()) * share / float64(r.Report.Connects)
		}
	}
	r.RSSKiB, r.HWMKiB = procMem(pid)
	return r
}

// procCPU is a process's user+system CPU time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces: count the
	// fields after its closing one.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, errors.New("odd /proc stat")
	}
	f := strings.Fields(string(raw[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat")
	}
	const clkTck = 100 // USER_HZ on Linux
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
