package testkeys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/attesta-go/attesta/attesta"
)

var generate = flag.Bool("generate", false, "write new fixture keys to testdata/")

func TestGenerate(t *testing.T) {
	if !*generate {
		t.Skip("fixtures are generated only with -generate")
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, alg := range Algorithms {
		for i := range PerAlgorithm {
			k, err := attesta.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			write(fmt.Sprintf("%s-%d.pem", alg, i), k.MarshalPEM())
		}
	}
	// Foreign forms of private keys, for the disclosure check.
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	write("rsa2048-pkcs1.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(r)}))
	sshKey, err := ssh.MarshalPrivateKey(r, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	write("rsa2048-openssh.pem", pem.EncodeToMemory(sshKey))
	sshEnc, err := ssh.MarshalPrivateKeyWithPassphrase(r, "fixture", []byte("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	write("rsa2048-openssh-encrypted.pem", pem.EncodeToMemory(sshEnc))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edSSH, err := ssh.MarshalPrivateKey(ed, "fixture")
	if err != nil {
		t.Fatal(err)
	}
	write("ed25519-openssh.pem", pem.EncodeToMemory(edSSH))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	write("p256-sec1.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	r1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(r1024)
	if err != nil {
		t.Fatal(err)
	}
	write("rsa1024-pkcs8.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	r3, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	write("rsa2048-public.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: mustPKIX(t, &r3.PublicKey)}))
}

func mustPKIX(t *testing.T, k any) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
