package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/attesta-go/attesta/transport"
)

// appTokenEnv is the environment variable connect reads the application
// token from when no flag gives it.
const appTokenEnv = "ATTESTA_APP_TOKEN"

var connectCmd = &command{
	name:    "connect",
	summary: "register or log in with a key; print the session as JSON",
	usage: `Usage: attesta connect [-server URL] (-app-token-file F | -app-token TOKEN) -key FILE [-instance]

Proves to the server that you hold the private key in FILE: asks for a
challenge (POST /v1/auth_key_request with the packed public key), decrypts
the token with the private key, and sends it back (POST /v1/auth_key_token).
A new key registers a new party; a known key logs in to its party. Prints
one JSON object on stdout:
  {"is_new":true,"party_id":"…","session":"ats_…"}
The session is a bearer credential (Authorization: Bearer …): keep it
secret.

With -instance, the party is also registered as an instance of the
application (POST /v1/instance, with the public key it connected with,
to which the server encrypts its application's service keys), and the
object has the instance's TOKEN too: {…,"token":"APP:…"}. Registering
again changes nothing; run it at every start of the instance.

The application token comes from -app-token-file, else -app-token, else
the ` + appTokenEnv + ` environment variable. Prefer the file or the
variable: command-line arguments are visible to every user of the machine
(ps, /proc/PID/cmdline).

When the server refuses, prints the problem's code and title on stderr,
e.g. "attesta: key_banned: …", and exits 1.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var c connectConfig
		c.server.register(fs, 30*time.Second)
		c.token.register(fs)
		fs.StringVar(&c.keyFile, "key", "", "private key `FILE` (required), as attesta keygen writes it")
		fs.BoolVar(&c.instance, "instance", false, "connect as an instance of the application: register, and print its TOKEN")
		return func(ctx context.Context, e *env) int { return connect(ctx, e, c) }
	},
}

type connectConfig struct {
	server   serverFlags
	token    appTokenFlags
	keyFile  string
	instance bool
}

func connect(ctx context.Context, e *env, c connectConfig) int {
	if c.keyFile == "" {
		return e.usagef("-key FILE is required")
	}
	if err := checkServer(c.server.url); err != nil {
		return e.fail(err)
	}
	token, err := c.token.read()
	if err != nil {
		return e.fail(err)
	}
	key, err := readPrivateKey(c.keyFile)
	if err != nil {
		return e.errorf("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.server.timeout)
	defer cancel()
	client := c.server.client()
	r, err := client.Connect(ctx, key, token)
	if err != nil {
		return e.errorf("%s", describe(err))
	}
	out := struct {
		IsNew   bool   `json:"is_new"`
		PartyID string `json:"party_id"`
		Session string `json:"session"`
		Token   string `json:"token,omitempty"`
	}{r.IsNew, r.PartyID, r.Session, ""}
	if c.instance {
		tok, err := client.RegisterInstance(ctx, r.Session, key.Public())
		if err != nil {
			return e.errorf("registering the instance: %s", describe(err))
		}
		out.Token = tok.String()
	}
	return printJSON(e, out)
}

// describe renders an error for a person: a problem answer as its code and
// title (the code is what scripts match on), a refused connection with the
// question to ask, anything else as is.
func describe(err error) string {
	var p *transport.Problem
	if !errors.As(err, &p) {
		s := err.Error()
		var ue *url.Error
		if errors.Is(err, syscall.ECONNREFUSED) && errors.As(err, &ue) {
			base := ue.URL
			if i := strings.Index(base, "/v1/"); i >= 0 {
				base = base[:i]
			} else if i := strings.Index(base, "/healthz"); i >= 0 {
				base = base[:i]
			}
			s += "; is attesta-server running at " + base + "?"
		}
		return s
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
