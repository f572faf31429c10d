package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/benchconnect"
	"github.com/attesta-go/attesta/internal/metrics"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/transport"
)

// BenchmarkConnectHTTP is the server-side cost of one full connect over
// HTTP: auth_key_request and auth_key_token in JSON through the real
// Handler (decoding, rate limiter, Service, Pebble with synced commits,
// encoding), driven in-process through ServeHTTP so that no socket is
// measured. Compare with attesta's BenchmarkConnect, the same protocol
// without HTTP.
//
// The client's decryption is not the server's cost, so the benchmark runs
// in three phases over b.N connects, as attesta's does: all requests
// (timed), all decryptions (timer stopped), all tokens (timed). About 64
// goroutines run each timed phase, so that Pebble groups synced commits as
// under real load. The four fixture keys of the type take turns, so most
// connects log a known party in.
func BenchmarkConnectHTTP(b *testing.B) { benchConnectHTTP(b, false) }

// BenchmarkConnectHTTPMetrics is BenchmarkConnectHTTP with the server's
// Prometheus metrics on (internal/metrics as the Handler's Observer): the
// difference is what the instrumentation costs a connect.
func BenchmarkConnectHTTPMetrics(b *testing.B) { benchConnectHTTP(b, true) }

func benchConnectHTTP(b *testing.B, withMetrics bool) {
	for _, alg := range testkeys.Algorithms {
		b.Run(string(alg), func(b *testing.B) {
			keys, perKey := benchconnect.Keys(b, alg)
			h, app := benchHandler(b, withMetrics)
			bodies := make([][]byte, len(keys))
			for i, k := range keys {
				bodies[i] = mustJSON(b, transport.AuthKeyRequestBody{Key: k.Public().Pack(), AppToken: app})
			}
			b.ReportAllocs()
			benchconnect.Run(b, len(keys)*perKey, benchconnect.Steps{
				Request: func(i int) ([]byte, error) {
					var res transport.AuthKeyRequestResponse
					err := json.Unmarshal(serve(b, h, "/v1/auth_key_request", bodies[i%len(bodies)]), &res)
					return res.EncryptedToken, err
				},
				Decrypt: func(i int, ct []byte) ([]byte, error) {
					token, err := keys[i%len(keys)].DecryptToken(ct)
					return mustJSON(b, transport.AuthKeyTokenBody{Token: token}), err
				},
				Token: func(i int, body []byte) error {
					serve(b, h, "/v1/auth_key_token", body)
					return nil
				},
			})
		})
	}
}

// serve runs one JSON POST through h and returns the body of its 200
// answer.
func serve(b *testing.B, h http.Handler, path string, body []byte) []byte {
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Errorf("%s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.Bytes()
}

func benchHandler(b *testing.B, withMetrics bool) (*transport.Handler, string) {
	b.Helper()
	st, err := pebblestore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{Store: st, Secret: randomSecret()})
	if err != nil {
		b.Fatal(err)
	}
	app, err := svc.CreateApp(context.Background(), benchconnect.App)
	if err != nil {
		b.Fatal(err)
	}
	// One client address sends everything: the limiter runs, but never
	// refuses.
	cfg := transport.HandlerConfig{RatePerSecond: 1e12, RateBurst: 1 << 30}
	var m *metrics.Metrics
	if withMetrics {
		m = metrics.New(nil)
		cfg.Observer = m
	}
	h, err := transport.NewHandler(svc, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if m != nil {
		m.Handler(h)
		m.Service(svc, st)
	}
	return h, app
}

func mustJSON(b *testing.B, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkLoginWithPassword is a new device's login over HTTP, against a
// real server (httptest, Pebble with synced commits) holding a registry
// sealed with kdf.Default(): the fetch by nickname, the header check,
// registry.Open (the KDF, then the AEAD), the key's parse and the connect.
//
// It reports kdf-ns/op, the time registry.Open took (Login.KDFTime: the
// KDF and the few microseconds of AEAD and decoding after it), rest-ns/op,
// everything else, and rest-%kdf, their ratio. For reference, each
// iteration also times one kdf.Default().Derive with the timer stopped
// (ref-derive-ns/op), so that the KDF's own cost is measured in the same
// run, on the same machine, as the protocol around it.
func BenchmarkLoginWithPassword(b *testing.B) {
	ctx := context.Background()
	st, err := pebblestore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{Store: st, Secret: randomSecret()})
	if err != nil {
		b.Fatal(err)
	}
	app, err := svc.CreateApp(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	h, err := transport.NewHandler(svc, generous)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	c := transport.NewClient(srv.URL, transport.WithHTTPClient(srv.Client()))

	key := testkeys.Key(b, attesta.X25519, 0)
	res, err := c.Connect(ctx, key, app)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.AddIdentifier(ctx, res.Session, attesta.Nickname, "bench user"); err != nil {
		b.Fatal(err)
	}
	if _, err := c.PutRegistry(ctx, res.Session, seal(b, res.PartyID, kdf.Default(), key), 0); err != nil {
		b.Fatal(err)
	}
	ref := kdf.Default()

	var kdfTime, restTime, refTime time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		l, err := c.LoginWithPassword(ctx, app, "bench user", password)
		total := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if l.Session.PartyID != res.PartyID || l.Session.IsNew {
			b.Fatal("logged in to another party")
		}
		kdfTime += l.KDFTime
		restTime += total - l.KDFTime

		b.StopTimer()
		t1 := time.Now()
		if _, err := ref.Derive(ctx, password, 32); err != nil {
			b.Fatal(err)
		}
		refTime += time.Since(t1)
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(kdfTime.Nanoseconds())/n, "kdf-ns/op")
	b.ReportMetric(float64(restTime.Nanoseconds())/n, "rest-ns/op")
	b.ReportMetric(100*float64(restTime)/float64(kdfTime), "rest-%kdf")
	b.ReportMetric(float64(refTime.Nanoseconds())/n, "ref-derive-ns/op")
}
