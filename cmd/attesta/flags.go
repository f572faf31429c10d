package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

// Flags shared by the commands that talk to a server.

// sessionEnv is the environment variable the session is read from when no
// flag gives it.
const sessionEnv = "ATTESTA_SESSION"

// serverFlags say where the server is and how to talk to it.
type serverFlags struct {
	url     string
	cbor    bool
	timeout time.Duration
}

// register defines -server, -cbor and -timeout, the last with a default
// that suits the command.
func (s *serverFlags) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.StringVar(&s.url, "server", defaultServer, "server base `URL`")
	fs.BoolVar(&s.cbor, "cbor", false, "send and receive CBOR instead of JSON")
	fs.DurationVar(&s.timeout, "timeout", timeout, "give up after this long")
}

// defaultServer is -server's default: attesta-server's default -addr.
const defaultServer = "http://127.0.0.1:8700"

// checkServer checks a -server value: an http or https URL with a host,
// such as http://127.0.0.1:8700. It does not connect.
func checkServer(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Opaque != "" {
		return usageError{fmt.Errorf("-server %q: -server needs http://HOST:PORT (or https://…), such as %s", u, defaultServer)}
	}
	return nil
}

func (s *serverFlags) client() *transport.Client {
	var opts []transport.ClientOption
	if s.cbor {
		opts = append(opts, transport.WithCBOR())
	}
	return transport.NewClient(s.url, opts...)
}

// sessionFlags say where the session comes from.
type sessionFlags struct {
	file, session string
}

func (s *sessionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.file, "session-file", "", "read the session from `FILE`: the session, or the JSON that connect and login print")
	fs.StringVar(&s.session, "session", "", "the `SESSION` (visible in ps; prefer -session-file or $"+sessionEnv+")")
}

// sessionUsage is the paragraph of the usage texts on the session.
const sessionUsage = `The session (a bearer credential, from "attesta connect" or "attesta
login") comes from -session-file, else -session, else the ` + sessionEnv + `
environment variable. The file may hold the session alone or the JSON
object connect and login print ({"session":"ats_…",…}), so that
"attesta connect … > session.json" makes one. Prefer the file or the
variable: command-line arguments are visible to every user of the machine.
`

// maxSessionFile bounds what is read of a session file.
const maxSessionFile = 64 << 10

// errNoSession is the usage error of a command that needs a session and
// was given none.
var errNoSession error = usageError{errors.New("no session: give -session-file FILE, -session SESSION or $" + sessionEnv + " (attesta connect makes one)")}

// read finds the session: -session-file, -session, then the environment.
// It returns errNoSession if none is given, and an error that says what
// is wrong if what is given is not a session (checked by its form: a
// key, a token or a file of something else is refused here, before it
// reaches the network).
func (s *sessionFlags) read() (string, error) {
	var session, from string
	switch {
	case s.file != "":
		f, err := os.Open(s.file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSessionFile))
		if err != nil {
			return "", err
		}
		from = s.file
		session = strings.TrimSpace(string(b))
		if strings.HasPrefix(session, "{") {
			var v struct {
				Session string `json:"session"`
			}
			if err := json.Unmarshal([]byte(session), &v); err != nil || v.Session == "" {
				return "", fmt.Errorf("%s is not a session: a JSON object without a \"session\" string (attesta connect -key FILE > %s makes one)", s.file, s.file)
			}
			session = v.Session
		}
	case s.session != "":
		session, from = s.session, "-session"
	case os.Getenv(sessionEnv) != "":
		session, from = strings.TrimSpace(os.Getenv(sessionEnv)), "$"+sessionEnv
	default:
		return "", errNoSession
	}
	if attesta.ParseSession(session) != nil {
		return "", fmt.Errorf("%s is not a session: want %s… or the JSON that attesta connect and attesta login print", from, attesta.SessionPrefix)
	}
	return session, nil
}

// appTokenFlags say where the application token comes from.
type appTokenFlags struct {
	file, token string
}

func (a *appTokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.file, "app-token-file", "", "read the application token from `FILE`")
	fs.StringVar(&a.token, "app-token", "", "application `TOKEN` (visible in ps; prefer -app-token-file or $"+appTokenEnv+")")
}

// errNoAppToken is the usage error of a command that needs an
// application token and was given none.
var errNoAppToken error = usageError{errors.New("no application token: give -app-token-file FILE, -app-token TOKEN or $" + appTokenEnv +
	" (attesta-server writes the demo application's token to DATA/demo-app-token)")}

// read finds the application token: -app-token-file, -app-token, then
// the environment. It returns errNoAppToken if none is given. The token's
// form is left to the server, which answers bad_app_token.
func (a *appTokenFlags) read() (string, error) {
	switch {
	case a.file != "":
		b, err := os.ReadFile(a.file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	case a.token != "":
		return a.token, nil
	case os.Getenv(appTokenEnv) != "":
		return strings.TrimSpace(os.Getenv(appTokenEnv)), nil
	}
	return "", errNoAppToken
}

// identifierKind checks a -kind flag.
func identifierKind(kind string) (attesta.IdentifierKind, error) {
	switch k := attesta.IdentifierKind(kind); k {
	case attesta.Nickname, attesta.Email, attesta.Phone:
		return k, nil
	case "":
		return "", errors.New("-kind is required: nickname, email or phone")
	}
	return "", fmt.Errorf("unknown -kind %q: want nickname, email or phone", kind)
}
