package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

var registryCmd = &command{
	name:    "registry",
	summary: "store your key on the server sealed under a password, or inspect a stored one",
	sub:     []*command{registryPushCmd, registryPullCmd},
}

// kdfTimeout is the default -timeout of the commands that run the
// password KDF: a derivation takes a fraction of a second with the
// default parameters, seconds with calibrated ones, and up to about a
// minute at the ceilings a server may ask a device to go to.
const kdfTimeout = 3 * time.Minute

// maxPushAttempts bounds the read-merge-put rounds of registry push when
// other devices push at the same time.
const maxPushAttempts = 3

var registryPushCmd = &command{
	name:    "push",
	group:   "registry",
	summary: "seal the key in FILE under a password and store it on the server",
	usage: `Usage: attesta registry push [-server URL] (-session-file F | -session S) -key FILE
                             [-password-file F] [-kdf default|calibrate [-calibrate D]] [-replace]

Stores the session party's registry on the server: its party id and
private keys, sealed under a key derived from a password, so that a
device with no key can log in with a login identifier and the password
(attesta login). The server never sees the password or the keys.

The key in FILE must be one of the party's keys. If the party has a
registry on the server already, it is opened with the password and FILE's
key is added to its keys (a key already there is not added twice; the
other keys and the application data are kept); otherwise a new registry
holds FILE's key alone. If another device stores the registry between
the read and the write (version_conflict), push reads it again, merges
and retries, up to ` + fmt.Sprint(maxPushAttempts) + ` times. A registry on the server that does not
open with the password is not overwritten unless -replace is given (its
keys other than FILE's are then no longer recoverable by login).

The KDF is Argon2id. -kdf default uses m = 64 MiB, t = 3, p = 4
(RFC 9106's second recommendation); -kdf calibrate measures this machine
and picks parameters that take about -calibrate (never below the
default). A progress line on stderr shows the KDF while it runs.

Prints {"version":N}, the registry's new version.

` + passwordUsage + `On a terminal the password is asked twice.

` + sessionUsage + `
When the server refuses, prints the problem's code and title on stderr
(kdf_too_weak, version_conflict, unauthorized, …) and exits 1.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var c pushConfig
		c.server.register(fs, kdfTimeout)
		c.session.register(fs)
		fs.StringVar(&c.keyFile, "key", "", "private key `FILE` of the party (required)")
		fs.StringVar(&c.passwordFile, "password-file", "", "read the password from the first line of `FILE`")
		fs.StringVar(&c.kdf, "kdf", "default", "KDF parameters: `default` or calibrate")
		fs.DurationVar(&c.calibrate, "calibrate", time.Second, "with -kdf calibrate, the derivation time to aim for")
		fs.BoolVar(&c.replace, "replace", false, "replace a registry that does not open with the password")
		return func(ctx context.Context, e *env) int { return push(ctx, e, c) }
	},
}

type pushConfig struct {
	server                serverFlags
	session               sessionFlags
	keyFile, passwordFile string
	kdf                   string
	calibrate             time.Duration
	replace               bool
}

func push(ctx context.Context, e *env, c pushConfig) int {
	switch {
	case c.keyFile == "":
		return e.usagef("-key FILE is required")
	case c.kdf != "default" && c.kdf != "calibrate":
		return e.usagef("unknown -kdf %q: want default or calibrate", c.kdf)
	case c.kdf == "calibrate" && (c.calibrate <= 0 || c.calibrate > time.Minute):
		return e.usagef("-calibrate must be between 0 and 1m")
	}
	if err := checkServer(c.server.url); err != nil {
		return e.fail(err)
	}
	session, err := c.session.read()
	if err != nil {
		return e.fail(err)
	}
	key, err := readPrivateKey(c.keyFile)
	if err != nil {
		return e.errorf("%v", err)
	}
	password, err := readPassword(ctx, e, c.passwordFile, "Registry password", true)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer clear(password)

	ctx, cancel := context.WithTimeout(ctx, c.server.timeout)
	defer cancel()
	client := c.server.client()
	party, err := client.Party(ctx, session)
	if err != nil {
		return e.errorf("%s", describe(err))
	}
	keyID := key.Public().ID().String()
	if !slices.ContainsFunc(party.Keys, func(k transport.PartyKey) bool { return k.KeyID == keyID }) {
		return e.errorf("the key in %s (id %s) is not a key of the session's party %s: connect with it first", c.keyFile, keyID, party.PartyID)
	}

	params := kdf.Default()
	switch {
	case e.sealKDF != nil:
		params = e.sealKDF()
	case c.kdf == "calibrate":
		params, err = withProgress(ctx, e.stderr, fmt.Sprintf("calibrating the KDF to about %v on this machine…", c.calibrate),
			func() (kdf.Params, error) { return kdf.Calibrate(ctx, c.calibrate) })
		if err != nil {
			return e.errorf("calibrating the KDF: %v", err)
		}
	}

	packed := key.Pack()
	defer clear(packed)
	for attempt := 0; ; attempt++ {
		pt, version, err := currentRegistry(ctx, e, client, session, party.PartyID, password, c.replace)
		if err != nil {
			return e.errorf("%s", describe(err))
		}
		if !slices.ContainsFunc(pt.Keys, func(k []byte) bool { return bytes.Equal(k, packed) }) {
			pt.Keys = append(pt.Keys, packed)
		}
		p := params.WithNewSalt()
		block, err := withProgress(ctx, e.stderr, fmt.Sprintf("sealing the registry with %v…", p),
			func() ([]byte, error) { return registry.Seal(ctx, pt, password, p) })
		if err != nil {
			return e.errorf("sealing the registry: %v", err)
		}
		if e.beforePut != nil {
			e.beforePut(attempt)
		}
		v, err := client.PutRegistry(ctx, session, block, version)
		if errors.Is(err, attesta.ErrVersionConflict) && attempt+1 < maxPushAttempts {
			fmt.Fprintf(e.stderr, "the registry changed on the server since version %d; reading it again to merge\n", version)
			continue
		}
		if err != nil {
			return e.errorf("%s", describe(err))
		}
		fmt.Fprintf(e.stderr, "stored the registry of party %s with %d key(s), %d bytes\n", party.PartyID, len(pt.Keys), len(block))
		return printJSON(e, struct {
			Version uint64 `json:"version"`
		}{v})
	}
}

// currentRegistry reads the party's registry on the server and opens it
// with password, returning its plaintext and version; a party without a
// registry gets a new plaintext and version 0. A registry that does not
// open with password is an error unless replace, which starts a new
// plaintext over its version.
func currentRegistry(ctx context.Context, e *env, client *transport.Client, session, partyID string, password []byte, replace bool) (registry.Plaintext, uint64, error) {
	fresh := registry.Plaintext{PartyID: partyID, Created: time.Now()}
	own, err := client.OwnRegistry(ctx, session)
	if errors.Is(err, attesta.ErrNotFound) {
		return fresh, 0, nil
	} else if err != nil {
		return registry.Plaintext{}, 0, err
	}
	h, err := registry.Inspect(own.Registry)
	if err != nil {
		return registry.Plaintext{}, 0, fmt.Errorf("the registry on the server (version %d): %w", own.Version, err)
	}
	pt, err := withProgress(ctx, e.stderr, fmt.Sprintf("opening the server's registry with %v…", h.KDF),
		func() (registry.Plaintext, error) {
			return registry.Open(ctx, own.Registry, password, kdf.DefaultCeilings())
		})
	switch {
	case errors.Is(err, registry.ErrWrongPassword) && replace:
		fmt.Fprintf(e.stderr, "the registry on the server (version %d) does not open with this password: replacing it (-replace)\n", own.Version)
		return fresh, own.Version, nil
	case errors.Is(err, registry.ErrWrongPassword):
		return registry.Plaintext{}, 0, fmt.Errorf("the registry on the server (version %d) does not open with this password; "+
			"to replace it (its keys other than this one will no longer be recoverable by login), run again with -replace", own.Version)
	case err != nil:
		return registry.Plaintext{}, 0, fmt.Errorf("the registry on the server (version %d): %w", own.Version, err)
	case pt.PartyID != partyID:
		return registry.Plaintext{}, 0, fmt.Errorf("the registry on the server names party %s, not the session's party %s", pt.PartyID, partyID)
	}
	if pt.Created.IsZero() {
		pt.Created = fresh.Created
	}
	return pt, own.Version, nil
}

var registryPullCmd = &command{
	name:    "pull",
	group:   "registry",
	summary: "fetch the registry of a login and show what it holds (never the keys)",
	usage: `Usage: attesta registry pull [-server URL] -login NAME [-password-file F | -header]

Fetches the registry of the party that holds the login identifier NAME
(GET /v1/registry?login=NAME, no session needed), opens it with the
password and prints one JSON object: the block's size, format version
and KDF, then what it holds: the party id, when it was made, the id and
type of each private key (never the key itself), and the names of the
application data entries. With -header, prints the block's size, format
and KDF only, and asks no password. (The registry's version is not
shown: a fetch by login always says 1, since a real count of updates
would tell a registry from a decoy.)

NAME is a nickname, an email (with '@') or a phone number (starting with
'+'). The server answers a login no party holds with a decoy, a block
shaped like a real one that no password opens: so a wrong password and
an unknown login give the same error, by design.

` + passwordUsage,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		var c pullConfig
		c.server.register(fs, kdfTimeout)
		fs.StringVar(&c.login, "login", "", "login identifier `NAME` (required)")
		fs.StringVar(&c.passwordFile, "password-file", "", "read the password from the first line of `FILE`")
		fs.BoolVar(&c.header, "header", false, "show the block's header only; ask no password")
		return func(ctx context.Context, e *env) int { return pull(ctx, e, c) }
	},
}

type pullConfig struct {
	server              serverFlags
	login, passwordFile string
	header              bool
}

// pulledKey is what pull shows of a private key.
type pulledKey struct {
	KeyID string `json:"key_id"`
	Type  string `json:"type"`
}

func pull(ctx context.Context, e *env, c pullConfig) int {
	if c.login == "" {
		return e.usagef("-login NAME is required")
	}
	if err := checkServer(c.server.url); err != nil {
		return e.fail(err)
	}
	var password []byte
	if !c.header {
		var err error
		if password, err = readPassword(ctx, e, c.passwordFile, "Password", false); err != nil {
			return e.errorf("%v", err)
		}
		defer clear(password)
	}
	ctx, cancel := context.WithTimeout(ctx, c.server.timeout)
	defer cancel()
	reg, err := c.server.client().GetRegistry(ctx, c.login)
	if err != nil {
		return e.errorf("%s", describe(err))
	}
	h, err := registry.Inspect(reg.Registry)
	if err != nil {
		return e.errorf("the server's registry block: %v", err)
	}
	out := struct {
		Size    int         `json:"size"`
		Format  int         `json:"format"`
		KDF     string      `json:"kdf"`
		PartyID string      `json:"party_id,omitempty"`
		Created *time.Time  `json:"created,omitempty"`
		Keys    []pulledKey `json:"keys,omitempty"`
		AppData []string    `json:"app_data,omitempty"`
	}{Size: len(reg.Registry), Format: h.Version, KDF: h.KDF.String()}
	if c.header {
		return printJSON(e, out)
	}
	pt, err := withProgress(ctx, e.stderr, fmt.Sprintf("opening the registry with %v…", h.KDF),
		func() (registry.Plaintext, error) {
			return registry.Open(ctx, reg.Registry, password, kdf.DefaultCeilings())
		})
	if err != nil {
		return e.errorf("%s", describeOpen(err))
	}
	out.PartyID = pt.PartyID
	if !pt.Created.IsZero() {
		out.Created = &pt.Created
	}
	out.Keys = make([]pulledKey, 0, len(pt.Keys))
	for i, packed := range pt.Keys {
		k, err := attesta.ParsePrivateKey(packed)
		if err != nil {
			return e.errorf("key %d of the registry: %v", i+1, err)
		}
		out.Keys = append(out.Keys, pulledKey{KeyID: k.Public().ID().String(), Type: k.Type().String()})
	}
	for name := range pt.AppData {
		out.AppData = append(out.AppData, name)
	}
	slices.Sort(out.AppData)
	return printJSON(e, out)
}

// describeOpen renders an error of opening a registry fetched by login.
func describeOpen(err error) string {
	switch {
	case errors.Is(err, registry.ErrWrongPassword):
		return "wrong password, or no account with that login: the two cannot be told apart " +
			"(the server answers a login it does not know with a decoy that no password opens)"
	case errors.Is(err, kdf.ErrAboveCeiling):
		return fmt.Sprintf("the registry asks for more KDF work than this device allows: %v", err)
	}
	return describe(err)
}
