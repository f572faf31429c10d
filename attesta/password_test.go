package attesta_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/outbox"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

func TestNormalizeIdentifier(t *testing.T) {
	tests := []struct {
		kind  attesta.IdentifierKind
		in    string
		want  string
		error bool
	}{
		{attesta.Nickname, "  Alice   Smith ", "alice smith", false},
		{attesta.Nickname, "ALICE\t\n\u00a0Bob", "alice bob", false},
		{attesta.Nickname, "ＡＬＩＣＥ", "alice", false},            // fullwidth, NFKC
		{attesta.Nickname, "Straße", "straße", false},          // lower, not folded
		{attesta.Nickname, "ΣΊΣΥΦΟΣ", "σίσυφοσ", false},        // und lower-casing, no final sigma rule
		{attesta.Nickname, "ﬁne!", "fine!", false},             // ligature, NFKC
		{attesta.Nickname, "e\u0301cole", "école", false},      // combining accent composed
		{attesta.Nickname, "Ⅻ clock", "xii clock", false},      // roman numeral, NFKC then lower
		{attesta.Nickname, "abc", "", true},                    // 3 characters
		{attesta.Nickname, "  ab  ", "", true},                 // short after trim
		{attesta.Nickname, "a\u200bbcd", "", true},             // format character
		{attesta.Nickname, "ab\x00cd", "", true},               // control
		{attesta.Nickname, "\xff\xfeabcd", "", true},           // not UTF-8
		{attesta.Nickname, string(make([]rune, 65)), "", true}, // NULs
		{attesta.Email, "  Alice@Example.COM ", "alice@example.com", false},
		{attesta.Email, "a@b.c", "a@b.c", false},
		{attesta.Email, "alice@example", "", true},
		{attesta.Email, "@example.com", "", true},
		{attesta.Email, "a@b@example.com", "", true},
		{attesta.Email, "a b@example.com", "", true},
		{attesta.Email, "alice@.com", "", true},
		{attesta.Email, "alice@example.", "", true},
		{attesta.Phone, "+1 (555) 010-9999", "+15550109999", false},
		{attesta.Phone, " +44.20.7946.0000 ", "+442079460000", false},
		{attesta.Phone, "15550109999", "", true},
		{attesta.Phone, "+0155501099", "", true},
		{attesta.Phone, "+1555", "", true},
		{attesta.Phone, "+1234567890123456", "", true},
		{attesta.Phone, "+1 555 CALL NOW", "", true},
		{attesta.Phone, "++15550109999", "", true},
		{"handle", "alice", "", true},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+tt.in, func(t *testing.T) {
			id, err := attesta.NormalizeIdentifier(tt.kind, tt.in)
			if tt.error {
				assert.Error(t, err)
				assert.Zero(t, id)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, id.Value)
			// Normalisation is idempotent.
			again, err := attesta.NormalizeIdentifier(tt.kind, id.Value)
			require.NoError(t, err)
			assert.Equal(t, id, again)
		})
	}
	id, err := attesta.ParseLogin(" Bob@Example.org")
	require.NoError(t, err)
	assert.Equal(t, attesta.Identifier{Kind: attesta.Email, Value: "bob@example.org"}, id)
	id, err = attesta.ParseLogin("+1 555 010 9999")
	require.NoError(t, err)
	assert.Equal(t, attesta.Phone, id.Kind)
	id, err = attesta.ParseLogin("Bobby Tables")
	require.NoError(t, err)
	assert.Equal(t, attesta.Identifier{Kind: attesta.Nickname, Value: "bobby tables"}, id)
	assert.Equal(t, "b***@example.org", attesta.Identifier{Kind: attesta.Email, Value: "bob@example.org"}.Hint())
	assert.Equal(t, "+***99", attesta.Identifier{Kind: attesta.Phone, Value: "+15550109999"}.Hint())
}

type pwFixture struct {
	*fixture
	outbox string
	party  attesta.PartyID
}

func newPWFixture(t *testing.T, cfg attesta.Config) *pwFixture {
	dir := t.TempDir()
	cfg.Notifier = outbox.New(filepath.Join(dir, "outbox.jsonl"))
	f := &pwFixture{fixture: newFixture(t, cfg), outbox: filepath.Join(dir, "outbox.jsonl")}
	f.party = f.connect(t, testkeys.Key(t, attesta.X25519, 0)).PartyID
	return f
}

func (f *pwFixture) code(t *testing.T, to string) string {
	code, err := outbox.LastCode(f.outbox, to)
	require.NoError(t, err)
	return code
}

