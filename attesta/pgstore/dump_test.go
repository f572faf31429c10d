package pgstore_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/attesta/pgstore"
	"github.com/attesta-go/attesta/internal/pgtest"
	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

// TestDumpHoldsNoSecret runs a scripted session through the Service on
// PostgreSQL (an application, connects, a logout, a nickname, an email
// confirmed, a phone pending, a registry, an entitled instance and a
// service key rotated once) and then dumps every table as pg_dump would
// (COPY … TO STDOUT): no email, phone, nickname, token, session, code,
// password, service key or server secret is in it, in any of the forms
// they travel in.
func TestDumpHoldsNoSecret(t *testing.T) {
	ctx := t.Context()
	dsn, schema := pgtest.DSN(t)
	st, err := pgstore.Open(ctx, dsn, pgstore.Config{})
	require.NoError(t, err)
	defer st.Close()
	secret := rnd.Bytes(attesta.SecretSize)
	box := filepath.Join(t.TempDir(), "outbox.jsonl")
	noFloors := kdf.Floors{}
	svc, err := attesta.New(attesta.Config{Store: st, Secret: secret, Notifier: outbox.New(box), KDFFloors: &noFloors})
	require.NoError(t, err)

	appToken, err := svc.CreateApp(ctx, "dumpapp")
	require.NoError(t, err)
	key := testkeys.Key(t, attesta.X25519, 0)
	var challenges [][]byte
	connect := func() attesta.KeyToken {
		req, err := svc.AuthKeyRequest(ctx, key.Public().Pack(), appToken)
		require.NoError(t, err)
		tok, err := key.DecryptToken(req.EncryptedToken)
		require.NoError(t, err)
		challenges = append(challenges, tok)
		res, err := svc.AuthKeyToken(ctx, tok)
		require.NoError(t, err)
		return res
	}
	first, second := connect(), connect()
	require.NoError(t, svc.Revoke(ctx, second.Session))
	party := first.PartyID

	const (
		nick     = "Dumpy Nickname"
		email    = "dump.user@example.org"
		phone    = "+15550104242"
		password = "correct horse battery dump"
	)
	_, err = svc.AddIdentifier(ctx, party, attesta.Nickname, nick)
	require.NoError(t, err)
	_, err = svc.AddIdentifier(ctx, party, attesta.Email, email)
	require.NoError(t, err)
	emailCode, err := outbox.LastCode(box, email)
	require.NoError(t, err)
	require.NoError(t, svc.ConfirmIdentifier(ctx, party, attesta.Email, email, emailCode))
	_, err = svc.AddIdentifier(ctx, party, attesta.Phone, phone)
	require.NoError(t, err)
	phoneCode, err := outbox.LastCode(box, phone)
	require.NoError(t, err)
	params, err := kdf.Argon2idParams(64, 1, 1)
	require.NoError(t, err)
	block, err := registry.Seal(ctx, registry.Plaintext{PartyID: party.String(), Keys: [][]byte{key.Pack()}}, []byte(password), params)
	require.NoError(t, err)
	_, err = svc.PutRegistry(ctx, party, block, 0)
	require.NoError(t, err)

	// An instance of the application, entitled, and its application's
	// service key in two versions: the values are sealed.
	const serviceKey, rotatedKey = "sk-live-dump-0123456789abcdef", "sk-live-dump-rotated-fedcba9876"
	sess, err := svc.Authenticate(ctx, first.Session)
	require.NoError(t, err)
	tok, err := svc.RegisterInstance(ctx, sess, key.Public().Pack())
	require.NoError(t, err)
	_, err = svc.GrantEntitlement(ctx, tok.String())
	require.NoError(t, err)
	_, err = svc.SetServiceKey(ctx, "dumpapp", "openai", []byte(serviceKey))
	require.NoError(t, err)
	_, err = svc.SetServiceKey(ctx, "dumpapp", "openai", []byte(rotatedKey))
	require.NoError(t, err)
	served, err := svc.ServiceKey(ctx, sess, "openai")
	require.NoError(t, err)

	dump, fields := dumpSchema(t, dsn, schema)
	// The dump holds the session: hashes, hints, ids.
	assert.Contains(t, dump, "d***@example.org", "the email's hint")
	assert.Contains(t, dump, hex.EncodeToString(party[:]), "the party id")

	raw := func(token, prefix string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, prefix))
		require.NoError(t, err)
		return b
	}
	secrets := map[string][]byte{
		"app token":          raw(appToken, attesta.AppTokenPrefix),
		"session":            raw(first.Session, attesta.SessionPrefix),
		"logged-out session": raw(second.Session, attesta.SessionPrefix),
		"server secret":      secret,
		"private key":        key.Pack(),
	}
	for i, c := range challenges {
		secrets["challenge token "+string(rune('0'+i))] = c
	}
	texts := map[string]string{
		"app token": appToken, "session": first.Session, "logged-out session": second.Session,
		"nickname": nick, "normalised nickname": strings.ToLower(nick), "email": email, "email's local part": "dump.user",
		"phone": phone, "phone's digits": phone[1:], "password": password,
		"service key": serviceKey, "rotated service key": rotatedKey, "service key's start": serviceKey[:12],
	}
	secrets["service key as served"] = served.Ciphertext
	for what, b := range secrets {
		for _, form := range []string{hex.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b), base64.StdEncoding.EncodeToString(b)} {
			assert.NotContains(t, dump, form, "%s in the dump", what)
		}
		assert.False(t, bytes.Contains([]byte(dump), b), "%s's bytes in the dump", what)
		texts[what+" (text)"] = string(b)
	}
	for what, s := range texts {
		assert.NotContains(t, strings.ToLower(dump), strings.ToLower(s), "%s in the dump", what)
	}
	// Six-digit codes: in every field but the numbers (times in
	// nanoseconds), where six digits turn up by chance.
	number := regexp.MustCompile(`^-?[0-9]+$`)
	for _, f := range fields {
		if !number.MatchString(f) {
			assert.NotContains(t, f, emailCode, "the email's code")
			assert.NotContains(t, f, phoneCode, "the phone's code")
		}
	}
}

// dumpSchema copies every table of schema as text, as pg_dump writes
// their data, and returns the whole and its fields.
func dumpSchema(t *testing.T, dsn, schema string) (string, []string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "identifiers")
	var dump bytes.Buffer
	for _, table := range tables {
		dump.WriteString("-- " + table + "\n")
		_, err := conn.PgConn().CopyTo(ctx, &dump, `COPY `+pgx.Identifier{schema, table}.Sanitize()+` TO STDOUT`)
		require.NoError(t, err)
	}
	var fields []string
	for line := range strings.Lines(dump.String()) {
		fields = append(fields, strings.Split(strings.TrimSuffix(line, "\n"), "\t")...)
	}
	return dump.String(), fields
}
