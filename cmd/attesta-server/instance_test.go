package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// attestaServerIn runs the command in-process with stdin.
func attestaServerIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runIO(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// registerInstance connects key to the stopped server's data directory
// through a Service of its own (as a running server would have) and
// registers it as an instance of app; it returns the instance's session
// and TOKEN, and leaves the directory free.
func registerInstance(t *testing.T, dir, appToken string, key *attesta.PrivateKey) (attesta.Session, string) {
	t.Helper()
	ctx := t.Context()
	svc, done := dirService(t, dir)
	defer done()
	req, err := svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
	require.NoError(t, err)
	ct, err := key.DecryptToken(req.EncryptedToken)
	require.NoError(t, err)
	res, err := svc.AuthKeyToken(ctx, ct)
	require.NoError(t, err)
	sess, err := svc.Authenticate(ctx, res.Session)
	require.NoError(t, err)
	tok, err := svc.RegisterInstance(ctx, sess, key.Public().Pack())
	require.NoError(t, err)
	return sess, tok.String()
}

// fetchServiceKey asks the stopped server's store for the instance's
// service key, as GET /v1/service_keys would.
func fetchServiceKey(t *testing.T, dir string, sess attesta.Session, key *attesta.PrivateKey, provider string) (string, uint64, error) {
	t.Helper()
	svc, done := dirService(t, dir)
	defer done()
	k, err := svc.ServiceKey(t.Context(), sess, provider)
	if err != nil {
		return "", 0, err
	}
	v, err := key.DecryptServiceKey(k.Ciphertext)
	require.NoError(t, err)
	return string(v), k.Version, nil
}

// dirService is a Service over a stopped server's data directory, with
// its secret; done closes the store.
func dirService(t *testing.T, dir string) (svc *attesta.Service, done func()) {
	t.Helper()
	st, err := pebblestore.Open(dir)
	require.NoError(t, err)
	secret, err := os.ReadFile(filepath.Join(dir, secretFile))
	require.NoError(t, err)
	svc, err = attesta.New(attesta.Config{Store: st, Secret: secret})
	require.NoError(t, err)
	return svc, func() { st.Close() }
}

// TestInstanceCommands runs the operator's commands on a stopped server's
// data directory: verify, grant, list, revoke a TOKEN; set a service key
// from stdin, rotate it, list names and versions (never values).
func TestInstanceCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, stdout, stderr := attestaServer(t, "app", "create", "keypeer", "-data", dir)
	require.Equal(t, 0, code, stderr)
	appToken := strings.TrimSpace(stdout)
	key := testkeys.Key(t, attesta.X25519, 0)
	sess, token := registerInstance(t, dir, appToken, key)

	code, stdout, stderr = attestaServer(t, "instance", "verify", strings.ToUpper(token), "-data", dir)
	require.Equal(t, 0, code, stderr)
	var inst transport.AdminInstance
	require.NoError(t, json.Unmarshal([]byte(stdout), &inst))
	assert.Equal(t, transport.AdminInstance{Token: token, App: "keypeer", PartyID: sess.PartyID.String()}, inst)
	forged := token[:len(token)-2] + "aa"
	if forged == token {
		forged = token[:len(token)-2] + "bb"
	}
	code, stdout, stderr = attestaServer(t, "instance", "verify", forged, "-data", dir)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "not a TOKEN of this server")

	// The service key, from stdin: refused without one, too long, or to
	// an unknown app; stored sealed; never printed.
	const value = "wk_live_0123456789"
	code, _, stderr = attestaServerIn(t, "", "service-key", "set", "keypeer", "weather", "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "a service key is 1 to 190 bytes")
	code, _, stderr = attestaServerIn(t, strings.Repeat("k", 191), "service-key", "set", "keypeer", "weather", "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "a service key is 1 to 190 bytes")
	code, _, stderr = attestaServerIn(t, value, "service-key", "set", "nope", "weather", "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no such application")
	code, _, stderr = attestaServerIn(t, value, "service-key", "set", "keypeer", "Weather", "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "bad provider name")
	code, stdout, stderr = attestaServerIn(t, value+"\n", "service-key", "set", "keypeer", "weather", "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "stored the service key of \"keypeer\" for \"weather\": version 1\n", stdout)
	assert.NotContains(t, stdout+stderr, value)

	_, _, err := fetchServiceKey(t, dir, sess, key, "weather")
	assert.ErrorIs(t, err, attesta.ErrNotEntitled)
	code, stdout, stderr = attestaServer(t, "entitlement", "grant", token, "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "entitled instance "+sess.PartyID.String()+` of "keypeer"`)
	got, version, err := fetchServiceKey(t, dir, sess, key, "weather")
	require.NoError(t, err)
	assert.Equal(t, value, got, "the final newline is not part of the key")
	assert.Equal(t, uint64(1), version)

	code, stdout, stderr = attestaServerIn(t, value+"-rotated\r\n", "service-key", "set", "-data", dir, "keypeer", "weather")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "version 2")
	got, version, err = fetchServiceKey(t, dir, sess, key, "weather")
	require.NoError(t, err)
	assert.Equal(t, value+"-rotated", got)
	assert.Equal(t, uint64(2), version)
	code, stdout, stderr = attestaServer(t, "service-key", "list", "-data", dir)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2, stdout)
	assert.Equal(t, []string{"APP", "PROVIDER", "VERSION", "UPDATED"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"keypeer", "weather", "2"}, strings.Fields(lines[1])[:3])
	assert.NotContains(t, stdout, value)

	code, stdout, stderr = attestaServer(t, "entitlement", "list", "-data", dir)
	require.Equal(t, 0, code, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2, stdout)
	assert.Equal(t, []string{"keypeer", sess.PartyID.String()}, strings.Fields(lines[1])[:2])
	assert.Equal(t, token, strings.Fields(lines[1])[3])
	code, stdout, _ = attestaServer(t, "entitlement", "list", "other", "-data", dir)
	require.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(stdout, "\n"), "the header only")

	code, stdout, stderr = attestaServer(t, "entitlement", "revoke", token, "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "revoked the entitlement\n", stdout)
	_, _, err = fetchServiceKey(t, dir, sess, key, "weather")
	assert.ErrorIs(t, err, attesta.ErrNotEntitled)
	code, _, stderr = attestaServer(t, "entitlement", "revoke", token, "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "that instance is not entitled")
	code, _, stderr = attestaServer(t, "entitlement", "grant", forged, "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not a TOKEN of this server")
}

func TestInstanceCommandsUsage(t *testing.T) {
	for _, c := range []struct {
		args  []string
		first string
	}{
		{[]string{"instance"}, "attesta-server: instance needs a command: verify"},
		{[]string{"instance", "verify"}, "attesta-server: instance verify takes a TOKEN, not 0 arguments"},
		{[]string{"entitlement"}, "attesta-server: entitlement needs a command: grant, list, revoke"},
		{[]string{"entitlement", "grant", "a", "b"}, "attesta-server: entitlement grant takes a TOKEN, not 2 arguments"},
		{[]string{"entitlement", "list", "a", "b"}, "attesta-server: entitlement list takes at most an APP, not 2 arguments"},
		{[]string{"entitlement", "pay", "x"}, `attesta-server: unknown entitlement command "pay": want grant, list, revoke`},
		{[]string{"service-key", "set", "app"}, "attesta-server: service-key set takes APP and PROVIDER, not 1 arguments"},
		{[]string{"service-key", "list", "x"}, "attesta-server: service-key list takes no argument, not 1 arguments"},
		{[]string{"service-key", "get", "a", "b"}, `attesta-server: unknown service-key command "get": want list, set`},
	} {
		code, stdout, stderr := attestaServer(t, c.args...)
		assert.Equal(t, 2, code, "%q", c.args)
		assert.Empty(t, stdout)
		line, _, _ := strings.Cut(stderr, "\n")
		assert.Equal(t, c.first, line, "%q", c.args)
	}
	code, _, stderr := attestaServer(t, "service-key", "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "never on the command line")
}

// TestInstanceCommandsBinary: the same commands against a running server
// (through its administration socket), then against the stopped one. A
// grant, a rotation and a revocation made through the socket take effect
// at once on the running server, over HTTP.
func TestInstanceCommandsBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: does not build and run the attesta-server binary")
	}
	exe := buildServer(t)
	dir := filepath.Join(t.TempDir(), "data")
	ctx := t.Context()
	srv := startServer(t, exe, dir)
	raw, err := os.ReadFile(filepath.Join(dir, demoTokenFile))
	require.NoError(t, err)
	client := transport.NewClient(srv.url)
	key := testkeys.Key(t, attesta.MLKEM768X25519, 0)
	res, tok, err := client.ConnectInstance(ctx, key, strings.TrimSpace(string(raw)))
	require.NoError(t, err)

	run := func(stdin string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, exe, append(args, "-data", dir)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), stdout.String(), stderr.String()
		}
		require.NoError(t, err)
		return 0, stdout.String(), stderr.String()
	}
	code, _, stderr := run("maps-key-1\n", "service-key", "set", "demo", "maps")
	require.Equal(t, 0, code, stderr)
	_, _, err = client.ServiceKey(ctx, res.Session, "maps", key)
	assert.ErrorIs(t, err, attesta.ErrNotEntitled)
	code, _, stderr = run("", "entitlement", "grant", tok.String())
	require.Equal(t, 0, code, stderr)
	v, version, err := client.ServiceKey(ctx, res.Session, "maps", key)
	require.NoError(t, err, "granted through the socket: at once")
	assert.Equal(t, "maps-key-1", string(v))
	assert.Equal(t, uint64(1), version)
	code, _, stderr = run("maps-key-2", "service-key", "set", "demo", "maps")
	require.Equal(t, 0, code, stderr)
	v, version, err = client.ServiceKey(ctx, res.Session, "maps", key)
	require.NoError(t, err)
	assert.Equal(t, "maps-key-2", string(v))
	assert.Equal(t, uint64(2), version)
	code, stdout, stderr := run("", "instance", "verify", tok.String())
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `"party_id":"`+res.PartyID+`"`)
	code, _, stderr = run("", "entitlement", "revoke", tok.String())
	require.Equal(t, 0, code, stderr)
	_, _, err = client.ServiceKey(ctx, res.Session, "maps", key)
	assert.ErrorIs(t, err, attesta.ErrNotEntitled, "revoked through the socket: at once")
	assert.NotContains(t, srv.stderr.String(), "maps-key", "no service key in the log")

	// Stopped: the same commands open the directory.
	require.Equal(t, 0, srv.stop(t, os.Interrupt))
	code, _, stderr = run("", "entitlement", "grant", tok.String())
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr = run("", "service-key", "list")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^demo\s+maps\s+2\s`, stdout)
	srv = startServer(t, exe, dir)
	v, version, err = transport.NewClient(srv.url).ServiceKey(ctx, res.Session, "maps", key)
	require.NoError(t, err, "the grant made while stopped holds after the restart")
	assert.Equal(t, "maps-key-2", string(v))
	assert.Equal(t, uint64(2), version)
	assert.Equal(t, 0, srv.stop(t, os.Interrupt))
}
