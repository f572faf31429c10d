package testvectors_test

import (
	"bytes"
	"crypto/hpke"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

type challengeFile struct {
	Description string `json:"description"`
	// Label is the RSA-OAEP label and the HPKE info string.
	Label string `json:"label"`
	// HPKESuites are the RFC 9180 identifiers of each HPKE scheme.
	HPKESuites map[string]hpkeSuite `json:"hpke_suites"`
	Vectors    []challengeVector    `json:"vectors"`
}

type hpkeSuite struct {
	KEM  uint16 `json:"kem_id"`
	KDF  uint16 `json:"kdf_id"`
	AEAD uint16 `json:"aead_id"`
}

// challengeVector is a challenge token encrypted to a key: decrypting
// encrypted_token with the packed private key gives token, or fails with
// error.
type challengeVector struct {
	vectorBase
	// Scheme is "rsa-oaep-sha256", or the name of an HPKE suite.
	Scheme         string `json:"scheme"`
	Private        Hex    `json:"private"`
	Public         Hex    `json:"public"`
	Token          Hex    `json:"token,omitempty"`
	EncryptedToken Hex    `json:"encrypted_token"`
	Error          string `json:"error,omitempty"`
}

var schemeOf = map[attesta.KeyType]string{
	attesta.RSAPublic:            "rsa-oaep-sha256",
	attesta.X25519Public:         "hpke-x25519",
	attesta.MLKEM768X25519Public: "hpke-mlkem768x25519",
}

var suites = map[string]hpkeSuite{
	"hpke-x25519":         {KEM: 0x0020, KDF: 0x0001, AEAD: 0x0003},
	"hpke-mlkem768x25519": {KEM: 0x647a, KDF: 0x0001, AEAD: 0x0003},
}

// rsaPublic and rsaPrivate rebuild crypto/rsa keys from packed forms, as
// another implementation would: n = p·q, d = e⁻¹ mod (p-1)(q-1).
func rsaPublic(t *testing.T, packed []byte) *rsa.PublicKey {
	_, f := packedFields(t, packed)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(f[1]), E: int(new(big.Int).SetBytes(f[0]).Int64())}
}

func rsaPrivate(t *testing.T, packed []byte) *rsa.PrivateKey {
	_, f := packedFields(t, packed)
	e := new(big.Int).SetBytes(f[0])
	p, q := new(big.Int).SetBytes(f[1]), new(big.Int).SetBytes(f[2])
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: int(e.Int64())},
		D:         new(big.Int).ModInverse(e, phi),
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	return k
}

// hpkeKEM returns the HPKE algorithms of a scheme by their RFC 9180
// identifiers; the KEM deserialises the field of a packed HPKE key
// (DeserializePublicKey, DeserializePrivateKey).
func hpkeKEM(t *testing.T, scheme string) (hpke.KEM, hpke.KDF, hpke.AEAD) {
	s := suites[scheme]
	kem, err := hpke.NewKEM(s.KEM)
	if err != nil {
		t.Fatal(err)
	}
	kdf, err := hpke.NewKDF(s.KDF)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := hpke.NewAEAD(s.AEAD)
	if err != nil {
		t.Fatal(err)
	}
	return kem, kdf, aead
}

