// Command attesta-server is Attesta's demo server: the key register/connect
// and password login protocols over HTTP, on an embedded Pebble store in
// one directory, or on a PostgreSQL database that several servers share
// (-store postgres://…, or $ATTESTA_STORE).
//
//	attesta-server [-data DIR] [-store URL] [-secret FILE] [-addr HOST:PORT] [-metrics-addr HOST:PORT] [-log-level LEVEL] [-log-format text|json]
//	attesta-server app create|list|revoke [-data DIR] [-store URL] [NAME]
//	attesta-server instance verify TOKEN
//	attesta-server entitlement grant|revoke|list [TOKEN|APP]
//	attesta-server service-key set|list [APP PROVIDER]   (the key on stdin)
//	attesta-server -version
//
// Messages on stderr start with "attesta-server: " (or are log records,
// while the server runs). The exit status is 0 on success, 1 on a failure
// and 2 for a usage error.
//
// The data directory holds the store, the server secret (DIR/secret, 32
// random bytes, mode 0600, made on first start; it keys the identifier
// hashes and the decoys, so back it up with the store) and the outbox
// (DIR/outbox.jsonl, where this demo server writes verification codes
// instead of sending them). On first start with an empty data directory
// it creates an application named "demo", prints its token on stdout and
// writes it to DIR/demo-app-token (mode 0600). The app subcommands work on
// the data directory while no server holds it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/attesta-go/attesta/internal/buildinfo"
)

const usage = `Usage:
  attesta-server [flags]                 run the server
  attesta-server app create [-data DIR] NAME
                                         create an application, print its token
  attesta-server app list [-data DIR]    list the applications
  attesta-server app revoke [-data DIR] NAME
                                         revoke an application's token
  attesta-server instance verify TOKEN   check an application instance's TOKEN
  attesta-server entitlement grant|revoke|list [TOKEN|APP]
                                         entitle instances to service keys
  attesta-server service-key set|list [APP PROVIDER]
                                         store (from stdin) or list service keys
  attesta-server -version                print the version and commit

The app, instance, entitlement and service-key commands talk to a running
server through its administration socket (DATA/admin.sock, mode 0600), or,
when no server runs, open the data directory themselves
("attesta-server entitlement -h" tells more of the three).

On first start with an empty data directory the server creates an
application named "demo", prints its token on stdout and writes it to
DIR/demo-app-token (mode 0600). The token is shown once: the server keeps
only its hash.

The data directory holds, beside the store:
  secret        the server secret: 32 random bytes, mode 0600, made on
                first start (or by the first app command). It keys the
                hashes under which the store knows login identifiers and
                the decoys served for unknown logins: back it up with the
                store, since without it no identifier matches any more.
                The server refuses to start if it has another size or if
                group or others have any access to it.
  admin.sock    the administration socket of a running server (mode 0600).

The server makes the directory 0700 and every file in it 0600, and takes
group and other permissions away from what it finds there (saying so).
  outbox.jsonl  verification codes for emails and phone numbers, one JSON
                line each: this demo server writes them there instead of
                sending them. The log says only that a code was sent.

With -store postgres://… (or $ATTESTA_STORE) the state is in that
PostgreSQL database instead of the data directory, and any number of
servers may share it; each still keeps its outbox and the demo token in
its data directory, and all of them need the same server secret: give
them one file with -secret FILE. The secret never goes into the database.

Server flags:
`

