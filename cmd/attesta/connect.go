package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/attesta-go/attesta/transport"
)

// appTokenEnv is the environment variable connect reads the application
// token from when no flag gives it.
const appTokenEnv = "ATTESTA_APP_TOKEN"

var connectCmd = &command{
	name:    "connect",
	summary: "register or log in with a key; print the session as JSON",
	usage: `Usage: attesta connect [-server URL] (-app-token-file F | -app-token TOKEN) -key FILE

Proves to the server that you hold the private key in FILE: asks for a
challenge (POST /v1/auth_key_request with the packed public key), decrypts
the token with the private key, and sends it back (POST /v1/auth_key_token).
A new key registers a new party; a known key logs in to its party. Prints
one JSON object on stdout:
  {"is_new":true,"party_id":"…","session":"ats_…"}
The session is a bearer credential (Authorization: Bearer …): keep it
secret.

The application token comes from -app-token-file, else -app-token, else
the ` + appTokenEnv + ` environment variable. Prefer the file or the
variable: command-line arguments are visible to every user of the machine
(ps, /proc/PID/cmdline).

When the server refuses, prints the problem's code and title on stderr,
e.g. "attesta: key_banned: …", and exits 1.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var c connectConfig
		fs.StringVar(&c.server, "server", "http://127.0.0.1:8700", "server base `URL`")
		fs.StringVar(&c.tokenFile, "app-token-file", "", "read the application token from `FILE`")
		fs.StringVar(&c.token, "app-token", "", "application `TOKEN` (visible in ps; prefer -app-token-file)")
		fs.StringVar(&c.keyFile, "key", "", "private key `FILE` (required)")
		fs.BoolVar(&c.cbor, "cbor", false, "send and receive CBOR instead of JSON")
		fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "give up after this long")
		return func(ctx context.Context, e *env) int { return connect(ctx, e, c) }
	},
}

type connectConfig struct {
	server, tokenFile, token, keyFile string
	cbor                              bool
	timeout                           time.Duration
}

func connect(ctx context.Context, e *env, c connectConfig) int {
	if c.keyFile == "" {
		fmt.Fprintln(e.stderr, "attesta connect: -key FILE is required")
		return 2
	}
	token, err := appToken(c)
	if err != nil {
		fmt.Fprintf(e.stderr, "attesta connect: %v\n", err)
		return 2
	}
	key, err := readPrivateKey(c.keyFile)
	if err != nil {
		return e.errorf("%s: %v", c.keyFile, err)
	}
	var opts []transport.ClientOption
	if c.cbor {
		opts = append(opts, transport.WithCBOR())
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	r, err := transport.NewClient(c.server, opts...).Connect(ctx, key, token)
	if err != nil {
		return e.errorf("%s", describe(err))
	}
	return printJSON(e, struct {
		IsNew   bool   `json:"is_new"`
		PartyID string `json:"party_id"`
		Session string `json:"session"`
	}{r.IsNew, r.PartyID, r.Session})
}

// appToken finds the application token: -app-token-file, -app-token, then
// the environment.
func appToken(c connectConfig) (string, error) {
	switch {
	case c.tokenFile != "":
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	case c.token != "":
		return c.token, nil
	case os.Getenv(appTokenEnv) != "":
		return strings.TrimSpace(os.Getenv(appTokenEnv)), nil
	}
	return "", errors.New("no application token: give -app-token-file FILE, -app-token TOKEN or $" + appTokenEnv)
}

// describe renders an error for a person: a problem answer as its code and
// title (the code is what scripts match on), anything else as is.
func describe(err error) string {
	var p *transport.Problem
	if !errors.As(err, &p) {
		return err.Error()
	}
	s := fmt.Sprintf("%s: %s", p.Code, p.Title)
	if p.Detail != "" {
		s += " (" + p.Detail + ")"
	}
	if p.RetryAfter > 0 {
		s += fmt.Sprintf("; retry after %v", p.RetryAfter)
	}
	return s
}
