package testvectors_test

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/internal/testkeys"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

type registryFile struct {
	Description string `json:"description"`
	// KeyInfo is the HKDF info of the block key.
	KeyInfo      string           `json:"key_info"`
	PadBlock     int              `json:"pad_block"`
	MaxBlockSize int              `json:"max_block_size"`
	Vectors      []registryVector `json:"vectors"`
}

// registryVector is a sealed registry block and the password to open it
// with, under the default ceilings: the header and plaintext it holds, or
// the error opening it gives. PutError and PutProblemCode are what a
// server with the default floors answers PUT /v1/registry with the block
// ("" when it stores it).
type registryVector struct {
	vectorBase
	Password       string             `json:"password"`
	Block          Hex                `json:"block"`
	Header         *registryHeader    `json:"header,omitempty"`
	Plaintext      *registryPlaintext `json:"plaintext,omitempty"`
	PlaintextCBOR  Hex                `json:"plaintext_cbor,omitempty"`
	Error          string             `json:"error,omitempty"`
	PutError       string             `json:"put_error,omitempty"`
	PutProblemCode string             `json:"put_problem_code,omitempty"`
}

type registryHeader struct {
	Version int `json:"version"`
	KDF     Hex `json:"kdf"`
	AEAD    int `json:"aead"`
	Nonce   Hex `json:"nonce"`
}

// registryPlaintext is registry.Plaintext; created is in Unix seconds.
type registryPlaintext struct {
	PartyID string         `json:"party_id,omitempty"`
	Keys    []Hex          `json:"keys,omitempty"`
	Created *int64         `json:"created,omitempty"`
	AppData map[string]Hex `json:"app_data,omitempty"`
}

func toPlaintext(p *registryPlaintext) registry.Plaintext {
	pt := registry.Plaintext{PartyID: p.PartyID}
	for _, k := range p.Keys {
		pt.Keys = append(pt.Keys, k)
	}
	if p.Created != nil {
		pt.Created = time.Unix(*p.Created, 0).UTC()
	}
	if p.AppData != nil {
		pt.AppData = map[string][]byte{}
		for k, v := range p.AppData {
			pt.AppData[k] = v
		}
	}
	return pt
}

func fromPlaintext(pt registry.Plaintext) *registryPlaintext {
	p := &registryPlaintext{PartyID: pt.PartyID}
	for _, k := range pt.Keys {
		p.Keys = append(p.Keys, k)
	}
	if !pt.Created.IsZero() {
		p.Created = new(pt.Created.Unix())
	}
	if len(pt.AppData) > 0 {
		p.AppData = map[string]Hex{}
		for k, v := range pt.AppData {
			p.AppData[k] = v
		}
	}
	return p
}

