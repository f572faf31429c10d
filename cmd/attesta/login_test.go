package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// cliIn runs the command in-process with stdin and hooks in e, and
// returns its exit status, stdout and stderr.
func cliIn(t *testing.T, e env, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e.stdout, e.stderr = &stdout, &stderr
	code := run(t.Context(), &e, args)
	return code, stdout.String(), stderr.String()
}

// stdin is an env whose stdin reads s.
func stdin(s string) env { return env{stdin: strings.NewReader(s)} }

// decodeStrict decodes the one JSON object of a command's stdout into v,
// refusing unknown fields.
func decodeStrict(t *testing.T, stdout string, v any) {
	t.Helper()
	require.True(t, strings.HasSuffix(stdout, "}\n"), "stdout %q", stdout)
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), stdout)
	assert.False(t, dec.More(), stdout)
}

// loginServer is a demo server whose password endpoints are not
// rate-limited (the test fetches one login more often than the limits let
// a guesser), and that stores registries sealed with any KDF parameters
// (the test seals with cheapKDF).
func loginServer(t *testing.T) *demoServer {
	t.Helper()
	loose := transport.Limit{Burst: 1000, Every: time.Millisecond}
	srv, err := startDemoServerWith(slog.New(slog.DiscardHandler), attesta.Config{KDFFloors: &kdf.Floors{}, Limits: attesta.Limits{
		CodeSendCooldown: loose, CodeSendsPerDestination: loose, CodeSendsPerParty: loose, CodeSendsTotal: loose,
		CodeTriesPerIdentifier: loose, RegistryFetchesPerLogin: loose,
	}}, transport.HandlerConfig{
		LoginPerIdentifierAndAddress: loose, LoginPerAddress: loose, ConfirmPerParty: loose, AddPerParty: loose, IdentifierPerAddress: loose, RegistryPutPerAddress: loose, NewPartiesPerAddress: loose,
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.close()) })
	return srv
}

// cheapKDF are KDF parameters that cost next to nothing, for the tests
// that are not about the KDF (TestPushDefaultKDF and TestDemo are).
func cheapKDF() kdf.Params {
	p, err := kdf.Argon2idParams(64, 1, 1)
	if err != nil {
		panic(err)
	}
	return p
}

