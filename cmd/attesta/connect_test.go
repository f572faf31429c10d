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

func TestConnect(t *testing.T) {
	srv, err := startDemoServer(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.close()) })
	token, err := srv.svc.CreateApp(t.Context(), "cli")
	require.NoError(t, err)

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	keyFile := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(keyFile, testkeys.File(t, "rsa2048-0.pem"), 0o600))
	leaked := filepath.Join(dir, "leaked.pem")
	require.NoError(t, os.WriteFile(leaked, testkeys.File(t, "x25519-0.pem"), 0o600))

	type answer struct {
		IsNew   bool   `json:"is_new"`
		PartyID string `json:"party_id"`
		Session string `json:"session"`
	}
	connect := func(args ...string) (int, answer, string) {
		t.Helper()
		code, stdout, stderr := cli(t, append([]string{"connect", "-server", srv.url}, args...)...)
		var a answer
		if code == 0 {
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&a), stdout)
			assert.Equal(t, stdout[len(stdout)-1], byte('\n'))
		}
		return code, a, stderr
	}

	code, first, stderr := connect("-app-token-file", tokenFile, "-key", keyFile)
	require.Equal(t, 0, code, stderr)
	assert.True(t, first.IsNew)
	assert.NoError(t, attesta.ParseSession(first.Session))

	code, again, stderr := connect("-app-token", token, "-key", keyFile, "-cbor")
	require.Equal(t, 0, code, stderr)
	assert.False(t, again.IsNew)
	assert.Equal(t, first.PartyID, again.PartyID)

	t.Setenv(appTokenEnv, token)
	code, again, stderr = connect("-key", keyFile)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, first.PartyID, again.PartyID)

	code, _, stderr = connect("-app-token", "ata_nope", "-key", keyFile)
	assert.Equal(t, 1, code)
	assert.Equal(t, "attesta: bad_app_token: Bad application token\n", stderr)

	// A key whose private half is disclosed (by any means) is refused.
	k := testkeys.Key(t, attesta.X25519, 0)
	_, err = srv.svc.AuthKeyRequest(t.Context(), k.Pack(), token)
	require.ErrorIs(t, err, attesta.ErrPrivateKeyDisclosed)
	code, _, stderr = connect("-key", leaked)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "attesta: key_banned: ")

	code, _, stderr = cli(t, "connect", "-server", "http://127.0.0.1:1", "-key", keyFile)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "connection refused")

	t.Setenv(appTokenEnv, "")
	code, _, stderr = connect("-key", keyFile)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no application token")
	code, _, stderr = connect("-app-token", token)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "-key FILE is required")
}
