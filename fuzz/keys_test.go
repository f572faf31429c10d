package fuzz

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// keySeeds adds every fixture key, in every form, and the keys and key
// files of the vectors to f, and returns how many.
func keySeeds(f *testing.F) int {
	n := 0
	add := func(b []byte) { f.Add(b); n++ }
	for _, alg := range testkeys.Algorithms {
		k := testkeys.Key(f, alg, 0)
		add(k.Pack())
		add(k.Public().Pack())
		add(k.MarshalPEM())
		add(k.Public().MarshalPEM())
		if der, err := k.MarshalPKCS8(); err == nil {
			add(der)
		}
	}
	files, _ := filepath.Glob("../internal/testkeys/testdata/*.pem")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			add(b)
		}
	}
	for _, b := range vectorBytes("key", "pem", "der", "private", "public") {
		add(b)
	}
	for _, s := range vectorText("pem") {
		if strings.Contains(s, "-----BEGIN") {
			add([]byte(s))
		}
	}
	for _, b := range hostileKeys(f) {
		add(b)
	}
	return n
}

// hostileKeys are the inputs of issue 14's attacker: numbers over their
// bounds in every private-key form (refused before any arithmetic), and
// containers that carry a victim's public key beside private material
// that does not prove it.
func hostileKeys(tb testing.TB) [][]byte {
	victim := testkeys.RSANumbers(tb, testkeys.Key(tb, attesta.RSA2048, 0))
	atk := testkeys.RSANumbers(tb, testkeys.Key(tb, attesta.RSA2048, 1))
	e := big.NewInt(65537)
	big250k, big100k := testkeys.BigPrime(250_000), testkeys.BigPrime(100_000)
	clear := func(pub, priv testkeys.RSAParts) testkeys.OpenSSH {
		return testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: pub, Private: priv}
	}
	forged := testkeys.OpenSSH{Cipher: "aes256-ctr", KDF: "bcrypt", KDFOptions: testkeys.BcryptOptions(make([]byte, 16), 1<<32-1), Public: victim, Section: make([]byte, 64)}
	wrongN := atk
	wrongN.N = victim.N
	return [][]byte{
		big250k.PKCS1(), big250k.PKCS8(), clear(victim, big250k).Raw(),
		testkeys.PEM("RSA PRIVATE KEY", big100k.PKCS1()), testkeys.PEM("PRIVATE KEY", big100k.PKCS8()), clear(victim, big100k).PEM(),
		testkeys.RSAParts{E: e, P: testkeys.Odd(16_000), Q: testkeys.Odd(16_000)}.Packed(),
		testkeys.RSAParts{E: e, P: testkeys.Odd(attesta.MaxRSAPrimeBits + 1), Q: atk.Q}.Packed(),
		testkeys.RSAParts{N: testkeys.Odd(attesta.MaxRSABits + 1), E: e, D: atk.D, P: atk.P, Q: atk.Q, Dp: atk.Dp, Dq: atk.Dq, Qinv: atk.Qinv}.PKCS1(),
		forged.Raw(), forged.PEM(), clear(victim, atk).Raw(), clear(victim, wrongN).PEM(), wrongN.PKCS1(), atk.PKCS1(), atk.PKCS8(),
		testkeys.PEM("RSA PRIVATE KEY", bytes.Repeat([]byte("hostile!"), 8)),
	}
}

func FuzzParsePublicKey(f *testing.F) {
	requireSeeds(f, keySeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := attesta.ParsePublicKey(b)
		if err != nil {
			if k != nil {
				t.Fatal("failed parse returned a key")
			}
			return
		}
		if !bytes.Equal(k.Pack(), b) {
			t.Fatalf("re-encoding differs")
		}
		if k.ID() != mustParse(t, k.Pack()).ID() {
			t.Fatal("unstable key id")
		}
	})
}

func mustParse(t *testing.T, b []byte) *attesta.PublicKey {
	k, err := attesta.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func FuzzParsePrivateKey(f *testing.F) {
	requireSeeds(f, keySeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := attesta.ParsePrivateKey(b)
		if err != nil {
			if k != nil {
				t.Fatal("failed parse returned a key")
			}
			return
		}
		if !bytes.Equal(k.Pack(), b) {
			t.Fatalf("re-encoding differs")
		}
		if _, err := attesta.ParsePublicKey(k.Public().Pack()); err != nil {
			t.Fatalf("public half of an accepted private key refused: %v", err)
		}
	})
}

// FuzzDetectPrivateKey checks the server's disclosure check: it never
// panics, a public key is never taken for a private one, a proven key
// comes only with ErrPrivateKeyDisclosed, a refusal for size proves
// nothing, and a proven key is a well-formed packed public key.
func FuzzDetectPrivateKey(f *testing.F) {
	requireSeeds(f, keySeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		proven, err := attesta.DetectPrivateKey(b)
		checkDetection(t, b, proven, err)
	})
}

func checkDetection(t *testing.T, b []byte, proven []*attesta.PublicKey, err error) {
	t.Helper()
	switch {
	case err == nil && len(proven) > 0:
		t.Fatal("a key to ban without a disclosure")
	case len(proven) > 0 && err != attesta.ErrPrivateKeyDisclosed:
		t.Fatalf("a key to ban with %v", err)
	case errors.Is(err, attesta.ErrKeyTooLarge) && errors.Is(err, attesta.ErrPrivateKeyDisclosed):
		t.Fatalf("both a disclosure and a refusal for size: %v", err)
	}
	if _, perr := attesta.ParsePublicKey(b); perr == nil && err != nil {
		t.Fatal("a public key taken for a private one")
	}
	for _, k := range proven {
		if k.Type() != attesta.RSAPublic && k.Type() != attesta.X25519Public && k.Type() != attesta.MLKEM768X25519Public {
			t.Fatalf("proven key of type %v", k.Type())
		}
		// A proven key may be one the protocol would refuse (small, e ≠
		// 65537): it is banned all the same. Never malformed.
		if _, perr := attesta.ParsePublicKey(k.Pack()); perr != nil && !errors.Is(perr, attesta.ErrKeyTooSmall) && !errors.Is(perr, attesta.ErrBadExponent) {
			t.Fatalf("proven key refused: %v", perr)
		}
	}
}

