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

// addStoreFlags registers -store (default $ATTESTA_STORE: a PostgreSQL
// URL, or empty for the Pebble store in the data directory) and -secret
// (default DIR/secret) on fs, with cfg's values as defaults.
func addStoreFlags(fs *flag.FlagSet, cfg *serverConfig) {
	fs.StringVar(&cfg.storeDSN, "store", cfg.storeDSN, "the store: a PostgreSQL `URL` (postgres://…), which any number of servers may share; "+
		"default $"+storeEnv+", else the Pebble store in the data directory")
	fs.StringVar(&cfg.secret, "secret", cfg.secret, "the server secret `FILE` (default DIR/secret); every server on one database needs the same one")
}

// shared reports whether the store is a database that several servers
// may share.
func (c serverConfig) shared() bool { return c.storeDSN != "" }

// secretPath is the server secret's file.
func (c serverConfig) secretPath() string {
	if c.secret != "" {
		return c.secret
	}
	return filepath.Join(c.dataDir, secretFile)
}

// store is what the commands need of a store.
type store interface {
	attesta.Store
	Close() error
}

// openStore opens the store cfg names: the PostgreSQL database of -store,
// or the Pebble store in the data directory. With create it makes the
// data directory (mode 0700) if missing; without, a missing directory is
// an error rather than a new empty Pebble store. Group and other
// permissions on the data directory and its files are taken away first,
// each repair passed to warn (see perms.go). A Pebble directory held by a
// running server is reported in words a person can act on; a PostgreSQL
// database has no such lock (servers share it).
func openStore(ctx context.Context, cfg serverConfig, create bool, warn func(msg string)) (store, error) {
	dir := cfg.dataDir
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(dir); err == nil {
		repaired, err := repairDataDir(dir)
		if err != nil {
			return nil, err
		}
		for _, r := range repaired {
			warn("group or others had access to " + r + ": taken away; files the server makes are 0600 and its directory 0700")
		}
	}
	if cfg.shared() {
		if !strings.HasPrefix(cfg.storeDSN, "postgres://") && !strings.HasPrefix(cfg.storeDSN, "postgresql://") {
			return nil, errors.New("bad -store (or $" + storeEnv + "): want a postgres:// URL, or nothing for the Pebble store in the data directory")
		}
		s, err := pgstore.Open(ctx, cfg.storeDSN, pgstore.Config{})
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL store: %w", err)
		}
		return s, nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
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
