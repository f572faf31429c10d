package transport

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/docs"
	"github.com/attesta-go/attesta/internal/rnd"
)

// HandlerConfig configures a Handler. The zero value of every field is a
// safe default.
type HandlerConfig struct {
	// MaxBodyBytes bounds a request body; a larger one is answered 413
	// too_large. Default 64 KiB: room for the largest key file the
	// server's disclosure check reads (attesta.MaxKeyFileSize) in
	// base64url.
	MaxBodyBytes int64
	// RatePerSecond and RateBurst shape the token bucket each client
	// address has on each challenge endpoint (auth_key_request and
	// auth_key_token, counted apart): RateBurst requests at once, then
	// RatePerSecond a second. Defaults 20 and 40.
	RatePerSecond float64
	RateBurst     int
	// MaxTrackedAddresses bounds how many keys (client addresses,
	// parties, logins) each of the limiters' bucket tables holds, at about
	// 150 bytes each. Default 65536 (about 10 MiB a table at worst; there
	// are nine).
	MaxTrackedAddresses int
	// MaxRegistryBodyBytes bounds the body of PUT /v1/registry, the one
	// endpoint whose body is larger than MaxBodyBytes allows. Default
	// 90 KiB: room for a block of registry.MaxBlockSize (64 KiB) in
	// base64url JSON.
	MaxRegistryBodyBytes int64
	// LoginPerIdentifierAndAddress and LoginPerAddress limit GET
	// /v1/registry?login=, the unauthenticated registry fetch, per login
	// (as normalised) from one client address, and per client address.
	// Defaults: a burst of 5, then one every 12 s (5 a minute) per login
	// and address; a burst of 10, then one every 2 s (30 a minute) per
	// address. No bucket here is a login's alone, so that fetches from
	// one address never make the login's owner wait elsewhere; the
	// Service's durable Limits.RegistryFetchesPerLogin bounds a login over
	// every address. The package documentation says why.
	LoginPerIdentifierAndAddress Limit
	LoginPerAddress              Limit
	// ConfirmPerParty limits POST /v1/identifiers/confirm per party.
	// Default: a burst of 5, then one a minute. The Service bounds the
	// tries at one identifier durably (Limits.CodeTriesPerIdentifier) and
	// the codes sent to it (Limits.CodeSendsPerDestination), which together
	// bound the guesses at one identifier, whoever makes them.
	ConfirmPerParty Limit
	// AddPerParty limits POST /v1/identifiers per party. Default: a burst
	// of 10, then one a minute. (The codes it sends are budgeted by the
	// Service, durably.)
	AddPerParty Limit
	// IdentifierPerAddress limits POST /v1/identifiers and POST
	// /v1/identifiers/confirm per client address, counted apart. Default:
	// a burst of 10, then one every 2 s (30 a minute).
	IdentifierPerAddress Limit
	// RegistryPutPerAddress limits PUT /v1/registry per client address:
	// each may store up to 64 KiB. Default: a burst of 10, then one a
	// minute.
	RegistryPutPerAddress Limit
	// NewPartiesPerAddress limits the parties one client address creates
	// (auth_key_token answers with is_new). An address whose bucket is
	// empty gets rate_limited on auth_key_token until it refills. Default:
	// a burst of 100, then 100 an hour.
	NewPartiesPerAddress Limit
	// InstancePerAddress limits POST /v1/instance and GET
	// /v1/service_keys/{provider} per client address, counted apart; a
	// service key is charged, beyond its one unit, what its encryption
	// to the instance's key cost (as auth_key_request is). Default: a
	// burst of 20, then one every 2 s (30 a minute).
	InstancePerAddress Limit
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// Handler believes: from a peer in one of these prefixes, the client
	// address is the right-most X-Forwarded-For entry that is not itself
	// a trusted proxy. From any other peer the header is ignored, so that
	// no client can name its own address and escape its limits. Empty
	// (the default): the header is never read.
	TrustedProxies []netip.Prefix
	// Logger receives one debug record per request (method, path,
	// status, duration, code) and internal errors at error level. Bodies,
	// tokens, sessions and keys are never logged. Default: discard.
	Logger *slog.Logger
	// Observer, if not nil, is told of every request served and every
	// refusal by an in-process bucket, for metrics.
	Observer Observer
}

