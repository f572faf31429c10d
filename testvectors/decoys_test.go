package testvectors_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/crypto/chacha20"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

type decoysFile struct {
	Description string `json:"description"`
	// Secret is the server secret; IdentifierKey and DecoyKey are derived
	// from it.
	Secret        Hex           `json:"secret"`
	IdentifierKey Hex           `json:"identifier_key"`
	DecoyKey      Hex           `json:"decoy_key"`
	Vectors       []decoyVector `json:"vectors"`
}

// decoyVector is a login fetched from a server that has no registry for
// it: the login as normalised, its keyed hash, the decoy's seed and the
// decoy block the server answers with; or the error for a login that does
// not parse.
type decoyVector struct {
	vectorBase
	Login          string `json:"login"`
	Kind           string `json:"kind,omitempty"`
	Normalized     string `json:"normalized,omitempty"`
	IdentifierHash Hex    `json:"identifier_hash,omitempty"`
	Seed           Hex    `json:"seed,omitempty"`
	Block          Hex    `json:"block,omitempty"`
	Error          string `json:"error,omitempty"`
	ProblemCode    string `json:"problem_code,omitempty"`
}

// The decoy rule as docs/PROTOCOL.md gives it, without the library.
const (
	identifierHashInfo = "attesta v1 identifier hash"
	decoyKeyInfo       = "attesta v1 registry decoy"
	decoyBlockInfo     = "attesta registry v1 decoy"
)

func expand(t *testing.T, secret []byte, info string) []byte {
	k, err := hkdf.Expand(sha256.New, secret, info, 32)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// lengthPrefixedMAC is HMAC-SHA-256 under key of each part preceded by its
// length as a 4-byte big-endian integer.
func lengthPrefixedMAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(binary.BigEndian.AppendUint32(nil, uint32(len(p))))
		m.Write(p)
	}
	return m.Sum(nil)
}

// specDecoy computes a decoy from the server secret and a normalised
// identifier.
func specDecoy(t *testing.T, secret []byte, kind, value string) (hash, seed, block []byte) {
	hash = lengthPrefixedMAC(expand(t, secret, identifierHashInfo), []byte(kind), []byte(value))
	seed = lengthPrefixedMAC(expand(t, secret, decoyKeyInfo), hash)
	key, err := hkdf.Key(sha256.New, seed, nil, decoyBlockInfo, chacha20.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chacha20.NewUnauthenticatedCipher(key, make([]byte, chacha20.NonceSize))
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]byte, 16+24+registry.PadBlock+16)
	c.XORKeyStream(ks, ks)
	salt, nonce, ct := ks[:16], ks[16:40], ks[40:]
	params := argon2idBytes(t, salt, kdf.DefaultMemoryKiB, kdf.DefaultTime, kdf.DefaultThreads)
	return hash, seed, registryBlockBytes(t, registryHeaderBytes(t, 1, params, 1, nonce), ct)
}

