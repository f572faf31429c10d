package testvectors_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// The vectors of application instances (docs/PROTOCOL.md §12): the
// instance TOKEN, its encoding and signature under the key derived from
// the published fixed secret; the service-key encryption to each key
// type, with fixed randomness; and the vault's sealing at rest.

type instanceTokenFile struct {
	Description string `json:"description"`
	// Secret is the server secret; KeyInfo the HKDF-Expand info of the
	// Ed25519 seed; Domain the message's first bytes.
	Secret    Hex    `json:"secret"`
	KeyInfo   string `json:"key_info"`
	Domain    string `json:"domain"`
	PublicKey Hex    `json:"public_key"`
	// KeyID is the public key's RFC 7638 thumbprint, its JWKS kid.
	KeyID   string                `json:"kid"`
	Vectors []instanceTokenVector `json:"vectors"`
}

// instanceTokenVector is a string read as a TOKEN: a positive one names
// app and party_id, with its message, signature and one spelling
// (token); a negative one fails with error.
type instanceTokenVector struct {
	vectorBase
	Input     string `json:"input"`
	App       string `json:"app,omitempty"`
	PartyID   string `json:"party_id,omitempty"`
	Message   Hex    `json:"message,omitempty"`
	Signature Hex    `json:"signature,omitempty"`
	Token     string `json:"token,omitempty"`
	Error     string `json:"error,omitempty"`
}

