package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/attesta-go/attesta/transport"
)

var loginCmd = &command{
	name:    "login",
	summary: "log in with a login name and a password; recover the private key into a file",
	usage: `Usage: attesta login [-server URL] (-app-token-file F | -app-token TOKEN) -login NAME
                     [-password-file F] -out FILE

Logs in on a device that has no key: fetches the registry of the party
that holds the login identifier NAME (stored by "attesta registry
push"), derives its key from the password (the KDF's parameters come
with the block; a progress line on stderr shows it running), opens it,
and connects with the first private key it holds, as "attesta connect"
does. Prints one JSON object on stdout, as connect does:
  {"is_new":false,"party_id":"…","session":"ats_…"}
and writes the recovered private key to FILE as PEM, mode 0600. A
registry that holds more than one key gives FILE (the key that
connected), then FILE.1, FILE.2, … in the registry's order. No file is
ever overwritten: an existing FILE is an error before the password is
asked, an existing FILE.1, … once the registry is open; on any failure
the files this command made are removed.

NAME is a nickname, an email (with '@') or a phone number (starting with
'+'). The server answers a login no party holds with a decoy that no
password opens, so a wrong password and an unknown login give the same
error, by design.

The application token comes from -app-token-file, else -app-token, else
the ` + appTokenEnv + ` environment variable.

` + passwordUsage + `
When the server refuses, prints the problem's code and title on stderr
(rate_limited, bad_app_token, …) and exits 1; a wrong password exits 1
with a message that says so.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var c loginConfig
		c.server.register(fs, kdfTimeout)
		c.token.register(fs)
		fs.StringVar(&c.login, "login", "", "login identifier `NAME`: a nickname, an email or a phone number (required)")
		fs.StringVar(&c.passwordFile, "password-file", "", "read the password from the first line of `FILE`")
		fs.StringVar(&c.out, "out", "", "write the recovered private key to `FILE`, which must not exist (required)")
		return func(ctx context.Context, e *env) int { return login(ctx, e, c) }
	},
}

type loginConfig struct {
	server              serverFlags
	token               appTokenFlags
	login, passwordFile string
	out                 string
}

func login(ctx context.Context, e *env, c loginConfig) (code int) {
	switch {
	case c.login == "":
		return e.usagef("-login NAME is required")
	case c.out == "":
		return e.usagef("-out FILE is required")
	}
	if err := checkServer(c.server.url); err != nil {
		return e.fail(err)
	}
	token, err := c.token.read()
	if err != nil {
		return e.fail(err)
	}

	// Make FILE now, before the password and the KDF: an existing file is
	// refused at once, and no other process can slip one in.
	keyFiles := []*os.File{}
	defer func() {
		if code != 0 {
			for _, f := range keyFiles {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	create := func(path string) error {
		f, err := createKeyFile(path)
		if err != nil {
			return err
		}
		keyFiles = append(keyFiles, f)
		return nil
	}
	if err := create(c.out); err != nil {
		return e.errorf("%v", err)
	}

	password, err := readPassword(ctx, e, c.passwordFile, "Password", false)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer clear(password)

	ctx, cancel := context.WithTimeout(ctx, c.server.timeout)
	defer cancel()
	client := c.server.client()
	l, err := withProgress(ctx, e.stderr, "fetching the registry, deriving its key from the password…",
		func() (*transport.Login, error) { return client.LoginWithPassword(ctx, token, c.login, password) })
	if err != nil {
		return e.errorf("%s", describeOpen(err))
	}
	fmt.Fprintf(e.stderr, "opened the registry in %v (the password KDF)\n", l.KDFTime.Round(time.Millisecond))
	if l.Session.PartyID != l.Registry.PartyID {
		fmt.Fprintf(e.stderr, "warning: the registry names party %s, but its key connected to party %s (is_new: %t)\n",
			l.Registry.PartyID, l.Session.PartyID, l.Session.IsNew)
	}

	for i := 1; i < len(l.Keys); i++ {
		if err := create(fmt.Sprintf("%s.%d", c.out, i)); err != nil {
			return e.errorf("%v", err)
		}
	}
	for i, k := range l.Keys {
		f := keyFiles[i]
		pem := k.MarshalPEM()
		_, err := f.Write(pem)
		clear(pem)
		if err == nil {
			err = f.Sync()
		}
		if err == nil {
			err = f.Close()
		}
		if err != nil {
			return e.errorf("%v", err)
		}
		fmt.Fprintf(e.stderr, "wrote the private key %s (%s) to %s (mode 0600); keep it secret\n", k.Public().ID(), k.Type(), f.Name())
	}
	return printJSON(e, struct {
		IsNew   bool   `json:"is_new"`
		PartyID string `json:"party_id"`
		Session string `json:"session"`
	}{l.Session.IsNew, l.Session.PartyID, l.Session.Session})
}
