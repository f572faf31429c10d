package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The commands of an application instance (keypeer's flow): connect
// -instance registers it, "instance token" prints its TOKEN, "service-key
// get" fetches one of its application's service keys and decrypts it
// with the instance's own key.

var instanceCmd = &command{
	name:    "instance",
	summary: "an application instance's TOKEN (connect with -instance first)",
	sub:     []*command{instanceTokenCmd},
}

var instanceTokenCmd = &command{
	name:    "token",
	group:   "instance",
	summary: "print the instance's TOKEN as JSON",
	usage: `Usage: attesta instance token [-server URL] (-session-file F | -session S)

Prints the TOKEN of the session's application instance (GET
/v1/instance/token) as one JSON object on stdout:
  {"token":"APP:…"}
The TOKEN is the server's signature over the application and the party:
put it on the payment that entitles this instance to its application's
service keys. It is not secret. The session must be one of an instance
(attesta connect -instance), else not_instance.

` + sessionUsage,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var server serverFlags
		var session sessionFlags
		server.register(fs, 30*time.Second)
		session.register(fs)
		return func(ctx context.Context, e *env) int {
			if err := checkServer(server.url); err != nil {
				return e.fail(err)
			}
			s, err := session.read()
			if err != nil {
				return e.fail(err)
			}
			ctx, cancel := context.WithTimeout(ctx, server.timeout)
			defer cancel()
			tok, err := server.client().InstanceToken(ctx, s)
			if err != nil {
				return e.errorf("%s", describe(err))
			}
			return printJSON(e, struct {
				Token string `json:"token"`
			}{tok.String()})
		}
	},
}

var serviceKeyCmd = &command{
	name:    "service-key",
	summary: "fetch a service key of the instance's application, decrypted",
	sub:     []*command{serviceKeyGetCmd},
}

var serviceKeyGetCmd = &command{
	name:    "get",
	group:   "service-key",
	summary: "fetch and decrypt the application's key for a provider",
	usage: `Usage: attesta service-key get [-server URL] (-session-file F | -session S) -provider NAME -key FILE [-out FILE]

Fetches the application's current service key for the provider (GET
/v1/service_keys/NAME). The server sends it encrypted to the key the
session connected with, which only the private key in FILE opens; the
value never travels in clear. Prints the value on stdout, or, with -out,
writes it to FILE (replaced whole, mode 0600) and prints nothing there.
The version goes to stderr: a rotation is a new version.

The session must be an instance's (attesta connect -instance) whose TOKEN
is entitled (not_entitled otherwise, for any provider), and -key the
private key it connected with.

` + sessionUsage,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var (
			server                 serverFlags
			session                sessionFlags
			provider, keyFile, out string
		)
		server.register(fs, 30*time.Second)
		session.register(fs)
		fs.StringVar(&provider, "provider", "", "the provider `NAME` (required)")
		fs.StringVar(&keyFile, "key", "", "the private key `FILE` the session connected with (required)")
		fs.StringVar(&out, "out", "", "write the value to `FILE` (mode 0600) instead of stdout")
		return func(ctx context.Context, e *env) int {
			switch {
			case provider == "":
				return e.usagef("-provider NAME is required")
			case keyFile == "":
				return e.usagef("-key FILE is required")
			}
			if err := checkServer(server.url); err != nil {
				return e.fail(err)
			}
			s, err := session.read()
			if err != nil {
				return e.fail(err)
			}
			key, err := readPrivateKey(keyFile)
			if err != nil {
				return e.errorf("%v", err)
			}
			ctx, cancel := context.WithTimeout(ctx, server.timeout)
			defer cancel()
			value, version, err := server.client().ServiceKey(ctx, s, provider, key)
			if err != nil {
				return e.errorf("%s", describe(err))
			}
			defer clear(value)
			if out != "" {
				if err := writePrivateFile(out, value); err != nil {
					return e.errorf("%v", err)
				}
				fmt.Fprintf(e.stderr, "attesta: wrote the %s key, version %d, to %s (mode 0600)\n", provider, version, out)
				return 0
			}
			fmt.Fprintf(e.stderr, "attesta: the %s key, version %d\n", provider, version)
			e.stdout.Write(append(value, '\n'))
			return 0
		}
	},
}

// writePrivateFile replaces path by a file of mode 0600 holding data: a
// temporary file of mode 0600 in the same directory, synced, renamed over
// path, so that path is never readable by others nor half written.
func writePrivateFile(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
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
	return os.Rename(tmp, path)
}
