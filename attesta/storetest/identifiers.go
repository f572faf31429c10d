package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// info is an IdentifierInfo without its time, for comparing lists.
type info struct {
	Kind    attesta.IdentifierKind
	Hint    string
	Pending bool
}

func (e *env) infos(t testing.TB, party attesta.PartyID) []info {
	t.Helper()
	ids, err := e.st.Identifiers(e.ctx, party)
	require.NoError(t, err)
	out := []info{}
	for _, id := range ids {
		out = append(out, info{id.Kind, id.Hint, id.Pending})
	}
	return out
}

// testNicknames: AddNickname (active at once, a no-op for its holder,
// taken for others, at most max), RemoveIdentifier (a quarantine that
// keeps the nickname for its last holder until it ends), Identifiers,
// PartyByIdentifier.
func testNicknames(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	alice, bob := partyID(), partyID()
	n1, n2, n3 := hash(), hash(), hash()

	assert.Empty(t, e.infos(t, alice))
	_, err := st.PartyByIdentifier(ctx, n1)
	assert.ErrorIs(t, err, attesta.ErrNotFound)

	require.NoError(t, st.AddNickname(ctx, alice, n1, "al***", 2, t0))
	got, err := st.PartyByIdentifier(ctx, n1)
	require.NoError(t, err)
	assert.Equal(t, alice, got)
	ids, err := st.Identifiers(ctx, alice)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	assert.Equal(t, attesta.Nickname, ids[0].Kind)
	assert.Equal(t, "al***", ids[0].Hint)
	assert.False(t, ids[0].Pending)
	sameTime(t, t0, ids[0].Added)

	require.NoError(t, st.AddNickname(ctx, alice, n1, "al***", 2, t0.Add(time.Hour)), "adding one's own nickname is a no-op")
	ids, err = st.Identifiers(ctx, alice)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	sameTime(t, t0, ids[0].Added, "a no-op keeps the first time")
	assert.ErrorIs(t, st.AddNickname(ctx, bob, n1, "al***", 2, t0), attesta.ErrIdentifierTaken)

	require.NoError(t, st.AddNickname(ctx, alice, n2, "ni***", 2, t0))
	assert.ErrorIs(t, st.AddNickname(ctx, alice, n3, "th***", 2, t0), attesta.ErrTooManyIdentifiers)
	require.NoError(t, st.AddNickname(ctx, alice, n1, "al***", 2, t0), "one's own at the maximum is still a no-op")
	assert.ElementsMatch(t, []info{{attesta.Nickname, "al***", false}, {attesta.Nickname, "ni***", false}}, e.infos(t, alice))
	assert.Empty(t, e.infos(t, bob))

	// Released: reserved to alice until q, then free for anyone.
	q := t0.Add(30 * 24 * time.Hour)
	require.NoError(t, st.RemoveIdentifier(ctx, alice, n1, q))
	assert.ErrorIs(t, st.RemoveIdentifier(ctx, alice, n1, q), attesta.ErrIdentifierNotFound, "removing twice")
	assert.ErrorIs(t, st.RemoveIdentifier(ctx, bob, n2, q), attesta.ErrIdentifierNotFound, "removing another party's")
	assert.ErrorIs(t, st.RemoveIdentifier(ctx, alice, hash(), q), attesta.ErrIdentifierNotFound, "removing one never added")
	_, err = st.PartyByIdentifier(ctx, n1)
	assert.ErrorIs(t, err, attesta.ErrNotFound, "a released nickname is no login")
	assert.ElementsMatch(t, []info{{attesta.Nickname, "ni***", false}}, e.infos(t, alice))
	assert.ErrorIs(t, st.AddNickname(ctx, bob, n1, "al***", 2, q.Add(-time.Nanosecond)), attesta.ErrIdentifierTaken, "quarantined")
	// A quarantined nickname does not count against the maximum.
	require.NoError(t, st.AddNickname(ctx, alice, n3, "th***", 2, t0))
	require.NoError(t, st.RemoveIdentifier(ctx, alice, n3, q))

	// Its last holder takes it back at once.
	require.NoError(t, st.AddNickname(ctx, alice, n3, "th***", 2, t0.Add(time.Minute)))
	got, err = st.PartyByIdentifier(ctx, n3)
	require.NoError(t, err)
	assert.Equal(t, alice, got)

	// At q the quarantine is over: bob takes n1, and alice cannot.
	require.NoError(t, st.AddNickname(ctx, bob, n1, "al***", 2, q))
	got, err = st.PartyByIdentifier(ctx, n1)
	require.NoError(t, err)
	assert.Equal(t, bob, got)
	assert.ErrorIs(t, st.AddNickname(ctx, alice, n1, "al***", 5, q), attesta.ErrIdentifierTaken)
	assert.ElementsMatch(t, []info{{attesta.Nickname, "al***", false}}, e.infos(t, bob))

	// A pending verification's hash cannot shadow a nickname, nor a
	// nickname's max count emails.
	v := attesta.Verification{Hash: hash(), Kind: attesta.Email, Hint: "a***@example.org", CodeHash: hash(), Expires: q}
	require.NoError(t, st.StartVerification(ctx, bob, v, 1))
	require.NoError(t, st.AddNickname(ctx, bob, hash(), "ot***", 2, q), "emails do not count against nicknames")
}

