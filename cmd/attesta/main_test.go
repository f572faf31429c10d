package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/registry"
)

// cli runs the command in-process and returns its exit status, stdout
// and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), &env{stdout: &stdout, stderr: &stderr}, args)
	return code, stdout.String(), stderr.String()
}

func TestDemo(t *testing.T) {
	for _, args := range [][]string{{"demo"}, {"demo", "-cbor"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, args...)
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Empty(t, stderr)
			steps := demoSteps()
			for i, s := range steps {
				assert.Contains(t, stdout, fmt.Sprintf("\n%d. %s\n", i+1, s.title))
			}
			for _, p := range demoParts {
				assert.Contains(t, stdout, "\n== "+p.title+"\n")
			}
			assert.Equal(t, len(steps), strings.Count(stdout, "\n   ok\n"))
			assert.Contains(t, stdout, fmt.Sprintf("All %d steps behaved as expected", len(steps)))
			for _, code := range []string{
				"challenge_unknown", "private_key_disclosed", "key_banned", "unauthorized",
				"wrong_code", "kdf_too_weak", "not_entitled",
			} {
				assert.Contains(t, stdout, code)
			}
			// Password login: the identifiers' hints, the second device
			// on the same party with the same key, the KDF's time, the
			// wrong password and the decoy.
			assert.Regexp(t, `(?m)^      nickname ad\*\*\*\s+active$`, stdout)
			assert.Regexp(t, `(?m)^      email    a\*\*\*@example\.org\s+active$`, stdout)
			party := regexp.MustCompile(`is_new: true, party_id: (\S+),`).FindStringSubmatch(stdout)
			require.NotNil(t, party, stdout)
			assert.Equal(t, 3, strings.Count(stdout, "is_new: false, party_id: "+party[1]), "connect, token, password login")
			key := regexp.MustCompile(`key id (\S+) \(SHA-256`).FindStringSubmatch(stdout)
			require.NotNil(t, key, stdout)
			assert.Contains(t, stdout, "recovered key "+key[1]+"\n")
			assert.Regexp(t, `opened the registry in \d+(\.\d+)?m?s \(the password KDF\)`, stdout)
			assert.Equal(t, 2, strings.Count(stdout, registry.ErrWrongPassword.Error()), "the wrong password and the decoy")
			sizes := regexp.MustCompile(`(?m)^      (?:decoy|real): +(\d+ bytes, version 1, format 1, argon2id\(m=65536KiB,t=3,p=4\))$`).FindAllStringSubmatch(stdout, -1)
			require.Len(t, sizes, 2, stdout)
			assert.Equal(t, sizes[0][1], sizes[1][1])
			// The temporary data directory (store and outbox) is gone.
			m := regexp.MustCompile(`data    (\S+) `).FindStringSubmatch(stdout)
			require.NotNil(t, m, stdout)
			assert.NoDirExists(t, m[1])
		})
	}
}

func TestKeygenPubkey(t *testing.T) {
	for _, alg := range []attesta.Algorithm{attesta.X25519, attesta.MLKEM768X25519} {
		t.Run(string(alg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			code, stdout, stderr := cli(t, "keygen", "-type", string(alg), "-out", path)
			require.Equal(t, 0, code, stderr)
			id, ok := strings.CutPrefix(strings.TrimSpace(stdout), "key_id: ")
			require.True(t, ok, stdout)

			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			pem, err := os.ReadFile(path)
			require.NoError(t, err)
			k, err := attesta.ParsePrivateKeyPEM(pem)
			require.NoError(t, err)
			assert.Equal(t, id, k.Public().ID().String())

			code, stdout, stderr = cli(t, "pubkey", "-in", path)
			require.Equal(t, 0, code, stderr)
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			require.Len(t, lines, 3, stdout)
			packed, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(lines[0], "key: "))
			require.NoError(t, err)
			pub, err := attesta.ParsePublicKey(packed)
			require.NoError(t, err)
			assert.Equal(t, id, pub.ID().String())
			assert.Equal(t, "key_id: "+id, lines[1])
			assert.Equal(t, "type: "+pub.Type().String(), lines[2])

			code, stdout, stderr = cli(t, "pubkey", "-json", "-in", path)
			require.Equal(t, 0, code, stderr)
			var js map[string]string
			require.NoError(t, json.Unmarshal([]byte(stdout), &js))
			assert.Equal(t, map[string]string{"key": base64.RawURLEncoding.EncodeToString(packed), "key_id": id, "type": pub.Type().String()}, js)

			// A public key file works too.
			pubPath := filepath.Join(t.TempDir(), "pub.pem")
			require.NoError(t, os.WriteFile(pubPath, pub.MarshalPEM(), 0o644))
			code, stdout, stderr = cli(t, "pubkey", "-in", pubPath)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, stdout, "key_id: "+id+"\n")

			// An existing file is never overwritten.
			code, _, stderr = cli(t, "keygen", "-type", string(alg), "-out", path)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, "refusing to overwrite")
			again, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, pem, again)
		})
	}
}