func genChallenge(t *testing.T) any {
	f := &challengeFile{
		Description: "Challenge tokens encrypted to each key type (docs/PROTOCOL.md, Challenge encryption): decrypting encrypted_token with the packed private key must give token; the negative vectors must fail to decrypt. RSA is RSA-OAEP with SHA-256 and MGF1-SHA-256 and the label; HPKE is RFC 9180 base mode with the suite's identifiers and the label as info, and encrypted_token is enc followed by the ciphertext. Binary fields are hex.",
		Label:       attesta.TokenLabel,
		HPKESuites:  suites,
	}
	add := func(alg attesta.Algorithm, id, comment string, token, ct []byte, want string) {
		t.Helper()
		k := testkeys.Key(t, alg, 0)
		got, err := k.DecryptToken(ct)
		v := challengeVector{
			vectorBase: vectorBase{id, comment}, Scheme: schemeOf[k.Public().Type()],
			Private: k.Pack(), Public: k.Public().Pack(), EncryptedToken: ct,
		}
		if want == "" {
			if err != nil || !bytes.Equal(got, token) {
				t.Fatalf("%s: %v", id, err)
			}
			v.Token = token
		} else {
			v.Error = expect(t, id, err, want)
		}
		f.Vectors = append(f.Vectors, v)
	}
	good := map[attesta.Algorithm][]byte{}
	for _, alg := range testkeys.Algorithms {
		token := make([]byte, attesta.TokenSize)
		rand.Read(token)
		ct, err := testkeys.Key(t, alg, 0).Public().EncryptToken(token)
		if err != nil {
			t.Fatal(err)
		}
		good[alg] = ct
		add(alg, string(alg), "a 32-byte token encrypted to fixture "+string(alg)+"-0", token, ct, "")
	}
	const bad = "attesta.ErrDecrypt"
	token := make([]byte, attesta.TokenSize)
	rand.Read(token)
	label := []byte(attesta.TokenLabel)

	// RSA.
	rct := good[attesta.RSA2048]
	rpub := rsaPublic(t, testkeys.Key(t, attesta.RSA2048, 0).Public().Pack())
	encrypt := func(f func() ([]byte, error)) []byte {
		ct, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	add(attesta.RSA2048, "rsa2048-tampered", "rsa2048's ciphertext with one bit changed in its middle byte", nil, flip(rct, len(rct)/2), bad)
	add(attesta.RSA2048, "rsa2048-truncated", "rsa2048's ciphertext without its last byte", nil, rct[:len(rct)-1], bad)
	add(attesta.RSA2048, "rsa2048-extended", "rsa2048's ciphertext with a zero byte appended", nil, cat(rct, []byte{0}), bad)
	add(attesta.RSA2048, "rsa2048-empty", "an empty ciphertext", nil, []byte{}, bad)
	add(attesta.RSA2048, "rsa2048-no-label", "RSA-OAEP-SHA256 with an empty label", nil, encrypt(func() ([]byte, error) { return rsa.EncryptOAEP(sha256.New(), rand.Reader, rpub, token, nil) }), bad)
	add(attesta.RSA2048, "rsa2048-sha1", "RSA-OAEP with SHA-1 (the Universa choice) and the label", nil, encrypt(func() ([]byte, error) { return rsa.EncryptOAEP(sha1.New(), rand.Reader, rpub, token, label) }), bad)
	add(attesta.RSA2048, "rsa2048-pkcs1v15", "RSAES-PKCS1-v1_5 instead of OAEP", nil, encrypt(func() ([]byte, error) { return rsa.EncryptPKCS1v15(rand.Reader, rpub, token) }), bad)
	add(attesta.RSA2048, "rsa2048-other-key", "a token encrypted to fixture rsa2048-1", nil, encrypt(func() ([]byte, error) { return testkeys.Key(t, attesta.RSA2048, 1).Public().EncryptToken(token) }), bad)
	r4 := good[attesta.RSA4096]
	add(attesta.RSA4096, "rsa4096-tampered", "rsa4096's ciphertext with one bit changed in its last byte", nil, flip(r4, -1), bad)

	// HPKE.
	seal := func(alg attesta.Algorithm, kdf hpke.KDF, aead hpke.AEAD, info []byte) []byte {
		kem, _, _ := hpkeKEM(t, schemeOf[testkeys.Key(t, alg, 0).Public().Type()])
		_, fs := packedFields(t, testkeys.Key(t, alg, 0).Public().Pack())
		pk, err := kem.NewPublicKey(fs[0])
		if err != nil {
			t.Fatal(err)
		}
		return encrypt(func() ([]byte, error) { return hpke.Seal(pk, kdf, aead, info, token) })
	}
	for _, alg := range []attesta.Algorithm{attesta.X25519, attesta.MLKEM768X25519} {
		ct := good[alg]
		a := string(alg)
		add(alg, a+"-tampered-enc", a+"'s ciphertext with one bit changed in the first byte of enc", nil, flip(ct, 0), bad)
		add(alg, a+"-tampered-ciphertext", a+"'s ciphertext with one bit changed in the first byte after enc", nil, flip(ct, len(ct)-attesta.TokenSize-16), bad)
		add(alg, a+"-tampered-tag", a+"'s ciphertext with one bit changed in the last byte (the tag)", nil, flip(ct, -1), bad)
		add(alg, a+"-truncated", a+"'s ciphertext without its last byte", nil, ct[:len(ct)-1], bad)
		add(alg, a+"-extended", a+"'s ciphertext with a zero byte appended", nil, cat(ct, []byte{0}), bad)
		add(alg, a+"-empty", "an empty ciphertext", nil, []byte{}, bad)
		add(alg, a+"-no-info", "HPKE with the right suite and an empty info", nil, seal(alg, hpke.HKDFSHA256(), hpke.ChaCha20Poly1305(), nil), bad)
		add(alg, a+"-aes128gcm", "HPKE with AES-128-GCM (0x0001) instead of ChaCha20-Poly1305", nil, seal(alg, hpke.HKDFSHA256(), hpke.AES128GCM(), label), bad)
		add(alg, a+"-hkdf-sha384", "HPKE with HKDF-SHA384 (0x0002) instead of HKDF-SHA256", nil, seal(alg, hpke.HKDFSHA384(), hpke.ChaCha20Poly1305(), label), bad)
		add(alg, a+"-other-key", "a token encrypted to fixture "+a+"-1", nil, encrypt(func() ([]byte, error) { return testkeys.Key(t, alg, 1).Public().EncryptToken(token) }), bad)
	}
	xct := good[attesta.X25519]
	add(attesta.X25519, "x25519-enc-low-order", "x25519's ciphertext with enc replaced by u = 0, a low-order point", nil, cat(make([]byte, 32), xct[32:]), bad)
	return f
}

func TestChallenge(t *testing.T) {
	var f challengeFile
	loadFile(t, "challenge.json", &f)
	if f.Label != attesta.TokenLabel {
		t.Fatalf("label %q, want %q", f.Label, attesta.TokenLabel)
	}
	for name, s := range f.HPKESuites {
		if suites[name] != s {
			t.Fatalf("suite %s: %+v", name, s)
		}
	}
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			k, err := attesta.ParsePrivateKey(v.Private)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.Public().Pack(), v.Public) || !bytes.Equal(k.Pack(), v.Private) {
				t.Fatal("public or private form differs")
			}
			pub, err := attesta.ParsePublicKey(v.Public)
			if err != nil {
				t.Fatal(err)
			}
			if schemeOf[pub.Type()] != v.Scheme {
				t.Fatalf("scheme %q for a %v key", v.Scheme, pub.Type())
			}
			got, err := k.DecryptToken(v.EncryptedToken)
			checkError(t, err, v.Error)
			spec := specDecrypt(t, v)
			if v.Error != "" {
				if got != nil || spec != nil {
					t.Fatal("a failed decryption returned a token")
				}
				return
			}
			if !bytes.Equal(got, v.Token) || !bytes.Equal(spec, v.Token) {
				t.Fatal("decrypted token differs")
			}
			// The ciphertext has the scheme's length.
			want := len(v.Token) + 16
			switch v.Scheme {
			case "rsa-oaep-sha256":
				want = (rsaPublic(t, v.Public).N.BitLen() + 7) / 8
			case "hpke-x25519":
				want += 32
			case "hpke-mlkem768x25519":
				want += 1088 + 32
			}
			if len(v.EncryptedToken) != want {
				t.Fatalf("ciphertext of %d bytes, want %d", len(v.EncryptedToken), want)
			}
			// Encryption round trips, with the library and with the
			// primitives as the specification names them.
			ct, err := pub.EncryptToken(v.Token)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := k.DecryptToken(ct); err != nil || !bytes.Equal(again, v.Token) {
				t.Fatalf("round trip: %v", err)
			}
			if again := specDecrypt(t, challengeVector{Scheme: v.Scheme, Private: v.Private, EncryptedToken: ct}); !bytes.Equal(again, v.Token) {
				t.Fatal("the specification's decryption of the library's ciphertext differs")
			}
			ct = specEncrypt(t, v.Scheme, v.Public, v.Token)
			if again, err := k.DecryptToken(ct); err != nil || !bytes.Equal(again, v.Token) {
				t.Fatalf("the library cannot decrypt the specification's ciphertext: %v", err)
			}
		})
	}
}

