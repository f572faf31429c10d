package main

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/attesta-go/attesta/attesta
BenchmarkConnect/rsa2048-2         	   19076	    192135 ns/op	    148100 request-ns/op	     44021 token-ns/op	    5706 B/op	      76 allocs/op
BenchmarkPrimitives/x25519-16      	   17004	    142089 ns/op
BenchmarkLoginAtScale/parties=10k-2 	 3000	 224340 ns/op	 949.5 disk-B/party	 4.123 fill-s
--- FAIL: BenchmarkBroken
BenchmarkBroken-2 	 oops
PASS
`
	rs, err := parseBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("got %d results, want 3: %+v", len(rs), rs)
	}
	if rs[0].Name != "BenchmarkConnect/rsa2048" || rs[0].N != 19076 || rs[0].Metrics["token-ns/op"] != 44021 {
		t.Errorf("first result %+v", rs[0])
	}
	if rs[1].Name != "BenchmarkPrimitives/x25519" || rs[1].Metrics["ns/op"] != 142089 {
		t.Errorf("second result %+v", rs[1])
	}
	if rs[2].Name != "BenchmarkLoginAtScale/parties=10k" || rs[2].Metrics["disk-B/party"] != 949.5 {
		t.Errorf("third result %+v", rs[2])
	}
}

func TestSeries(t *testing.T) {
	s := series{3, math.NaN(), 1, 2, 10}
	if m := s.median(); m != 2.5 {
		t.Errorf("median %v, want 2.5", m)
	}
	if m := (series{math.NaN()}).median(); !math.IsNaN(m) {
		t.Errorf("median of nothing %v, want NaN", m)
	}
	r := ratio(series{2, 4, 9}, series{1, 0, 3})
	if r[0] != 2 || !math.IsNaN(r[1]) || r[2] != 3 {
		t.Errorf("ratio %v", r)
	}
}

func TestFocusSeconds(t *testing.T) {
	for _, c := range []struct {
		out  string
		want float64
	}{
		{"Active filters:\n   focus=pgx\nShowing nodes accounting for 1.25s, 12.5% of 10s total\n", 1.25},
		{"Showing nodes accounting for 40ms, 3.28% of 1220ms total\n", 0.04},
		{"Showing nodes accounting for 0, 0% of 1220ms total\n", 0},
	} {
		got, ok := focusSeconds([]byte(c.out))
		if !ok || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("focusSeconds(%q) = %v %v, want %v", c.out, got, ok, c.want)
		}
	}
	if _, ok := focusSeconds([]byte("no samples")); ok {
		t.Error("focusSeconds found a figure in nothing")
	}
}

// TestWriteDoc writes the page from a report of every kind of figure, and
// from one with none: every section is written, nothing panics.
func TestWriteDoc(t *testing.T) {
	full := &report{cfg: config{rounds: 1, loadClients: []int{64}, loadKeys: []string{"x25519"}, loadDuration: time.Second, postgres: "postgres://x"},
		rounds: newRounds(1), floorCPU: map[string]float64{"x25519": 100e3}}
	full.rounds.add(0, []result{
		{Name: "BenchmarkPrimitives/x25519", Metrics: map[string]float64{"ns/op": 100e3}},
		{Name: "BenchmarkConnect/x25519", Metrics: map[string]float64{"ns/op": 120e3}},
		{Name: "BenchmarkConnectHTTP/x25519", Metrics: map[string]float64{"ns/op": 150e3}},
		{Name: "BenchmarkStoreSteps/Spend", Metrics: map[string]float64{"ns/op": 300e3}},
		{Name: "BenchmarkStoreSteps/Spend@postgres", Metrics: map[string]float64{"ns/op": 600e3}},
	})
	full.worst = []result{{Name: "BenchmarkWorstRequest/healthz/normal", Metrics: map[string]float64{"cpu-ns/op": 10e3}}}
	for _, setup := range []string{setupPebble, setupPostgres, setupPostgres2} {
		full.loads = append(full.loads, loadResult{Setup: setup, Alg: "x25519", Clients: 64, ServerCores: 1, ServerCPUPerConnect: 200e3,
			DBCPUPerConnect: math.NaN(), TxPerConnect: 3, RetriesPerConnect: 0,
			Report: loadReport{DurationSec: 1, Connects: 1000, ConnectsPerSec: 1000, LatencyUS: map[string]latencyStats{"connect": {P50: 1, P99: 2}}}})
	}
	full.breakdown = map[string]map[string]float64{setupPebble: {"all": 1}, setupPostgres: {"all": 2}}
	var b strings.Builder
	if err := writeDoc(&b, full); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### The most expensive requests", "| Spend | 300 | 600 | 2.00× |", "### Pebble and PostgreSQL",
		"| X25519 | PostgreSQL, 2 servers | 1000 |", "Where PostgreSQL costs more"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	empty := &report{cfg: config{rounds: 1, loadClients: []int{1}}, rounds: newRounds(1), pgNote: "not measured"}
	b.Reset()
	if err := writeDoc(&b, empty); err != nil {
		t.Fatal(err)
	}
}