// TestPasswordLogin runs the password login story with the CLI: connect,
// identifiers, registry push (with a concurrent push that wins the race),
// pull, login, and the ways each fails. Registries are sealed with
// cheapKDF, to keep the test fast.
func TestPasswordLogin(t *testing.T) {
	srv := loginServer(t)
	ctx := t.Context()
	token, err := srv.svc.CreateApp(ctx, "cli")
	require.NoError(t, err)

	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		return p
	}
	tokenFile := write("token", token+"\n", 0o600)
	key := testkeys.Key(t, attesta.X25519, 0)
	keyFile := write("key.pem", string(key.MarshalPEM()), 0o600)
	other := testkeys.Key(t, attesta.RSA2048, 1) // a key of another party
	otherFile := write("other.pem", string(other.MarshalPEM()), 0o600)
	const password = " pass word " // spaces are part of it
	pwFile := write("pw", password+"\n", 0o600)
	pwCRLF := write("pw-crlf", password+"\r\nsecond line\n", 0o600)
	s := "-server=" + srv.url

	// connect; its JSON output is a session file.
	code, stdout, stderr := cli(t, "connect", s, "-app-token-file", tokenFile, "-key", keyFile)
	require.Equal(t, 0, code, stderr)
	sessionFile := write("session.json", stdout, 0o600)
	var first struct {
		IsNew   bool   `json:"is_new"`
		PartyID string `json:"party_id"`
		Session string `json:"session"`
	}
	decodeStrict(t, stdout, &first)
	require.True(t, first.IsNew)
	code, _, stderr = cli(t, "connect", s, "-app-token-file", tokenFile, "-key", otherFile)
	require.Equal(t, 0, code, stderr)

	type status struct {
		Status string `json:"status"`
	}
	ident := func(e env, args ...string) (int, status, string) {
		t.Helper()
		code, stdout, stderr := cliIn(t, e, append([]string{"identifier"}, append(args, s)...)...)
		var st status
		if code == 0 {
			decodeStrict(t, stdout, &st)
		} else {
			assert.Empty(t, stdout)
		}
		return code, st, stderr
	}

	t.Run("identifiers", func(t *testing.T) {
		code, st, stderr := ident(env{}, "add", "-session-file", sessionFile, "-kind", "nickname", "-value", "  Test   User")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "active", st.Status)

		// An email is pending; its code is in the outbox, not on any output.
		code, st, stderr = ident(env{}, "add", "-session", first.Session, "-kind", "email", "-value", "T@Example.org")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "pending", st.Status)
		assert.Equal(t, "a code was sent to the email; confirm it with:\n"+
			"  attesta identifier confirm -server "+srv.url+" -session … -kind email -value T@Example.org -code CODE\n", stderr)
		emailCode, err := outbox.LastCode(srv.outbox, "t@example.org")
		require.NoError(t, err)
		assert.NotContains(t, stderr, emailCode)

		wrong := "000000"
		if emailCode == wrong {
			wrong = "000001"
		}
		code, _, stderr = ident(env{}, "confirm", "-session-file", sessionFile, "-kind", "email", "-value", "t@example.org", "-code", wrong)
		assert.Equal(t, 1, code)
		assert.Equal(t, "attesta: wrong_code: Wrong verification code\n", stderr)
		t.Setenv(sessionEnv, first.Session)
		code, st, stderr = ident(env{}, "confirm", "-kind", "email", "-value", "t@example.org", "-code", emailCode)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "active", st.Status)
		code, _, stderr = ident(env{}, "confirm", "-kind", "email", "-value", "t@example.org", "-code", emailCode)
		assert.Equal(t, 1, code)
		assert.Equal(t, "attesta: code_unknown: No pending verification\n", stderr)

		// A second nickname, removed; a second removal is refused.
		code, st, stderr = ident(env{}, "add", "-kind", "nickname", "-value", "spare name")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "active", st.Status)
		code, st, stderr = ident(env{}, "remove", "-kind", "nickname", "-value", "Spare Name")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "removed", st.Status)
		code, _, stderr = ident(env{}, "remove", "-kind", "nickname", "-value", "spare name")
		assert.Equal(t, 1, code)
		assert.Equal(t, "attesta: identifier_not_found: Identifier not found\n", stderr)

		p, err := transport.NewClient(srv.url).Party(ctx, first.Session)
		require.NoError(t, err)
		var hints []string
		for _, id := range p.Identifiers {
			hints = append(hints, string(id.Kind)+" "+id.Hint)
		}
		assert.ElementsMatch(t, []string{"nickname te***", "email t***@example.org"}, hints)

		// Usage errors exit 2 before any request.
		for _, c := range []struct {
			args   []string
			stderr string
		}{
			{[]string{"add", "-value", "x"}, "-kind is required"},
			{[]string{"add", "-kind", "handle", "-value", "x"}, `unknown -kind "handle"`},
			{[]string{"add", "-kind", "nickname"}, "-value is required"},
			{[]string{"confirm", "-kind", "email", "-value", "a@b.c"}, "-code is required"},
		} {
			code, _, stderr := ident(env{}, c.args...)
			assert.Equal(t, 2, code, "%q", c.args)
			assert.Contains(t, stderr, c.stderr, "%q", c.args)
		}
		t.Setenv(sessionEnv, "")
		code, _, stderr = ident(env{}, "add", "-kind", "nickname", "-value", "someone")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "no session")
		code, _, stderr = ident(env{}, "add", "-session", "ats_nope", "-kind", "nickname", "-value", "someone")
		assert.Equal(t, 1, code)
		assert.Equal(t, "attesta: -session is not a session: want ats_… or the JSON that attesta connect and attesta login print\n", stderr)
		unknown := attesta.SessionPrefix + strings.Repeat("A", 43) // well formed, no such session
		code, _, stderr = ident(env{}, "add", "-session", unknown, "-kind", "nickname", "-value", "someone")
		assert.Equal(t, 1, code)
		assert.Equal(t, "attesta: unauthorized: Unauthorized\n", stderr)
	})
	if t.Failed() {
		return
	}

	push := func(e env, args ...string) (int, uint64, string) {
		t.Helper()
		e.sealKDF = cheapKDF
		code, stdout, stderr := cliIn(t, e, append([]string{"registry", "push", s, "-session-file", sessionFile}, args...)...)
		var v struct {
			Version uint64 `json:"version"`
		}
		if code == 0 {
			decodeStrict(t, stdout, &v)
		}
		return code, v.Version, stderr
	}
	type pulled struct {
		Size    int         `json:"size"`
		Format  int         `json:"format"`
		KDF     string      `json:"kdf"`
		PartyID string      `json:"party_id"`
		Created *time.Time  `json:"created"`
		Keys    []pulledKey `json:"keys"`
		AppData []string    `json:"app_data"`
	}
	pull := func(e env, args ...string) (int, pulled, string) {
		t.Helper()
		code, stdout, stderr := cliIn(t, e, append([]string{"registry", "pull", s}, args...)...)
		var p pulled
		if code == 0 {
			decodeStrict(t, stdout, &p)
		}
		return code, p, stderr
	}
	keyIDs := func(p pulled) []string {
		var ids []string
		for _, k := range p.Keys {
			ids = append(ids, k.KeyID)
		}
		return ids
	}

	t.Run("registry", func(t *testing.T) {
		// Not a key of the party: refused before any KDF work.
		code, _, stderr := push(env{}, "-key", otherFile, "-password-file", pwFile)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "is not a key of the session's party")

		code, v, stderr := push(env{}, "-key", keyFile, "-password-file", pwFile)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, uint64(1), v)
		assert.Contains(t, stderr, "sealing the registry with argon2id(m=64KiB,t=1,p=1)…\n", "one progress line off a terminal")
		assert.NotContains(t, stderr, "\r")
		assert.NotContains(t, stderr, password)

		// Another device stores the registry, with a second key, between
		// this push's read and its write: the push reads it again, keeps
		// the other key, and stores version 3.
		client := transport.NewClient(srv.url)
		racerCreated := time.Date(2026, 11, 22, 6, 24, 13, 0, time.UTC)
		racer := func(attempt int) {
			if attempt != 0 {
				return
			}
			pt := registry.Plaintext{PartyID: first.PartyID, Keys: [][]byte{key.Pack(), other.Pack()}, Created: racerCreated}
			block, err := registry.Seal(ctx, pt, []byte(password), cheapKDF())
			require.NoError(t, err)
			v, err := client.PutRegistry(ctx, first.Session, block, 1)
			require.NoError(t, err)
			require.Equal(t, uint64(2), v)
		}
		code, v, stderr = push(env{beforePut: racer}, "-key", keyFile, "-password-file", pwCRLF)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, uint64(3), v)
		assert.Contains(t, stderr, "the registry changed on the server since version 1; reading it again to merge\n")
		assert.Equal(t, 2, strings.Count(stderr, "opening the server's registry with argon2id(m=64KiB,t=1,p=1)…\n"), stderr)

		code, p, stderr := pull(env{}, "-login", "TEST USER", "-password-file", pwFile)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, 1, p.Format)
		assert.Equal(t, "argon2id(m=64KiB,t=1,p=1)", p.KDF)
		assert.Equal(t, first.PartyID, p.PartyID)
		require.NotNil(t, p.Created)
		assert.True(t, racerCreated.Equal(*p.Created), "the merge keeps the registry's creation time: %v", *p.Created)
		assert.Equal(t, []string{key.Public().ID().String(), other.Public().ID().String()}, keyIDs(p), "merged, in order, no duplicate")
		assert.Equal(t, []pulledKey{{key.Public().ID().String(), "x25519-private"}, {other.Public().ID().String(), "rsa-private"}}, p.Keys)

		// -header needs no password, and works on a decoy too.
		code, h, stderr := pull(env{}, "-login", "test user", "-header")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, pulled{Size: p.Size, Format: 1, KDF: p.KDF}, h)
		code, h, stderr = pull(env{}, "-login", "nobody at all", "-header")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, pulled{Size: h.Size, Format: 1, KDF: "argon2id(m=65536KiB,t=3,p=4)"}, h)

		// A password that does not open the stored registry does not
		// replace it, unless -replace says so.
		code, _, stderr = push(stdin("another password\n"), "-key", keyFile)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "the registry on the server (version 3) does not open with this password")
		assert.Contains(t, stderr, "-replace")
		code, _, stderr = pull(env{}, "-login", "test user", "-header")
		require.Equal(t, 0, code, stderr)

		// Usage.
		for _, c := range []struct {
			args   []string
			stderr string
		}{
			{[]string{"-password-file", pwFile}, "-key FILE is required"},
			{[]string{"-key", keyFile, "-kdf", "scrypt"}, `unknown -kdf "scrypt"`},
			{[]string{"-key", keyFile, "-kdf", "calibrate", "-calibrate", "0s"}, "-calibrate must be"},
		} {
			code, _, stderr := push(env{}, c.args...)
			assert.Equal(t, 2, code, "%q", c.args)
			assert.Contains(t, stderr, c.stderr, "%q", c.args)
		}
		code, _, stderr = pull(env{})
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "-login NAME is required")
	})
	if t.Failed() {
		return
	}

	login := func(e env, out string, args ...string) (int, string, string) {
		t.Helper()
		return cliIn(t, e, append([]string{"login", s, "-app-token-file", tokenFile, "-out", out}, args...)...)
	}

	t.Run("login", func(t *testing.T) {
		out := filepath.Join(dir, "recovered.pem")
		code, stdout, stderr := login(env{}, out, "-login", "t@example.org", "-password-file", pwFile)
		require.Equal(t, 0, code, stderr)
		var l struct {
			IsNew   bool   `json:"is_new"`
			PartyID string `json:"party_id"`
			Session string `json:"session"`
		}
		decodeStrict(t, stdout, &l)
		assert.False(t, l.IsNew)
		assert.Equal(t, first.PartyID, l.PartyID)
		assert.NoError(t, attesta.ParseSession(l.Session))
		assert.Regexp(t, `opened the registry in \d+(\.\d+)?m?s \(the password KDF\)`, stderr)
		assert.NotContains(t, stderr, password)
		for path, want := range map[string]*attesta.PrivateKey{out: key, out + ".1": other} {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), path)
			pem, err := os.ReadFile(path)
			require.NoError(t, err)
			got, err := attesta.ParsePrivateKeyPEM(pem)
			require.NoError(t, err)
			assert.Equal(t, want.Pack(), got.Pack(), path)
			assert.Contains(t, stderr, "wrote the private key "+want.Public().ID().String())
		}
		assert.NoFileExists(t, out+".2")

		// The recovered key connects to the same party.
		code, stdout, stderr = cli(t, "connect", s, "-app-token", token, "-key", out)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, `"party_id":"`+first.PartyID+`"`)

		// An existing file is refused before the password is asked.
		before, err := os.ReadFile(out)
		require.NoError(t, err)
		code, stdout, stderr = login(env{}, out, "-login", "test user") // no password to read
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Equal(t, "attesta: "+out+" exists; refusing to overwrite a key file\n", stderr)
		after, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, before, after)
		// So is an existing FILE.1, and the FILE made meanwhile is removed.
		out2 := filepath.Join(dir, "second.pem")
		write("second.pem.1", "mine", 0o600)
		code, _, stderr = login(env{}, out2, "-login", "test user", "-password-file", pwFile)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "second.pem.1 exists; refusing to overwrite a key file")
		assert.NoFileExists(t, out2)

		// The password piped on stdin, one line.
		out3 := filepath.Join(dir, "piped.pem")
		code, stdout, stderr = login(stdin(password+"\nthe rest is not read\n"), out3, "-login", "+1 (555) 0100-99")
		assert.Equal(t, 1, code, "no party holds that phone: a decoy")
		assert.Contains(t, stderr, "attesta: wrong password, or no account with that login")
		assert.NoFileExists(t, out3)
		code, stdout, stderr = login(stdin(password+"\n"), out3, "-login", "test user")
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, `"is_new":false,"party_id":"`+first.PartyID+`"`)

		// A wrong password: exit 1, a message that says so, no file left.
		out4 := filepath.Join(dir, "wrong.pem")
		code, stdout, stderr = login(stdin("pass word\n"), out4, "-login", "test user")
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Equal(t, "attesta: wrong password, or no account with that login: the two cannot be told apart "+
			"(the server answers a login it does not know with a decoy that no password opens)\n",
			stderr[strings.LastIndex(stderr[:len(stderr)-1], "\n")+1:])
		assert.NoFileExists(t, out4)
		code, _, stderr = pull(stdin("pass word"), "-login", "test user")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "attesta: wrong password, or no account with that login")

		// No password at all, or an empty one.
		for _, e := range []env{{}, stdin(""), stdin("\n"), stdin("\r\n")} {
			code, _, stderr = login(e, out4, "-login", "test user")
			assert.Equal(t, 1, code)
			if e.stdin == nil {
				assert.Contains(t, stderr, "no password")
			} else {
				assert.Contains(t, stderr, "empty password")
			}
			assert.NoFileExists(t, out4)
		}

		// Usage.
		code, _, stderr = login(env{}, "", "-login", "x")
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "-out FILE is required")
		code, _, stderr = login(env{}, out4)
		assert.Equal(t, 2, code)
		assert.Contains(t, stderr, "-login NAME is required")
	})
	if t.Failed() {
		return
	}

	t.Run("replace", func(t *testing.T) {
		// -replace stores a registry under the new password with this key
		// alone; the old password opens nothing any more.
		code, v, stderr := push(stdin("new password\n"), "-key", keyFile, "-replace")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, uint64(4), v)
		assert.Contains(t, stderr, "does not open with this password: replacing it (-replace)")
		code, p, stderr := pull(stdin("new password\n"), "-login", "test user")
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, []string{key.Public().ID().String()}, keyIDs(p))
		code, _, _ = pull(env{}, "-login", "test user", "-password-file", pwFile)
		assert.Equal(t, 1, code)
	})
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"pw":                "pw",
		"pw\n":              "pw",
		"pw\r\n":            "pw",
		" two words \n":     " two words ",
		"pw\nsecond line\n": "pw",
		"tab\tinside\n":     "tab\tinside",
		"ünïcödé\n":         "ünïcödé",
		strings.Repeat("x", maxPasswordBytes) + "\r\n": strings.Repeat("x", maxPasswordBytes),
	} {
		got, err := readLine(strings.NewReader(in))
		if assert.NoError(t, err, "%q", in) {
			assert.Equal(t, want, string(got), "%q", in)
		}
	}
	for in, want := range map[string]error{
		"":                                      errEmptyPassword,
		"\n":                                    errEmptyPassword,
		"\r\n":                                  errEmptyPassword,
		strings.Repeat("x", maxPasswordBytes+1): errPasswordTooLong,
		strings.Repeat("x", maxPasswordBytes+1) + "\n": errPasswordTooLong,
		strings.Repeat("x", 1<<20):                     errPasswordTooLong,
	} {
		_, err := readLine(strings.NewReader(in))
		assert.ErrorIs(t, err, want, "%.20q", in)
	}
	// Nothing past the line is consumed.
	r := strings.NewReader("pw\nrest")
	_, err := readLine(r)
	require.NoError(t, err)
	rest, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "rest", string(rest))
}