// Observer is told what a Handler serves, for metrics (attesta-server
// exports them to Prometheus). Its methods run on the request path, so
// they must be quick and must not block. Every value they receive is one
// of a small fixed set, never an identifier, key id, party id or address,
// so that a metric labelled by them has a bounded number of series.
type Observer interface {
	// Served is called once per request, after its answer, with its route
	// (one of Handler.Routes), the problem code of an error answer (a
	// code of the problem table; "" for a success) and how long it took.
	Served(route, code string, took time.Duration)
	// RateLimited is called when one of the Handler's in-process buckets
	// refuses a request, with its name (one of Handler.Buckets).
	RateLimited(bucket string)
}

// Route names beside the endpoints' "METHOD PATH" (see Routes).
const (
	routeUnmatched     = "unmatched"
	routeOtherMethodOf = "OTHER "
)

// Default limits (see HandlerConfig).
var (
	defaultLoginPerIdentifierAndAddress = Limit{Burst: 5, Every: 12 * time.Second}
	defaultLoginPerAddress              = Limit{Burst: 10, Every: 2 * time.Second}
	defaultConfirmPerParty              = Limit{Burst: 5, Every: time.Minute}
	defaultAddPerParty                  = Limit{Burst: 10, Every: time.Minute}
	defaultIdentifierPerAddress         = Limit{Burst: 10, Every: 2 * time.Second}
	defaultRegistryPutPerAddress        = Limit{Burst: 10, Every: time.Minute}
	defaultNewPartiesPerAddress         = Limit{Burst: 100, Every: 36 * time.Second}
	defaultInstancePerAddress           = Limit{Burst: 20, Every: 2 * time.Second}
)

// Handler serves the Attesta HTTP API over an attesta.Service. It is safe
// for concurrent use.
type Handler struct {
	svc             *attesta.Service
	maxBody         int64
	maxRegistryBody int64
	trusted         []netip.Prefix
	log             *slog.Logger
	requestLimit    *limiter[netip.Addr]
	tokenLimit      *limiter[netip.Addr]
	newPartyLimit   *limiter[netip.Addr]
	// The password endpoints' limiters.
	loginLimit       *limiter[loginAddr]
	loginAddrLimit   *limiter[netip.Addr]
	confirmLimit     *limiter[attesta.PartyID]
	confirmAddrLimit *limiter[netip.Addr]
	addLimit         *limiter[attesta.PartyID]
	addAddrLimit     *limiter[netip.Addr]
	putAddrLimit     *limiter[netip.Addr]
	// The application instances' limiters (instance.go).
	instanceAddrLimit   *limiter[netip.Addr]
	serviceKeyAddrLimit *limiter[netip.Addr]
	identKeySecret      []byte // keys the identifier buckets' hashes
	obs                 Observer
	buckets             []string // the limiters' names (Buckets)
	now                 func() time.Time
	mux                 *http.ServeMux
	notFound            http.Handler
}

// named names l, registers the name with h, and returns l.
func named[K comparable](h *Handler, name string, l *limiter[K]) *limiter[K] {
	l.name = name
	h.buckets = append(h.buckets, name)
	return l
}

