package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/internal/metrics"
	"github.com/attesta-go/attesta/transport"
)

type serverConfig struct {
	ratePerSecond   float64
	dataDir         string
	storeDSN        string // -store: a PostgreSQL URL, or "" for Pebble in dataDir
	secret          string // -secret: "" for dataDir/secret
	addr            string
	shutdownTimeout time.Duration
	trustedProxies  []netip.Prefix
	maxConns        int
	maxConnsPerAddr int
	idleTimeout     time.Duration
	adminSocket     string // "" for DATA/admin.sock, "off" for none
	metricsAddr     string // -metrics-addr: "" for no metrics listener
	// Entitlements of application instances: the webhook ("" for the
	// store-backed list), its timeout, and how long an answer is trusted.
	entitlementWebhook string
	entitlementTimeout time.Duration
	entitlementTTL     time.Duration
}

// HTTP server limits. The handlers bound bodies themselves; these bound
// what a slow or idle client can hold (with serverConfig's connection caps
// and idle timeout).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	maxHeaderBytes    = 16 << 10
	collectInterval   = time.Minute
)

// Defaults of the connection flags (see main.go's flags and
// docs/SECURITY.md for the arithmetic).
const (
	defaultMaxConns        = 4096
	defaultMaxConnsPerAddr = 64
	defaultIdleTimeout     = 30 * time.Second
	adminSocketFile        = "admin.sock"
)

// httpServer is an http.Server for h with the server's limits.
func httpServer(h http.Handler, cfg serverConfig, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       cfg.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve runs the server until ctx is done, then shuts it down: stop taking
// connections, wait up to cfg.shutdownTimeout for requests in flight, stop
// the collector, close the store. stopSignals is called when the shutdown
// starts, so that a second SIGINT kills the process at once.
func serve(ctx context.Context, stopSignals func(), cfg serverConfig, stdout io.Writer, log *slog.Logger) (err error) {
	// Bind first: a busy address must fail before anything is made in a
	// new data directory, and before a demo token is printed that this
	// process would then abandon.
	tcp, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("%w (is another attesta-server running there? -addr HOST:PORT listens elsewhere)", err)
	}
	defer tcp.Close() // for the returns before Serve, which closes it itself
	var metricsLn net.Listener
	if cfg.metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metricsAddr); err != nil {
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		defer metricsLn.Close()
	}
	maxConns, err := connCap(cfg.maxConns, log)
	if err != nil {
		return err
	}
	ln, err := transport.LimitListener(tcp, transport.ListenerLimits{Total: maxConns, PerAddress: cfg.maxConnsPerAddr, Trusted: cfg.trustedProxies})
	if err != nil {
		return err
	}

	store, err := openStore(ctx, cfg, true, func(msg string) { log.Warn(msg) })
	if err != nil {
		return err
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the store: %w", cerr)
		}
	}()
	secret, err := openSecret(ctx, store, cfg, func(warn bool, msg string) {
		if warn {
			log.Warn(msg, "file", cfg.secretPath())
		} else {
			log.Info(msg, "file", cfg.secretPath())
		}
	})
	if err != nil {
		return err
	}
	outboxPath := filepath.Join(cfg.dataDir, outboxFile)
	var entitlements attesta.Entitlements // nil: the store-backed list
	if cfg.entitlementWebhook != "" {
		if entitlements, err = transport.NewWebhookEntitlements(transport.WebhookConfig{URL: cfg.entitlementWebhook, Timeout: cfg.entitlementTimeout}); err != nil {
			return fmt.Errorf("-entitlement-webhook: %w", err)
		}
	}
	svc, err := attesta.New(attesta.Config{
		Store:          store,
		Logger:         log,
		Secret:         secret,
		Entitlements:   entitlements,
		EntitlementTTL: cfg.entitlementTTL,
		// The demo's notifier: codes go to a file in the data directory,
		// not to an email or a phone. The Service logs that a code was
		// sent (kind and hint); the code itself is only in that file.
		Notifier: outbox.New(outboxPath),
	})
	if err != nil {
		return err
	}
	hc := transport.HandlerConfig{Logger: log, TrustedProxies: cfg.trustedProxies}
	var m *metrics.Metrics
	if metricsLn != nil {
		m = metrics.New(log)
		hc.Observer = m
	}
	if cfg.ratePerSecond > 0 {
		hc.RatePerSecond, hc.RateBurst = cfg.ratePerSecond, int(max(1, 2*cfg.ratePerSecond))
		// Load tests register from few addresses: new parties follow.
		hc.NewPartiesPerAddress = transport.Limit{Burst: hc.RateBurst, Every: time.Duration(float64(time.Second) / cfg.ratePerSecond)}
	}
	h, err := transport.NewHandler(svc, hc)
	if err != nil {
		return err
	}
	if m != nil {
		m.Handler(h)
		m.Service(svc, store)
		m.Listener(ln)
	}
	if err := ensureDemoApp(ctx, svc, cfg.dataDir, stdout, log); err != nil {
		return err
	}

	srv := httpServer(h, cfg, log) // the API, and problem+json 404s for other paths

	collectCtx, stopCollect := context.WithCancel(context.WithoutCancel(ctx))
	var collector sync.WaitGroup
	collector.Go(func() { svc.CollectEvery(collectCtx, collectInterval) })
	defer func() {
		stopCollect()
		collector.Wait() // a Collect in progress finishes before the store closes
	}()

	admin, adminPath, err := listenAdmin(cfg, svc, log)
	if err != nil {
		return err
	}
	if admin != nil {
		defer admin.Close()
	}

	if metricsLn != nil {
		msrv := httpServer(m.HTTPHandler(), cfg, log)
		go msrv.Serve(metricsLn) // closed by the deferred metricsLn.Close
		defer msrv.Close()
		log.Info("metrics listening", "addr", metricsLn.Addr().String(), "path", "/metrics")
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("attesta-server listening", "addr", ln.Addr().String(), "data", cfg.dataDir, "codes_to", outboxPath,
		"admin_socket", adminPath, "max_conns", maxConns, "max_conns_per_address", cfg.maxConnsPerAddr)

	select {
	case err := <-served:
		return err // Serve failed on its own
	case <-ctx.Done():
	}
	stopSignals()
	log.Info("shutting down", "timeout", cfg.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		log.Warn("requests still in flight at the shutdown timeout were cut", "err", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