// TestPushDefaultKDF: without a test hook, push seals with kdf.Default(),
// which the server's default floors accept, and the stored block looks
// like the decoy a login no party holds gets.
func TestPushDefaultKDF(t *testing.T) {
	srv, err := startDemoServer(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.close()) })
	ctx := t.Context()
	token, err := srv.svc.CreateApp(ctx, "cli")
	require.NoError(t, err)
	key := testkeys.Key(t, attesta.X25519, 0)
	client := transport.NewClient(srv.url)
	r, err := client.Connect(ctx, key, token)
	require.NoError(t, err)
	_, err = client.AddIdentifier(ctx, r.Session, attesta.Nickname, "default kdf")
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(keyFile, key.MarshalPEM(), 0o600))

	t.Setenv(sessionEnv, r.Session)
	code, stdout, stderr := cliIn(t, stdin("a password\n"), "registry", "push", "-server", srv.url, "-key", keyFile)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "{\"version\":1}\n", stdout)
	assert.Contains(t, stderr, "sealing the registry with argon2id(m=65536KiB,t=3,p=4)…\n")

	stored, err := client.GetRegistry(ctx, "Default KDF")
	require.NoError(t, err)
	decoy, err := client.GetRegistry(ctx, "someone else")
	require.NoError(t, err)
	rh, err := registry.Inspect(stored.Registry)
	require.NoError(t, err)
	dh, err := registry.Inspect(decoy.Registry)
	require.NoError(t, err)
	assert.Equal(t, kdf.Default().String(), rh.KDF.String())
	assert.Equal(t, dh.KDF.String(), rh.KDF.String())
	assert.Len(t, stored.Registry, len(decoy.Registry))
	pt, err := registry.Open(ctx, stored.Registry, []byte("a password"), kdf.DefaultCeilings())
	require.NoError(t, err)
	assert.Equal(t, [][]byte{key.Pack()}, pt.Keys)
	assert.Equal(t, r.PartyID, pt.PartyID)
}