// NewHandler checks cfg and returns a Handler for svc.
func NewHandler(svc *attesta.Service, cfg HandlerConfig) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("transport: NewHandler needs a Service")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = 20
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = 40
	}
	if cfg.MaxTrackedAddresses == 0 {
		cfg.MaxTrackedAddresses = 1 << 16
	}
	if cfg.MaxRegistryBodyBytes == 0 {
		cfg.MaxRegistryBodyBytes = 90 << 10
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxRegistryBodyBytes < 0 || cfg.RateBurst < 0 || cfg.MaxTrackedAddresses < 0 ||
		!(cfg.RatePerSecond > 0) || math.IsInf(cfg.RatePerSecond, 0) {
		return nil, errors.New("transport: negative or invalid HandlerConfig limit")
	}
	for _, l := range []struct {
		limit *Limit
		def   Limit
	}{
		{&cfg.LoginPerIdentifierAndAddress, defaultLoginPerIdentifierAndAddress},
		{&cfg.LoginPerAddress, defaultLoginPerAddress},
		{&cfg.ConfirmPerParty, defaultConfirmPerParty},
		{&cfg.AddPerParty, defaultAddPerParty},
		{&cfg.IdentifierPerAddress, defaultIdentifierPerAddress},
		{&cfg.RegistryPutPerAddress, defaultRegistryPutPerAddress},
		{&cfg.NewPartiesPerAddress, defaultNewPartiesPerAddress},
		{&cfg.InstancePerAddress, defaultInstancePerAddress},
	} {
		if err := l.limit.Check(l.def); err != nil {
			return nil, fmt.Errorf("transport: HandlerConfig: %w", err)
		}
	}
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("transport: HandlerConfig.TrustedProxies holds an invalid prefix")
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.MaxTrackedAddresses
	h := &Handler{
		svc:             svc,
		maxBody:         cfg.MaxBodyBytes,
		maxRegistryBody: cfg.MaxRegistryBodyBytes,
		trusted:         slices.Clone(cfg.TrustedProxies),
		log:             cfg.Logger,
		obs:             cfg.Observer,
		identKeySecret:  rnd.Bytes(32),
		now:             time.Now,
		mux:             http.NewServeMux(),
	}
	// Each bucket table has a name, for Observer.RateLimited.
	h.requestLimit = named(h, "auth_key_request_per_address", newLimiter[netip.Addr](cfg.RatePerSecond, cfg.RateBurst, n))
	h.tokenLimit = named(h, "auth_key_token_per_address", newLimiter[netip.Addr](cfg.RatePerSecond, cfg.RateBurst, n))
	h.newPartyLimit = named(h, "new_parties_per_address", newLimiterOf[netip.Addr](cfg.NewPartiesPerAddress, n))
	h.loginLimit = named(h, "registry_login_per_login_and_address", newLimiterOf[loginAddr](cfg.LoginPerIdentifierAndAddress, n))
	h.loginAddrLimit = named(h, "registry_login_per_address", newLimiterOf[netip.Addr](cfg.LoginPerAddress, n))
	h.confirmLimit = named(h, "confirm_identifier_per_party", newLimiterOf[attesta.PartyID](cfg.ConfirmPerParty, n))
	h.confirmAddrLimit = named(h, "confirm_identifier_per_address", newLimiterOf[netip.Addr](cfg.IdentifierPerAddress, n))
	h.addLimit = named(h, "add_identifier_per_party", newLimiterOf[attesta.PartyID](cfg.AddPerParty, n))
	h.addAddrLimit = named(h, "add_identifier_per_address", newLimiterOf[netip.Addr](cfg.IdentifierPerAddress, n))
	h.putAddrLimit = named(h, "registry_put_per_address", newLimiterOf[netip.Addr](cfg.RegistryPutPerAddress, n))
	h.instanceAddrLimit = named(h, "instance_per_address", newLimiterOf[netip.Addr](cfg.InstancePerAddress, n))
	h.serviceKeyAddrLimit = named(h, "service_key_per_address", newLimiterOf[netip.Addr](cfg.InstancePerAddress, n))
	h.Register(h.mux)
	h.notFound = h.wrap(routeUnmatched, nil, func(http.ResponseWriter, *http.Request) error { return ErrNotFound })
	h.mux.Handle("/", h.notFound)
	return h, nil
}

// endpoint is one route of the API. limit, if not nil, is the per-address
// limiter that wrap applies before anything else.
type endpoint struct {
	method string
	path   string
	limit  *limiter[netip.Addr]
	serve  func(w http.ResponseWriter, r *http.Request) error
}

func (h *Handler) endpoints() []endpoint {
	return []endpoint{
		{http.MethodPost, "/v1/auth_key_request", h.requestLimit, h.authKeyRequest},
		{http.MethodPost, "/v1/auth_key_token", h.tokenLimit, h.authKeyToken},
		{http.MethodGet, "/v1/party", nil, h.party},
		{http.MethodPost, "/v1/logout", nil, h.logout},
		// GET /v1/registry limits the login fetch itself, per address and
		// per login; the authenticated fetch of one's own registry is not
		// limited.
		{http.MethodGet, "/v1/registry", nil, h.getRegistry},
		{http.MethodPut, "/v1/registry", h.putAddrLimit, h.putRegistry},
		{http.MethodPost, "/v1/identifiers", h.addAddrLimit, h.addIdentifier},
		{http.MethodDelete, "/v1/identifiers", nil, h.removeIdentifier},
		{http.MethodPost, "/v1/identifiers/confirm", h.confirmAddrLimit, h.confirmIdentifier},
		{http.MethodPost, "/v1/instance", h.instanceAddrLimit, h.registerInstance},
		{http.MethodGet, "/v1/instance/token", nil, h.instanceToken},
		{http.MethodGet, "/v1/service_keys/{provider}", h.serviceKeyAddrLimit, h.serviceKey},
		{http.MethodGet, "/healthz", nil, h.health},
		{http.MethodGet, "/v1/openapi.yaml", nil, h.openAPI},
	}
}

