package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
	fs.StringVar(&s.url, "server", "http://127.0.0.1:8700", "server base `URL`")
	fs.BoolVar(&s.cbor, "cbor", false, "send and receive CBOR instead of JSON")
	fs.DurationVar(&s.timeout, "timeout", timeout, "give up after this long")
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

// read finds the session: -session-file, -session, then the environment.
func (s *sessionFlags) read() (string, error) {
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
		text := strings.TrimSpace(string(b))
		if !strings.HasPrefix(text, "{") {
			return text, nil
		}
		var v struct {
			Session string `json:"session"`
		}
		if err := json.Unmarshal([]byte(text), &v); err != nil || v.Session == "" {
			return "", fmt.Errorf("%s: a JSON object without a \"session\" string", s.file)
		}
		return v.Session, nil
	case s.session != "":
		return s.session, nil
	case os.Getenv(sessionEnv) != "":
		return strings.TrimSpace(os.Getenv(sessionEnv)), nil
	}
	return "", errors.New("no session: give -session-file FILE, -session SESSION or $" + sessionEnv + " (attesta connect makes one)")
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
