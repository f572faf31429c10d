package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/transport"
)

// demoServer is a real server inside this process: the Pebble store in a
// temporary directory, a random server secret, verification codes written
// to an outbox file beside the store, the transport handlers on a
// loopback port. It is wired as attesta-server wires it, minus flags,
// signals and a secret kept on disk.
type demoServer struct {
	dir      string // the temporary directory, holding the two below
	storeDir string
	outbox   string // the outbox file: outbox.LastCode reads codes from it
	store    *pebblestore.Store
	svc      *attesta.Service
	http     *http.Server
	served   chan error
	url      string
}

func startDemoServer(log *slog.Logger) (*demoServer, error) {
	return startDemoServerWith(log, attesta.Config{}, transport.HandlerConfig{})
}

// startDemoServerWith starts a demo server with the settings of cfg and
// hc that tests change (KDFFloors, rate limits); the store, the secret,
// the notifier and the loggers are the demo server's.
func startDemoServerWith(log *slog.Logger, cfg attesta.Config, hc transport.HandlerConfig) (_ *demoServer, err error) {
	s := &demoServer{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "attesta-demo-"); err != nil {
		return nil, err
	}
	s.storeDir = filepath.Join(s.dir, "store")
	s.outbox = filepath.Join(s.dir, "outbox.jsonl")
	if s.store, err = pebblestore.Open(s.storeDir); err != nil {
		return nil, err
	}
	cfg.Store, cfg.Logger = s.store, log
	cfg.Secret = rnd.Bytes(attesta.SecretSize)
	cfg.Notifier = outbox.New(s.outbox)
	if s.svc, err = attesta.New(cfg); err != nil {
		return nil, err
	}
	hc.Logger = log
	h, err := transport.NewHandler(s.svc, hc)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           h, // the API, and problem+json 404s for other paths
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.served = make(chan error, 1)
	go func() { s.served <- s.http.Serve(ln) }()
	s.url = "http://" + ln.Addr().String()
	return s, nil
}

// close stops the HTTP server, closes the store and removes its directory.
func (s *demoServer) close() error {
	var errs []error
	if s.http != nil {
		errs = append(errs, s.http.Close())
		if err := <-s.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}