// Register mounts the API's routes on mux with method patterns, and for
// each path a fallback that answers any other method 405
// method_not_allowed as problem+json. Call it once per mux. A path mux
// does not know is answered by mux itself (ServeHTTP answers it 404
// not_found as problem+json).
func (h *Handler) Register(mux *http.ServeMux) {
	var (
		paths []string
		allow = map[string][]string{}
	)
	for _, e := range h.endpoints() {
		mux.Handle(e.method+" "+e.path, h.wrap(e.route(), e.limit, e.serve))
		if _, ok := allow[e.path]; !ok {
			paths = append(paths, e.path)
		}
		allow[e.path] = append(allow[e.path], e.method)
		if e.method == http.MethodGet {
			allow[e.path] = append(allow[e.path], http.MethodHead)
		}
	}
	for _, p := range paths {
		methods := strings.Join(allow[p], ", ")
		mux.Handle(p, h.wrap(routeOtherMethodOf+p, nil, func(http.ResponseWriter, *http.Request) error {
			return &methodError{allow: methods}
		}))
	}
}

// route is the endpoint's name for metrics: "POST /v1/auth_key_request".
func (e endpoint) route() string { return e.method + " " + e.path }

// Routes lists every route name an Observer is told of: each endpoint's
// "METHOD PATH"; "OTHER PATH" for each path, a method it does not serve
// (answered 405); and "unmatched" for every request no route matches
// (404). They come from the route table, so a new endpoint has its name.
func (h *Handler) Routes() []string {
	var out, paths []string
	for _, e := range h.endpoints() {
		out = append(out, e.route())
		if !slices.Contains(paths, e.path) {
			paths = append(paths, e.path)
		}
	}
	for _, p := range paths {
		out = append(out, routeOtherMethodOf+p)
	}
	return append(out, routeUnmatched)
}

// Buckets lists the names of the Handler's in-process rate-limit buckets
// (HandlerConfig's limits), which an Observer is told of when one
// refuses a request. A bucket without a name is reported under the route
// of the request it refused.
func (h *Handler) Buckets() []string { return slices.Clone(h.buckets) }

// ServeHTTP serves the API on a mux of its own, where an unknown path is
// 404 not_found as problem+json.
//
// A path longer than any route's is answered 404 at once, before the mux
// cleans and matches it: that work grows with the path's length (up to
// the server's header limit), and no such path names anything.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Path) > maxPathBytes {
		h.notFound.ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// maxPathBytes is above every route's path (the longest is an
// administration route with an application's name).
const maxPathBytes = 256

// statusWriter records the status of the answer, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap turns a handler that returns an error into an http.Handler for
// route: rate limit first (the cheapest refusal), then the handler, then
// the error as a problem, then the Observer and one debug log record.
func (h *Handler) wrap(route string, lim *limiter[netip.Addr], serve func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := h.now()
		// One allocation for what wrap keeps of the request.
		st := &requestState{statusWriter: statusWriter{ResponseWriter: w}}
		sw := &st.statusWriter
		// Answers carry sessions and one-time ciphertexts: no cache may
		// keep them.
		hd := sw.Header()
		hd["Cache-Control"] = noStore
		hd["X-Content-Type-Options"] = noSniff
		var err error
		if lim != nil {
			addr := h.clientAddr(r)
			if ok, wait := lim.allow(addr, start); !ok {
				err = lim.refusal(wait)
			} else {
				// The address paid one unit; what the request turns out
				// to cost beyond that is charged once it is served.
				st.body = requestBody{r: r.Body}
				r.Body = &st.body
				defer func() { lim.charge(addr, max(st.body.units, sizeUnits(st.body.n))-1, h.now()) }()
			}
		}
		if err == nil {
			err = serve(sw, r)
		}
		code := ""
		if err != nil {
			code = h.fail(sw, r, err)
		}
		if h.obs != nil {
			h.observe(route, code, err, h.now().Sub(start))
		}
		if h.log.Enabled(r.Context(), slog.LevelDebug) {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Duration("duration", h.now().Sub(start)),
				slog.String("code", code))
		}
	})
}