// specDecrypt decrypts with the primitives that docs/PROTOCOL.md names,
// from the packed private key's fields, without the library. It returns
// nil if decryption fails.
func specDecrypt(t *testing.T, v challengeVector) []byte {
	return specDecryptLabel(t, v.Scheme, v.Private, v.EncryptedToken, attesta.TokenLabel)
}

// specDecryptLabel is specDecrypt under any label (the service keys'
// encryption is the same with its own).
func specDecryptLabel(t *testing.T, scheme string, private, ct []byte, labelText string) []byte {
	label := []byte(labelText)
	if scheme == "rsa-oaep-sha256" {
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, rsaPrivate(t, private), ct, label)
		if err != nil {
			return nil
		}
		return pt
	}
	kem, kdf, aead := hpkeKEM(t, scheme)
	_, f := packedFields(t, private)
	sk, err := kem.NewPrivateKey(f[0])
	if err != nil {
		t.Fatal(err)
	}
	pt, err := hpke.Open(sk, kdf, aead, label, ct)
	if err != nil {
		return nil
	}
	return pt
}

// specEncrypt encrypts as specDecrypt decrypts.
func specEncrypt(t *testing.T, scheme string, public, token []byte) []byte {
	return specEncryptLabel(t, scheme, public, token, attesta.TokenLabel)
}

// specEncryptLabel is specEncrypt under any label.
func specEncryptLabel(t *testing.T, scheme string, public, token []byte, labelText string) []byte {
	label := []byte(labelText)
	var (
		ct  []byte
		err error
	)
	if scheme == "rsa-oaep-sha256" {
		ct, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, rsaPublic(t, public), token, label)
	} else {
		kem, kdf, aead := hpkeKEM(t, scheme)
		_, f := packedFields(t, public)
		pk, perr := kem.NewPublicKey(f[0])
		if perr != nil {
			t.Fatal(perr)
		}
		ct, err = hpke.Seal(pk, kdf, aead, label, token)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ct
}
