// Package metrics exports what an attesta-server process counts to
// Prometheus (github.com/prometheus/client_golang), for its -metrics-addr
// listener: GET /metrics in the Prometheus text format.
//
//	m := metrics.New()
//	h, _ := transport.NewHandler(svc, transport.HandlerConfig{Observer: m})
//	m.Handler(h)
//	m.Service(svc, store)
//	m.Listener(ln)
//	go http.Serve(metricsListener, m.HTTPHandler())
//
// # What it exports
//
//	attesta_http_requests_total{route,code}          requests answered, by route and problem code ("ok": a success)
//	attesta_http_request_duration_seconds{route}     latency histogram, by route
//	attesta_rate_limit_refusals_total{scope,bucket}  refusals by an in-process bucket (scope "process") or a durable budget (scope "store")
//	attesta_kdf_floor_refusals_total                 registry blocks refused for a KDF below the floors
//	attesta_collections_total{outcome}               collection runs ("ok", "failed")
//	attesta_collected_records_total                  records they removed
//	attesta_redeemed_tokens                          redeemed-token records the store holds (the only challenge state: see below)
//	attesta_store_transactions_total                 PostgreSQL store only: transactions run to an outcome
//	attesta_store_transaction_retries_total          PostgreSQL store only: attempts run again after a serialization failure or deadlock
//	attesta_store_transactions_given_up_total        PostgreSQL store only: transactions that failed so every attempt
//	attesta_connections_open                         connections open on the API listener
//	attesta_connections_refused_total                connections refused by its caps (-max-conns, -max-conns-per-address)
//
// beside the Go runtime's and the process's own (go_…, process_…).
//
// Challenges are stateless: a challenge lives in its token, encrypted to
// the key, and nothing is stored until its redemption, so there are no
// outstanding challenges to count. What the store holds of challenges is
// the record of each redeemed token, kept until the token expires so that
// it works once, and collected after: attesta_redeemed_tokens, counted by
// the store at each scrape (Store.RedeemedTokens). With several servers on
// one database each reports the same count: take one, not their sum.
//
// The Pebble store has no transactions to retry (every step is one
// batch under keyed locks), so the attesta_store_… metrics exist only on
// the PostgreSQL store.
//
// # Bounded cardinality
//
// No label holds an identifier, a key id, a party id, an address or a
// path as the client sent it: a route label is one of the Handler's
// routes (transport.Handler.Routes, from its route table, so a new
// endpoint gets its own name), a code is one of the problem table's, a
// bucket is one of the Handler's named buckets or a durable budget's
// kind. Any other value a caller passes is counted as "other". Every
// series of a route and bucket exists from the start, at zero.
//
// # Cost
//
// On the request path: one histogram observation and one counter
// increment per request, and a counter increment per refusal
// (BenchmarkObserve; BenchmarkConnectHTTPMetrics beside
// BenchmarkConnectHTTP in transport). Everything else is read when
// Prometheus scrapes.
package metrics

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pgstore"
	"github.com/attesta-go/attesta/transport"
)

// Latency buckets, in seconds: a connect's steps take from tens of
// microseconds (a refusal) to milliseconds (an RSA-4096 encryption, a
// synced commit), a slow disk or database seconds.
var latencyBuckets = []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}

// scrapeTimeout bounds the store's count at each scrape.
const scrapeTimeout = 5 * time.Second

// other is the label of any value outside the known set.
const other = "other"

// Metrics are one server process's metrics. It is a transport.Observer.
// Call Handler, Service and Listener before the Handler serves its first
// request or Prometheus scrapes.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	// routes are each route's series, resolved once (Handler); nil
	// until then. The map is read-only afterwards.
	routes map[string]*routeMetrics
	// limited counts the in-process buckets' refusals by bucket; the
	// map is read-only after Handler.
	limited map[string]*atomic.Uint64
	svc     *attesta.Service // nil until Service
	log     *slog.Logger
}

var _ transport.Observer = (*Metrics)(nil)