// observe tells the Observer of a request served.
func (h *Handler) observe(route, code string, err error, took time.Duration) {
	if code == "rate_limited" {
		h.observeRefusal(route, err)
	}
	h.obs.Served(route, code, took)
}

// observeRefusal tells the Observer which bucket refused (a function of
// its own: the target errors.As needs is allocated where it is declared).
func (h *Handler) observeRefusal(route string, err error) {
	if rl := (*rateLimitError)(nil); errors.As(err, &rl) {
		h.obs.RateLimited(cmp.Or(rl.bucket, route))
	}
}

// Header values every answer carries, shared by all (see writeBody).
var (
	noStore    = []string{"no-store"}
	noSniff    = []string{"nosniff"}
	varyAccept = []string{"Accept"}
)

// requestState is what wrap keeps of one request.
type requestState struct {
	statusWriter
	body requestBody
}

// bodyUnit is how many body bytes cost a request one unit of its
// address's budget: decoding is work too, and a 64 KiB body of base64 costs
// several times what a key of a few hundred bytes does.
const bodyUnit = 8 << 10

func sizeUnits(n int64) int { return int((n + bodyUnit - 1) / bodyUnit) }

// setCost records that r cost units of its address's budget, beyond what
// its body's size says. It counts only on a route whose address bucket
// wrap applies (the body is then wrap's requestBody, which keeps the
// count).
func setCost(r *http.Request, units int) {
	if b, ok := r.Body.(*requestBody); ok {
		b.units = max(b.units, units)
	}
}

// requestBody is the body of a request on a route with an address
// bucket: it counts the bytes read through it, and keeps what the handler
// says the request cost (setCost), for wrap to charge.
type requestBody struct {
	r     io.ReadCloser
	n     int64
	units int
}

func (c *requestBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *requestBody) Close() error { return c.r.Close() }

// fail answers err as a problem and returns its code. An error outside the
// table is logged and answered 500 internal, without its text.
func (h *Handler) fail(w *statusWriter, r *http.Request, err error) string {
	row := rowOf(err)
	if row == nil {
		if r.Context().Err() != nil {
			h.log.LogAttrs(r.Context(), slog.LevelDebug, "request canceled", slog.String("path", r.URL.Path), slog.Any("err", err))
		} else {
			h.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		}
		row = rowOf(ErrInternal)
	}
	if w.status != 0 {
		return row.code // the answer has begun; nothing more can be said
	}
	var detail string
	if re := (*requestError)(nil); errors.As(err, &re) {
		detail = re.detail
	}
	switch hd := w.Header(); row.err {
	case ErrRateLimited, attesta.ErrBudgetExhausted:
		var wait time.Duration
		if rl := (*rateLimitError)(nil); errors.As(err, &rl) {
			wait = rl.retryAfter
		} else if be := (*attesta.BudgetError)(nil); errors.As(err, &be) {
			wait = be.RetryAfter
		}
		hd.Set("Retry-After", strconv.FormatInt(max(1, int64(math.Ceil(wait.Seconds()))), 10))
	case ErrMethodNotAllowed:
		if me := (*methodError)(nil); errors.As(err, &me) {
			hd.Set("Allow", me.allow)
		}
	case attesta.ErrUnauthorized:
		// RFC 6750 §3: say which scheme, and whether a token was
		// presented and refused.
		if r.Header.Get("Authorization") == "" {
			hd.Set("WWW-Authenticate", `Bearer realm="attesta"`)
		} else {
			hd.Set("WWW-Authenticate", `Bearer realm="attesta", error="invalid_token"`)
		}
	}
	writeProblem(w, row, detail)
	return row.code
}

// decode reads the body of r, at most limit bytes, into v by its
// Content-Type and returns the format, the default for the answer.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, limit int64, v any) (format, error) {
	f, err := requestFormat(r)
	if err != nil {
		return 0, err
	}
	if sw, ok := w.(*statusWriter); ok {
		w = sw.ResponseWriter // MaxBytesReader tells the server to close the connection through it
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		return 0, err
	}
	return f, decodeBody(f, body, v)
}

