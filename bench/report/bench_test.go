package main

import (
	"math"
	"strings"
	"testing"
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
