package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/attesta-go/attesta/internal/syncbuf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/transport"
)

// TestServerBinary builds attesta-server and runs it as a user would: a
// first start on an empty directory (the demo app's token, the server
// secret), a verification code that goes to the outbox and not to the
// log, the lock while it runs, a graceful SIGTERM, the app commands, a
// restart on the same data (and secret), SIGINT.
func TestServerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: does not build and run the attesta-server binary")
	}
	exe := buildServer(t)
	dir := filepath.Join(t.TempDir(), "data")
	tokenFile := filepath.Join(dir, demoTokenFile)
	key := testkeys.Key(t, attesta.X25519, 0)
	ctx := t.Context()

	// First start: the demo application's token on stdout and in a 0600 file.
	srv := startServer(t, exe, dir)
	fi, err := os.Stat(tokenFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	raw, err := os.ReadFile(tokenFile)
	require.NoError(t, err)
	demoToken := strings.TrimSpace(string(raw))
	require.NoError(t, attesta.ParseAppToken(demoToken))
	secretPath := filepath.Join(dir, secretFile)
	fi, err = os.Stat(secretPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	secret, err := os.ReadFile(secretPath)
	require.NoError(t, err)
	assert.Len(t, secret, attesta.SecretSize)
	assert.Contains(t, srv.stderr.String(), `"msg":"created the server secret; back it up with the data directory"`)

	resp, err := http.Get(srv.url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	client := transport.NewClient(srv.url)
	first, err := client.Connect(ctx, key, demoToken)
	require.NoError(t, err)
	assert.True(t, first.IsNew)

	// A verification code goes to the outbox; the log says a code was
	// sent, to whom by hint, and never the code.
	st, err := client.AddIdentifier(ctx, first.Session, attesta.Email, "Someone@Example.org")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusPending, st)
	outboxPath := filepath.Join(dir, outboxFile)
	vcode, err := outbox.LastCode(outboxPath, "someone@example.org")
	require.NoError(t, err)
	fi, err = os.Stat(outboxPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, client.ConfirmIdentifier(ctx, first.Session, attesta.Email, "someone@example.org", vcode))
	assert.Contains(t, srv.stderr.String(), `"msg":"verification code sent"`)
	assert.Contains(t, srv.stderr.String(), `"to":"s***@example.org"`)
	assert.NotContains(t, srv.stderr.String(), vcode)
	assert.NotContains(t, srv.stderr.String(), "someone@")

	// While the server runs, the app commands go through its
	// administration socket (0600): an application made or revoked takes
	// effect at once, without a restart (finding 11 of issue 14).
	fi, err = os.Stat(filepath.Join(dir, adminSocketFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	code, stdout, stderr := runBinary(t, exe, "app", "create", "live", "-data", dir)
	require.Equal(t, 0, code, stderr)
	liveToken := strings.TrimSpace(stdout)
	live, err := client.Connect(ctx, testkeys.Key(t, attesta.X25519, 3), liveToken)
	require.NoError(t, err, "the new token works on the running server")
	code, _, stderr = runBinary(t, exe, "app", "revoke", "live", "-data", dir)
	require.Equal(t, 0, code, stderr)
	_, err = client.Party(ctx, live.Session)
	assert.ErrorIs(t, err, attesta.ErrUnauthorized, "its sessions end at once")
	code, stdout, _ = runBinary(t, exe, "app", "list", "-data", dir)
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^live +revoked `, stdout)
	// Every file the server made is its own.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		assert.Zero(t, fi.Mode().Perm()&0o077, "%s is %v", e.Name(), fi.Mode())
	}

	// SIGTERM: a graceful stop, exit 0.
	assert.Equal(t, 0, srv.stop(t, syscall.SIGTERM))
	assert.NotContains(t, srv.stderr.String(), vcode)
	assert.Equal(t, string(raw), srv.stdout.String(), "stdout is the token, once")
	assert.Contains(t, srv.stderr.String(), "attesta-server stopped")

	// The app commands, now that the directory is free.
	_, err = os.Stat(filepath.Join(dir, adminSocketFile))
	assert.ErrorIs(t, err, os.ErrNotExist, "the socket goes with the server")
	code, stdout, stderr = runBinary(t, exe, "app", "create", "shop", "-data", dir)
	require.Equal(t, 0, code, stderr)
	shopToken := strings.TrimSpace(stdout)
	require.NoError(t, attesta.ParseAppToken(shopToken))
	code, _, stderr = runBinary(t, exe, "-data", dir, "app", "revoke", "shop")
	require.Equal(t, 0, code, stderr)
	code, stdout, stderr = runBinary(t, exe, "app", "list", "-data", dir)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^demo\s+active\s`, stdout)
	assert.Regexp(t, `(?m)^shop\s+revoked\s`, stdout)

	// A restart keeps everything, the secret too (so identifiers still
	// match), and makes no new demo application.
	srv = startServer(t, exe, dir)
	again, err := transport.NewClient(srv.url).Connect(ctx, key, demoToken)
	require.NoError(t, err)
	assert.False(t, again.IsNew)
	assert.Equal(t, first.PartyID, again.PartyID)
	_, err = transport.NewClient(srv.url).AddIdentifier(ctx, again.Session, attesta.Email, "someone@example.org")
	assert.NoError(t, err, "the same party adding its own email again")
	assert.NotContains(t, srv.stderr.String(), "created the server secret")
	after, err := os.ReadFile(secretPath)
	require.NoError(t, err)
	assert.Equal(t, secret, after)
	_, err = transport.NewClient(srv.url).Connect(ctx, key, shopToken)
	assert.ErrorIs(t, err, attesta.ErrBadAppToken, "a revoked app's token")
	assert.Equal(t, 0, srv.stop(t, os.Interrupt))
	assert.Empty(t, srv.stdout.String())
	after, err = os.ReadFile(tokenFile)
	require.NoError(t, err)
	assert.Equal(t, raw, after)

	// A secret that group or others may read stops the server at once.
	require.NoError(t, os.Chmod(secretPath, 0o640))
	code, stdout, stderr = runBinary(t, exe, "-data", dir, "-addr", "127.0.0.1:0")
	assert.Equal(t, 1, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "the server secret "+secretPath+" has mode 0640")
	assert.NotContains(t, stderr, "listening")
}

// buildServer builds the command into a temporary directory, with -race
// when the tests run with it (the race-built packages are then in the
// build cache already).
func buildServer(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "attesta-server")
	args := []string{"build", "-o", exe}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.CommandContext(t.Context(), "go", append(args, ".")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return exe
}

func runBinary(t *testing.T, exe string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(t.Context(), exe, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stdout.String(), stderr.String()
}

type server struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *syncbuf.Buffer
	done           chan struct{}
}

// startServer starts the binary on a free loopback port and waits for its
// "listening" log line.
func startServer(t *testing.T, exe, dir string) *server {
	t.Helper()
	return startServerArgs(t, exe, "-data", dir)
}

// startServerArgs is startServer with the data flags given.
func startServerArgs(t *testing.T, exe string, args ...string) *server {
	t.Helper()
	s := &server{stdout: new(syncbuf.Buffer), stderr: new(syncbuf.Buffer), done: make(chan struct{})}
	s.cmd = exec.Command(exe, append(args, "-addr", "127.0.0.1:0", "-log-format", "json", "-log-level", "debug")...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	require.NoError(t, s.cmd.Start())
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	deadline := time.After(30 * time.Second)
	for s.url == "" {
		select {
		case <-s.done:
			t.Fatalf("attesta-server exited early:\n%s", s.stderr)
		case <-deadline:
			t.Fatalf("attesta-server did not report listening:\n%s", s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "attesta-server listening" {
				s.url = "http://" + rec.Addr
			}
		}
	}
	return s
}

// stop sends sig and returns the exit status.
func (s *server) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(sig))
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("attesta-server did not stop on %v:\n%s", sig, s.stderr)
	}
	return s.cmd.ProcessState.ExitCode()
}
