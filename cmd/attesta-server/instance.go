package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

// The operator's commands for application instances (keypeer's flow):
//
//	attesta-server instance verify TOKEN
//	attesta-server entitlement grant|revoke TOKEN
//	attesta-server entitlement list [APP]
//	attesta-server service-key set APP PROVIDER   (the value on stdin)
//	attesta-server service-key list
//
// As the app commands, they ask a running server through its
// administration socket, and open the store themselves when none runs.
// Unlike them they need the server secret (a TOKEN is checked by signing
// again, a service key is sealed under a key derived from it): on a
// shared database without the secret file here, they refuse.

const instanceUsage = `Usage:
  attesta-server instance verify [-data DIR] TOKEN
        check that this server made TOKEN; print what it names as JSON
  attesta-server entitlement grant [-data DIR] TOKEN
        entitle the instance TOKEN names to its application's service keys
  attesta-server entitlement revoke [-data DIR] TOKEN
        take the entitlement back (other servers on one database: within
        their -entitlement-ttl)
  attesta-server entitlement list [-data DIR] [APP]
        list the entitlements, of APP or of every application
  attesta-server service-key set [-data DIR] APP PROVIDER
        store the service key read from stdin (a terminal: typed without
        echo; a pipe: all of it, less one final newline) as APP's key for
        PROVIDER, sealed under the server secret, as its next version
  attesta-server service-key list [-data DIR]
        list the service keys: names and versions, never values

A TOKEN is what an application instance gets from GET /v1/instance/token
(attesta instance token): APP:BASE32, in either case. A service key is 1
to 190 bytes, never on the command line. While a server runs on DIR, the
commands ask it through its administration socket; with no server running
they open the data directory (or -store database) and the server secret
themselves.

Flags:
`

// instanceManager is what the instance commands need: a running server's
// administration socket, or a Service over the store.
type instanceManager interface {
	VerifyInstance(ctx context.Context, token string) (transport.AdminInstance, error)
	GrantEntitlement(ctx context.Context, token string) (transport.AdminEntitlement, error)
	RevokeEntitlement(ctx context.Context, token string) error
	Entitlements(ctx context.Context, app string) ([]transport.AdminEntitlement, error)
	SetServiceKey(ctx context.Context, app, provider string, value []byte) (transport.AdminServiceKey, error)
	ServiceKeys(ctx context.Context) ([]transport.AdminServiceKey, error)
}

var _ instanceManager = (*transport.AdminClient)(nil)

// instanceVerbs are the verbs of each group and how many positional
// arguments each takes (min, max).
var instanceVerbs = map[string]map[string][2]int{
	"instance":    {"verify": {1, 1}},
	"entitlement": {"grant": {1, 1}, "revoke": {1, 1}, "list": {0, 1}},
	"service-key": {"set": {2, 2}, "list": {0, 0}},
}

// instanceCommand runs "instance …", "entitlement …" and "service-key …".
func instanceCommand(ctx context.Context, cfg serverConfig, group string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("attesta-server "+group, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.dataDir, "data", cfg.dataDir, "the data directory `DIR`")
	addStoreFlags(fs, &cfg)
	fs.StringVar(&cfg.adminSocket, "admin-socket", cfg.adminSocket, "the running server's administration socket `PATH` (default DIR/admin.sock)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), instanceUsage)
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return exitUsage(err)
	}
	verbs := instanceVerbs[group]
	var names []string
	for v := range verbs {
		names = append(names, v)
	}
	slices.Sort(names)
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "attesta-server: "+format+"\n\n", a...)
		fs.Usage()
		return 2
	}
	if len(pos) == 0 {
		return usage("%s needs a command: %s", group, strings.Join(names, ", "))
	}
	n, ok := verbs[pos[0]]
	if !ok {
		return usage("unknown %s command %q: want %s", group, pos[0], strings.Join(names, ", "))
	}
	verb, rest := pos[0], pos[1:]
	if len(rest) < n[0] || len(rest) > n[1] {
		what := map[string]string{"verify": "a TOKEN", "grant": "a TOKEN", "revoke": "a TOKEN", "list": "at most an APP", "set": "APP and PROVIDER"}[verb]
		if group == "service-key" && verb == "list" {
			what = "no argument"
		}
		return usage("%s %s takes %s, not %d arguments", group, verb, what, len(rest))
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "attesta-server: %s\n", instanceError(err))
		return 1
	}

	// Read the secret value first: a pipe that fails should not open the
	// store for nothing, and a terminal prompt should not hold it open.
	var value []byte
	if group == "service-key" && verb == "set" {
		if value, err = readServiceKey(stdin, stderr, rest[0], rest[1]); err != nil {
			return fail(err)
		}
		defer clear(value)
	}

	m, closeM, err := openInstances(ctx, cfg, stderr)
	if err != nil {
		return fail(err)
	}
	defer closeM()
	switch group + " " + verb {
	case "instance verify":
		inst, err := m.VerifyInstance(ctx, strings.TrimSpace(rest[0]))
		if err != nil {
			return fail(err)
		}
		if code := printJSONLine(stdout, inst); code != 0 {
			return fail(errors.New("writing the answer"))
		}
	case "entitlement grant":
		e, err := m.GrantEntitlement(ctx, strings.TrimSpace(rest[0]))
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "entitled instance %s of %q (granted %s)\n", e.PartyID, e.App, e.Granted.UTC().Format(time.RFC3339))
	case "entitlement revoke":
		if err := m.RevokeEntitlement(ctx, strings.TrimSpace(rest[0])); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "revoked the entitlement")
	case "entitlement list":
		app := ""
		if len(rest) == 1 {
			app = rest[0]
		}
		es, err := m.Entitlements(ctx, app)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tPARTY\tGRANTED\tTOKEN")
		for _, e := range es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.App, e.PartyID, e.Granted.UTC().Format(time.RFC3339), e.Token)
		}
		tw.Flush()
	case "service-key set":
		k, err := m.SetServiceKey(ctx, rest[0], rest[1], value)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "stored the service key of %q for %q: version %d\n", k.App, k.Provider, k.Version)
	case "service-key list":
		ks, err := m.ServiceKeys(ctx)
		if err != nil {
			return fail(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tPROVIDER\tVERSION\tUPDATED")
		for _, k := range ks {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", k.App, k.Provider, k.Version, k.Updated.UTC().Format(time.RFC3339))
		}
		tw.Flush()
	}
	if err := closeM(); err != nil {
		return fail(err)
	}
	return 0
}