// RSA generation shows one progress line when stderr is not a terminal.
func TestKeygenRSAProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: RSA key generation takes up to a few seconds under -race")
	}
	path := filepath.Join(t.TempDir(), "rsa.pem")
	code, stdout, stderr := cli(t, "keygen", "-type", "rsa2048", "-out", path)
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(stderr, "generating rsa2048 key…\n"), stderr)
	assert.NotContains(t, stderr, "\r")
	assert.Regexp(t, `^key_id: [A-Za-z0-9_-]{43}\n$`, stdout)
}

func TestKeygenPubkeyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"keygen", "-type", "rsa1024", "-out", filepath.Join(dir, "k")}, 2, `unknown -type "rsa1024"`},
		{[]string{"keygen", "-type", "x25519"}, 2, "-out FILE is required"},
		{[]string{"keygen", "-out", filepath.Join(dir, "no", "such", "dir")}, 1, "no such file or directory"},
		{[]string{"pubkey"}, 2, "-in FILE is required"},
		{[]string{"pubkey", "-in", filepath.Join(dir, "missing")}, 1, "no such file or directory"},
		{[]string{"pubkey", "-in", "main.go"}, 1, "no PEM block"},
		{[]string{"pubkey", "-in", "x", "extra"}, 2, `unexpected argument "extra"`},
	} {
		code, _, stderr := cli(t, c.args...)
		assert.Equal(t, c.code, code, "%q", c.args)
		assert.Contains(t, stderr, c.stderr, "%q", c.args)
	}
	assert.NoFileExists(t, filepath.Join(dir, "k"))
}

func TestHelp(t *testing.T) {
	code, stdout, _ := cli(t, "help")
	assert.Equal(t, 0, code)
	for _, c := range commands {
		assert.Contains(t, stdout, "  "+c.name+" ")
	}
	// leaf checks a command that has flags: its help, and -h.
	leaf := func(c *command, path ...string) {
		t.Helper()
		code, stdout, _ := cli(t, append([]string{"help"}, path...)...)
		assert.Equal(t, 0, code)
		assert.Regexp(t, `^Usage: attesta `+strings.Join(path, " ")+`[ \n]`, stdout)
		if c.name != "version" {
			assert.Contains(t, stdout, "Flags:")
		}
		code, _, stderr := cli(t, append(path, "-h")...)
		assert.Equal(t, 0, code)
		assert.Equal(t, stdout, stderr, "-h prints the same help on stderr")
	}
	for _, c := range commands {
		if c.sub == nil {
			leaf(c, c.name)
			continue
		}
		code, stdout, _ := cli(t, "help", c.name)
		assert.Equal(t, 0, code)
		assert.Contains(t, stdout, "Usage: attesta "+c.name+" ")
		for _, s := range c.sub {
			assert.Equal(t, c.name, s.group)
			assert.Contains(t, stdout, "  "+s.name+" ")
			leaf(s, c.name, s.name)
		}
		code, _, stderr := cli(t, c.name, "-h")
		assert.Equal(t, 0, code)
		assert.Equal(t, stdout, stderr)
		code, _, stderr = cli(t, c.name)
		assert.Equal(t, 2, code)
		assert.Equal(t, stdout, stderr)
		code, _, stderr = cli(t, c.name, "frobnicate")
		assert.Equal(t, 2, code)
		assert.True(t, strings.HasPrefix(stderr, `attesta: unknown command "`+c.name+` frobnicate"`+"\n\nUsage: "), stderr)
		code, _, stderr = cli(t, "help", c.name, "frobnicate")
		assert.Equal(t, 2, code)
		assert.Equal(t, `attesta: no command "`+c.name+` frobnicate" (attesta help `+c.name+" lists them)\n", stderr)
	}
	code, _, _ = cli(t)
	assert.Equal(t, 2, code)
	code, _, stderr := cli(t, "frobnicate")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown command "frobnicate"`)
	code, _, stderr = cli(t, "help", "frobnicate")
	assert.Equal(t, 2, code)
	assert.Equal(t, `attesta: no command "frobnicate" (attesta help lists them)`+"\n", stderr)
}