func genDecoys(t *testing.T) any {
	f := &decoysFile{
		Description:   "Decoy registries (docs/PROTOCOL.md, Decoys): what a server with this secret answers GET /v1/registry?login= with for a login it holds no registry for, step by step, or the error for a login that does not parse. Binary fields are hex.",
		Secret:        fixedSecret,
		IdentifierKey: expand(t, fixedSecret, identifierHashInfo),
		DecoyKey:      expand(t, fixedSecret, decoyKeyInfo),
	}
	srv := newStack(t, attesta.Config{}, generousLimits)
	add := func(id, comment, login, want string) {
		t.Helper()
		v := decoyVector{vectorBase: vectorBase{id, comment}, Login: login}
		reg, err := srv.svc.RegistryByLogin(t.Context(), login)
		if v.Error = expect(t, id, err, want); err != nil {
			v.ProblemCode = "bad_identifier"
			f.Vectors = append(f.Vectors, v)
			return
		}
		ident, err := attesta.ParseLogin(login)
		if err != nil {
			t.Fatal(err)
		}
		v.Kind, v.Normalized = string(ident.Kind), ident.Value
		v.IdentifierHash, v.Seed, v.Block = specDecoy(t, fixedSecret, v.Kind, v.Normalized)
		if !bytes.Equal(v.Block, reg.Block) || reg.Version != 1 {
			t.Fatalf("%s: the library's decoy is not the one the specification gives", id)
		}
		f.Vectors = append(f.Vectors, v)
	}
	add("nickname", "a nickname no party holds", "nobody here", "")
	add("nickname-spelled-otherwise", "another spelling of the same nickname: the same decoy", "  Nobody \u3000HERE", "")
	add("email", "an email no party holds", "someone@example.com", "")
	add("email-spelled-otherwise", "another spelling of the same email: the same decoy", " SomeOne@Example.COM ", "")
	add("phone", "a phone number no party holds", "+15550100000", "")
	add("phone-spelled-otherwise", "another spelling of the same phone number: the same decoy", "+1 (555) 010-0000", "")
	add("short-nickname", "a login that normalises to a 3-character nickname", "abc", "attesta.ErrBadIdentifier")
	add("bad-email", "a login with @ that is no email", "someone@localhost", "attesta.ErrBadIdentifier")
	add("bad-phone", "a login starting with + that is no phone number", "+1 555 CALL NOW", "attesta.ErrBadIdentifier")
	add("empty", "an empty login", "", "attesta.ErrBadIdentifier")
	return f
}

func TestDecoys(t *testing.T) {
	var f decoysFile
	loadFile(t, "decoys.json", &f)
	if !bytes.Equal(f.Secret, fixedSecret) || !bytes.Equal(f.IdentifierKey, expand(t, f.Secret, identifierHashInfo)) || !bytes.Equal(f.DecoyKey, expand(t, f.Secret, decoyKeyInfo)) {
		t.Fatal("secret or derived keys differ")
	}
	srv := newStack(t, attesta.Config{}, generousLimits)
	for i, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			reg, err := srv.svc.RegistryByLogin(t.Context(), v.Login)
			checkError(t, err, v.Error)
			rec := srv.do(http.MethodGet, "/v1/registry?"+url.Values{"login": {v.Login}}.Encode(), nil, nil)
			if got := problemCode(t, rec); got != v.ProblemCode {
				t.Fatalf("server answered %q, want %q", got, v.ProblemCode)
			}
			if err != nil {
				if v.Block != nil || v.Seed != nil || v.IdentifierHash != nil || v.Kind != "" || v.Normalized != "" {
					t.Fatal("a refused login has a value")
				}
				return
			}
			var res transport.RegistryResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || !bytes.Equal(res.Registry, v.Block) || res.Version != 1 {
				t.Fatalf("GET /v1/registry answered %s", rec.Body)
			}
			if !bytes.Equal(reg.Block, v.Block) || reg.Version != 1 {
				t.Fatal("decoy differs")
			}
			ident, err := attesta.ParseLogin(v.Login)
			if err != nil || string(ident.Kind) != v.Kind || ident.Value != v.Normalized {
				t.Fatalf("login parses as %v, %v", ident, err)
			}
			hash, seed, block := specDecoy(t, f.Secret, v.Kind, v.Normalized)
			if !bytes.Equal(hash, v.IdentifierHash) || !bytes.Equal(seed, v.Seed) || !bytes.Equal(block, v.Block) {
				t.Fatal("the specification's decoy differs")
			}
			seeded, err := registry.Decoy(v.Seed)
			if err != nil || !bytes.Equal(seeded, v.Block) {
				t.Fatalf("registry.Decoy: %v", err)
			}
			h, err := registry.Inspect(v.Block)
			if err != nil || h.KDF.String() != kdf.Default().String() || len(h.KDF.Salt()) != kdf.SaltSize {
				t.Fatalf("a decoy's header is not the default's: %v %v", h.KDF, err)
			}
			if i == 0 {
				// No password opens a decoy (one vector: the default KDF is slow).
				_, err := registry.Open(t.Context(), v.Block, []byte("correct horse battery staple"), kdf.DefaultCeilings())
				checkError(t, err, "registry.ErrWrongPassword")
			}
		})
	}
}
