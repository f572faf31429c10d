// Command profserver is attesta-server's request path with a CPU profile:
// the same store, Service and Handler with the defaults cmd/attesta-server
// uses, on a fresh data directory, written to -cpuprofile when it gets
// SIGINT or SIGTERM. bench/report runs attesta load against it to show
// where a real server's CPU goes per connect (sockets, HTTP, JSON,
// cryptography, Pebble or PostgreSQL). It is a measuring tool, not a
// server to deploy.
//
//	profserver -data DIR -addr 127.0.0.1:PORT -cpuprofile FILE [-store postgres://…]
//
// With -store, the store is that PostgreSQL database (pgstore, with
// attesta-server's configuration) instead of Pebble in DIR.
//
// The application token is written to DIR/demo-app-token, as
// attesta-server does on a first start.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/attesta/pgstore"
	"github.com/attesta-go/attesta/transport"
)

func main() {
	data := flag.String("data", "", "fresh data `DIR` (required)")
	addr := flag.String("addr", "127.0.0.1:0", "listen on `HOST:PORT`")
	profile := flag.String("cpuprofile", "", "write a CPU profile to `FILE` (required)")
	dsn := flag.String("store", "", "a PostgreSQL `URL` (an empty database or schema) instead of Pebble in DIR")
	flag.Parse()
	if *data == "" || *profile == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*data, *addr, *profile, *dsn); err != nil {
		log.Fatalf("profserver: %v", err)
	}
}

func run(data, addr, profile, dsn string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	var st interface {
		attesta.Store
		Close() error
	}
	var err error
	if dsn != "" {
		st, err = pgstore.Open(ctx, dsn, pgstore.Config{})
	} else {
		st, err = pebblestore.Open(data)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	secret := make([]byte, attesta.SecretSize)
	rand.Read(secret)
	svc, err := attesta.New(attesta.Config{Store: st, Secret: secret})
	if err != nil {
		return err
	}
	h, err := transport.NewHandler(svc, transport.HandlerConfig{})
	if err != nil {
		return err
	}
	token, err := svc.CreateApp(ctx, "demo")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(data, "demo-app-token"), []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The limits of cmd/attesta-server's http.Server.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	f, err := os.Create(profile)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	go srv.Serve(ln)
	fmt.Printf("listening on %s\n", ln.Addr())
	<-ctx.Done()
	pprof.StopCPUProfile()
	srv.Close()
	return f.Close()
}