// render answers v in the format Accept asks for, def by default.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, def format, v any) error {
	w.Header()["Vary"] = varyAccept
	return render(w, responseFormat(r, def), http.StatusOK, v)
}

// clientAddr is the address r is limited under (see clientAddr).
func (h *Handler) clientAddr(r *http.Request) netip.Addr { return clientAddr(r, h.trusted) }

// bearer returns the token of an "Authorization: Bearer <token>" header
// (RFC 6750 §2.1; the scheme is case-insensitive), or "" if there is none.
func bearer(r *http.Request) string {
	vs := r.Header.Values("Authorization")
	if len(vs) != 1 {
		return ""
	}
	scheme, token, ok := strings.Cut(vs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimLeft(token, " ")
}

func (h *Handler) authKeyRequest(w http.ResponseWriter, r *http.Request) error {
	var body AuthKeyRequestBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	res, err := h.svc.AuthKeyRequest(r.Context(), body.Key, body.AppToken)
	if err != nil {
		return err
	}
	// The address's bucket gave one unit before the body was read; the
	// rest of what the encryption cost is charged once the request is
	// served (wrap), into debt if need be, so that its next requests wait
	// until the bucket refills: an address's budget is server CPU,
	// whatever keys it sends.
	setCost(r, res.Cost)
	return h.render(w, r, f, AuthKeyRequestResponse{EncryptedToken: res.EncryptedToken, ExpiresAt: wireTime(res.ExpiresAt)})
}

func (h *Handler) authKeyToken(w http.ResponseWriter, r *http.Request) error {
	var body AuthKeyTokenBody
	f, err := h.decode(w, r, h.maxBody, &body)
	if err != nil {
		return err
	}
	// Whether this token makes a new party is known only once it is
	// redeemed: an address that made its share of parties lately is
	// refused before, and each new party takes its token after.
	addr := h.clientAddr(r)
	if ok, wait := h.newPartyLimit.has(addr, h.now()); !ok {
		return h.newPartyLimit.refusal(wait)
	}
	res, err := h.svc.AuthKeyToken(r.Context(), body.Token)
	if err != nil {
		return err
	}
	if res.IsNew {
		h.newPartyLimit.allow(addr, h.now())
	}
	return h.render(w, r, f, AuthKeyTokenResponse{
		IsNew:            res.IsNew,
		PartyID:          res.PartyID.String(),
		Session:          res.Session,
		SessionExpiresAt: wireTime(res.SessionExpiresAt),
	})
}

// authenticate returns the session of the request's bearer token, or
// attesta.ErrUnauthorized.
func (h *Handler) authenticate(r *http.Request) (attesta.Session, error) {
	token := bearer(r)
	if token == "" {
		return attesta.Session{}, attesta.ErrUnauthorized
	}
	return h.svc.Authenticate(r.Context(), token)
}

func (h *Handler) party(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.authenticate(r)
	if err != nil {
		return err
	}
	p, err := h.svc.Party(r.Context(), sess.PartyID)
	if err != nil {
		return err
	}
	ids, err := h.svc.Identifiers(r.Context(), sess.PartyID)
	if err != nil {
		return err
	}
	res := PartyResponse{
		PartyID:     p.ID.String(),
		Created:     wireTime(p.Created),
		Keys:        make([]PartyKey, 0, len(p.Keys)),
		Identifiers: partyIdentifiers(ids),
	}
	for _, k := range p.Keys {
		res.Keys = append(res.Keys, PartyKey{KeyID: k.ID.String(), Type: k.Type.String(), Added: wireTime(k.Added)})
	}
	return h.render(w, r, formatJSON, res)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	token := bearer(r)
	if token == "" {
		return attesta.ErrUnauthorized
	}
	var one [1]byte
	if n, _ := r.Body.Read(one[:]); n > 0 {
		return badRequest("logout takes no body")
	}
	if err := h.svc.Revoke(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// healthResponse answers GET /healthz.
type healthResponse struct {
	Status string `json:"status" cbor:"status"`
}

func (h *Handler) health(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, formatJSON, healthResponse{Status: "ok"})
}

// openAPI serves docs/openapi.yaml, the OpenAPI description of these
// routes (TestOpenAPI keeps the two in step).
func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) error {
	doc := docs.OpenAPI()
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
	_, _ = io.WriteString(w, doc) // a failed write means the client is gone
	return nil
}
