package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/transport"
)

func newMetrics(t testing.TB) *Metrics {
	st, err := pebblestore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{Store: st, Secret: rnd.Bytes(attesta.SecretSize)})
	require.NoError(t, err)
	m := New(nil)
	h, err := transport.NewHandler(svc, transport.HandlerConfig{Observer: m})
	require.NoError(t, err)
	m.Handler(h)
	m.Service(svc, st)
	return m
}

// TestUnknownLabelsAreOther: a route or bucket outside the Handler's
// tables (which the Handler never passes) is counted as "other", so that
// no caller can add series.
func TestUnknownLabelsAreOther(t *testing.T) {
	m := newMetrics(t)
	m.Served("GET /secret/alice@example.org", "", time.Millisecond)
	m.RateLimited("alice@example.org")
	rec := httptest.NewRecorder()
	m.HTTPHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	assert.NotContains(t, string(body), "alice")
	assert.Contains(t, string(body), `attesta_http_requests_total{code="ok",route="other"} 1`)
	assert.Contains(t, string(body), `attesta_rate_limit_refusals_total{bucket="other",scope="process"} 1`)
	assert.True(t, strings.Contains(string(body), `attesta_redeemed_tokens 0`))
}

// BenchmarkObserve is what the metrics add to a request: one Served (a
// histogram observation and a counter) and, for a refusal, one
// RateLimited. Compare with BenchmarkConnectHTTP's cost per request.
func BenchmarkObserve(b *testing.B) {
	m := newMetrics(b)
	b.Run("Served", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Served("POST /v1/auth_key_token", "", 80*time.Microsecond)
			}
		})
	})
	b.Run("RateLimited", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.RateLimited("auth_key_request_per_address")
			}
		})
	})
}
