package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// TestInstanceCLI: connect -instance registers and prints the TOKEN,
// instance token prints it again, service-key get is refused until the
// TOKEN is entitled, then prints the decrypted value or writes it to a
// file of mode 0600 (replaced whole after a rotation).
func TestInstanceCLI(t *testing.T) {
	srv, err := startDemoServer(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.close()) })
	ctx := t.Context()
	token, err := srv.svc.CreateApp(ctx, "keypeer")
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(keyFile, testkeys.File(t, "rsa2048-0.pem"), 0o600))

	code, stdout, stderr := cli(t, "connect", "-server", srv.url, "-app-token", token, "-key", keyFile, "-instance")
	require.Equal(t, 0, code, stderr)
	var conn struct {
		IsNew   bool   `json:"is_new"`
		PartyID string `json:"party_id"`
		Session string `json:"session"`
		Token   string `json:"token"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&conn), stdout)
	tok, err := srv.svc.VerifyInstanceToken(conn.Token)
	require.NoError(t, err)
	assert.Equal(t, conn.PartyID, tok.PartyID().String())
	session := filepath.Join(dir, "session.json")
	require.NoError(t, os.WriteFile(session, []byte(stdout), 0o600))

	code, stdout, stderr = cli(t, "instance", "token", "-server", srv.url, "-session-file", session)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `{"token":"`+conn.Token+`"}`+"\n", stdout)

	get := func(args ...string) (int, string, string) {
		return cli(t, append([]string{"service-key", "get", "-server", srv.url, "-session-file", session, "-key", keyFile}, args...)...)
	}
	_, err = srv.svc.SetServiceKey(ctx, "keypeer", "maps", []byte("maps-key-1"))
	require.NoError(t, err)
	code, stdout, stderr = get("-provider", "maps")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "attesta: not_entitled: Not entitled\n", stderr)

	_, err = srv.svc.GrantEntitlement(ctx, conn.Token)
	require.NoError(t, err)
	code, stdout, stderr = get("-provider", "maps")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "maps-key-1\n", stdout)
	assert.Equal(t, "attesta: the maps key, version 1\n", stderr)

	out := filepath.Join(dir, "maps.key")
	require.NoError(t, os.WriteFile(out, []byte("old"), 0o644))
	_, err = srv.svc.SetServiceKey(ctx, "keypeer", "maps", []byte("maps-key-2"))
	require.NoError(t, err)
	code, stdout, stderr = get("-provider", "maps", "-out", out)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "version 2")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "maps-key-2", string(b))
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "a secret the CLI writes is 0600")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "no temporary file left")

	code, _, stderr = get("-provider", "nothing")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "service_key_not_found")
	other := filepath.Join(dir, "other.pem")
	require.NoError(t, os.WriteFile(other, testkeys.File(t, "rsa2048-1.pem"), 0o600))
	code, _, stderr = cli(t, "service-key", "get", "-server", srv.url, "-session-file", session, "-key", other, "-provider", "maps")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, attesta.ErrDecrypt.Error()[len("attesta: "):], "another key cannot open it")
	code, _, stderr = get()
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-provider NAME is required")

	// A party that connected without -instance is not an instance.
	plain := filepath.Join(dir, "plain.pem")
	require.NoError(t, os.WriteFile(plain, testkeys.File(t, "x25519-1.pem"), 0o600))
	code, stdout, stderr = cli(t, "connect", "-server", srv.url, "-app-token", token, "-key", plain)
	require.Equal(t, 0, code, stderr)
	assert.NotContains(t, stdout, `"token"`)
	code, _, stderr = cli(t, "instance", "token", "-server", srv.url, "-session", sessionOf(t, stdout))
	assert.Equal(t, 1, code)
	assert.Equal(t, "attesta: not_instance: Not an application instance\n", stderr)
}

func sessionOf(t *testing.T, js string) string {
	var v struct{ Session string }
	require.NoError(t, json.Unmarshal([]byte(js), &v))
	return v.Session
}
