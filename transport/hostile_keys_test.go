package transport_test

import (
	"bytes"
	"math/big"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// TestForgedContainersBanNothing is finding 1 of issue 14 over the real
// server: an attacker who knows only a victim's public key wraps it in
// private-key containers (encrypted OpenSSH of any cipher, OpenSSH and
// PKCS#1 whose private numbers are not the victim's, PEM blocks of
// garbage, a forged block beside a real one). Each is answered
// private_key_disclosed; none bans the victim, whose session lives on and
// who connects again as the same party. Only the attacker's own key, whose
// private half one input really holds, is banned.
func TestForgedContainersBanNothing(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, attesta.Config{Logger: slogJSON(logs)}, generous)
	ctx := t.Context()
	victimKey := testkeys.Key(t, attesta.RSA2048, 0)
	attackerKey := testkeys.Key(t, attesta.RSA2048, 1)
	victim := testkeys.RSANumbers(t, victimKey)
	atk := testkeys.RSANumbers(t, attackerKey)
	c := e.client(false)
	before, err := c.Connect(ctx, victimKey, e.app)
	require.NoError(t, err)

	garbage := bytes.Repeat([]byte("hostile!"), 8)
	withN := atk
	withN.N = victim.N
	clear := func(pub, priv testkeys.RSAParts) testkeys.OpenSSH {
		return testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: pub, Private: priv}
	}
	var forged [][]byte
	for _, cipher := range []string{"aes256-ctr", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com", "no-such-cipher"} {
		o := testkeys.OpenSSH{Cipher: cipher, KDF: "bcrypt", KDFOptions: testkeys.BcryptOptions(garbage[:16], 1<<32-1), Public: victim, Section: garbage}
		forged = append(forged, o.PEM(), o.Raw())
	}
	forged = append(forged,
		clear(victim, withN).PEM(),
		withN.PKCS1(), withN.PKCS8(),
		testkeys.PEM("RSA PRIVATE KEY", garbage),
		testkeys.PEM("OPENSSH PRIVATE KEY", garbage),
	)
	for i, in := range forged {
		_, err := e.client(i%2 == 1).AuthKeyRequest(ctx, in, e.app)
		requireProblem(t, err, http.StatusBadRequest, "private_key_disclosed", attesta.ErrPrivateKeyDisclosed)
	}
	// A container with the victim's public key in clear and the attacker's
	// private key inside, and a forged block beside the attacker's real
	// key: the attacker's key is banned, the victim's is not.
	for _, in := range [][]byte{
		clear(victim, atk).PEM(),
		append(testkeys.PEM("RSA PRIVATE KEY", withN.PKCS1()), attackerKey.MarshalPEM()...),
	} {
		_, err := c.AuthKeyRequest(ctx, in, e.app)
		requireProblem(t, err, http.StatusBadRequest, "private_key_disclosed", attesta.ErrPrivateKeyDisclosed)
	}
	_, err = c.Connect(ctx, attackerKey, e.app)
	requireProblem(t, err, http.StatusForbidden, "key_banned", attesta.ErrKeyBanned)

	party, err := c.Party(ctx, before.Session)
	require.NoError(t, err, "the victim's session survives")
	assert.Equal(t, before.PartyID, party.PartyID)
	for _, f := range formats {
		again, err := e.client(f.cbor).Connect(ctx, victimKey, e.app)
		require.NoError(t, err, "the victim still connects")
		assert.False(t, again.IsNew)
		assert.Equal(t, before.PartyID, again.PartyID)
	}
	// The server logged what it refused, and banned only the attacker.
	bans := logs.records(t, "private key disclosed; key banned")
	require.Len(t, bans, 2, "one ban for each input that proved a key")
	for _, b := range bans {
		assert.Equal(t, attackerKey.Public().ID().String(), b["key_id"])
	}
	assert.Len(t, logs.records(t, "private key form refused; nothing proven, nothing banned"), len(forged))
}

// TestBigNumbersRefused is finding 2 of issue 14 over the real server:
// private keys whose primes are of 250,000 bits (PKCS#1, PKCS#8, OpenSSH;
// the packed form holds at most two of 16,000 bits in its 4096 bytes) are
// refused key_too_large, and ban nothing. The attesta package's
// TestDetectPrivateKeyBoundedWork proves, with its arithmetic hook, that
// no arithmetic runs before these refusals.
func TestBigNumbersRefused(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, attesta.Config{Logger: slogJSON(logs)}, generous)
	ctx := t.Context()
	victimKey := testkeys.Key(t, attesta.RSA2048, 0)
	victim := testkeys.RSANumbers(t, victimKey)
	huge := testkeys.BigPrime(250_000)
	require.Greater(t, huge.P.BitLen(), 30*attesta.MaxRSAPrimeBits)
	inputs := map[string][]byte{
		"pkcs1-der":   huge.PKCS1(),
		"pkcs8-der":   huge.PKCS8(),
		"openssh-raw": testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: victim, Private: huge}.Raw(),
		"packed":      testkeys.RSAParts{E: big.NewInt(65537), P: testkeys.Odd(16_000), Q: testkeys.Odd(16_000)}.Packed(),
		"pkcs1-pem":   testkeys.PEM("RSA PRIVATE KEY", testkeys.BigPrime(100_000).PKCS1()),
	}
	for name, in := range inputs {
		require.LessOrEqual(t, len(in), attesta.MaxKeyFileSize, name)
		for _, f := range formats {
			_, err := e.client(f.cbor).AuthKeyRequest(ctx, in, e.app)
			requireProblem(t, err, http.StatusBadRequest, "key_too_large", attesta.ErrKeyTooLarge)
		}
	}
	_, err := e.client(false).Connect(ctx, victimKey, e.app)
	require.NoError(t, err, "nothing was banned")
	assert.Empty(t, logs.records(t, "private key disclosed; key banned"))
}
