package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/rnd"
)

// The server secret and the outbox, the two files of the data directory
// beside the store.
//
// The secret (attesta.Config.Secret) keys the hashes under which the store
// knows login identifiers and verification codes, and the decoy registries
// served for unknown logins. It is kept out of the store so that a copy of
// the store alone neither lists the users' emails and phone numbers nor
// lets anyone test guesses of them. It must live as long as the store:
// with another secret, no identifier matches any more (nobody can log in
// by password) and every decoy changes (which tells an observer which
// logins were decoys). Back it up with the store.
const (
	secretFile = "secret"
	outboxFile = "outbox.jsonl"
)

// loadSecret reads the server secret from dir/secret, or, if there is no
// such file, makes one (see loadSecretFile).
func loadSecret(dir string) (secret []byte, created bool, err error) {
	return loadSecretFile(filepath.Join(dir, secretFile))
}

// loadSecretFile reads the server secret from path, or, if there is no
// such file, makes one: attesta.SecretSize random bytes, mode 0600. It
// reports whether it made the file.
//
// An existing file must be a regular file (a symlink to one is followed)
// of exactly attesta.SecretSize bytes that neither group nor others may
// access in any way; anything else is refused, never repaired or
// replaced: a secret that is truncated, or was readable by others, is a
// matter for the operator.
func loadSecretFile(path string) (secret []byte, created bool, err error) {
	secret, err = readSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	if err := createSecret(path); errors.Is(err, fs.ErrExist) {
		// Another process (a second server, an app command) made it
		// between the read and now: use theirs.
		secret, err := readSecret(path)
		return secret, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("creating the server secret %s: %w", path, err)
	}
	secret, err = readSecret(path)
	return secret, err == nil, err
}

// readSecret reads and checks an existing secret file. A missing file is
// an error matching fs.ErrNotExist.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat() // the file opened, not whatever path names by now
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("the server secret %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("the server secret %s has mode %04o: group and others must have no access (chmod 600 %s), "+
			"and if others could read it, it is no longer secret", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, attesta.SecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the server secret %s: %w", path, err)
	}
	if len(b) != attesta.SecretSize {
		clear(b)
		return nil, fmt.Errorf("the server secret %s holds %s, not %d bytes: restore it from the backup of the data directory",
			path, sizeText(len(b)), attesta.SecretSize)
	}
	return b, nil
}

func sizeText(n int) string {
	if n > attesta.SecretSize {
		return fmt.Sprintf("over %d bytes", attesta.SecretSize)
	}
	return fmt.Sprintf("%d bytes", n)
}

// createSecret makes path hold attesta.SecretSize fresh random bytes, mode
// 0600, atomically and without ever replacing a file: the bytes go to a
// temporary file (created with O_EXCL, mode 0600) in the same directory,
// which is synced and then hard-linked to path. link(2) fails if path
// exists, so that two processes starting at once cannot each make a
// secret, and path never exists empty or half written, as it could if it
// were created with O_EXCL and then written (a crash in between would
// leave a file the next start must refuse). An existing path is an error
// matching fs.ErrExist.
func createSecret(path string) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	secret := rnd.Bytes(attesta.SecretSize)
	defer clear(secret)
	_, err = f.Write(secret)
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp makes 0600 already; say so
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openSecret loads the server secret cfg names, for the open store, making
// it if missing (see loadSecretFile), and tells note when it made one: on
// a store without data that is a first start; on a Pebble store that
// holds data it may be a lost secret (or a data directory from before
// secrets), which warrants a warning. A database that several servers
// share and that holds data already is refused a new secret: its other
// servers have one, and a server with another would make tokens and
// identifier hashes they do not match.
func openSecret(ctx context.Context, store attesta.Store, cfg serverConfig, note func(warn bool, msg string)) ([]byte, error) {
	path := cfg.secretPath()
	if _, err := os.Stat(path); cfg.shared() && errors.Is(err, fs.ErrNotExist) {
		apps, err := store.Apps(ctx)
		if err != nil {
			return nil, err
		}
		if len(apps) > 0 {
			return nil, fmt.Errorf("no server secret %s, and the database holds data already: "+
				"give every server on one database the same secret (-secret FILE, a copy of the first server's)", path)
		}
	}
	secret, created, err := loadSecretFile(path)
	if err != nil || !created {
		return secret, err
	}
	apps, err := store.Apps(ctx)
	if err != nil {
		clear(secret)
		return nil, err
	}
	if len(apps) == 0 {
		note(false, "created the server secret; back it up with the data directory")
	} else {
		note(true, "created a new server secret for a data directory that holds data already: "+
			"if it had a secret before (it holds login identifiers), stop and put the old one back from a backup, "+
			"since identifiers and decoys depend on it; otherwise back the new one up with the data directory")
	}
	return secret, nil
}