func main() {
	os.Exit(runIO(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command without a stdin; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int { return runIO(args, nil, stdout, stderr) }

// runIO is the whole command; stdin is where service-key set reads the
// key. It returns the exit status.
func runIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	restrictUmask()
	fs := flag.NewFlagSet("attesta-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := serverConfig{storeDSN: os.Getenv(storeEnv)}
	addStoreFlags(fs, &cfg)
	fs.StringVar(&cfg.dataDir, "data", "./attesta-data", "the data directory `DIR`: the Pebble store, secret, outbox.jsonl and demo-app-token")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8700", "listen on `HOST:PORT`")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log `format` on stderr: text or json")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGINT/SIGTERM, how long to wait for requests in flight")
	version := fs.Bool("version", false, "print the version and commit this binary was built from, and exit")
	fs.Float64Var(&cfg.ratePerSecond, "rate-per-address", 0, "challenge requests a `rate` per second each client address may make on each connect endpoint, and new parties it may register (bursts of twice that); 0: the defaults, 20 requests a second and 100 new parties an hour; raise it only for load tests from few addresses")
	fs.Func("trusted-proxy", "`CIDR,…` of reverse proxies whose X-Forwarded-For is believed (right to left, past trusted hops); from any other peer the header is ignored. Default: none", func(v string) error {
		for _, c := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil {
				if a, aerr := netip.ParseAddr(strings.TrimSpace(c)); aerr == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					return fmt.Errorf("%q is not a CIDR prefix or an address", c)
				}
			}
			cfg.trustedProxies = append(cfg.trustedProxies, p.Masked())
		}
		return nil
	})
	fs.IntVar(&cfg.maxConns, "max-conns", defaultMaxConns, "the most connections open at once, `N` (lowered to what the file descriptor limit leaves room for); more are refused at once")
	fs.IntVar(&cfg.maxConnsPerAddr, "max-conns-per-address", defaultMaxConnsPerAddr, "the most connections open at once from one client address (an IPv6 /64), `N`; a trusted proxy is held only to -max-conns")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", defaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://`HOST:PORT`/metrics, a listener of their own (keep it off the public network: it says how the server is used); default: no metrics")
	fs.StringVar(&cfg.entitlementWebhook, "entitlement-webhook", "", "ask this `URL` whether an application instance is entitled to its service keys (POST {token, app, party_id} -> {entitled}; fails closed), instead of the list of attesta-server entitlement grant")
	fs.DurationVar(&cfg.entitlementTimeout, "entitlement-webhook-timeout", 5*time.Second, "how long one -entitlement-webhook question may take; past it the instance is refused")
	fs.DurationVar(&cfg.entitlementTTL, "entitlement-ttl", time.Minute, "how long this server trusts an entitlement answer for one instance (a revocation made on another server takes effect within it)")
	fs.StringVar(&cfg.adminSocket, "admin-socket", "", "the administration socket `PATH` (mode 0600) that the app commands use while the server runs; default DATA/admin.sock, \"off\" for none")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage(err)
	}
	if cfg.entitlementTimeout <= 0 || cfg.entitlementTTL <= 0 {
		fmt.Fprintln(stderr, "attesta-server: -entitlement-webhook-timeout and -entitlement-ttl must be positive")
		return 2
	}
	if cfg.maxConns <= 0 || cfg.maxConnsPerAddr <= 0 || cfg.idleTimeout <= 0 {
		fmt.Fprintln(stderr, "attesta-server: -max-conns, -max-conns-per-address and -idle-timeout must be positive")
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.String("attesta-server"))
		return 0
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "attesta-server: %v\n", err)
		return 2
	}

	switch rest := fs.Args(); {
	case len(rest) == 0:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := serve(ctx, stop, cfg, stdout, logger); err != nil {
			logger.Error("attesta-server failed", "err", err)
			return 1
		}
		logger.Info("attesta-server stopped")
		return 0
	case rest[0] == "app":
		return appCommand(context.Background(), cfg, rest[1:], stdout, stderr)
	case rest[0] == "instance" || rest[0] == "entitlement" || rest[0] == "service-key":
		return instanceCommand(context.Background(), cfg, rest[0], rest[1:], stdin, stdout, stderr)
	case rest[0] == "help":
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	default:
		fmt.Fprintf(stderr, "attesta-server: unknown command %q (see attesta-server -h)\n", rest[0])
		return 2
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad -log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad -log-format %q: want text or json", format)
}

// parseInterleaved parses fs from args and returns the positional
// arguments, letting flags come after them too ("app create NAME -data D").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// exitUsage is the exit status for a flag parsing error: 0 for -h, else 2
// (the flag package has already printed the message and the usage).
func exitUsage(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