// specB32 is the TOKEN's base32 as PROTOCOL.md names it: RFC 4648's
// alphabet, lower case, no padding.
var specB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// specInstanceKey derives the TOKEN key from a secret as PROTOCOL.md says.
func specInstanceKey(t *testing.T, secret []byte) ed25519.PrivateKey {
	seed, err := hkdf.Expand(sha256.New, secret, "attesta v1 instance token key", ed25519.SeedSize)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func specInstanceMessage(app string, party []byte) []byte {
	return cat([]byte("attesta/v1 instance token"), []byte{0, byte(len(app))}, []byte(app), party)
}

// instanceService is a Service on the fixed secret over a fresh store.
func instanceService(t *testing.T) *attesta.Service {
	st, err := pebblestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := attesta.New(attesta.Config{Store: st, Secret: fixedSecret, Now: (&clock{now: fixedStart}).Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// registerInstance connects k through app's token and registers it as an
// instance; it returns the session and the TOKEN.
func registerInstance(t *testing.T, svc *attesta.Service, appToken string, k *attesta.PrivateKey) (attesta.Session, attesta.InstanceToken) {
	ctx := context.Background()
	req, err := svc.AuthKeyRequest(ctx, k.Public().Pack(), appToken)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := k.DecryptToken(req.EncryptedToken)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.AuthKeyToken(ctx, ct)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.Authenticate(ctx, res.Session)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.RegisterInstance(ctx, sess, k.Public().Pack())
	if err != nil {
		t.Fatal(err)
	}
	return sess, tok
}

func genInstanceTokens(t *testing.T) any {
	svc := instanceService(t)
	key := svc.InstanceTokenKey()
	f := &instanceTokenFile{
		Description: "Instance TOKENs (docs/PROTOCOL.md §12.1): message = domain || 0x00 || len(app) || app || party id; signature = Ed25519 (RFC 8032) with the key whose seed is HKDF-Expand(SHA-256, secret, key_info, 32); TOKEN = app || ':' || base32(party id || signature), RFC 4648's alphabet in lower case without padding. A positive vector's input parses (in either case) to token, its one spelling, and verifies with public_key offline and by the server (which signs again and compares); a negative one fails with error. kid is the public key's RFC 7638 thumbprint. Binary fields are hex.",
		Secret:      fixedSecret, KeyInfo: "attesta v1 instance token key", Domain: "attesta/v1 instance token",
		PublicKey: Hex(key.Public), KeyID: key.KeyID,
	}
	ctx := context.Background()
	demo, err := svc.CreateApp(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	longName := strings.Repeat("k", 64)
	long, err := svc.CreateApp(ctx, longName)
	if err != nil {
		t.Fatal(err)
	}
	pos := func(id, comment, input string, tok attesta.InstanceToken) {
		t.Helper()
		p, err := svc.VerifyInstanceToken(input)
		if err != nil || p != tok {
			t.Fatalf("%s: %v", id, err)
		}
		payload, _ := specB32.DecodeString(tok.String()[len(tok.App())+1:])
		f.Vectors = append(f.Vectors, instanceTokenVector{
			vectorBase: vectorBase{id, comment}, Input: input, App: tok.App(), PartyID: tok.PartyID().String(),
			Message: specInstanceMessage(tok.App(), payload[:16]), Signature: payload[16:], Token: tok.String(),
		})
	}
	neg := func(id, comment, input string) {
		t.Helper()
		_, err := svc.VerifyInstanceToken(input)
		f.Vectors = append(f.Vectors, instanceTokenVector{vectorBase: vectorBase{id, comment}, Input: input, Error: expect(t, id, err, "attesta.ErrBadInstanceToken")})
	}
	_, t1 := registerInstance(t, svc, demo, testkeys.Key(t, attesta.X25519, 0))
	_, t2 := registerInstance(t, svc, demo, testkeys.Key(t, attesta.RSA2048, 0))
	_, t3 := registerInstance(t, svc, long, testkeys.Key(t, attesta.MLKEM768X25519, 0))
	s1 := t1.String()
	pos("demo-x25519", "the TOKEN of fixture x25519-0's party, an instance of demo", s1, t1)
	pos("demo-rsa2048", "the TOKEN of fixture rsa2048-0's party, an instance of demo", t2.String(), t2)
	pos("longest-app-name", "an instance of an application with a name of 64 characters: the longest TOKEN", t3.String(), t3)
	pos("upper-case", "demo-x25519's TOKEN upper-cased, as a bank may print a label: the same TOKEN", strings.ToUpper(s1), t1)
	pos("mixed-case", "demo-x25519's TOKEN with its application's name upper-cased", "DEMO"+s1[4:], t1)

	colon := strings.IndexByte(s1, ':')
	payload := s1[colon+1:]
	other := func(i int, c byte) string {
		b := []byte(s1)
		if b[i] == c {
			c = 'b'
		}
		b[i] = c
		return string(b)
	}
	neg("signature-changed", "demo-x25519's TOKEN with its last character changed: the signature no longer verifies", other(len(s1)-1, 'a'))
	neg("party-changed", "demo-x25519's TOKEN with its first payload character changed: another party, the same signature", other(colon+1, 'a'))
	neg("other-app", "demo-x25519's party id and signature under the application name \"other\"", "other:"+payload)
	neg("swapped-signature", "demo-x25519's party id with demo-rsa2048's signature", s1[:colon+1]+specB32.EncodeToString(cat(mustB32(t, payload)[:16], mustB32(t, t2.String()[colon+1:])[16:])))
	neg("truncated", "demo-x25519's TOKEN without its last character", s1[:len(s1)-1])
	neg("extended", "demo-x25519's TOKEN with one more character", s1+"a")
	neg("padded", "demo-x25519's TOKEN with base32 padding appended", s1+"======")
	neg("no-colon", "demo-x25519's TOKEN without its colon", s1[:colon]+payload)
	neg("no-app", "demo-x25519's payload after a colon and no name", ":"+payload)
	neg("bad-app-name", "an application name with a character outside [a-z0-9._-]", "de mo:"+payload)
	neg("app-name-too-long", "an application name of 65 characters", strings.Repeat("k", 65)+t3.String()[64:])
	neg("not-base32", "demo-x25519's TOKEN with '1', outside the base32 alphabet, in its payload", other(colon+5, '1'))
	neg("line-break", "demo-x25519's TOKEN with a line break in its payload (the decoder would skip it)", s1[:colon+5]+"\n"+s1[colon+6:])
	neg("base64url", "demo-x25519's party id and signature in base64url instead of base32", "demo:"+base64.RawURLEncoding.EncodeToString(mustB32(t, payload)))
	neg("empty", "the empty string", "")
	return f
}

func mustB32(t *testing.T, s string) []byte {
	b, err := specB32.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInstanceTokens(t *testing.T) {
	var f instanceTokenFile
	loadFile(t, "instance_tokens.json", &f)
	if !bytes.Equal(f.Secret, fixedSecret) || f.KeyInfo != "attesta v1 instance token key" || f.Domain != "attesta/v1 instance token" {
		t.Fatal("the file's secret, key info or domain differs from the specification's")
	}
	spec := specInstanceKey(t, f.Secret)
	if !bytes.Equal(spec.Public().(ed25519.PublicKey), f.PublicKey) {
		t.Fatal("public_key is not the key the specification derives from the secret")
	}
	x := base64.RawURLEncoding.EncodeToString(f.PublicKey)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	if f.KeyID != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatal("kid is not the RFC 7638 thumbprint of public_key")
	}
	svc := instanceService(t)
	if k := svc.InstanceTokenKey(); !bytes.Equal(k.Public, f.PublicKey) || k.KeyID != f.KeyID {
		t.Fatal("the library's key or kid differs")
	}
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			p, perr := attesta.ParseInstanceToken(v.Input)
			got, err := svc.VerifyInstanceToken(v.Input)
			checkError(t, err, v.Error)
			if v.Error != "" {
				if perr == nil {
					checkError(t, p.Verify(ed25519.PublicKey(f.PublicKey)), v.Error)
				} else {
					checkError(t, perr, v.Error)
				}
				if !got.IsZero() {
					t.Fatal("a refused TOKEN returned a value")
				}
				return
			}
			if perr != nil || p != got || got.String() != v.Token || got.App() != v.App || got.PartyID().String() != v.PartyID {
				t.Fatalf("parsed %q as %q: %v", v.Input, got.String(), perr)
			}
			if err := p.Verify(ed25519.PublicKey(f.PublicKey)); err != nil {
				t.Fatal(err)
			}
			// The specification, without the library.
			if strings.ToLower(v.Input) != v.Token {
				t.Fatal("token is not the input in lower case")
			}
			app, payload, _ := strings.Cut(v.Token, ":")
			raw := mustB32(t, payload)
			party, err := attesta.ParsePartyID(v.PartyID)
			if err != nil || app != v.App || len(raw) != 80 || !bytes.Equal(raw[:16], party[:]) || !bytes.Equal(raw[16:], v.Signature) || specB32.EncodeToString(raw) != payload {
				t.Fatal("the TOKEN is not app:base32(party id || signature)")
			}
			if !bytes.Equal(specInstanceMessage(app, raw[:16]), v.Message) {
				t.Fatal("message differs from the specification's")
			}
			if !ed25519.Verify(ed25519.PublicKey(f.PublicKey), v.Message, v.Signature) {
				t.Fatal("the signature does not verify")
			}
			if !bytes.Equal(ed25519.Sign(spec, v.Message), v.Signature) {
				t.Fatal("signing again gives another signature (Ed25519 is deterministic)")
			}
		})
	}
}

type serviceKeyFile struct {
	Description string `json:"description"`
	// Label is the RSA-OAEP label and the HPKE info string.
	Label      string                `json:"label"`
	HPKESuites map[string]hpkeSuite  `json:"hpke_suites"`
	Vectors    []serviceKeyVector    `json:"vectors"`
	Vault      serviceKeyVaultFormat `json:"vault"`
}

// serviceKeyVector is a service key encrypted to a key: decrypting
// encrypted_key with the packed private key gives value, or fails with
// error.
type serviceKeyVector struct {
	vectorBase
	Scheme       string `json:"scheme"`
	Private      Hex    `json:"private"`
	Public       Hex    `json:"public"`
	Value        Hex    `json:"value,omitempty"`
	EncryptedKey Hex    `json:"encrypted_key"`
	Error        string `json:"error,omitempty"`
}

// serviceKeyVaultFormat is the sealing at rest: sealed = 0x01 || nonce
// (24) || XChaCha20-Poly1305(K, nonce, value, ad), K = HKDF-Expand(secret,
// key_info, 32), ad = ad_prefix || 0x00 || len(app) || app ||
// len(provider) || provider || version (8 bytes, big endian).
type serviceKeyVaultFormat struct {
	Secret   Hex            `json:"secret"`
	KeyInfo  string         `json:"key_info"`
	ADPrefix string         `json:"ad_prefix"`
	Sealed   []sealedVector `json:"sealed"`
}

type sealedVector struct {
	vectorBase
	App      string `json:"app"`
	Provider string `json:"provider"`
	Version  uint64 `json:"version"`
	Value    Hex    `json:"value"`
	AD       Hex    `json:"ad"`
	Sealed   Hex    `json:"sealed"`
}

func specVaultAD(prefix, app, provider string, version uint64) []byte {
	return binary.BigEndian.AppendUint64(cat([]byte(prefix), []byte{0, byte(len(app))}, []byte(app), []byte{byte(len(provider))}, []byte(provider)), version)
}

func genServiceKeys(t *testing.T) any {
	f := &serviceKeyFile{
		Description: "Service keys (docs/PROTOCOL.md §12.3) encrypted to each key type, as GET /v1/service_keys/{provider} answers them: RSA-OAEP with SHA-256 and MGF1-SHA-256 and the label; HPKE (RFC 9180) base mode with the suite's identifiers and the label as info, encrypted_key being enc followed by the ciphertext. Decrypting encrypted_key with the packed private key must give value; the negative vectors must fail to decrypt. vault is the sealing at rest under the published fixed secret (§12.4): opening sealed must give value. Binary fields are hex.",
		Label:       attesta.ServiceKeyLabel,
		HPKESuites:  suites,
	}
	add := func(alg attesta.Algorithm, id, comment string, value, ct []byte, want string) {
		t.Helper()
		k := testkeys.Key(t, alg, 0)
		got, err := k.DecryptServiceKey(ct)
		v := serviceKeyVector{vectorBase: vectorBase{id, comment}, Scheme: schemeOf[k.Public().Type()], Private: k.Pack(), Public: k.Public().Pack(), EncryptedKey: ct}
		if want == "" {
			if err != nil || !bytes.Equal(got, value) {
				t.Fatalf("%s: %v", id, err)
			}
			v.Value = value
		} else {
			v.Error = expect(t, id, err, want)
		}
		f.Vectors = append(f.Vectors, v)
	}
	encrypt := func(alg attesta.Algorithm, i int, value []byte) []byte {
		ct, err := testkeys.Key(t, alg, i).Public().EncryptServiceKey(value)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	value := []byte("sk-test-51Hh2bQeZvKYlo2C0123456789abcdefghijklmnopqrstuvwxyz")
	longest := bytes.Repeat([]byte("K"), attesta.MaxServiceKeySize)
	good := map[attesta.Algorithm][]byte{}
	for _, alg := range testkeys.Algorithms {
		good[alg] = encrypt(alg, 0, value)
		add(alg, string(alg), "a provider's API key encrypted to fixture "+string(alg)+"-0", value, good[alg], "")
		add(alg, string(alg)+"-longest", "a service key of MaxServiceKeySize (190) bytes, encrypted to fixture "+string(alg)+"-0", longest, encrypt(alg, 0, longest), "")
	}
	const bad = "attesta.ErrDecrypt"
	for _, alg := range []attesta.Algorithm{attesta.RSA2048, attesta.X25519, attesta.MLKEM768X25519} {
		a, ct := string(alg), good[alg]
		add(alg, a+"-tampered", a+"'s ciphertext with one bit changed in its last byte", nil, flip(ct, -1), bad)
		add(alg, a+"-truncated", a+"'s ciphertext without its last byte", nil, ct[:len(ct)-1], bad)
		add(alg, a+"-other-key", "a service key encrypted to fixture "+a+"-1", nil, encrypt(alg, 1, value), bad)
		tokenCT, err := testkeys.Key(t, alg, 0).Public().EncryptToken(value)
		if err != nil {
			t.Fatal(err)
		}
		add(alg, a+"-challenge-label", "the same value encrypted as a challenge token (label \"attesta/v1 auth_key_request\"): a ciphertext of one use does not open as the other's", nil, tokenCT, bad)
	}

	// The vault, from a real Service: two versions of one key.
	f.Vault = serviceKeyVaultFormat{Secret: fixedSecret, KeyInfo: "attesta v1 service key vault", ADPrefix: "attesta v1 service key"}
	st, err := pebblestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := attesta.New(attesta.Config{Store: st, Secret: fixedSecret, Now: (&clock{now: fixedStart}).Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.CreateApp(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		id, comment string
		value       []byte
	}{
		{"demo-weather-1", "demo's weather key, version 1", []byte("wk_live_4f1c9e2a7b")},
		{"demo-weather-2", "demo's weather key after one rotation, version 2", []byte("wk_live_88d03b51c6")},
	} {
		v, err := svc.SetServiceKey(ctx, "demo", "weather", s.value)
		if err != nil {
			t.Fatal(err)
		}
		k, err := st.ServiceKey(ctx, "demo", "weather")
		if err != nil {
			t.Fatal(err)
		}
		f.Vault.Sealed = append(f.Vault.Sealed, sealedVector{vectorBase: vectorBase{s.id, s.comment}, App: "demo", Provider: "weather", Version: v.Version,
			Value: s.value, AD: specVaultAD(f.Vault.ADPrefix, "demo", "weather", v.Version), Sealed: k.Sealed})
	}
	return f
}

func TestServiceKeys(t *testing.T) {
	var f serviceKeyFile
	loadFile(t, "service_keys.json", &f)
	if f.Label != attesta.ServiceKeyLabel {
		t.Fatalf("label %q, want %q", f.Label, attesta.ServiceKeyLabel)
	}
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			k, err := attesta.ParsePrivateKey(v.Private)
			if err != nil || !bytes.Equal(k.Public().Pack(), v.Public) {
				t.Fatal("the private and public forms differ")
			}
			got, err := k.DecryptServiceKey(v.EncryptedKey)
			checkError(t, err, v.Error)
			spec := specDecryptLabel(t, v.Scheme, v.Private, v.EncryptedKey, f.Label)
			if v.Error != "" {
				if got != nil || spec != nil {
					t.Fatal("a failed decryption returned a value")
				}
				return
			}
			if !bytes.Equal(got, v.Value) || !bytes.Equal(spec, v.Value) {
				t.Fatal("decrypted value differs")
			}
			ct := specEncryptLabel(t, v.Scheme, v.Public, v.Value, f.Label)
			if again, err := k.DecryptServiceKey(ct); err != nil || !bytes.Equal(again, v.Value) {
				t.Fatalf("the library cannot decrypt the specification's ciphertext: %v", err)
			}
			if _, err := k.DecryptToken(v.EncryptedKey); err == nil {
				t.Fatal("a service key decrypted as a challenge token")
			}
		})
	}
	if !bytes.Equal(f.Vault.Secret, fixedSecret) || f.Vault.KeyInfo != "attesta v1 service key vault" || f.Vault.ADPrefix != "attesta v1 service key" || len(f.Vault.Sealed) == 0 {
		t.Fatal("the vault's secret, key info or prefix differ from the specification's, or it has no vectors")
	}
	key, err := hkdf.Expand(sha256.New, f.Vault.Secret, f.Vault.KeyInfo, chacha20poly1305.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vault.Sealed {
		t.Run("vault/"+v.ID, func(t *testing.T) {
			if !bytes.Equal(specVaultAD(f.Vault.ADPrefix, v.App, v.Provider, v.Version), v.AD) {
				t.Fatal("ad differs from the specification's")
			}
			if len(v.Sealed) < 1+24+16 || v.Sealed[0] != 1 {
				t.Fatal("sealed is not 0x01 || nonce || ciphertext")
			}
			pt, err := aead.Open(nil, v.Sealed[1:25], v.Sealed[25:], v.AD)
			if err != nil || !bytes.Equal(pt, v.Value) {
				t.Fatalf("sealed does not open to value: %v", err)
			}
			for what, ad := range map[string][]byte{
				"another application": specVaultAD(f.Vault.ADPrefix, v.App+"x", v.Provider, v.Version),
				"another provider":    specVaultAD(f.Vault.ADPrefix, v.App, v.Provider+"x", v.Version),
				"another version":     specVaultAD(f.Vault.ADPrefix, v.App, v.Provider, v.Version+1),
			} {
				if _, err := aead.Open(nil, v.Sealed[1:25], v.Sealed[25:], ad); err == nil {
					t.Fatalf("sealed opens as %s's", what)
				}
			}
			// The library serves the sealed record it finds in a store.
			st, err := pebblestore.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			svc, err := attesta.New(attesta.Config{Store: st, Secret: f.Vault.Secret})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			appToken, err := svc.CreateApp(ctx, v.App)
			if err != nil {
				t.Fatal(err)
			}
			for version := uint64(1); version <= v.Version; version++ {
				if err := st.PutServiceKey(ctx, attesta.ServiceKey{App: v.App, Provider: v.Provider, Version: version, Sealed: v.Sealed}); err != nil {
					t.Fatal(err)
				}
			}
			k := testkeys.Key(t, attesta.X25519, 0)
			sess, tok := registerInstance(t, svc, appToken, k)
			if _, err := svc.GrantEntitlement(ctx, tok.String()); err != nil {
				t.Fatal(err)
			}
			res, err := svc.ServiceKey(ctx, sess, v.Provider)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.DecryptServiceKey(res.Ciphertext)
			if err != nil || !bytes.Equal(got, v.Value) || res.Version != v.Version {
				t.Fatalf("the library serves %q at version %d: %v", got, res.Version, err)
			}
		})
	}
}