// New returns the metrics of a process, with the Go runtime's and the
// process's collectors registered.
func New(log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attesta_http_requests_total",
			Help: "HTTP requests answered, by route (from the route table) and problem code (ok: a success).",
		}, []string{"route", "code"}),
		log: log,
	}
	m.reg.MustRegister(m.requests, bucketCollector{m}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler registers h's routes and buckets: every series of a route, and
// of an in-process bucket, exists from now on.
func (m *Metrics) Handler(h *transport.Handler) {
	hist := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "attesta_http_request_duration_seconds",
		Help:    "Time from a request's arrival at the Handler to its answer, by route.",
		Buckets: latencyBuckets,
	}, []string{"route"})
	m.reg.MustRegister(hist)
	m.routes = map[string]*routeMetrics{}
	m.limited = map[string]*atomic.Uint64{other: {}}
	for _, r := range append(h.Routes(), other) {
		rm := &routeMetrics{route: r, latency: hist.WithLabelValues(r)}
		rm.codes.Store(&map[string]prometheus.Counter{"ok": m.requests.WithLabelValues(r, "ok")})
		m.routes[r] = rm
		// An unnamed bucket is reported under its route.
		m.limited[r] = new(atomic.Uint64)
	}
	for _, b := range h.Buckets() {
		m.limited[b] = new(atomic.Uint64)
	}
}

// Served counts a request (transport.Observer).
func (m *Metrics) Served(route, code string, took time.Duration) {
	rm, ok := m.routes[route]
	if !ok {
		if rm, ok = m.routes[other]; !ok {
			return // before Handler
		}
	}
	rm.latency.Observe(took.Seconds())
	if code == "" {
		code = "ok"
	}
	rm.counter(m.requests, code).Inc()
}

// routeMetrics are one route's series.
type routeMetrics struct {
	route   string
	latency prometheus.Observer
	// codes are the route's request counters by code, copied on write
	// (a new code is rare: the codes are the problem table's), so that
	// a request reads them with one atomic load and no allocation.
	codes atomic.Pointer[map[string]prometheus.Counter]
	mu    sync.Mutex // for writers of codes
}

func (rm *routeMetrics) counter(vec *prometheus.CounterVec, code string) prometheus.Counter {
	if c, ok := (*rm.codes.Load())[code]; ok {
		return c
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	old := *rm.codes.Load()
	if c, ok := old[code]; ok {
		return c
	}
	codes := maps.Clone(old)
	codes[code] = vec.WithLabelValues(rm.route, code)
	rm.codes.Store(&codes)
	return codes[code]
}

// RateLimited counts an in-process bucket's refusal (transport.Observer).
func (m *Metrics) RateLimited(bucket string) {
	c, ok := m.limited[bucket]
	if !ok {
		c = m.limited[other]
	}
	if c != nil {
		c.Add(1)
	}
}

// Service registers the Service's counts (attesta.Service.Stats) and the
// store's: the redeemed tokens it holds, and for PostgreSQL its
// transactions and retries.
func (m *Metrics) Service(svc *attesta.Service, st attesta.Store) {
	m.svc = svc
	m.reg.MustRegister(serviceCollector{svc: svc})
	if pg, ok := st.(interface{ Stats() pgstore.Stats }); ok {
		m.reg.MustRegister(pgCollector{pg})
	}
}

// Listener registers the API listener's connection counts.
func (m *Metrics) Listener(l *transport.LimitedListener) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "attesta_connections_open",
			Help: "Connections open on the API listener.",
		}, func() float64 { return float64(l.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "attesta_connections_refused_total",
			Help: "Connections the API listener refused at once: over -max-conns, or -max-conns-per-address from one address.",
		}, func() float64 { return float64(l.Refused()) }),
	)
}

// HTTPHandler serves GET /metrics (and nothing else) in the Prometheus
// formats. A metric that fails to be read (the store's count) is left out
// of that scrape and logged; the others are served.
func (m *Metrics) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       2 * scrapeTimeout,
	}))
	return mux
}