// testVerification: StartVerification, ConfirmVerification (unknown,
// wrong, tries, expiry, taken, match), RemoveIdentifier of emails and
// phones, the maximum of emails and phones.
func testVerification(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	alice, bob := partyID(), partyID()
	email := attesta.Verification{Hash: hash(), Kind: attesta.Email, Hint: "a***@example.org", CodeHash: hash(), Expires: t0.Add(10 * time.Minute)}
	const tries = 3

	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, email.CodeHash, tries, t0), attesta.ErrCodeUnknown, "nothing pending")
	require.NoError(t, st.StartVerification(ctx, alice, email, 2))
	assert.ElementsMatch(t, []info{{attesta.Email, "a***@example.org", true}}, e.infos(t, alice))
	_, err := st.PartyByIdentifier(ctx, email.Hash)
	assert.ErrorIs(t, err, attesta.ErrNotFound, "a pending email is no login")
	assert.ErrorIs(t, st.ConfirmVerification(ctx, bob, email.Hash, email.CodeHash, tries, t0), attesta.ErrCodeUnknown, "codes are per party")

	// Wrong codes count; the last try voids the code.
	for range tries - 1 {
		assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, hash(), tries, t0), attesta.ErrWrongCode)
	}
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, hash(), tries, t0), attesta.ErrCodeTriesExhausted)
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, email.CodeHash, tries, t0), attesta.ErrCodeUnknown, "voided")
	assert.Empty(t, e.infos(t, alice))

	// A new code replaces the old one and resets the tries.
	require.NoError(t, st.StartVerification(ctx, alice, email, 2))
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, hash(), tries, t0), attesta.ErrWrongCode)
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, hash(), tries, t0), attesta.ErrWrongCode)
	fresh := email
	fresh.CodeHash, fresh.Expires = hash(), t0.Add(20*time.Minute)
	require.NoError(t, st.StartVerification(ctx, alice, fresh, 2))
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, email.CodeHash, tries, t0), attesta.ErrWrongCode, "the old code")
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, hash(), tries, t0), attesta.ErrWrongCode, "tries were reset")

	// Expired at its expiry: dropped.
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, fresh.CodeHash, tries, fresh.Expires), attesta.ErrCodeExpired)
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, fresh.CodeHash, tries, t0), attesta.ErrCodeUnknown, "dropped at expiry")

	// A match a nanosecond before expiry: active.
	require.NoError(t, st.StartVerification(ctx, alice, email, 2))
	now := email.Expires.Add(-time.Nanosecond)
	require.NoError(t, st.ConfirmVerification(ctx, alice, email.Hash, email.CodeHash, tries, now))
	got, err := st.PartyByIdentifier(ctx, email.Hash)
	require.NoError(t, err)
	assert.Equal(t, alice, got)
	ids, err := st.Identifiers(ctx, alice)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	assert.Equal(t, info{attesta.Email, "a***@example.org", false}, info{ids[0].Kind, ids[0].Hint, ids[0].Pending})
	sameTime(t, now, ids[0].Added, "active since its confirmation")
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, email.Hash, email.CodeHash, tries, now), attesta.ErrCodeUnknown, "used")
	assert.ErrorIs(t, st.StartVerification(ctx, alice, email, 2), attesta.ErrIdentifierTaken, "already alice's")

	// Another party may start one (nothing is revealed) but not confirm
	// an address that is taken.
	bobs := email
	bobs.CodeHash = hash()
	require.NoError(t, st.StartVerification(ctx, bob, bobs, 2))
	assert.ErrorIs(t, st.ConfirmVerification(ctx, bob, email.Hash, bobs.CodeHash, tries, t0), attesta.ErrIdentifierTaken)
	got, err = st.PartyByIdentifier(ctx, email.Hash)
	require.NoError(t, err)
	assert.Equal(t, alice, got, "still alice's")

	// The maximum counts active and pending emails and phones, not a
	// replacement of a pending one, not nicknames.
	phone := attesta.Verification{Hash: hash(), Kind: attesta.Phone, Hint: "+***99", CodeHash: hash(), Expires: t0.Add(time.Hour)}
	require.NoError(t, st.StartVerification(ctx, alice, phone, 2))
	require.NoError(t, st.StartVerification(ctx, alice, phone, 2), "a replacement")
	third := attesta.Verification{Hash: hash(), Kind: attesta.Email, Hint: "b***@example.org", CodeHash: hash(), Expires: t0.Add(time.Hour)}
	assert.ErrorIs(t, st.StartVerification(ctx, alice, third, 2), attesta.ErrTooManyIdentifiers)
	require.NoError(t, st.AddNickname(ctx, alice, hash(), "ni***", 5, t0))
	assert.ElementsMatch(t, []info{
		{attesta.Email, "a***@example.org", false},
		{attesta.Phone, "+***99", true},
		{attesta.Nickname, "ni***", false},
	}, e.infos(t, alice))

	// Removing a pending one: gone, and a slot free.
	require.NoError(t, st.RemoveIdentifier(ctx, alice, phone.Hash, t0.Add(time.Hour)))
	assert.ErrorIs(t, st.ConfirmVerification(ctx, alice, phone.Hash, phone.CodeHash, tries, t0), attesta.ErrCodeUnknown)
	require.NoError(t, st.StartVerification(ctx, alice, third, 2))

	// Removing an active email frees it at once, for anyone.
	require.NoError(t, st.RemoveIdentifier(ctx, alice, email.Hash, t0.Add(time.Hour)))
	_, err = st.PartyByIdentifier(ctx, email.Hash)
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	require.NoError(t, st.StartVerification(ctx, bob, bobs, 2))
	require.NoError(t, st.ConfirmVerification(ctx, bob, email.Hash, bobs.CodeHash, tries, t0))
	got, err = st.PartyByIdentifier(ctx, email.Hash)
	require.NoError(t, err)
	assert.Equal(t, bob, got)
}

