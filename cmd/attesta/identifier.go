package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

var identifierCmd = &command{
	name:    "identifier",
	summary: "add, confirm or remove a login identifier (nickname, email, phone)",
	sub:     []*command{identifierAddCmd, identifierConfirmCmd, identifierRemoveCmd},
}

const identifierKinds = `KIND is nickname, email or phone. The server normalises the value: a
nickname is trimmed, its inner spaces collapsed and lower-cased (4 to 64
characters); an email lower-cased; a phone number reduced to + and
digits (E.164). It keeps only a keyed hash of it, and a hint for display
(GET /v1/party).
`

var identifierAddCmd = &command{
	name:    "add",
	group:   "identifier",
	summary: "add a login identifier to the session's party",
	usage: `Usage: attesta identifier add [-server URL] (-session-file F | -session S) -kind KIND -value VALUE

Adds a login identifier to the party the session belongs to, so that a
device with no key can log in with it and the password (attesta login).
Prints {"status":"active"} or {"status":"pending"}:
  a nickname is active at once if no other party holds it;
  an email or a phone number is pending: the server sends it a 6-digit
  code (the demo server writes it to DATA/outbox.jsonl), and
  "attesta identifier confirm" with that code makes it active.

` + identifierKinds + "\n" + sessionUsage + `
When the server refuses, prints the problem's code and title on stderr
(identifier_taken, too_many_identifiers, bad_identifier, …) and exits 1.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		c := identifierFlags(fs, false)
		return func(ctx context.Context, e *env) int { return identifier(ctx, e, "add", c) }
	},
}

var identifierConfirmCmd = &command{
	name:    "confirm",
	group:   "identifier",
	summary: "confirm a pending email or phone with the code sent to it",
	usage: `Usage: attesta identifier confirm [-server URL] (-session-file F | -session S) -kind email|phone -value VALUE -code CODE

Confirms a pending email or phone number with the code the server sent
to it, which makes it an active login identifier. Prints
{"status":"active"}. Five wrong codes void the pending verification, and
so does its expiry (10 minutes): then add it again for a new code.

KIND is email or phone: a nickname needs no code, it is active as soon as
it is added. VALUE is the email or phone number as given to "identifier
add" (the server normalises both the same way).

` + sessionUsage + `
When the server refuses, prints the problem's code and title on stderr
(wrong_code, code_expired, code_tries_exhausted, code_unknown,
identifier_taken, …) and exits 1.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		c := identifierFlags(fs, true)
		return func(ctx context.Context, e *env) int { return identifier(ctx, e, "confirm", c) }
	},
}

var identifierRemoveCmd = &command{
	name:    "remove",
	group:   "identifier",
	summary: "remove one of the session party's login identifiers",
	usage: `Usage: attesta identifier remove [-server URL] (-session-file F | -session S) -kind KIND -value VALUE

Removes a login identifier, active or pending, from the session's party.
Prints {"status":"removed"}. A removed nickname stays reserved to the
party for a while (30 days by default) before another party may take
it. The registry is kept: without an identifier it cannot be reached by
login, but it is not lost.

` + identifierKinds + "\n" + sessionUsage + `
When the server refuses, prints the problem's code and title on stderr
(identifier_not_found, …) and exits 1.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		c := identifierFlags(fs, false)
		return func(ctx context.Context, e *env) int { return identifier(ctx, e, "remove", c) }
	},
}

type identifierConfig struct {
	server      serverFlags
	session     sessionFlags
	kind, value string
	code        string
}

func identifierFlags(fs *flag.FlagSet, confirm bool) *identifierConfig {
	c := &identifierConfig{}
	c.server.register(fs, 30*time.Second)
	c.session.register(fs)
	if confirm {
		fs.StringVar(&c.kind, "kind", "", "identifier `KIND`: email or phone (required)")
		fs.StringVar(&c.value, "value", "", "the email or phone number, the `VALUE` given to identifier add (required)")
		fs.StringVar(&c.code, "code", "", "the `CODE` sent to the email or phone (required)")
	} else {
		fs.StringVar(&c.kind, "kind", "", "identifier `KIND`: nickname, email or phone (required)")
		fs.StringVar(&c.value, "value", "", "the identifier's `VALUE` (required)")
	}
	return c
}

func identifier(ctx context.Context, e *env, verb string, c *identifierConfig) int {
	kind, err := identifierKind(c.kind)
	if err != nil {
		return e.usagef("%v", err)
	}
	switch {
	case verb == "confirm" && kind == attesta.Nickname:
		return e.usagef("-kind nickname: a nickname needs no confirmation, it is active once added; confirm takes -kind email or phone")
	case c.value == "":
		return e.usagef("-value is required")
	case verb == "confirm" && c.code == "":
		return e.usagef("-code is required (the code sent to the %s)", kind)
	}
	if err := checkServer(c.server.url); err != nil {
		return e.fail(err)
	}
	session, err := c.session.read()
	if err != nil {
		return e.fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.server.timeout)
	defer cancel()
	client := c.server.client()
	var status attesta.IdentifierStatus
	switch verb {
	case "add":
		status, err = client.AddIdentifier(ctx, session, kind, c.value)
		if err == nil && status == attesta.StatusPending {
			fmt.Fprintf(e.stderr, "a code was sent to the %s; confirm it with:\n  %s\n", kind, confirmHint(c, kind))
		}
	case "confirm":
		err = client.ConfirmIdentifier(ctx, session, kind, c.value, c.code)
		status = attesta.StatusActive
	case "remove":
		err = client.RemoveIdentifier(ctx, session, kind, c.value)
		status = "removed"
	}
	if err != nil {
		return e.errorf("%s", describe(err))
	}
	return printJSON(e, struct {
		Status attesta.IdentifierStatus `json:"status"`
	}{status})
}

// confirmHint is the "identifier confirm" command that goes with an add:
// the same server and session source, the same kind and value.
func confirmHint(c *identifierConfig, kind attesta.IdentifierKind) string {
	args := []string{"attesta identifier confirm"}
	if c.server.url != defaultServer {
		args = append(args, "-server "+shellQuote(c.server.url))
	}
	switch {
	case c.session.file != "":
		args = append(args, "-session-file "+shellQuote(c.session.file))
	case c.session.session != "":
		args = append(args, "-session …") // not the session itself: it is a credential
	}
	args = append(args, "-kind "+string(kind), "-value "+shellQuote(c.value), "-code CODE")
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell if it holds anything but letters,
// digits and @%+=:,./-_.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
