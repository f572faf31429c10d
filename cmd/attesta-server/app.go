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
)

const appUsage = `Usage:
  attesta-server app create [-data DIR] NAME   create an application; its token is printed once
  attesta-server app list [-data DIR]          list the applications
  attesta-server app revoke [-data DIR] NAME   revoke an application: its token is refused from now on

NAME is 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a
letter or digit. These commands open the data directory themselves: stop
the server first. Like the server, they check the server secret
DIR/secret and make it if it is missing.

With -store postgres://… (or $ATTESTA_STORE) they work on that database
instead, while servers run on it (there is no lock to wait for); the
secret is then read only if its file is there.

Flags:
`

// appCommand runs "app create|list|revoke" on the store sf names (the
// top-level -data, -store and -secret, which the subcommand's own flags
// override).
func appCommand(ctx context.Context, sf storeFlags, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attesta-server app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&sf.dataDir, "data", sf.dataDir, "the data directory `DIR`")
	sf.add(fs)
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
		fs.Usage()
		return 2
	}

	store, err := openStore(ctx, sf, verb == "create" && !sf.shared())
	if err != nil {
		return fail(err)
	}
	defer store.Close()
	// The Service needs the secret, although applications do not use it:
	// read it, or make it as the server would, so that every command that
	// opens the data directory checks it the same way. On a shared
	// database without a secret file here (an operator's machine, not a
	// server's), a throwaway one serves: nothing these commands store
	// depends on it.
	var secret []byte
	if _, serr := os.Stat(sf.secretPath()); sf.shared() && errors.Is(serr, os.ErrNotExist) {
		secret = rnd.Bytes(attesta.SecretSize)
	} else {
		secret, err = openSecret(ctx, store, sf, func(_ bool, msg string) {
			fmt.Fprintf(stderr, "attesta-server: %s: %s\n", sf.secretPath(), msg)
		})
	}
	if err != nil {
		return fail(err)
	}
	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	if err != nil {
		return fail(err)
	}

	switch verb {
	case "create":
		token, err := svc.CreateApp(ctx, name)
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
		err := svc.RevokeApp(ctx, name)
		if errors.Is(err, attesta.ErrAppNotFound) {
			return fail(fmt.Errorf("no application named %q", name))
		} else if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "revoked application %q\n", name)
	case "list":
		apps, err := svc.Apps(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tCREATED\tREVOKED")
		for _, a := range apps {
			status, revoked := "active", "-"
			if !a.Active() {
				status, revoked = "revoked", a.Revoked.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, status, a.Created.UTC().Format(time.RFC3339), revoked)
		}
		tw.Flush()
	}
	if err := store.Close(); err != nil {
		return fail(err)
	}
	return 0
}