func TestNicknames(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{NicknameQuarantine: time.Hour})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	other := f.connect(t, testkeys.Key(t, attesta.X25519, 1)).PartyID

	st, err := f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "Alice Smith")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusActive, st)
	st, err = f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "  alice   SMITH")
	require.NoError(t, err, "adding one's own nickname again is a no-op")
	assert.Equal(t, attesta.StatusActive, st)
	_, err = f.svc.AddIdentifier(ctx, other, attesta.Nickname, "ALICE SMITH")
	assert.ErrorIs(t, err, attesta.ErrIdentifierTaken)
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "abc")
	assert.ErrorIs(t, err, attesta.ErrBadIdentifier)

	for _, n := range []string{"nick two", "nick three", "nick four", "nick five"} {
		_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, n)
		require.NoError(t, err)
	}
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "nick six")
	assert.ErrorIs(t, err, attesta.ErrTooManyIdentifiers)

	ids, err := f.svc.Identifiers(ctx, f.party)
	require.NoError(t, err)
	assert.Len(t, ids, 5)

	// Release: quarantined for others, not for the holder.
	require.NoError(t, f.svc.RemoveIdentifier(ctx, f.party, attesta.Nickname, "alice smith"))
	assert.ErrorIs(t, f.svc.RemoveIdentifier(ctx, f.party, attesta.Nickname, "alice smith"), attesta.ErrIdentifierNotFound)
	_, err = f.svc.AddIdentifier(ctx, other, attesta.Nickname, "alice smith")
	assert.ErrorIs(t, err, attesta.ErrIdentifierTaken, "quarantined")
	_, err = f.svc.RegistryByLogin(ctx, "alice smith") // a decoy, not the party
	require.NoError(t, err)
	now = now.Add(time.Hour + time.Second)
	_, err = f.svc.AddIdentifier(ctx, other, attesta.Nickname, "alice smith")
	require.NoError(t, err, "after quarantine")
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "alice smith")
	assert.ErrorIs(t, err, attesta.ErrIdentifierTaken)

	// The holder can take back its own released nickname at once.
	require.NoError(t, f.svc.RemoveIdentifier(ctx, f.party, attesta.Nickname, "nick two"))
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "nick two")
	require.NoError(t, err)
}

func TestEmailVerification(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	other := f.connect(t, testkeys.Key(t, attesta.X25519, 1)).PartyID

	st, err := f.svc.AddIdentifier(ctx, f.party, attesta.Email, " Alice@Example.com ")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusPending, st)
	code := f.code(t, "alice@example.com")
	assert.Regexp(t, `^[0-9]{6}$`, code)
	_, err = f.svc.RegistryByLogin(ctx, "alice@example.com")
	require.NoError(t, err) // pending: not a login yet (a decoy)

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Email, "alice@example.com", wrong), attesta.ErrWrongCode)
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, other, attesta.Email, "alice@example.com", code), attesta.ErrCodeUnknown, "codes are per party")
	require.NoError(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Email, "ALICE@example.com", code))
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Email, "alice@example.com", code), attesta.ErrCodeUnknown, "used")
	st, err = f.svc.AddIdentifier(ctx, f.party, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusActive, st)

	// Another party may ask for a code (nothing is revealed), but not
	// confirm an address that is taken. (A minute later: one code a
	// minute goes to one destination, whoever asks.)
	now = now.Add(time.Minute)
	st, err = f.svc.AddIdentifier(ctx, other, attesta.Email, "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, attesta.StatusPending, st)
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, other, attesta.Email, "alice@example.com", f.code(t, "alice@example.com")), attesta.ErrIdentifierTaken)

	// Five wrong tries void the code.
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Phone, "+1 555 010 9999")
	require.NoError(t, err)
	code = f.code(t, "+15550109999")
	wrong = "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 4 {
		assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Phone, "+15550109999", wrong), attesta.ErrWrongCode)
	}
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Phone, "+15550109999", wrong), attesta.ErrCodeTriesExhausted)
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Phone, "+15550109999", code), attesta.ErrCodeUnknown)

	// Expiry after 10 minutes.
	now = now.Add(time.Minute)
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Phone, "+15550109999")
	require.NoError(t, err)
	code = f.code(t, "+15550109999")
	now = now.Add(10 * time.Minute)
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Phone, "+15550109999", code), attesta.ErrCodeExpired)

	// A new code replaces the old one and resets the tries.
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Phone, "+15550109999")
	require.NoError(t, err)
	require.NoError(t, f.svc.ConfirmIdentifier(ctx, f.party, attesta.Phone, "+15550109999", f.code(t, "+15550109999")))

	ids, err := f.svc.Identifiers(ctx, f.party)
	require.NoError(t, err)
	hints := map[string]bool{}
	for _, id := range ids {
		hints[id.Hint] = !id.Pending
	}
	assert.Equal(t, map[string]bool{"a***@example.com": true, "+***99": true}, hints)

	// Without a notifier, only nicknames.
	g := newFixture(t, attesta.Config{})
	p := g.connect(t, testkeys.Key(t, attesta.X25519, 0)).PartyID
	_, err = g.svc.AddIdentifier(ctx, p, attesta.Email, "bob@example.com")
	assert.ErrorIs(t, err, attesta.ErrNoNotifier)
}