// FuzzOpenSSHContainer checks the disclosure check's OpenSSH reader
// against x/crypto/ssh: on a container both read, they find the same RSA
// key, or the check proves nothing; the check never proves a key ssh
// would read differently. ssh runs only on small inputs (it exponentiates
// with the primes).
func FuzzOpenSSHContainer(f *testing.F) {
	c := corpus{f: f}
	for _, b := range append(hostileKeys(f), testkeys.File(f, "rsa2048-openssh.pem"), testkeys.File(f, "rsa2048-openssh-encrypted.pem"), testkeys.File(f, "ed25519-openssh.pem")) {
		if bytes.HasPrefix(b, []byte("openssh-key-v1\x00")) || bytes.Contains(b, []byte("OPENSSH PRIVATE KEY")) {
			c.add(b)
		}
	}
	atk := testkeys.RSANumbers(f, testkeys.Key(f, attesta.RSA2048, 1))
	c.add(testkeys.OpenSSH{Cipher: "none", KDF: "none", Public: atk, Private: atk}.Raw())
	c.done()
	f.Fuzz(func(t *testing.T, b []byte) {
		proven, err := attesta.DetectPrivateKey(b)
		checkDetection(t, b, proven, err)
		if len(b) > 4096 {
			return
		}
		in := b
		if bytes.HasPrefix(b, []byte("openssh-key-v1\x00")) {
			in = pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: b})
		} else if blk, _ := pem.Decode(b); blk == nil || blk.Type != "OPENSSH PRIVATE KEY" {
			return
		}
		raw, sshErr := ssh.ParseRawPrivateKey(in)
		r, ok := raw.(*rsa.PrivateKey)
		if sshErr != nil || !ok {
			return
		}
		sameRSAKey(t, proven, r)
	})
}

// FuzzPrivateKeyDER checks the DER reader (PKCS#1, PKCS#8, SEC 1)
// against crypto/x509 the same way, and that a key ParsePrivateKeyDER
// accepts is exactly the key the disclosure check proves.
func FuzzPrivateKeyDER(f *testing.F) {
	c := corpus{f: f}
	for _, b := range hostileKeys(f) {
		if len(b) > 0 && b[0] == 0x30 {
			c.add(b)
		}
	}
	for _, alg := range testkeys.Algorithms {
		if der, err := testkeys.Key(f, alg, 0).MarshalPKCS8(); err == nil {
			c.add(der)
		}
	}
	for _, name := range []string{"rsa2048-pkcs1.pem", "p256-sec1.pem", "rsa1024-pkcs8.pem"} {
		blk, _ := pem.Decode(testkeys.File(f, name))
		c.add(blk.Bytes)
	}
	c.done()
	f.Fuzz(func(t *testing.T, b []byte) {
		proven, err := attesta.DetectPrivateKey(b)
		checkDetection(t, b, proven, err)
		if k, perr := attesta.ParsePrivateKeyDER(b); perr == nil {
			if len(proven) != 1 || !proven[0].Equal(k.Public()) {
				t.Fatalf("ParsePrivateKeyDER accepts a key the disclosure check does not prove (%d proven)", len(proven))
			}
		} else if k != nil {
			t.Fatal("failed parse returned a key")
		}
		if len(b) > 4096 {
			return
		}
		if r, xerr := x509.ParsePKCS1PrivateKey(b); xerr == nil {
			sameRSAKey(t, proven, r)
		}
		if raw, xerr := x509.ParsePKCS8PrivateKey(b); xerr == nil {
			if r, ok := raw.(*rsa.PrivateKey); ok {
				sameRSAKey(t, proven, r)
			}
		}
	})
}

// sameRSAKey: what the disclosure check proved from an input another
// parser read as r is r's key, or nothing.
func sameRSAKey(t *testing.T, proven []*attesta.PublicKey, r *rsa.PrivateKey) {
	t.Helper()
	if len(proven) == 0 || len(r.Primes) != 2 {
		return
	}
	want, err := cborx.Marshal([]any{uint64(attesta.RSAPublic), big.NewInt(int64(r.E)).Bytes(), r.N.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	if len(proven) != 1 || !bytes.Equal(proven[0].Pack(), want) {
		t.Fatal("the disclosure check proves another key than the one in the container")
	}
}

func FuzzParsePEM(f *testing.F) {
	requireSeeds(f, keySeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := attesta.ParsePrivateKeyPEM(b); err == nil {
			if _, err := attesta.ParsePrivateKey(k.Pack()); err != nil {
				t.Fatalf("packed form of an accepted PEM key refused: %v", err)
			}
		} else if k != nil {
			t.Fatal("failed parse returned a key")
		}
		if k, err := attesta.ParsePublicKeyPEM(b); err == nil {
			if _, err := attesta.ParsePublicKey(k.Pack()); err != nil {
				t.Fatalf("packed form of an accepted PEM key refused: %v", err)
			}
		} else if k != nil {
			t.Fatal("failed parse returned a key")
		}
	})
}
