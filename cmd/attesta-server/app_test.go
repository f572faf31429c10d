package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta/pebblestore"
)

// attestaServer runs the command in-process and returns its exit status,
// stdout and stderr.
func attestaServer(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestAppCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")

	code, _, stderr := attestaServer(t, "app", "list", "-data", dir)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no data directory "+dir)

	code, stdout, stderr := attestaServer(t, "app", "create", "shop", "-data", dir)
	require.Equal(t, 0, code, stderr)
	token := strings.TrimSpace(stdout)
	assert.True(t, strings.HasPrefix(token, "ata_"), "token %q", token)
	assert.Contains(t, stderr, "shown only now")
	// The first command on a fresh directory makes the secret, as the
	// server would.
	secretPath := filepath.Join(dir, secretFile)
	assert.Contains(t, stderr, "attesta-server: "+secretPath+": created the server secret; back it up with the data directory\n")
	fi, err := os.Stat(secretPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	secret, err := os.ReadFile(secretPath)
	require.NoError(t, err)

	code, _, stderr = attestaServer(t, "-data", dir, "app", "create", "shop")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `an application named "shop" exists already`)

	code, _, stderr = attestaServer(t, "app", "create", "-data", dir, "Bad Name")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "bad application name")

	code, stdout, stderr = attestaServer(t, "app", "create", "-data", dir, "blog")
	require.Equal(t, 0, code, stderr)

	code, stdout, stderr = attestaServer(t, "app", "revoke", "-data", dir, "shop")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "revoked application \"shop\"\n", stdout)

	code, _, stderr = attestaServer(t, "app", "revoke", "-data", dir, "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `no application named "nope"`)

	code, stdout, stderr = attestaServer(t, "app", "list", "-data", dir)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3, stdout)
	assert.Equal(t, []string{"NAME", "STATUS", "CREATED", "REVOKED"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"blog", "active"}, strings.Fields(lines[1])[:2])
	assert.Equal(t, "-", strings.Fields(lines[1])[3])
	assert.Equal(t, []string{"shop", "revoked"}, strings.Fields(lines[2])[:2])
	assert.Empty(t, stderr)
	again, err := os.ReadFile(secretPath)
	require.NoError(t, err)
	assert.Equal(t, secret, again)

	// A secret others may read is refused by every command.
	require.NoError(t, os.Chmod(secretPath, 0o644))
	code, stdout, stderr = attestaServer(t, "app", "list", "-data", dir)
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "has mode 0644")

	// A directory that holds data but no secret (lost, or from before
	// secrets) gets a new one, with a warning.
	require.NoError(t, os.Remove(secretPath))
	code, _, stderr = attestaServer(t, "app", "list", "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "created a new server secret for a data directory that holds data already")
	assert.Contains(t, stderr, "put the old one back from a backup")
}

func TestAppCommandsUsage(t *testing.T) {
	for _, c := range []struct {
		args  []string
		first string // the first line of stderr
	}{
		{[]string{"app"}, "attesta-server: app needs a command: create, list or revoke"},
		{[]string{"app", "create"}, "attesta-server: app create needs the application's NAME"},
		{[]string{"app", "revoke"}, "attesta-server: app revoke needs the application's NAME"},
		{[]string{"app", "create", "a", "b"}, "attesta-server: app create takes one NAME, not 2 arguments"},
		{[]string{"app", "list", "extra"}, `attesta-server: app list takes no argument, got "extra"`},
		{[]string{"app", "delete", "x"}, `attesta-server: unknown app command "delete": want create, list or revoke`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"serve"}, `attesta-server: unknown command "serve" (see attesta-server -h)`},
	} {
		code, stdout, stderr := attestaServer(t, c.args...)
		assert.Equal(t, 2, code, "%q", c.args)
		assert.Empty(t, stdout)
		line, _, _ := strings.Cut(stderr, "\n")
		assert.Equal(t, c.first, line, "%q", c.args)
	}
	code, stdout, _ := attestaServer(t, "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "attesta-server app create")
	assert.Contains(t, stdout, "-data DIR")
	code, _, stderr := attestaServer(t, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, stderr, "-addr HOST:PORT")
}

// A data directory held by another opener (a running server) is reported
// in words a person can act on.
func TestAppCommandsLockedDir(t *testing.T) {
	dir := t.TempDir()
	s, err := pebblestore.Open(dir)
	require.NoError(t, err)
	defer s.Close()
	for _, args := range [][]string{{"list"}, {"create", "x"}, {"revoke", "x"}} {
		code, _, stderr := attestaServer(t, append([]string{"app", "-data", dir}, args...)...)
		assert.Equal(t, 1, code)
		assert.Equal(t, "attesta-server: the data directory "+dir+" is in use by a running attesta-server; stop it first\n", stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := attestaServer(t, "-version")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^attesta-server \S+ \(commit [^)]+\) go\S+ \S+/\S+\n$`, stdout)
	assert.Empty(t, stderr)
}

// A server that cannot bind its address fails before it makes anything in
// a new data directory: no store, no secret, and no demo token printed
// that it would then abandon.
func TestBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "data")
	code, stdout, stderr := attestaServer(t, "-data", dir, "-addr", ln.Addr().String())
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout, "no token")
	assert.Contains(t, stderr, "address already in use")
	assert.Contains(t, stderr, "is another attesta-server running there?")
	assert.NoDirExists(t, dir)

	// An existing, empty data directory stays empty.
	require.NoError(t, os.Mkdir(dir, 0o700))
	code, stdout, _ = attestaServer(t, "-data", dir, "-addr", ln.Addr().String())
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// TestDataDirPermissions is finding 10 of issue 14: a data directory made
// 0755 beforehand, and an outbox.jsonl of 0644 in it, are repaired (and
// said so), and every file the store makes is 0600.
func TestDataDirPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.Chmod(dir, 0o755)) // whatever the test's umask
	outboxPath := filepath.Join(dir, outboxFile)
	require.NoError(t, os.WriteFile(outboxPath, []byte{}, 0o644))
	require.NoError(t, os.Chmod(outboxPath, 0o644))

	code, _, stderr := attestaServer(t, "app", "create", "shop", "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, dir+" (was 0755)")
	assert.Contains(t, stderr, outboxPath+" (was 0644)")
	assert.Contains(t, stderr, "taken away")
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		assert.Zero(t, fi.Mode().Perm()&0o077, "%s is %v", e.Name(), fi.Mode())
	}
	// Nothing left to repair the second time.
	code, _, stderr = attestaServer(t, "app", "list", "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "taken away")
}