// TestCodeSendBudgets is finding 5 of issue 14: codes to one destination
// are capped whoever asks (a cooldown and a daily cap), and so are a
// party's sends and the server's total.
func TestCodeSendBudgets(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{Limits: attesta.Limits{CodeSendsTotal: attesta.Limit{Burst: 8, Every: time.Hour}}})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	parties := []attesta.PartyID{f.party}
	for i := 1; i < 3; i++ {
		parties = append(parties, f.connect(t, testkeys.Key(t, attesta.X25519, i)).PartyID)
	}
	victim := "victim@example.org"
	sent := 0
	for range 10 {
		for _, p := range parties {
			if _, err := f.svc.AddIdentifier(ctx, p, attesta.Email, victim); err == nil {
				sent++
			} else {
				var be *attesta.BudgetError
				require.ErrorAs(t, err, &be)
				assert.Positive(t, be.RetryAfter)
			}
		}
	}
	assert.Equal(t, 1, sent, "30 asks from three parties in a moment: one code (the cooldown)")
	// Over a day: five codes at most to the destination.
	for range 24 * 60 / 5 {
		now = now.Add(5 * time.Minute)
		if _, err := f.svc.AddIdentifier(ctx, parties[int(now.Unix())%3], attesta.Email, victim); err == nil {
			sent++
		}
	}
	assert.Equal(t, 10, sent, "a burst of five, then one every 4.8 hours: ten in the first day, whoever asks")
	codes, err := outbox.Codes(f.outbox, victim)
	require.NoError(t, err)
	assert.Len(t, codes, sent, "every refusal sent nothing")
}

// TestCodeSendsTotal: the server's total cap holds over every destination,
// and a send it refuses spends nothing from the party's or the
// destination's budgets (all or nothing).
func TestCodeSendsTotal(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{Limits: attesta.Limits{CodeSendsTotal: attesta.Limit{Burst: 3, Every: time.Hour}}})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	for i := range 3 {
		_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Email, fmt.Sprintf("user%d@example.org", i))
		require.NoError(t, err)
	}
	_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Email, "user3@example.org")
	var be *attesta.BudgetError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, time.Hour, be.RetryAfter)
	// An hour later the same destination gets its code at once: the
	// refusal spent nothing of its cooldown.
	now = now.Add(time.Hour)
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Email, "user3@example.org")
	require.NoError(t, err)
}

// TestCodeTriesPerIdentifier is finding 8 of issue 14: asking for a new
// code resets the code's five tries, but not the party's daily tries for
// that identifier.
func TestCodeTriesPerIdentifier(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{Limits: attesta.Limits{CodeSendsPerDestination: attesta.Limit{Burst: 100, Every: time.Minute}}})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })
	tries := 0
	for range 5 {
		now = now.Add(time.Minute)
		_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Email, "target@example.org")
		require.NoError(t, err)
		for range 5 {
			err := f.svc.ConfirmIdentifier(ctx, f.party, attesta.Email, "target@example.org", "999999x")
			if errors.Is(err, attesta.ErrBudgetExhausted) {
				continue
			}
			tries++
		}
	}
	assert.Equal(t, 10, tries, "ten tries a day, however many codes")
	// Another party's tries are its own.
	now = now.Add(time.Minute)
	other := f.connect(t, testkeys.Key(t, attesta.X25519, 1)).PartyID
	_, err := f.svc.AddIdentifier(ctx, other, attesta.Email, "target@example.org")
	require.NoError(t, err)
	assert.ErrorIs(t, f.svc.ConfirmIdentifier(ctx, other, attesta.Email, "target@example.org", "999999x"), attesta.ErrWrongCode)
}

// cheap are KDF parameters for tests, far below the default floors.
func cheap(t *testing.T) kdf.Params {
	p, err := kdf.Argon2idParams(64, 1, 1)
	require.NoError(t, err)
	return p
}

func seal(t *testing.T, p kdf.Params, party string) []byte {
	b, err := registry.Seal(context.Background(), registry.Plaintext{PartyID: party, Keys: [][]byte{[]byte("k")}}, []byte("pw"), p)
	require.NoError(t, err)
	return b
}

