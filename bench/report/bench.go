package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result is one line of `go test -bench` output: a benchmark's name
// without the -GOMAXPROCS suffix, its iteration count and its metrics by
// unit (ns/op, B/op, request-ns/op, ...).
type result struct {
	Name    string
	N       int
	Metrics map[string]float64
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads benchmark result lines from r and ignores every other
// line.
func parseBench(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		res := result{Name: procsSuffix.ReplaceAllString(f[0], ""), N: n, Metrics: map[string]float64{}}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			res.Metrics[f[i+1]] = v
		}
		if ok {
			out = append(out, res)
		}
	}
	return out, sc.Err()
}

// series is one metric over the rounds of a report; NaN where a round has
// no value.
type series []float64

func (s series) clean() []float64 {
	var v []float64
	for _, x := range s {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	slices.Sort(v)
	return v
}

// median of the values present; NaN if none.
func (s series) median() float64 {
	v := s.clean()
	switch n := len(v); {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return v[n/2]
	default:
		return (v[n/2-1] + v[n/2]) / 2
	}
}

func (s series) min() float64 {
	if v := s.clean(); len(v) > 0 {
		return v[0]
	}
	return math.NaN()
}

func (s series) max() float64 {
	if v := s.clean(); len(v) > 0 {
		return v[len(v)-1]
	}
	return math.NaN()
}

// ratio is the per-round ratio a/b, so that a round's noise hits both
// sides of it alike.
func ratio(a, b series) series {
	out := make(series, max(len(a), len(b)))
	for i := range out {
		out[i] = math.NaN()
		if i < len(a) && i < len(b) && b[i] > 0 {
			out[i] = a[i] / b[i]
		}
	}
	return out
}

// rounds holds every benchmark result of every round.
type rounds struct {
	n   int
	res []map[string]result // per round, by name
}

func newRounds(n int) *rounds {
	r := &rounds{n: n, res: make([]map[string]result, n)}
	for i := range r.res {
		r.res[i] = map[string]result{}
	}
	return r
}

func (r *rounds) add(round int, rs []result) {
	for _, x := range rs {
		r.res[round][x.Name] = x
	}
}

// get is the series of one benchmark's metric over the rounds.
func (r *rounds) get(name, unit string) series {
	s := make(series, r.n)
	for i, m := range r.res {
		s[i] = math.NaN()
		if x, ok := m[name]; ok {
			if v, ok := x.Metrics[unit]; ok {
				s[i] = v
			}
		}
	}
	return s
}

// us formats nanoseconds as microseconds.
func us(ns float64) string {
	if math.IsNaN(ns) {
		return "n/a"
	}
	switch {
	case ns >= 100e3:
		return fmt.Sprintf("%.0f", ns/1e3)
	case ns >= 10e3:
		return fmt.Sprintf("%.1f", ns/1e3)
	}
	return fmt.Sprintf("%.2f", ns/1e3)
}

func times(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", x)
}

func pct(x float64) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

// spread shows a ratio's median with its range over the rounds.
func spread(s series) string {
	if len(s.clean()) < 2 {
		return times(s.median())
	}
	return fmt.Sprintf("%s (%.2f–%.2f)", times(s.median()), s.min(), s.max())
}

func num(x float64, prec int) string {
	if math.IsNaN(x) {
		return "n/a"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

func verdict(ok bool, known bool) string {
	switch {
	case !known:
		return "not measured"
	case ok:
		return "**met**"
	}
	return "**missed**"
}
