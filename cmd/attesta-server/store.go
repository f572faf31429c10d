package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/attesta/pgstore"
)

// storeEnv names the environment variable that -store defaults to.
const storeEnv = "ATTESTA_STORE"

// storeFlags say where the server's state is: the data directory (-data),
// the store (-store, default $ATTESTA_STORE: a PostgreSQL URL, or empty
// for the Pebble store in the data directory) and the server secret
// (-secret, default DIR/secret).
type storeFlags struct {
	dataDir, dsn, secret string
}

// add registers -store and -secret on fs, with the current values as
// defaults.
func (f *storeFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.dsn, "store", f.dsn, "the store: a PostgreSQL `URL` (postgres://…), which any number of servers may share; "+
		"default $"+storeEnv+", else the Pebble store in the data directory")
	fs.StringVar(&f.secret, "secret", f.secret, "the server secret `FILE` (default DIR/secret); every server on one database needs the same one")
}

// shared reports whether the store is a database that several servers
// may share.
func (f storeFlags) shared() bool { return f.dsn != "" }

func (f storeFlags) secretPath() string {
	if f.secret != "" {
		return f.secret
	}
	return filepath.Join(f.dataDir, secretFile)
}

// store is what the commands need of a store.
type store interface {
	attesta.Store
	Close() error
}

// openStore opens the store f names. With create it makes the data
// directory (mode 0700) if missing; without, a missing directory is an
// error rather than a new empty Pebble store. A Pebble directory held by a
// running server is reported in words a person can act on; a PostgreSQL
// database has no such lock (servers share it).
func openStore(ctx context.Context, f storeFlags, create bool) (store, error) {
	if create {
		if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
			return nil, err
		}
	}
	if f.shared() {
		if !strings.HasPrefix(f.dsn, "postgres://") && !strings.HasPrefix(f.dsn, "postgresql://") {
			return nil, errors.New("bad -store (or $" + storeEnv + "): want a postgres:// URL, or nothing for the Pebble store in the data directory")
		}
		s, err := pgstore.Open(ctx, f.dsn, pgstore.Config{})
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		return s, nil
	}
	dir := f.dataDir
	if _, err := os.Stat(dir); !create && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no data directory %s (start attesta-server once, or run app create)", dir)
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
