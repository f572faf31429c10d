package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// TestServerMetrics runs the binary with -metrics-addr and scrapes
// GET /metrics while a client connects, fetches registries by random
// logins until the per-address bucket refuses, asks for random paths,
// uses a wrong method and sends bad bodies and forged tokens. It checks
// the metric names, that every route label is one of the Handler's routes
// (the route table) and every bucket one of its buckets or a durable
// budget, that no label holds anything the client sent (a login, a path,
// a party or key id), and that the number of series does not grow when
// the same kinds of requests come again with other values: the
// cardinality is bounded by the route table and the problem table, not
// by what clients send.
func TestServerMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: does not build and run the attesta-server binary")
	}
	exe := buildServer(t)
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServerArgs(t, exe, "-data", dir, "-metrics-addr", "127.0.0.1:0")
	metricsURL := logAddr(t, srv, "metrics listening") + "/metrics"
	raw, err := os.ReadFile(filepath.Join(dir, demoTokenFile))
	require.NoError(t, err)
	app := strings.TrimSpace(string(raw))
	routes, buckets := handlerTables(t)
	ctx := t.Context()
	c := transport.NewClient(srv.url)

	// What the client sends, which must never become a label.
	var sent []string
	traffic := func() {
		for i := range 3 {
			k := testkeys.Key(t, attesta.X25519, i)
			res, err := c.Connect(ctx, k, app)
			require.NoError(t, err)
			sent = append(sent, res.PartyID, k.Public().ID().String())
		}
		for range 30 {
			login := "nick " + hex.EncodeToString(rnd.Bytes(6))
			sent = append(sent, login)
			_, err := c.GetRegistry(ctx, login)
			if err != nil {
				require.ErrorIs(t, err, transport.ErrRateLimited)
			}
		}
		for range 10 {
			path := "/x" + hex.EncodeToString(rnd.Bytes(8))
			sent = append(sent, path)
			get(t, srv.url+path, http.StatusNotFound)
		}
		req, err := http.NewRequest(http.MethodDelete, srv.url+"/v1/auth_key_request", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		resp, err = http.Post(srv.url+"/v1/auth_key_request", "application/json", strings.NewReader(`{"key":`))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		_, err = c.AuthKeyToken(ctx, rnd.Bytes(100))
		require.ErrorIs(t, err, attesta.ErrChallengeUnknown)
	}

	traffic()
	first := scrape(t, metricsURL)
	traffic()
	second := scrape(t, metricsURL)

	names := map[string]bool{}
	for _, s := range second {
		names[s.name] = true
	}
	for _, n := range []string{
		"attesta_http_requests_total", "attesta_http_request_duration_seconds_bucket",
		"attesta_http_request_duration_seconds_sum", "attesta_http_request_duration_seconds_count",
		"attesta_rate_limit_refusals_total", "attesta_kdf_floor_refusals_total", "attesta_collections_total",
		"attesta_collected_records_total", "attesta_redeemed_tokens", "attesta_connections_open",
		"attesta_connections_refused_total", "go_goroutines", "process_cpu_seconds_total",
	} {
		assert.True(t, names[n], "metric %s", n)
	}
	assert.False(t, names["attesta_store_transactions_total"], "the Pebble store has no transactions to count")

	code := regexp.MustCompile(`^[a-z_]+$`)
	knownRoute := append(slices.Clone(routes), "other")
	knownBucket := append(append(slices.Clone(buckets), knownRoute...), "code_send_cooldown", "code_sends_per_destination",
		"code_sends_per_party", "code_sends_total", "code_tries_per_identifier", "registry_fetches_per_login")
	routesSeen := map[string]bool{}
	for _, s := range second {
		for k, v := range s.labels {
			for _, x := range sent {
				assert.NotContains(t, v, x, "%s{%s=…} holds what a client sent", s.name, k)
			}
		}
		if !strings.HasPrefix(s.name, "attesta_") {
			continue
		}
		for k, v := range s.labels {
			switch k {
			case "route":
				assert.Contains(t, knownRoute, v, s.name)
				routesSeen[v] = true
			case "code":
				assert.Regexp(t, code, v, s.name)
			case "bucket":
				assert.Contains(t, knownBucket, v, s.name)
			case "scope":
				assert.Contains(t, []string{"process", "store"}, v)
			case "outcome":
				assert.Contains(t, []string{"ok", "failed"}, v)
			case "le":
			default:
				t.Errorf("%s has an unexpected label %s", s.name, k)
			}
		}
	}
	for _, r := range routes {
		assert.True(t, routesSeen[r], "route %s has its series from the start", r)
	}
	assert.Equal(t, len(series(first)), len(series(second)), "the same kinds of requests with other values made new series")

	value := func(name string, labels ...string) float64 {
		t.Helper()
		for _, s := range second {
			if s.name == name && s.has(labels...) {
				return s.value
			}
		}
		t.Errorf("no %s %v", name, labels)
		return 0
	}
	assert.Equal(t, 6.0, value("attesta_http_requests_total", "route", "POST /v1/auth_key_token", "code", "ok"))
	assert.Equal(t, 2.0, value("attesta_http_requests_total", "route", "POST /v1/auth_key_token", "code", "challenge_unknown"))
	assert.Equal(t, 20.0, value("attesta_http_requests_total", "route", "unmatched", "code", "not_found"))
	assert.Equal(t, 2.0, value("attesta_http_requests_total", "route", "OTHER /v1/auth_key_request", "code", "method_not_allowed"))
	assert.Equal(t, 2.0, value("attesta_http_requests_total", "route", "POST /v1/auth_key_request", "code", "bad_request"))
	limited := value("attesta_http_requests_total", "route", "GET /v1/registry", "code", "rate_limited")
	t.Logf("%d series; %v registry fetches refused", len(series(second)), limited)
	assert.Positive(t, limited, "60 fetches from one address, a burst of 10 and one more every 2 s")
	assert.Equal(t, limited, value("attesta_rate_limit_refusals_total", "scope", "process", "bucket", "registry_login_per_address"))
	assert.Equal(t, 0.0, value("attesta_rate_limit_refusals_total", "scope", "store", "bucket", "registry_fetches_per_login"))
	assert.Equal(t, 6.0, value("attesta_redeemed_tokens"), "six connects, none expired")
	assert.Equal(t, 8.0, value("attesta_http_request_duration_seconds_count", "route", "POST /v1/auth_key_token"), "every request of the route in its histogram")
	assert.GreaterOrEqual(t, value("attesta_connections_open"), 1.0, "the scrape's own connection is on another listener; the client's keep-alive is on this one")

	// The metrics listener serves /metrics only.
	get(t, strings.TrimSuffix(metricsURL, "/metrics")+"/v1/party", http.StatusNotFound)
}

