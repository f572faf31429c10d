package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
)

// demoApp is the application made on first start, and demoTokenFile the
// file in the data directory that holds its token.
const (
	demoApp       = "demo"
	demoTokenFile = "demo-app-token"
)

// openStore opens the Pebble store in dir. With create it makes dir
// (mode 0700) if missing; without, a missing dir is an error rather than
// a new empty store. Group and other permissions on dir and its files are
// taken away first, each repair passed to warn (see perms.go). A
// directory held by a running server is reported in words a person can
// act on.
func openStore(dir string, create bool, warn func(msg string)) (*pebblestore.Store, error) {
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no data directory %s (start attesta-server once, or run app create)", dir)
	}
	repaired, err := repairDataDir(dir)
	if err != nil {
		return nil, err
	}
	for _, r := range repaired {
		warn("group or others had access to " + r + ": taken away; files the server makes are 0600 and its directory 0700")
	}
	s, err := pebblestore.Open(dir)
	if errors.Is(err, pebblestore.ErrLocked) {
		return nil, fmt.Errorf("the data directory %s is in use by a running attesta-server; stop it first", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the data directory %s: %w", dir, err)
	}
	return s, nil
}

// ensureDemoApp creates the "demo" application when the store has no
// application at all (a first start), prints its token on stdout and
// writes it to dir/demo-app-token with mode 0600.
func ensureDemoApp(ctx context.Context, svc *attesta.Service, dir string, stdout io.Writer, log *slog.Logger) error {
	apps, err := svc.Apps(ctx)
	if err != nil || len(apps) > 0 {
		return err
	}
	token, err := svc.CreateApp(ctx, demoApp)
	if err != nil {
		return fmt.Errorf("creating the demo application: %w", err)
	}
	path := filepath.Join(dir, demoTokenFile)
	log.Info("first start: created the demo application; its token is printed on stdout and saved", "app", demoApp, "token_file", path)
	fmt.Fprintln(stdout, token)
	if err := writeSecretFile(path, []byte(token+"\n")); err != nil {
		return fmt.Errorf("saving the demo application token: %w", err)
	}
	return nil
}

// writeSecretFile writes data to path with mode 0600, atomically: a
// temporary file in the same directory (created 0600) is synced and
// renamed over path, so that path never exists with other permissions or
// half written.
func writeSecretFile(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
