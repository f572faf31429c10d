package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/attesta-go/attesta/attesta"
)

var keygenCmd = &command{
	name:    "keygen",
	summary: "generate a private key into a new file (mode 0600)",
	usage: `Usage: attesta keygen [-type ALG] -out FILE

Generates a private key and writes it to FILE as PEM (PKCS#8 for RSA and
X25519; an "ATTESTA PRIVATE KEY" block for ML-KEM-768+X25519), with mode
0600. An existing FILE is never overwritten. Prints the key id: SHA-256 of
the packed public key, in unpadded base64url.

ALG is one of:
  rsa4096          RSA, 4096 bits: the default, takes a second or so
  rsa3072          RSA, 3072 bits
  rsa2048          RSA, 2048 bits, the smallest the server accepts
  x25519           HPKE with X25519
  mlkem768x25519   HPKE with the post-quantum hybrid ML-KEM-768 + X25519
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		alg := fs.String("type", string(attesta.RSA4096), "key algorithm `ALG`: rsa4096, rsa3072, rsa2048, x25519 or mlkem768x25519")
		out := fs.String("out", "", "write the private key to `FILE`, which must not exist (required)")
		return func(ctx context.Context, e *env) int { return keygen(ctx, e, attesta.Algorithm(*alg), *out) }
	},
}

func keygen(ctx context.Context, e *env, alg attesta.Algorithm, out string) int {
	if !slices.Contains(attesta.Algorithms, alg) {
		names := make([]string, len(attesta.Algorithms))
		for i, a := range attesta.Algorithms {
			names[i] = string(a)
		}
		return e.usagef("unknown -type %q: want one of %s", alg, strings.Join(names, ", "))
	}
	if out == "" {
		return e.usagef("-out FILE is required")
	}
	// Create the file first: refuse an existing one before spending a
	// second on RSA, and let no other process slip a file in between.
	f, err := createKeyFile(out)
	if err != nil {
		return e.errorf("%v", err)
	}
	key, err := writeNewKey(ctx, e.stderr, f, alg)
	if err != nil {
		f.Close()
		os.Remove(out)
		if errors.Is(err, context.Canceled) {
			return e.errorf("interrupted; %s removed", out)
		}
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stderr, "wrote the %s private key to %s (mode 0600); keep it secret\n", alg, out)
	fmt.Fprintf(e.stdout, "key_id: %s\n", key.Public().ID())
	return 0
}

// writeNewKey generates a key, with a progress indicator for the slow RSA
// kinds, and writes it to f as PEM, synced and closed.
func writeNewKey(ctx context.Context, progress io.Writer, f *os.File, alg attesta.Algorithm) (*attesta.PrivateKey, error) {
	generate := func() (*attesta.PrivateKey, error) { return attesta.GenerateKey(alg) }
	var (
		key *attesta.PrivateKey
		err error
	)
	if strings.HasPrefix(string(alg), "rsa") {
		key, err = withProgress(ctx, progress, fmt.Sprintf("generating %s key…", alg), generate)
	} else {
		key, err = generate()
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(key.MarshalPEM()); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return key, f.Close()
}

var pubkeyCmd = &command{
	name:    "pubkey",
	summary: "print the packed public key and key id of a key file",
	usage: `Usage: attesta pubkey [-json] -in FILE

Reads a private key file (as written by keygen, or any PKCS#8/PKCS#1 RSA
or PKCS#8 X25519 PEM) or a public key file (PKIX "PUBLIC KEY" PEM), and
prints:
  key: the packed public key, unpadded base64url: the "key" field of
       POST /v1/auth_key_request
  key_id: SHA-256 of the packed public key, unpadded base64url
  type: the packed key type
With -json, the same as one JSON object {"key", "key_id", "type"}.
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		in := fs.String("in", "", "key `FILE` (required)")
		asJSON := fs.Bool("json", false, "print one JSON object")
		return func(ctx context.Context, e *env) int { return pubkey(e, *in, *asJSON) }
	},
}

func pubkey(e *env, in string, asJSON bool) int {
	if in == "" {
		return e.usagef("-in FILE is required")
	}
	pub, err := readPublicKey(in)
	if err != nil {
		return e.errorf("%s: %v", in, err)
	}
	out := struct {
		Key   string `json:"key"`
		KeyID string `json:"key_id"`
		Type  string `json:"type"`
	}{base64.RawURLEncoding.EncodeToString(pub.Pack()), pub.ID().String(), pub.Type().String()}
	if asJSON {
		return printJSON(e, out)
	}
	fmt.Fprintf(e.stdout, "key: %s\nkey_id: %s\ntype: %s\n", out.Key, out.KeyID, out.Type)
	return 0
}

func printJSON(e *env, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
	return 0
}

// readKeyFile reads a key file, at most attesta.MaxKeyFileSize bytes (the
// parsers refuse more).
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, attesta.MaxKeyFileSize+1))
}

// readPrivateKey reads the private key file of a -key flag. A public key
// file there (keygen's key id and pubkey's output look alike; "me.pub.pem"
// is next to "me.pem") is refused in words that say which file is needed.
func readPrivateKey(path string) (*attesta.PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := attesta.ParsePrivateKeyPEM(data)
	if err == nil {
		return k, nil
	}
	if b, _ := pem.Decode(data); b != nil && strings.HasSuffix(b.Type, "PUBLIC KEY") {
		return nil, fmt.Errorf("%s holds a public key (PEM %q); -key needs the private key file, as attesta keygen writes it", path, b.Type)
	}
	return nil, fmt.Errorf("%s: %w", path, err)
}

// readPublicKey reads the public key of a private key file, or a public
// key file.
func readPublicKey(path string) (*attesta.PublicKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := attesta.ParsePrivateKeyPEM(data)
	if err == nil {
		return k.Public(), nil
	}
	pub, perr := attesta.ParsePublicKeyPEM(data)
	switch {
	case perr == nil:
		return pub, nil
	case bytes.Contains(data, []byte("PUBLIC KEY-----")):
		return nil, perr
	}
	return nil, err
}

// createKeyFile creates a new file for private keys, mode 0600, and
// refuses one that exists (O_EXCL: no other process can slip a file in
// between, and a key file is never overwritten).
func createKeyFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s exists; refusing to overwrite a key file", path)
	}
	return f, err
}
