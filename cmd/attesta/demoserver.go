package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/transport"
)

// demoServer is a real server inside this process: the Pebble store in a
// temporary directory, the transport handlers on a loopback port. It is
// wired as attesta-server wires it, minus flags and signals.
type demoServer struct {
	dir    string
	store  *pebblestore.Store
	svc    *attesta.Service
	http   *http.Server
	served chan error
	url    string
}

func startDemoServer(log *slog.Logger) (_ *demoServer, err error) {
	s := &demoServer{}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dir, err = os.MkdirTemp("", "attesta-demo-"); err != nil {
		return nil, err
	}
	if s.store, err = pebblestore.Open(s.dir); err != nil {
		return nil, err
	}
	if s.svc, err = attesta.New(attesta.Config{Store: s.store, Logger: log}); err != nil {
		return nil, err
	}
	h, err := transport.NewHandler(s.svc, transport.HandlerConfig{Logger: log})
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
