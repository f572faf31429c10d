package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/attesta-go/attesta/attesta"
)

// demoApp is the application made on first start, and demoTokenFile the
// file in the data directory that holds its token.
const (
	demoApp       = "demo"
	demoTokenFile = "demo-app-token"
)

// ensureDemoApp creates the "demo" application when the store has no
// application at all (a first start), prints its token on stdout and
// writes it to dir/demo-app-token with mode 0600.
func ensureDemoApp(ctx context.Context, svc *attesta.Service, dir string, stdout io.Writer, log *slog.Logger) error {
	apps, err := svc.Apps(ctx)
	if err != nil || len(apps) > 0 {
		return err
	}
	token, err := svc.CreateApp(ctx, demoApp)
	if errors.Is(err, attesta.ErrAppExists) {
		// Another server on the same database made it first: its token
		// is in that server's data directory.
		log.Info("the demo application was created by another server at the same time", "app", demoApp)
		return nil
	}
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