var rateLimitDesc = prometheus.NewDesc("attesta_rate_limit_refusals_total",
	"Requests refused by a rate limit: an in-process bucket of the Handler (scope process, per server) or a durable budget in the store (scope store, counted by the server that refused).",
	[]string{"scope", "bucket"}, nil)

// bucketCollector reports the refusals of the in-process buckets (once
// Handler has named them) and of the durable budgets (once Service has
// given the Service).
type bucketCollector struct{ m *Metrics }

func (c bucketCollector) Describe(ch chan<- *prometheus.Desc) { ch <- rateLimitDesc }

func (c bucketCollector) Collect(ch chan<- prometheus.Metric) {
	for b, n := range c.m.limited {
		ch <- prometheus.MustNewConstMetric(rateLimitDesc, prometheus.CounterValue, float64(n.Load()), "process", b)
	}
	if c.m.svc == nil {
		return
	}
	for kind, n := range c.m.svc.Stats().BudgetRefusals {
		ch <- prometheus.MustNewConstMetric(rateLimitDesc, prometheus.CounterValue, float64(n), "store", strings.ReplaceAll(kind, " ", "_"))
	}
}

var (
	kdfDesc = prometheus.NewDesc("attesta_kdf_floor_refusals_total",
		"Registry blocks refused because their KDF is below the server's floors.", nil, nil)
	collectionsDesc = prometheus.NewDesc("attesta_collections_total",
		"Runs of the collection of expired records, by outcome (ok, failed).", []string{"outcome"}, nil)
	collectedDesc = prometheus.NewDesc("attesta_collected_records_total",
		"Expired records the collection runs removed.", nil, nil)
	redeemedDesc = prometheus.NewDesc("attesta_redeemed_tokens",
		"Records of redeemed challenge tokens the store holds until they expire (and one collection after): the only challenge state, since a pending challenge is not stored. The store's count, the same on every server of one database.", nil, nil)
)

// serviceCollector reports a Service's counts and the store's count of
// redeemed tokens.
type serviceCollector struct{ svc *attesta.Service }

func (c serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- kdfDesc
	ch <- collectionsDesc
	ch <- collectedDesc
	ch <- redeemedDesc
}

func (c serviceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.svc.Stats()
	ch <- prometheus.MustNewConstMetric(kdfDesc, prometheus.CounterValue, float64(st.KDFFloorRefusals))
	ch <- prometheus.MustNewConstMetric(collectionsDesc, prometheus.CounterValue, float64(st.Collections-st.CollectFailures), "ok")
	ch <- prometheus.MustNewConstMetric(collectionsDesc, prometheus.CounterValue, float64(st.CollectFailures), "failed")
	ch <- prometheus.MustNewConstMetric(collectedDesc, prometheus.CounterValue, float64(st.Collected))
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, err := c.svc.RedeemedTokens(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(redeemedDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(redeemedDesc, prometheus.GaugeValue, float64(n))
}

var (
	txDesc = prometheus.NewDesc("attesta_store_transactions_total",
		"PostgreSQL store: transactions (and single statements) run to an outcome.", nil, nil)
	retryDesc = prometheus.NewDesc("attesta_store_transaction_retries_total",
		"PostgreSQL store: attempts run again after a serialization failure (40001) or a deadlock (40P01).", nil, nil)
	gaveUpDesc = prometheus.NewDesc("attesta_store_transactions_given_up_total",
		"PostgreSQL store: transactions that still failed so after every attempt.", nil, nil)
)

// pgCollector reports the PostgreSQL store's transaction counts.
type pgCollector struct {
	st interface{ Stats() pgstore.Stats }
}

func (c pgCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- txDesc
	ch <- retryDesc
	ch <- gaveUpDesc
}

func (c pgCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.Stats()
	ch <- prometheus.MustNewConstMetric(txDesc, prometheus.CounterValue, float64(s.Transactions))
	ch <- prometheus.MustNewConstMetric(retryDesc, prometheus.CounterValue, float64(s.Retries))
	ch <- prometheus.MustNewConstMetric(gaveUpDesc, prometheus.CounterValue, float64(s.GaveUp))
}
