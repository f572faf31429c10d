package testvectors_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/cryptotest"
)

var update = flag.Bool("update", false, "rewrite the vector files (go generate ./testvectors)")

// vectorFiles are the published files, in generation order, each with the
// seed of its randomness (salts, nonces, tokens, ciphertexts, ids).
var vectorFiles = []struct {
	name     string
	seed     uint64
	generate func(t *testing.T) any
}{
	{"packed_keys.json", 1, genPackedKeys},
	{"challenge.json", 2, genChallenge},
	{"kdf.json", 3, genKDF},
	{"registry.json", 4, genRegistry},
	{"identifiers.json", 5, genIdentifiers},
	{"decoys.json", 6, genDecoys},
	{"http_connect.json", 7, genHTTPConnect},
	{"http_password_login.json", 8, genHTTPPasswordLogin},
	{"mlkem768x25519.json", 9, genMLKEM},
	{"instance_tokens.json", 12, genInstanceTokens},
	{"service_keys.json", 13, genServiceKeys},
}

// TestGenerate writes the vector files with -update, and otherwise checks
// that the committed files are exactly what the generator writes: the
// files are deterministic, and they are in step with the library.
//
// It cannot run in parallel with anything: SetGlobalRandom replaces the
// randomness of the whole process.
func TestGenerate(t *testing.T) {
	for _, f := range vectorFiles {
		t.Run(f.name, func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, f.seed)
			data, err := encodeFile(f.generate(t))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(f.name, data, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			old, err := os.ReadFile(f.name)
			if err != nil {
				t.Fatalf("%v: run go generate ./testvectors", err)
			}
			if !bytes.Equal(old, data) {
				t.Errorf("%s is not what the generator writes: run go generate ./testvectors and review the diff", f.name)
			}
		})
	}
}

// TestFileSet: every JSON file here is a published file, and the other way
// round, so that no stale file lingers.
func TestFileSet(t *testing.T) {
	have, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range vectorFiles {
		want = append(want, f.name)
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Errorf("JSON files %v, want %v", have, want)
	}
}
