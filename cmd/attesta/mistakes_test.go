package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// TestMistakes runs the mistakes a newcomer makes and checks that each
// is explained in one line that starts with "attesta: " (once), with exit
// status 2 for a usage error and 1 for a failure.
func TestMistakes(t *testing.T) {
	srv := loginServer(t)
	token, err := srv.svc.CreateApp(t.Context(), "cli")
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, content, 0o600))
		return p
	}
	key := testkeys.Key(t, attesta.X25519, 0)
	keyFile := write("me.pem", key.MarshalPEM())
	pubFile := write("me.pub.pem", key.Public().MarshalPEM())
	mlkem := testkeys.Key(t, attesta.MLKEM768X25519, 0)
	mlkemPub := write("pq.pub.pem", mlkem.Public().MarshalPEM())
	tokenFile := write("token", []byte(token+"\n"))
	notJSON := write("notes.json", []byte(`{"hello": "world"}`))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	s := "-server=" + srv.url
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string // the whole of stderr
	}{
		{"public key as -key", []string{"connect", s, "-app-token-file", tokenFile, "-key", pubFile}, 1,
			"attesta: " + pubFile + ` holds a public key (PEM "PUBLIC KEY"); -key needs the private key file, as attesta keygen writes it`},
		{"ML-KEM public key as -key", []string{"connect", s, "-app-token-file", tokenFile, "-key", mlkemPub}, 1,
			"attesta: " + mlkemPub + ` holds a public key (PEM "ATTESTA PUBLIC KEY"); -key needs the private key file, as attesta keygen writes it`},
		{"public key as registry push -key", []string{"registry", "push", s, "-session-file", keyFile, "-key", pubFile}, 1,
			"attesta: " + keyFile + " is not a session: want ats_… or the JSON that attesta connect and attesta login print"},
		{"not a key", []string{"connect", s, "-app-token-file", tokenFile, "-key", tokenFile}, 1,
			"attesta: " + tokenFile + ": malformed key: no PEM block"},
		{"a key as -session-file", []string{"identifier", "add", s, "-session-file", keyFile, "-kind", "nickname", "-value", "ada lovelace"}, 1,
			"attesta: " + keyFile + " is not a session: want ats_… or the JSON that attesta connect and attesta login print"},
		{"other JSON as -session-file", []string{"identifier", "add", s, "-session-file", notJSON, "-kind", "nickname", "-value", "ada lovelace"}, 1,
			"attesta: " + notJSON + ` is not a session: a JSON object without a "session" string (attesta connect -key FILE > ` + notJSON + " makes one)"},
		{"an app token as -session", []string{"identifier", "add", s, "-session", token, "-kind", "nickname", "-value", "ada lovelace"}, 1,
			"attesta: -session is not a session: want ats_… or the JSON that attesta connect and attesta login print"},
		{"-server without a scheme", []string{"connect", "-server", "127.0.0.1:8700", "-app-token-file", tokenFile, "-key", keyFile}, 2,
			`attesta: -server "127.0.0.1:8700": -server needs http://HOST:PORT (or https://…), such as http://127.0.0.1:8700 (attesta help connect)`},
		{"-server a bare host", []string{"registry", "pull", "-server", "localhost", "-login", "ada", "-header"}, 2,
			`attesta: -server "localhost": -server needs http://HOST:PORT (or https://…), such as http://127.0.0.1:8700 (attesta help registry pull)`},
		{"no token", []string{"login", s, "-login", "ada", "-out", filepath.Join(dir, "new.pem")}, 2,
			"attesta: " + errNoAppToken.Error() + " (attesta help login)"},
		{"a missing token file", []string{"connect", s, "-app-token-file", filepath.Join(dir, "nope"), "-key", keyFile}, 1,
			"attesta: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"unknown flag", []string{"connect", "-frob"}, 2,
			"attesta: flag provided but not defined: -frob (attesta help connect)"},
		{"bad flag value", []string{"identifier", "add", "-timeout", "soon"}, 2,
			`attesta: invalid value "soon" for flag -timeout: parse error (attesta help identifier add)`},
		{"confirm a nickname", []string{"identifier", "confirm", s, "-kind", "nickname", "-value", "ada", "-code", "123456"}, 2,
			"attesta: -kind nickname: a nickname needs no confirmation, it is active once added; confirm takes -kind email or phone (attesta help identifier confirm)"},
		{"missing -key", []string{"registry", "push", s}, 2,
			"attesta: -key FILE is required (attesta help registry push)"},
		{"unexpected argument", []string{"keygen", "-out", filepath.Join(dir, "k.pem"), "rsa"}, 2,
			`attesta: unexpected argument "rsa" (attesta help keygen)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := cli(t, c.args...)
			assert.Equal(t, c.code, code)
			assert.Empty(t, stdout)
			assert.Equal(t, c.stderr+"\n", stderr)
			assert.Equal(t, 1, strings.Count(stderr, "attesta: "), "one prefix")
		})
	}

	// A server that is not running: the question to ask.
	code, _, stderr := cli(t, "connect", "-server", down, "-app-token-file", tokenFile, "-key", keyFile)
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasPrefix(stderr, "attesta: "), stderr)
	assert.True(t, strings.HasSuffix(stderr, "connection refused; is attesta-server running at "+down+"?\n"), stderr)
	code, _, stderr = cli(t, "registry", "pull", "-server", down+"/auth/", "-login", "ada", "-header")
	assert.Equal(t, 1, code)
	assert.True(t, strings.HasSuffix(stderr, "; is attesta-server running at "+down+"/auth?\n"), stderr)

	// The add hint names the session file it was given.
	code, stdout, stderr := cli(t, "connect", s, "-app-token-file", tokenFile, "-key", keyFile)
	require.Equal(t, 0, code, stderr)
	sessionFile := write("my session.json", []byte(stdout))
	code, _, stderr = cli(t, "identifier", "add", s, "-session-file", sessionFile, "-kind", "email", "-value", "ada@example.org")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "a code was sent to the email; confirm it with:\n"+
		"  attesta identifier confirm -server "+srv.url+" -session-file '"+sessionFile+"' -kind email -value ada@example.org -code CODE\n", stderr)
}

func TestVersion(t *testing.T) {
	code, stdout, stderr := cli(t, "version")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `^attesta \S+ \(commit [^)]+\) go\S+ \S+/\S+\n$`, stdout)
	code, _, stderr = cli(t, "version", "extra")
	assert.Equal(t, 2, code)
	assert.Equal(t, `attesta: unexpected argument "extra" (attesta help version)`+"\n", stderr)
}