func TestRegistryStore(t *testing.T) {
	ctx := context.Background()
	noFloors := kdf.Floors{}
	f := newPWFixture(t, attesta.Config{KDFFloors: &noFloors})
	_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "alice smith")
	require.NoError(t, err)

	block := seal(t, cheap(t), f.party.String())
	v, err := f.svc.PutRegistry(ctx, f.party, block, 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v)
	_, err = f.svc.PutRegistry(ctx, f.party, block, 0)
	assert.ErrorIs(t, err, attesta.ErrVersionConflict)

	got, err := f.svc.RegistryByLogin(ctx, " Alice  Smith")
	require.NoError(t, err)
	assert.Equal(t, block, got.Block)
	assert.Equal(t, uint64(1), got.Version, "a login fetch always says 1")

	// A second version (concurrent writers of one version are
	// storetest's Registry section).
	v, err = f.svc.PutRegistry(ctx, f.party, block, 1)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), v)

	// Refusals.
	_, err = f.svc.PutRegistry(ctx, f.party, []byte("junk"), 2)
	assert.ErrorIs(t, err, attesta.ErrBadRegistry)
	_, err = f.svc.PutRegistry(ctx, f.party, make([]byte, registry.MaxBlockSize+1), 2)
	assert.ErrorIs(t, err, attesta.ErrRegistryTooLarge)
	costly, err := kdf.ScryptParams(1, 1, 17) // cheap to seal, but p above every default ceiling
	require.NoError(t, err)
	_, err = f.svc.PutRegistry(ctx, f.party, seal(t, costly, ""), 2)
	assert.ErrorIs(t, err, attesta.ErrKDFTooCostly)
	assert.ErrorIs(t, err, kdf.ErrAboveCeiling)
	_, err = f.svc.RegistryByLogin(ctx, "abc")
	assert.ErrorIs(t, err, attesta.ErrBadIdentifier)

	// Removing the last identifier leaves the registry intact but
	// unreachable by login.
	require.NoError(t, f.svc.RemoveIdentifier(ctx, f.party, attesta.Nickname, "alice smith"))
	got, err = f.svc.RegistryByLogin(ctx, "alice smith")
	require.NoError(t, err)
	assert.NotEqual(t, block, got.Block)
	own, err := f.svc.OwnRegistry(ctx, f.party)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), own.Version)
}

func TestRegistryFloors(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{})
	weak := seal(t, cheap(t), "")
	_, err := f.svc.PutRegistry(ctx, f.party, weak, 0)
	assert.ErrorIs(t, err, attesta.ErrKDFTooWeak)
	assert.ErrorIs(t, err, kdf.ErrBelowFloor)
	assert.ErrorIs(t, err, kdf.ErrMemoryBelowFloor)
	floor, err := kdf.Argon2idParams(19<<10, 2, 1)
	require.NoError(t, err)
	atFloor := seal(t, floor, "")
	_, err = f.svc.PutRegistry(ctx, f.party, atFloor, 0)
	assert.ErrorIs(t, err, attesta.ErrNoIdentifier, "a registry needs a login identifier")
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "alice smith")
	require.NoError(t, err)
	_, err = f.svc.PutRegistry(ctx, f.party, atFloor, 0)
	require.NoError(t, err)
}

func TestDecoys(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{})
	_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Nickname, "real user")
	require.NoError(t, err)
	real := seal(t, kdf.Default(), f.party.String())
	_, err = f.svc.PutRegistry(ctx, f.party, real, 0)
	require.NoError(t, err)
	realHeader, err := registry.Inspect(real)
	require.NoError(t, err)

	// A party with an identifier but no registry also gets a decoy.
	other := f.connect(t, testkeys.Key(t, attesta.X25519, 1)).PartyID
	_, err = f.svc.AddIdentifier(ctx, other, attesta.Nickname, "no registry")
	require.NoError(t, err)

	for _, login := range []string{"nobody here", "someone@example.com", "+15550100000", "no registry"} {
		d, err := f.svc.RegistryByLogin(ctx, login)
		require.NoError(t, err)
		assert.Len(t, d.Block, len(real), login)
		assert.Equal(t, uint64(1), d.Version)
		h, err := registry.Inspect(d.Block)
		require.NoError(t, err)
		assert.Equal(t, realHeader.Version, h.Version)
		assert.Equal(t, realHeader.KDF.Algorithm(), h.KDF.Algorithm())
		assert.Equal(t, realHeader.KDF.MemoryKiB(), h.KDF.MemoryKiB())
		assert.Equal(t, realHeader.KDF.Time(), h.KDF.Time())
		assert.Equal(t, realHeader.KDF.Threads(), h.KDF.Threads())
		assert.Len(t, h.KDF.Salt(), len(realHeader.KDF.Salt()))
		again, err := f.svc.RegistryByLogin(ctx, login)
		require.NoError(t, err)
		assert.Equal(t, d.Block, again.Block, "stable per identifier")
	}
	a, _ := f.svc.RegistryByLogin(ctx, "nobody here")
	b, _ := f.svc.RegistryByLogin(ctx, "nobody there")
	assert.NotEqual(t, a.Block, b.Block)
	_, err = registry.Open(ctx, a.Block, []byte("any password"), kdf.DefaultCeilings())
	assert.ErrorIs(t, err, registry.ErrWrongPassword)
}
