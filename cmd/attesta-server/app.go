package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/transport"
)

const appUsage = `Usage:
  attesta-server app create [-data DIR] NAME   create an application; its token is printed once
  attesta-server app list [-data DIR]          list the applications
  attesta-server app revoke [-data DIR] NAME   revoke an application: its token is refused from now on

NAME is 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a
letter or digit. While a server runs on DIR, these commands ask it through
its administration socket (DIR/admin.sock, or -admin-socket PATH): a
revoked token is refused at once. With no server running they open the
data directory themselves and, like the server, check the server secret
DIR/secret and make it if it is missing.

With -store postgres://… (or $ATTESTA_STORE) they work on that database
instead, while servers run on it (there is no lock to wait for); the
secret is then read only if its file is there.

Flags:
`

// appCommand runs "app create|list|revoke" on the store in dataDir (the
// value of the top-level -data flag, which the subcommand's own -data
// overrides).
func appCommand(ctx context.Context, cfg serverConfig, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attesta-server app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.dataDir, "data", cfg.dataDir, "the data directory `DIR`")
	addStoreFlags(fs, &cfg)
	fs.StringVar(&cfg.adminSocket, "admin-socket", cfg.adminSocket, "the running server's administration socket `PATH` (default DIR/admin.sock)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), appUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage(err)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "attesta-server: %v\n", err)
		return 1
	}
	var verb, name string
	switch {
	case len(pos) == 2 && (pos[0] == "create" || pos[0] == "revoke"):
		verb, name = pos[0], pos[1]
	case len(pos) == 1 && pos[0] == "list":
		verb = pos[0]
	default:
		switch {
		case len(pos) == 0:
			fmt.Fprintln(stderr, "attesta-server: app needs a command: create, list or revoke")
		case pos[0] == "create" || pos[0] == "revoke":
			if len(pos) == 1 {
				fmt.Fprintf(stderr, "attesta-server: app %s needs the application's NAME\n", pos[0])
			} else {
				fmt.Fprintf(stderr, "attesta-server: app %s takes one NAME, not %d arguments\n", pos[0], len(pos)-1)
			}
		case pos[0] == "list":
			fmt.Fprintf(stderr, "attesta-server: app list takes no argument, got %q\n", pos[1])
		default:
			fmt.Fprintf(stderr, "attesta-server: unknown app command %q: want create, list or revoke\n", pos[0])
		}
		fmt.Fprintln(stderr)
		fs.Usage()
		return 2
	}

	apps, closeApps, err := openApps(ctx, cfg, verb == "create", stderr)
	if err != nil {
		return fail(err)
	}
	defer closeApps()

	switch verb {
	case "create":
		token, err := apps.CreateApp(ctx, name)
		switch {
		case errors.Is(err, attesta.ErrAppExists):
			return fail(fmt.Errorf("an application named %q exists already", name))
		case errors.Is(err, attesta.ErrBadAppName):
			return fail(fmt.Errorf("bad application name %q: use 1 to 64 characters of a-z, 0-9, '.', '_' and '-'", name))
		case err != nil:
			return fail(err)
		}
		fmt.Fprintf(stderr, "created application %q; its token is shown only now (the server keeps its hash):\n", name)
		fmt.Fprintln(stdout, token)
	case "revoke":
		err := apps.RevokeApp(ctx, name)
		if errors.Is(err, attesta.ErrAppNotFound) {
			return fail(fmt.Errorf("no application named %q", name))
		} else if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "revoked application %q\n", name)
	case "list":
		list, err := apps.Apps(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tCREATED\tREVOKED")
		for _, a := range list {
			status, revoked := "active", "-"
			if !a.Revoked.IsZero() {
				status, revoked = "revoked", a.Revoked.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, status, a.Created.UTC().Format(time.RFC3339), revoked)
		}
		tw.Flush()
	}
	if err := closeApps(); err != nil {
		return fail(err)
	}
	return 0
}

// appManager is what the app commands need: a running server's
// administration socket, or the store opened directly.
type appManager interface {
	CreateApp(ctx context.Context, name string) (string, error)
	RevokeApp(ctx context.Context, name string) error
	Apps(ctx context.Context) ([]transport.AdminApp, error)
}

// openApps returns the running server's administration socket if one
// answers, else a Service over the data directory's store (which fails if
// a server holds it without a socket). close may be called twice.
func openApps(ctx context.Context, cfg serverConfig, create bool, stderr io.Writer) (appManager, func() error, error) {
	if c := dialAdmin(ctx, cfg); c != nil {
		return c, func() error { return nil }, nil
	}
	store, err := openStore(ctx, cfg, create && !cfg.shared(), func(msg string) { fmt.Fprintf(stderr, "attesta-server: %s\n", msg) })
	if err != nil {
		return nil, nil, err
	}
	// The Service needs the secret, although applications do not use it:
	// read it, or make it as the server would, so that every command that
	// opens the data directory checks it the same way. On a shared
	// database without a secret file here (an operator's machine, not a
	// server's), a throwaway one serves: nothing these commands store
	// depends on it.
	var secret []byte
	if _, serr := os.Stat(cfg.secretPath()); cfg.shared() && errors.Is(serr, os.ErrNotExist) {
		secret = rnd.Bytes(attesta.SecretSize)
	} else {
		secret, err = openSecret(ctx, store, cfg, func(_ bool, msg string) {
			fmt.Fprintf(stderr, "attesta-server: %s: %s\n", cfg.secretPath(), msg)
		})
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return storeApps{svc}, store.Close, nil
}

// storeApps manages applications on the store directly.
type storeApps struct{ svc *attesta.Service }

func (s storeApps) CreateApp(ctx context.Context, name string) (string, error) {
	return s.svc.CreateApp(ctx, name)
}

func (s storeApps) RevokeApp(ctx context.Context, name string) error {
	return s.svc.RevokeApp(ctx, name)
}

func (s storeApps) Apps(ctx context.Context) ([]transport.AdminApp, error) {
	apps, err := s.svc.Apps(ctx)
	out := make([]transport.AdminApp, 0, len(apps))
	for _, a := range apps {
		out = append(out, transport.AdminApp{Name: a.Name, Created: a.Created, Revoked: a.Revoked})
	}
	return out, err
}