// testIdentifiersConcurrent: one winner among parties adding one
// nickname at once; no more than max among one party's concurrent
// additions; code tries counted exactly under concurrent wrong guesses.
func testIdentifiersConcurrent(t *testing.T, e *env) {
	ctx := e.ctx
	hs := e.handles(t)

	nick := hash()
	parties := make([]attesta.PartyID, 10)
	for i := range parties {
		parties[i] = partyID()
	}
	errs := race(len(parties), func(i int) error {
		return hs[i%2].AddNickname(ctx, parties[i], nick, "co***", 5, t0)
	})
	ok, taken := tally(t, errs, attesta.ErrIdentifierTaken)
	require.Equal(t, 1, ok, "one party gets a contested nickname")
	assert.Equal(t, len(parties)-1, taken)
	holder, err := e.st.PartyByIdentifier(ctx, nick)
	require.NoError(t, err)
	assert.Equal(t, parties[slices.IndexFunc(errs, func(err error) bool { return err == nil })], holder)

	alice := partyID()
	errs = race(12, func(i int) error {
		return hs[i%2].AddNickname(ctx, alice, hash(), "ni***", 5, t0)
	})
	ok, tooMany := tally(t, errs, attesta.ErrTooManyIdentifiers)
	assert.Equal(t, 5, ok, "at most max nicknames, however many are added at once")
	assert.Equal(t, 7, tooMany)
	assert.Len(t, e.infos(t, alice), 5)

	errs = race(6, func(i int) error {
		v := attesta.Verification{Hash: hash(), Kind: attesta.Phone, Hint: "+***00", CodeHash: hash(), Expires: t0.Add(time.Hour)}
		return hs[i%2].StartVerification(ctx, alice, v, 2)
	})
	ok, tooMany = tally(t, errs, attesta.ErrTooManyIdentifiers)
	assert.Equal(t, 2, ok, "at most max pending verifications")
	assert.Equal(t, 4, tooMany)

	// Ten wrong codes at once against five tries: four wrong, one that
	// exhausts them, five that find nothing left.
	bob := partyID()
	v := attesta.Verification{Hash: hash(), Kind: attesta.Email, Hint: "b***@example.org", CodeHash: hash(), Expires: t0.Add(time.Hour)}
	require.NoError(t, e.st.StartVerification(ctx, bob, v, 2))
	errs = race(10, func(i int) error {
		return hs[i%2].ConfirmVerification(ctx, bob, v.Hash, hash(), 5, t0)
	})
	var wrong, exhausted, unknown int
	for _, err := range errs {
		switch {
		case errors.Is(err, attesta.ErrWrongCode):
			wrong++
		case errors.Is(err, attesta.ErrCodeTriesExhausted):
			exhausted++
		case errors.Is(err, attesta.ErrCodeUnknown):
			unknown++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	assert.Equal(t, [3]int{4, 1, 5}, [3]int{wrong, exhausted, unknown}, "wrong, exhausted, unknown")
}