func samePlaintext(a, b registry.Plaintext) bool {
	if a.PartyID != b.PartyID || !a.Created.Equal(b.Created) || len(a.Keys) != len(b.Keys) || len(a.AppData) != len(b.AppData) {
		return false
	}
	for i := range a.Keys {
		if !bytes.Equal(a.Keys[i], b.Keys[i]) {
			return false
		}
	}
	for k, v := range a.AppData {
		if w, ok := b.AppData[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// plaintextWire is the plaintext map as docs/PROTOCOL.md gives it.
type plaintextWire struct {
	PartyID string            `cbor:"1,keyasint,omitempty"`
	Keys    [][]byte          `cbor:"2,keyasint,omitempty"`
	Created *int64            `cbor:"3,keyasint,omitempty"`
	AppData map[string][]byte `cbor:"4,keyasint,omitempty"`
}

func encodePlaintext(t *testing.T, p *registryPlaintext) []byte {
	pt := toPlaintext(p)
	w := plaintextWire{PartyID: pt.PartyID, Keys: pt.Keys, AppData: pt.AppData, Created: p.Created}
	b, err := cborx.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The block format, as docs/PROTOCOL.md specifies it, without the
// registry package: the generator seals with it what the library never
// would (a malformed plaintext under a valid tag), and the test opens
// every block with it too.
const registryKeyInfo = "attesta registry v1 key"

func registryHeaderBytes(t *testing.T, version uint64, params []byte, aead uint64, nonce []byte) []byte {
	return arr(t, version, cbor.RawMessage(params), aead, nonce)
}

func registryBlockBytes(t *testing.T, header, ct []byte) []byte {
	return arr(t, cbor.RawMessage(header), ct)
}

// registryKey derives the block key from the password.
func registryKey(t *testing.T, params []byte, password string) []byte {
	p, err := kdf.Parse(params)
	if err != nil {
		t.Fatal(err)
	}
	prk, err := p.Derive(context.Background(), []byte(password), 32)
	if err != nil {
		t.Fatal(err)
	}
	key, err := hkdf.Expand(sha256.New, prk, registryKeyInfo, chacha20poly1305.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func specSeal(t *testing.T, params, nonce, padded []byte, password string) []byte {
	return specSealWith(t, registryKey(t, params, password), params, nonce, padded)
}

// specSealWith seals under a block key already derived.
func specSealWith(t *testing.T, key, params, nonce, padded []byte) []byte {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		t.Fatal(err)
	}
	header := registryHeaderBytes(t, 1, params, 1, nonce)
	return registryBlockBytes(t, header, aead.Seal(nil, nonce, padded, header))
}

// splitBlock decodes a well-formed block into its header bytes, header
// fields and ciphertext.
func splitBlock(t *testing.T, block []byte) (header []byte, h registryHeader, ct []byte) {
	var outer []cbor.RawMessage
	if err := cborx.Decode(block, &outer); err != nil || len(outer) != 2 {
		t.Fatalf("block: %v", err)
	}
	var fields []cbor.RawMessage
	if err := cborx.Decode(outer[0], &fields); err != nil || len(fields) != 4 {
		t.Fatalf("header: %v", err)
	}
	for i, dst := range []any{&h.Version, nil, &h.AEAD, (*[]byte)(&h.Nonce)} {
		if dst != nil {
			if err := cborx.Decode(fields[i], dst); err != nil {
				t.Fatalf("header field %d: %v", i, err)
			}
		}
	}
	h.KDF = Hex(fields[1])
	if err := cborx.Decode(outer[1], &ct); err != nil {
		t.Fatal(err)
	}
	return outer[0], h, ct
}

func pad(b []byte) []byte {
	n := (len(b) + registry.PadBlock - 1) / registry.PadBlock * registry.PadBlock
	return append(bytes.Clone(b), make([]byte, n-len(b))...)
}

func genRegistry(t *testing.T) any {
	f := &registryFile{
		Description:  "Sealed registry blocks (docs/PROTOCOL.md, Registry block): open each block with its password under the default ceilings (kdf.json) to get its header and plaintext, or the exact error. put_error and put_problem_code are what a server with the default floors answers when the block is stored with PUT /v1/registry. Binary fields are hex; passwords are UTF-8 strings used as their bytes; created is in Unix seconds.",
		KeyInfo:      registryKeyInfo,
		PadBlock:     registry.PadBlock,
		MaxBlockSize: registry.MaxBlockSize,
	}
	const pw = "correct horse battery staple"
	blocks := map[string][]byte{}
	seal := func(id, comment string, pt registry.Plaintext, password string, params kdf.Params) {
		t.Helper()
		block, err := registry.Seal(context.Background(), pt, []byte(password), params)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		_, h, _ := splitBlock(t, block)
		p := fromPlaintext(pt)
		v := registryVector{vectorBase: vectorBase{id, comment}, Password: password, Block: block, Header: &h, Plaintext: p, PlaintextCBOR: encodePlaintext(t, p)}
		got, err := registry.Open(context.Background(), block, []byte(password), kdf.DefaultCeilings())
		if err != nil || !samePlaintext(got, toPlaintext(p)) {
			t.Fatalf("%s: %v", id, err)
		}
		v.PutError, v.PutProblemCode = putOutcome(block)
		blocks[id] = block
		f.Vectors = append(f.Vectors, v)
	}
	refuse := func(id, comment string, block []byte, password, want string) {
		t.Helper()
		_, err := registry.Open(context.Background(), block, []byte(password), kdf.DefaultCeilings())
		v := registryVector{vectorBase: vectorBase{id, comment}, Password: password, Block: block, Error: expect(t, id, err, want)}
		v.PutError, v.PutProblemCode = putOutcome(block)
		f.Vectors = append(f.Vectors, v)
	}
	mustParams := func(p kdf.Params, err error) kdf.Params {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	partyID := func() string {
		b := make([]byte, 16)
		rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	created := fixedStart
	small := mustParams(kdf.Argon2idParams(1024, 1, 1))

	seal("argon2id", "Argon2id m = 1 MiB, t = 1, p = 1 (below the server's floors): a party id, fixture x25519-0's packed private key, a creation time and one application entry", registry.Plaintext{
		PartyID: partyID(), Keys: [][]byte{testkeys.Key(t, attesta.X25519, 0).Pack()}, Created: created, AppData: map[string][]byte{"theme": []byte("dark")},
	}, pw, small)
	seal("scrypt", "scrypt N = 2^10, r = 8, p = 1: fixture rsa2048-0's packed private key", registry.Plaintext{
		PartyID: partyID(), Keys: [][]byte{testkeys.Key(t, attesta.RSA2048, 0).Pack()}, Created: created,
	}, pw, mustParams(kdf.ScryptParams(10, 8, 1)))
	seal("pbkdf2", "PBKDF2-HMAC-SHA-256, 1,000 iterations: fixture mlkem768x25519-0's packed private key", registry.Plaintext{
		PartyID: partyID(), Keys: [][]byte{testkeys.Key(t, attesta.MLKEM768X25519, 0).Pack()}, Created: created,
	}, pw, mustParams(kdf.PBKDF2Params(1000)))
	var all [][]byte
	for _, alg := range testkeys.Algorithms {
		all = append(all, testkeys.Key(t, alg, 0).Pack())
	}
	seal("argon2id-default", "kdf.Default() (m = 64 MiB, t = 3, p = 4), as a client seals: the four fixture private keys, in order, and application data", registry.Plaintext{
		PartyID: partyID(), Keys: all, Created: created, AppData: map[string][]byte{"device": []byte("laptop"), "theme": []byte("dark")},
	}, pw, kdf.Default())
	seal("empty-plaintext", "an empty plaintext: the map {} and 4095 zero bytes", registry.Plaintext{}, pw, small)
	seal("created-epoch", "created = 0 (1970-01-01T00:00:00Z) is stored; only an absent created means none", registry.Plaintext{Created: time.Unix(0, 0)}, pw, small)
	seal("created-before-epoch", "created = 1900-01-01T00:00:00Z, a negative integer", registry.Plaintext{Created: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, pw, small)
	seal("app-data-order", "application keys \"b\" and \"aa\" and an empty value: a map's keys are sorted by their encoded bytes, so the shorter \"b\" comes first", registry.Plaintext{AppData: map[string][]byte{"aa": {1}, "b": {2}, "": {}}}, pw, small)
	blob := make([]byte, registry.PadBlock-14)
	rand.Read(blob)
	seal("exact-bucket", "a plaintext of exactly 4096 bytes: one bucket, no padding", registry.Plaintext{PartyID: "p", AppData: map[string][]byte{"blob": blob}}, pw, small)
	if n := len(f.Vectors[len(f.Vectors)-1].PlaintextCBOR); n != registry.PadBlock {
		t.Fatalf("exact-bucket plaintext is %d bytes", n)
	}
	blob2 := make([]byte, 5000)
	rand.Read(blob2)
	seal("two-buckets", "a 5000-byte application entry: the plaintext fills two buckets", registry.Plaintext{PartyID: "p", AppData: map[string][]byte{"blob": blob2}}, pw, small)
	seal("password-nfc", "the password \"pässwörd\" with precomposed ä and ö (NFC)", registry.Plaintext{PartyID: "p"}, "p\u00e4ssw\u00f6rd", small)

	// Wrong passwords.
	base := blocks["argon2id"]
	const wrong = "registry.ErrWrongPassword"
	const mal = "registry.ErrMalformed"
	refuse("wrong-password", "the argon2id block with its password capitalised", base, "Correct horse battery staple", wrong)
	refuse("empty-password", "the argon2id block with the empty password", base, "", wrong)
	refuse("password-nfd", "the password-nfc block with the password in NFD (decomposed ä and ö): passwords are not normalised", blocks["password-nfc"], "pa\u0308sswo\u0308rd", wrong)

	// Header fields changed, the ciphertext kept.
	_, h, ct := splitBlock(t, base)
	salt := small.Salt()
	withHeader := func(version uint64, params []byte, aead uint64, nonce []byte) []byte {
		return registryBlockBytes(t, registryHeaderBytes(t, version, params, aead, nonce), ct)
	}
	refuse("version-2", "the argon2id block with version 2", withHeader(2, h.KDF, 1, h.Nonce), pw, "registry.ErrUnsupportedVersion")
	refuse("version-0", "the argon2id block with version 0", withHeader(0, h.KDF, 1, h.Nonce), pw, "registry.ErrUnsupportedVersion")
	refuse("kdf-algorithm-changed", "the argon2id block with scrypt N = 2^10, r = 8, p = 1 and the same salt in its header", withHeader(1, scryptBytes(t, salt, 10, 8, 1), 1, h.Nonce), pw, wrong)
	refuse("kdf-salt-changed", "the argon2id block with one bit of the salt changed", withHeader(1, argon2idBytes(t, flip(salt, 0), 1024, 1, 1), 1, h.Nonce), pw, wrong)
	refuse("kdf-memory-changed", "the argon2id block with m = 1032 KiB", withHeader(1, argon2idBytes(t, salt, 1032, 1, 1), 1, h.Nonce), pw, wrong)
	refuse("kdf-time-changed", "the argon2id block with t = 2", withHeader(1, argon2idBytes(t, salt, 1024, 2, 1), 1, h.Nonce), pw, wrong)
	refuse("kdf-threads-changed", "the argon2id block with p = 2", withHeader(1, argon2idBytes(t, salt, 1024, 1, 2), 1, h.Nonce), pw, wrong)
	refuse("kdf-malformed", "the argon2id block with p = 0 in its KDF parameters", withHeader(1, argon2idBytes(t, salt, 1024, 1, 0), 1, h.Nonce), pw, mal)
	refuse("kdf-unknown-algorithm", "the argon2id block with KDF type code 9", withHeader(1, arr(t, uint64(9), salt, uint64(1024), uint64(1), uint64(1)), 1, h.Nonce), pw, "kdf.ErrUnknownAlgorithm")
	refuse("kdf-above-ceiling", "the argon2id block with m = 2 GiB: refused before any derivation", withHeader(1, argon2idBytes(t, salt, 2<<20, 1, 1), 1, h.Nonce), pw, "kdf.ErrMemoryAboveCeiling")
	refuse("aead-2", "the argon2id block with AEAD 2", withHeader(1, h.KDF, 2, h.Nonce), pw, "registry.ErrUnsupportedAEAD")
	refuse("aead-0", "the argon2id block with AEAD 0", withHeader(1, h.KDF, 0, h.Nonce), pw, "registry.ErrUnsupportedAEAD")
	refuse("nonce-changed", "the argon2id block with one bit of the nonce changed", withHeader(1, h.KDF, 1, flip(h.Nonce, -1)), pw, wrong)
	refuse("nonce-23-bytes", "the argon2id block with a 23-byte nonce", withHeader(1, h.KDF, 1, h.Nonce[:23]), pw, mal)
	refuse("nonce-25-bytes", "the argon2id block with a 25-byte nonce", withHeader(1, h.KDF, 1, cat(h.Nonce, []byte{0})), pw, mal)
	refuse("header-extra-field", "the argon2id block with a fifth header element, 0", registryBlockBytes(t, arr(t, uint64(1), cbor.RawMessage(h.KDF), uint64(1), []byte(h.Nonce), uint64(0)), ct), pw, mal)
	refuse("header-missing-field", "the argon2id block without the nonce", registryBlockBytes(t, arr(t, uint64(1), cbor.RawMessage(h.KDF), uint64(1)), ct), pw, mal)
	refuse("header-empty", "the argon2id block with an empty header, []", registryBlockBytes(t, []byte{0x80}, ct), pw, mal)
	header := registryHeaderBytes(t, 1, h.KDF, 1, h.Nonce)
	refuse("header-as-bytes", "the argon2id block with its header wrapped in a byte string", arr(t, header, ct), pw, mal)

	// The ciphertext changed.
	refuse("ciphertext-changed", "the argon2id block with one bit of the first ciphertext byte changed", registryBlockBytes(t, header, flip(ct, 0)), pw, wrong)
	refuse("tag-changed", "the argon2id block with one bit of the tag changed", registryBlockBytes(t, header, flip(ct, -1)), pw, wrong)
	refuse("ciphertext-truncated", "the argon2id block without the last ciphertext byte", registryBlockBytes(t, header, ct[:len(ct)-1]), pw, mal)
	refuse("ciphertext-extended", "the argon2id block with a zero byte appended to the ciphertext", registryBlockBytes(t, header, cat(ct, []byte{0})), pw, mal)
	refuse("ciphertext-no-tag", "the argon2id block with its 4096-byte ciphertext and no tag", registryBlockBytes(t, header, ct[:registry.PadBlock]), pw, mal)
	refuse("ciphertext-empty", "the argon2id block with an empty ciphertext", registryBlockBytes(t, header, []byte{}), pw, mal)

	// The envelope.
	refuse("block-truncated", "the first half of the argon2id block", base[:len(base)/2], pw, mal)
	refuse("block-trailing-byte", "the argon2id block followed by a zero byte", cat(base, []byte{0}), pw, mal)
	refuse("block-three-elements", "[header, ciphertext, 0]", arr(t, cbor.RawMessage(header), ct, uint64(0)), pw, mal)
	refuse("block-one-element", "[header]", arr(t, cbor.RawMessage(header)), pw, mal)
	refuse("block-map", "{0: header, 1: ciphertext}", cat([]byte{0xa2, 0x00}, header, []byte{0x01}, arr(t, ct)[1:]), pw, mal)
	refuse("non-canonical-version", "the argon2id block with the version in two bytes (18 01)", bytes.Replace(base, []byte{0x84, 0x01}, []byte{0x84, 0x18, 0x01}, 1), pw, mal)
	refuse("non-canonical-block-length", "the argon2id block with the outer array length in two bytes (98 02)", cat([]byte{0x98, 0x02}, base[1:]), pw, mal)
	refuse("non-canonical-ciphertext-length", "the argon2id block with the ciphertext length in five bytes (5a 00001010 instead of 59 1010)", bytes.Replace(base, []byte{0x59, 0x10, 0x10}, []byte{0x5a, 0, 0, 0x10, 0x10}, 1), pw, mal)
	refuse("indefinite-block", "the argon2id block as an indefinite-length array", cat([]byte{0x9f}, base[1:], []byte{0xff}), pw, mal)
	refuse("indefinite-header", "the argon2id block with an indefinite-length header", cat([]byte{0x82, 0x9f}, header[1:], []byte{0xff}, arr(t, ct)[1:]), pw, mal)
	refuse("tagged", "the argon2id block under tag 55799", cat([]byte{0xd9, 0xd9, 0xf7}, base), pw, mal)
	big := make([]byte, 16*registry.PadBlock+16)
	rand.Read(big)
	refuse("over-size", "a block of 16 buckets, over the 65536-byte limit (refused on its size alone)", registryBlockBytes(t, header, big), pw, "registry.ErrTooLarge")

	// A malformed plaintext under a valid tag.
	bad := func(id, comment string, padded []byte) {
		t.Helper()
		refuse(id, comment, specSeal(t, h.KDF, h.Nonce, padded, pw), pw, mal)
	}
	bad("plaintext-array", "the plaintext [] instead of a map", pad([]byte{0x80}))
	bad("plaintext-unknown-key", "the plaintext {5: h''}", pad(unhex("a10540")))
	bad("plaintext-text-key", "the plaintext {\"1\": \"p\"}", pad(unhex("a161316170")))
	bad("plaintext-unsorted-keys", "the plaintext {2: [h'01'], 1: \"p\"}", pad(unhex("a202814101016170")))
	bad("plaintext-duplicate-key", "the plaintext {1: \"p\", 1: \"q\"}", pad(unhex("a2016170016171")))
	bad("plaintext-non-canonical-key", "the plaintext {1: \"p\"} with the key in two bytes (18 01)", pad(unhex("a118016170")))
	bad("plaintext-indefinite-map", "the plaintext {1: \"p\"} as an indefinite-length map", pad(unhex("bf016170ff")))
	bad("plaintext-party-id-empty", "the plaintext {1: \"\"}: an empty field is left out, never written", pad(unhex("a10160")))
	bad("plaintext-keys-empty", "the plaintext {2: []}", pad(unhex("a10280")))
	bad("plaintext-created-float", "the plaintext {3: 1.0}", pad(unhex("a103f93c00")))
	bad("plaintext-created-zero-time", "the plaintext {3: -62135596800}: 0001-01-01T00:00:00Z, the Go zero time, which means no time and is stored by leaving key 3 out", pad(unhex("a1033b0000000e7791f6ff")))
	bad("plaintext-app-data-unsorted", "the plaintext {4: {\"b\": h'02', \"a\": h''}}", pad(unhex("a104a2616241026161"+"40")))
	bad("plaintext-non-zero-padding", "the plaintext {1: \"p\"} padded with zeros and a final 01", append(pad(unhex("a1016170"))[:registry.PadBlock-1], 1))
	bad("plaintext-second-item", "two plaintext maps, {1: \"p\"} twice, then zeros", pad(unhex("a1016170a1016170")))
	return f
}

func TestRegistry(t *testing.T) {
	var f registryFile
	loadFile(t, "registry.json", &f)
	if f.KeyInfo != registryKeyInfo || f.PadBlock != registry.PadBlock || f.MaxBlockSize != registry.MaxBlockSize {
		t.Fatal("constants differ from the library's")
	}
	put := newPutter(t, newStack(t, attesta.Config{}, generousLimits))
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			pt, err := registry.Open(t.Context(), v.Block, []byte(v.Password), kdf.DefaultCeilings())
			checkError(t, err, v.Error)
			hd, ierr := registry.Inspect(v.Block)
			checkPut(t, put, v.Block, v.PutError, v.PutProblemCode)
			if err != nil {
				if !samePlaintext(pt, registry.Plaintext{}) || v.Header != nil || v.Plaintext != nil || v.PlaintextCBOR != nil {
					t.Fatal("a refused block has a value")
				}
				// Inspect refuses what the server refuses as malformed, with
				// Open's error; the rest needs the password.
				if v.PutError == "attesta.ErrBadRegistry" || v.PutError == "attesta.ErrRegistryTooLarge" {
					checkError(t, ierr, v.Error)
				} else if ierr != nil {
					t.Fatalf("Inspect: %v", ierr)
				}
				return
			}
			if ierr != nil || hd.Version != v.Header.Version || !bytes.Equal(hd.KDF.Bytes(), v.Header.KDF) {
				t.Fatalf("Inspect: %v %+v", ierr, hd)
			}
			if !samePlaintext(pt, toPlaintext(v.Plaintext)) {
				t.Fatal("plaintext differs")
			}
			// The plaintext map is the canonical encoding of its fields.
			if !bytes.Equal(encodePlaintext(t, v.Plaintext), v.PlaintextCBOR) {
				t.Fatal("plaintext_cbor is not the encoding of plaintext")
			}
			// The specification's own opening: the header fields, the key
			// derivation, the AEAD and the padding; and sealing the padded
			// plaintext again with the same key and nonce gives the same
			// block.
			header, h, ct := splitBlock(t, v.Block)
			if h.Version != 1 || h.AEAD != 1 || len(h.Nonce) != 24 || !reflect.DeepEqual(h, *v.Header) {
				t.Fatalf("header %+v", h)
			}
			if !bytes.Equal(header, registryHeaderBytes(t, 1, h.KDF, 1, h.Nonce)) {
				t.Fatal("the header does not re-encode to the same bytes")
			}
			key := registryKey(t, h.KDF, v.Password)
			aead, err := chacha20poly1305.NewX(key)
			if err != nil {
				t.Fatal(err)
			}
			padded, err := aead.Open(nil, h.Nonce, ct, header)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(padded, pad(v.PlaintextCBOR)) {
				t.Fatal("the padded plaintext is not plaintext_cbor followed by zeros to a multiple of 4096 bytes")
			}
			if !bytes.Equal(specSealWith(t, key, h.KDF, h.Nonce, padded), v.Block) {
				t.Fatal("sealing again does not give the same block")
			}
		})
	}
}
