package fuzz

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/attesta-go/attesta/attesta"
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
	return n
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
// panics, a public key is never taken for a private one, and a key it
// would ban is a well-formed packed public key.
func FuzzDetectPrivateKey(f *testing.F) {
	requireSeeds(f, keySeeds(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, disclosed := attesta.DetectPrivateKey(b)
		if !disclosed && pub != nil {
			t.Fatal("a key to ban without a disclosure")
		}
		if _, err := attesta.ParsePublicKey(b); err == nil && disclosed {
			t.Fatal("a public key taken for a private one")
		}
		if pub != nil && len(pub.Pack()) == 0 {
			t.Fatal("empty packed key to ban")
		}
	})
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
