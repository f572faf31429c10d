package main

import (
	"bytes"
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
	for _, args := range [][]string{
		{"app"},
		{"app", "create"},
		{"app", "list", "extra"},
		{"app", "delete", "x"},
		{"-no-such-flag"},
		{"serve"},
	} {
		code, _, _ := attestaServer(t, args...)
		assert.Equal(t, 2, code, "%q", args)
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