// instanceError says what went wrong in the operator's words.
func instanceError(err error) string {
	switch {
	case errors.Is(err, attesta.ErrBadInstanceToken):
		return "not a TOKEN of this server (mistyped, cut short, of another server, or forged)"
	case errors.Is(err, attesta.ErrEntitlementNotFound):
		return "that instance is not entitled"
	case errors.Is(err, attesta.ErrAppNotFound):
		return "no such application"
	case errors.Is(err, attesta.ErrBadProvider):
		return "bad provider name: use 1 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"
	case errors.Is(err, attesta.ErrBadServiceKey):
		return fmt.Sprintf("a service key is 1 to %d bytes", attesta.MaxServiceKeySize)
	}
	return err.Error()
}

// readServiceKey reads a service key from stdin: from a terminal, typed
// without echo after a prompt on stderr; from a pipe or file, all of it
// (at most one byte over the limit is read) less one final newline.
func readServiceKey(stdin io.Reader, stderr io.Writer, app, provider string) ([]byte, error) {
	if stdin == nil {
		return nil, errors.New("service-key set reads the key from stdin, and there is none")
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "service key of %q for %q (not echoed): ", app, provider)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the service key: %w", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, attesta.MaxServiceKeySize+3))
	if err != nil {
		return nil, fmt.Errorf("reading the service key from stdin: %w", err)
	}
	if bytes.HasSuffix(b, []byte("\r\n")) {
		b = b[:len(b)-2]
	} else if bytes.HasSuffix(b, []byte("\n")) {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || len(b) > attesta.MaxServiceKeySize {
		clear(b)
		return nil, attesta.ErrBadServiceKey
	}
	return b, nil
}

// openInstances returns the running server's administration socket if
// one answers, else a Service over the store with the server secret.
func openInstances(ctx context.Context, cfg serverConfig, stderr io.Writer) (instanceManager, func() error, error) {
	if c := dialAdmin(ctx, cfg); c != nil {
		return c, func() error { return nil }, nil
	}
	if _, err := os.Stat(cfg.secretPath()); cfg.shared() && errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no server secret %s: these commands need the servers' secret (-secret FILE)", cfg.secretPath())
	}
	store, err := openStore(ctx, cfg, false, func(msg string) { fmt.Fprintf(stderr, "attesta-server: %s\n", msg) })
	if err != nil {
		return nil, nil, err
	}
	secret, err := openSecret(ctx, store, cfg, func(_ bool, msg string) {
		fmt.Fprintf(stderr, "attesta-server: %s: %s\n", cfg.secretPath(), msg)
	})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	svc, err := attesta.New(attesta.Config{Store: store, Secret: secret})
	clear(secret)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return storeInstances{svc}, store.Close, nil
}

// storeInstances works on the store directly.
type storeInstances struct{ svc *attesta.Service }

func (s storeInstances) VerifyInstance(_ context.Context, token string) (transport.AdminInstance, error) {
	t, err := s.svc.VerifyInstanceToken(token)
	return transport.AdminInstance{Token: t.String(), App: t.App(), PartyID: t.PartyID().String()}, err
}

func adminEntitlementOf(e attesta.GrantedEntitlement) transport.AdminEntitlement {
	return transport.AdminEntitlement{Token: e.Token.String(), App: e.Token.App(), PartyID: e.Token.PartyID().String(), Granted: e.Granted}
}

func (s storeInstances) GrantEntitlement(ctx context.Context, token string) (transport.AdminEntitlement, error) {
	e, err := s.svc.GrantEntitlement(ctx, token)
	return adminEntitlementOf(e), err
}

func (s storeInstances) RevokeEntitlement(ctx context.Context, token string) error {
	return s.svc.RevokeEntitlement(ctx, token)
}

func (s storeInstances) Entitlements(ctx context.Context, app string) ([]transport.AdminEntitlement, error) {
	es, err := s.svc.Entitlements(ctx, app)
	out := make([]transport.AdminEntitlement, 0, len(es))
	for _, e := range es {
		out = append(out, adminEntitlementOf(e))
	}
	return out, err
}

func (s storeInstances) SetServiceKey(ctx context.Context, app, provider string, value []byte) (transport.AdminServiceKey, error) {
	k, err := s.svc.SetServiceKey(ctx, app, provider, value)
	return transport.AdminServiceKey{App: k.App, Provider: k.Provider, Version: k.Version, Updated: k.Updated}, err
}

func (s storeInstances) ServiceKeys(ctx context.Context) ([]transport.AdminServiceKey, error) {
	ks, err := s.svc.ServiceKeys(ctx)
	out := make([]transport.AdminServiceKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, transport.AdminServiceKey{App: k.App, Provider: k.Provider, Version: k.Version, Updated: k.Updated})
	}
	return out, err
}

func printJSONLine(w io.Writer, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 1
	}
	if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
		return 1
	}
	return 0
}