// handlerTables returns the routes and buckets of a Handler as the server
// makes it.
func handlerTables(t *testing.T) (routes, buckets []string) {
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{Store: st, Secret: rnd.Bytes(attesta.SecretSize)})
	require.NoError(t, err)
	h, err := transport.NewHandler(svc, transport.HandlerConfig{})
	require.NoError(t, err)
	return h.Routes(), h.Buckets()
}

// logAddr waits for the server's log record msg and returns its address
// as a URL.
func logAddr(t *testing.T, s *server, msg string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
				return "http://" + rec.Addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q in the log:\n%s", msg, s.stderr)
	return ""
}

func get(t *testing.T, url string, status int) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, status, resp.StatusCode, url)
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// has reports whether s has the label pairs kv (k, v, k, v, …).
func (s sample) has(kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if v, ok := s.labels[kv[i]]; !ok || v != kv[i+1] {
			return false
		}
	}
	return true
}

func series(ss []sample) []string {
	var out []string
	for _, s := range ss {
		if strings.HasPrefix(s.name, "attesta_") {
			out = append(out, fmt.Sprint(s.name, s.labels))
		}
	}
	return out
}

// scrape fetches url and parses the Prometheus text format (version
// 0.0.4): comment lines, then name{label="value",…} value.
func scrape(t *testing.T, url string) []sample {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4"), resp.Header.Get("Content-Type"))
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out []sample
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		i := strings.IndexAny(line, "{ ")
		require.Positive(t, i, line)
		s.name, line = line[:i], line[i:]
		if line[0] == '{' {
			line = line[1:]
			for line[0] != '}' {
				k, rest, ok := strings.Cut(line, `="`)
				require.True(t, ok, line)
				var v strings.Builder
				j := 0
				for ; rest[j] != '"'; j++ {
					if rest[j] == '\\' {
						j++
						v.WriteByte(map[byte]byte{'n': '\n', '\\': '\\', '"': '"'}[rest[j]])
						continue
					}
					v.WriteByte(rest[j])
				}
				s.labels[k] = v.String()
				line = strings.TrimPrefix(rest[j+1:], ",")
			}
			line = line[1:]
		}
		s.value, err = strconv.ParseFloat(strings.Fields(line)[0], 64)
		require.NoError(t, err, line)
		out = append(out, s)
	}
	require.NoError(t, sc.Err())
	return out
}
