package testvectors_test

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/kdf"
)

type kdfFile struct {
	Description     string      `json:"description"`
	DefaultCeilings kdfCeilings `json:"default_ceilings"`
	DefaultFloors   kdfFloors   `json:"default_floors"`
	Vectors         []kdfVector `json:"vectors"`
}

// kdfCeilings and kdfFloors are kdf.Ceilings and kdf.Floors with JSON
// names.
type kdfCeilings struct {
	Argon2idMaxMemoryKiB uint32 `json:"argon2id_max_memory_kib"`
	Argon2idMaxTime      uint32 `json:"argon2id_max_time"`
	Argon2idMaxThreads   uint8  `json:"argon2id_max_threads"`
	ScryptMaxLogN        uint8  `json:"scrypt_max_log_n"`
	ScryptMaxMemoryBytes uint64 `json:"scrypt_max_memory_bytes"`
	ScryptMaxP           uint32 `json:"scrypt_max_p"`
	PBKDF2MaxIterations  uint32 `json:"pbkdf2_max_iterations"`
}

type kdfFloors struct {
	Argon2idMinMemoryKiB uint32 `json:"argon2id_min_memory_kib"`
	Argon2idMinTime      uint32 `json:"argon2id_min_time"`
	ScryptMinLogN        uint8  `json:"scrypt_min_log_n"`
	ScryptMinR           uint32 `json:"scrypt_min_r"`
	PBKDF2MinIterations  uint32 `json:"pbkdf2_min_iterations"`
}

// kdfVector is one encoding of KDF parameters and what to do with it:
// check "derive" (parse, then derive key_len bytes from password), "parse"
// (parse only), "ceilings" or "floors" (parse, then check against the
// file's default ceilings or floors).
type kdfVector struct {
	vectorBase
	Check  string `json:"check"`
	Params Hex    `json:"params"`
	// The decoded parameters, when params parses.
	Algorithm  string `json:"algorithm,omitempty"`
	Salt       Hex    `json:"salt,omitempty"`
	MemoryKiB  uint32 `json:"memory_kib,omitempty"`
	Time       uint32 `json:"time,omitempty"`
	Threads    uint8  `json:"threads,omitempty"`
	LogN       uint8  `json:"log_n,omitempty"`
	R          uint32 `json:"r,omitempty"`
	P          uint32 `json:"p,omitempty"`
	Iterations uint32 `json:"iterations,omitempty"`
	// Password is UTF-8 text, used as its bytes, with no normalisation.
	Password *string `json:"password,omitempty"`
	KeyLen   int     `json:"key_len,omitempty"`
	Key      Hex     `json:"key,omitempty"`
	Error    string  `json:"error,omitempty"`
	// PutError and PutProblemCode are what a server with the default
	// floors answers PUT /v1/registry with a block under these parameters
	// ("" when it stores it), for parameters that parse.
	PutError       string `json:"put_error,omitempty"`
	PutProblemCode string `json:"put_problem_code,omitempty"`
}

// paramsBlock is a registry block with params in its header, a zero nonce
// and a zero ciphertext of one bucket: what a server sees of a block.
func paramsBlock(t *testing.T, params []byte) []byte {
	return registryBlockBytes(t, registryHeaderBytes(t, 1, params, 1, make([]byte, 24)), make([]byte, 4096+16))
}

// setDecoded fills the decoded fields of v from p.
func (v *kdfVector) setDecoded(p kdf.Params) {
	v.Algorithm, v.Salt = p.Algorithm().String(), p.Salt()
	v.MemoryKiB, v.Time, v.Threads = p.MemoryKiB(), p.Time(), p.Threads()
	v.LogN, v.R, v.P, v.Iterations = p.LogN(), p.R(), p.P(), p.Iterations()
}

func argon2idBytes(t *testing.T, salt []byte, m, time, p uint64) []byte {
	return arr(t, uint64(kdf.Argon2id), salt, m, time, p)
}

func scryptBytes(t *testing.T, salt []byte, logN, r, p uint64) []byte {
	return arr(t, uint64(kdf.Scrypt), salt, logN, r, p)
}

func pbkdf2Bytes(t *testing.T, salt []byte, i uint64) []byte {
	return arr(t, uint64(kdf.PBKDF2SHA256), salt, i)
}

func genKDF(t *testing.T) any {
	f := &kdfFile{
		Description:     "Password KDF parameters (docs/PROTOCOL.md, KDF parameters): their CBOR encoding, the keys they derive, the encodings a parser must refuse, and the default ceilings (a client's limits) and floors (a server's minimums). put_error and put_problem_code are what a server answers PUT /v1/registry with a block under parameters that parse: it refuses those below its floors and those above the default ceilings. Binary fields are hex; passwords are UTF-8 strings used as their bytes, without normalisation.",
		DefaultCeilings: kdfCeilings(kdf.DefaultCeilings()),
		DefaultFloors:   kdfFloors(kdf.DefaultFloors()),
	}
	must := func(p kdf.Params, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p.Bytes()
	}
	derive := func(id, comment string, params []byte, password string, keyLen int) {
		t.Helper()
		p, err := kdf.Parse(params)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		key, err := p.Derive(t.Context(), []byte(password), keyLen)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		v := kdfVector{vectorBase: vectorBase{id, comment}, Check: "derive", Params: params, Password: &password, KeyLen: keyLen, Key: key}
		v.setDecoded(p)
		v.PutError, v.PutProblemCode = putOutcome(paramsBlock(t, params))
		f.Vectors = append(f.Vectors, v)
	}
	check := func(check, id, comment string, params []byte, want string) {
		t.Helper()
		v := kdfVector{vectorBase: vectorBase{id, comment}, Check: check, Params: params}
		p, err := kdf.Parse(params)
		switch check {
		case "parse":
		case "ceilings", "floors":
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if check == "ceilings" {
				err = kdf.DefaultCeilings().Check(p)
			} else {
				err = kdf.DefaultFloors().Check(p)
			}
		}
		v.Error = expect(t, id, err, want)
		if p.Algorithm() != 0 {
			v.setDecoded(p)
			v.PutError, v.PutProblemCode = putOutcome(paramsBlock(t, params))
		}
		f.Vectors = append(f.Vectors, v)
	}
	const pw = "correct horse battery staple"
	salt := make([]byte, 16)
	rand.Read(salt)

	derive("argon2id-default", "kdf.Default(): Argon2id, m = 64 MiB, t = 3, p = 4 (RFC 9106 §4, second recommended option)", kdf.Default().Bytes(), pw, 32)
	derive("argon2id-floor", "Argon2id at the default floors: m = 19 MiB, t = 2, p = 1", must(kdf.Argon2idParams(19<<10, 2, 1)), pw, 32)
	derive("argon2id-small", "Argon2id, m = 1 MiB, t = 1, p = 1 (too weak for a server to store)", must(kdf.Argon2idParams(1024, 1, 1)), pw, 32)
	derive("argon2id-minimum-memory", "Argon2id, m = 8 KiB, the least memory for one lane", must(kdf.Argon2idParams(8, 1, 1)), pw, 32)
	derive("argon2id-four-lanes", "Argon2id, m = 256 KiB, t = 2, p = 4", must(kdf.Argon2idParams(256, 2, 4)), pw, 32)
	salt64 := make([]byte, 64)
	rand.Read(salt64)
	derive("argon2id-salt-64-bytes", "Argon2id with a 64-byte salt, the longest accepted", argon2idBytes(t, salt64, 1024, 1, 1), pw, 32)
	derive("argon2id-key-16-bytes", "Argon2id, a 16-byte key, the shortest Derive makes", argon2idBytes(t, salt, 1024, 1, 1), pw, 16)
	derive("argon2id-key-64-bytes", "Argon2id, a 64-byte key", argon2idBytes(t, salt, 1024, 1, 1), pw, 64)
	derive("argon2id-password-nfc", "the password \"pässwörd\" with precomposed ä and ö (NFC)", argon2idBytes(t, salt, 1024, 1, 1), "p\u00e4ssw\u00f6rd", 32)
	derive("argon2id-password-nfd", "the password \"pässwörd\" with decomposed ä and ö (NFD): the same text to a reader, other bytes, another key", argon2idBytes(t, salt, 1024, 1, 1), "pa\u0308sswo\u0308rd", 32)
	derive("argon2id-empty-password", "the empty password (which registry.Seal refuses, but the KDF derives)", argon2idBytes(t, salt, 1024, 1, 1), "", 32)
	derive("scrypt-small", "scrypt, N = 2^10, r = 8, p = 1", must(kdf.ScryptParams(10, 8, 1)), pw, 32)
	derive("scrypt-12-8-2", "scrypt, N = 2^12, r = 8, p = 2", must(kdf.ScryptParams(12, 8, 2)), pw, 32)
	derive("scrypt-r1", "scrypt, N = 2^4, r = 1, p = 1", must(kdf.ScryptParams(4, 1, 1)), pw, 32)
	derive("pbkdf2-1", "PBKDF2-HMAC-SHA-256, 1 iteration", must(kdf.PBKDF2Params(1)), pw, 32)
	derive("pbkdf2-10000", "PBKDF2-HMAC-SHA-256, 10,000 iterations", must(kdf.PBKDF2Params(10000)), pw, 32)
	derive("pbkdf2-key-64-bytes", "PBKDF2-HMAC-SHA-256, 1,000 iterations, a 64-byte key (two HMAC blocks)", pbkdf2Bytes(t, salt, 1000), pw, 64)

	// Encodings a parser refuses.
	const mal = "kdf.ErrMalformed"
	a := argon2idBytes(t, salt, 1024, 1, 1)
	check("parse", "empty", "no bytes", nil, mal)
	check("parse", "not-an-array", "the integer 1", arr(t, uint64(1))[1:], mal)
	check("parse", "map", "{1: salt}", cat([]byte{0xa1, 0x01}, arr(t, salt)[1:]), mal)
	check("parse", "empty-array", "[]", []byte{0x80}, mal)
	check("parse", "text", "the text \"argon2id\"", arr(t, "argon2id")[1:], mal)
	check("parse", "type-code-0", "[0, salt, 1024, 1, 1]: type code 0 is no algorithm", arr(t, uint64(0), salt, uint64(1024), uint64(1), uint64(1)), "kdf.ErrUnknownAlgorithm")
	check("parse", "type-code-4", "[4, salt, 1024, 1, 1]: an unknown algorithm", arr(t, uint64(4), salt, uint64(1024), uint64(1), uint64(1)), "kdf.ErrUnknownAlgorithm")
	check("parse", "type-code-256", "[256, salt, 1024, 1, 1]: an unknown algorithm", arr(t, uint64(256), salt, uint64(1024), uint64(1), uint64(1)), "kdf.ErrUnknownAlgorithm")
	check("parse", "type-code-257", "[257, salt, 1024, 1, 1]: an unknown algorithm (not 257 mod 256 = Argon2id)", arr(t, uint64(257), salt, uint64(1024), uint64(1), uint64(1)), "kdf.ErrUnknownAlgorithm")
	check("parse", "type-code-negative", "[-1, salt, 1024, 1, 1]", arr(t, int64(-1), salt, uint64(1024), uint64(1), uint64(1)), mal)
	check("parse", "type-code-text", "[\"1\", salt, 1024, 1, 1]", arr(t, "1", salt, uint64(1024), uint64(1), uint64(1)), mal)
	check("parse", "argon2id-four-elements", "[1, salt, 1024, 1]", arr(t, uint64(1), salt, uint64(1024), uint64(1)), mal)
	check("parse", "argon2id-six-elements", "[1, salt, 1024, 1, 1, 1]", arr(t, uint64(1), salt, uint64(1024), uint64(1), uint64(1), uint64(1)), mal)
	check("parse", "scrypt-four-elements", "[2, salt, 10, 8]", arr(t, uint64(2), salt, uint64(10), uint64(8)), mal)
	check("parse", "pbkdf2-four-elements", "[3, salt, 1000, 1]", arr(t, uint64(3), salt, uint64(1000), uint64(1)), mal)
	check("parse", "salt-15-bytes", "Argon2id with a 15-byte salt", argon2idBytes(t, salt[:15], 1024, 1, 1), mal)
	check("parse", "salt-65-bytes", "Argon2id with a 65-byte salt", argon2idBytes(t, cat(salt64, []byte{0}), 1024, 1, 1), mal)
	check("parse", "salt-empty", "Argon2id with an empty salt", argon2idBytes(t, []byte{}, 1024, 1, 1), mal)
	check("parse", "salt-text", "Argon2id with the salt as a text string", arr(t, uint64(1), string(salt), uint64(1024), uint64(1), uint64(1)), mal)
	check("parse", "salt-null", "Argon2id with a null salt", arr(t, uint64(1), nil, uint64(1024), uint64(1), uint64(1)), mal)
	check("parse", "argon2id-time-0", "Argon2id with t = 0", argon2idBytes(t, salt, 1024, 0, 1), mal)
	check("parse", "argon2id-threads-0", "Argon2id with p = 0", argon2idBytes(t, salt, 1024, 1, 0), mal)
	check("parse", "argon2id-threads-256", "Argon2id with p = 256 (at most 255)", argon2idBytes(t, salt, 4096, 1, 256), mal)
	check("parse", "argon2id-memory-below-8-per-lane", "Argon2id with m = 31 KiB and p = 4 (RFC 9106 requires m ≥ 8p)", argon2idBytes(t, salt, 31, 1, 4), mal)
	check("parse", "argon2id-memory-2-32", "Argon2id with m = 2^32 KiB (at most 2^32 - 1)", argon2idBytes(t, salt, 1<<32, 1, 1), mal)
	check("parse", "scrypt-log-n-0", "scrypt with N = 2^0", scryptBytes(t, salt, 0, 8, 1), mal)
	check("parse", "scrypt-log-n-64", "scrypt with N = 2^64", scryptBytes(t, salt, 64, 8, 1), mal)
	check("parse", "scrypt-r-0", "scrypt with r = 0", scryptBytes(t, salt, 10, 0, 1), mal)
	check("parse", "scrypt-p-0", "scrypt with p = 0", scryptBytes(t, salt, 10, 8, 0), mal)
	check("parse", "scrypt-r-p-2-30", "scrypt with r = p = 2^15, so r·p = 2^30 (RFC 7914 needs it below)", scryptBytes(t, salt, 10, 1<<15, 1<<15), mal)
	check("parse", "scrypt-r-2-32", "scrypt with r = 2^32", scryptBytes(t, salt, 10, 1<<32, 1), mal)
	check("parse", "pbkdf2-iterations-0", "PBKDF2 with 0 iterations", pbkdf2Bytes(t, salt, 0), mal)
	check("parse", "pbkdf2-iterations-2-32", "PBKDF2 with 2^32 iterations (at most 2^32 - 1)", pbkdf2Bytes(t, salt, 1<<32), mal)
	check("parse", "cost-null", "Argon2id with t = null", arr(t, uint64(1), salt, uint64(1024), nil, uint64(1)), mal)
	check("parse", "cost-float", "Argon2id with t = 1.0, a float", cat(a[:len(a)-2], []byte{0xf9, 0x3c, 0x00, 0x01}), mal)
	check("parse", "cost-negative", "Argon2id with t = -1", arr(t, uint64(1), salt, uint64(1024), int64(-1), uint64(1)), mal)
	check("parse", "non-canonical-type-code", "argon2id-small's encoding with the type code in two bytes (18 01)", cat([]byte{0x85, 0x18, 0x01}, a[2:]), mal)
	check("parse", "non-canonical-memory", "argon2id-small's encoding with m = 1024 in five bytes (1a 00000400 instead of 19 0400)", cat(a[:len(a)-5], []byte{0x1a, 0, 0, 4, 0}, a[len(a)-2:]), mal)
	check("parse", "non-canonical-array-length", "argon2id-small's encoding with the array length in two bytes (98 05)", cat([]byte{0x98, 0x05}, a[1:]), mal)
	check("parse", "non-canonical-salt-length", "argon2id-small's encoding with the salt length in two bytes (58 10)", cat(a[:2], []byte{0x58, 0x10}, a[3:]), mal)
	check("parse", "indefinite-array", "argon2id-small's encoding as an indefinite-length array", cat([]byte{0x9f}, a[1:], []byte{0xff}), mal)
	check("parse", "indefinite-salt", "argon2id-small's encoding with the salt in two chunks", cat(a[:2], []byte{0x5f, 0x48}, salt[:8], []byte{0x48}, salt[8:], []byte{0xff}, a[19:]), mal)
	check("parse", "tagged", "argon2id-small's encoding under tag 55799", cat([]byte{0xd9, 0xd9, 0xf7}, a), mal)
	check("parse", "trailing-byte", "argon2id-small's encoding followed by a zero byte", cat(a, []byte{0}), mal)
	check("parse", "over-128-bytes", "Argon2id with a 120-byte salt: 130 bytes, over the 128-byte limit on an encoding", argon2idBytes(t, make([]byte, 120), 1024, 1, 1), mal)

	// Ceilings (a client's).
	check("ceilings", "argon2id-at-ceilings", "Argon2id, m = 1 GiB, t = 16, p = 16: the most the default ceilings allow", argon2idBytes(t, salt, 1<<20, 16, 16), "")
	check("ceilings", "argon2id-memory-above", "Argon2id, m = 1 GiB + 1 KiB", argon2idBytes(t, salt, 1<<20+1, 3, 4), "kdf.ErrMemoryAboveCeiling")
	check("ceilings", "argon2id-memory-64-gib", "Argon2id, m = 64 GiB, what a hostile server might ask for", argon2idBytes(t, salt, 1<<26, 3, 4), "kdf.ErrMemoryAboveCeiling")
	check("ceilings", "argon2id-time-above", "Argon2id, t = 17", argon2idBytes(t, salt, 1<<16, 17, 4), "kdf.ErrTimeAboveCeiling")
	check("ceilings", "argon2id-threads-above", "Argon2id, p = 17", argon2idBytes(t, salt, 1<<16, 3, 17), "kdf.ErrThreadsAboveCeiling")
	check("ceilings", "argon2id-all-above", "Argon2id with m, t and p above: memory is checked first, then time, then threads", argon2idBytes(t, salt, 1<<21, 17, 17), "kdf.ErrMemoryAboveCeiling")
	check("ceilings", "scrypt-at-ceilings", "scrypt, N = 2^22, r = 2, p = 16: 128·r·N = 1 GiB, the most allowed", scryptBytes(t, salt, 22, 2, 16), "")
	check("ceilings", "scrypt-log-n-above", "scrypt, N = 2^23, r = 1", scryptBytes(t, salt, 23, 1, 1), "kdf.ErrScryptNAboveCeiling")
	check("ceilings", "scrypt-memory-above", "scrypt, N = 2^22, r = 3: 128·r·N = 1.5 GiB", scryptBytes(t, salt, 22, 3, 1), "kdf.ErrMemoryAboveCeiling")
	check("ceilings", "scrypt-p-above", "scrypt, p = 17", scryptBytes(t, salt, 10, 8, 17), "kdf.ErrThreadsAboveCeiling")
	check("ceilings", "pbkdf2-at-ceiling", "PBKDF2, 10,000,000 iterations", pbkdf2Bytes(t, salt, 10_000_000), "")
	check("ceilings", "pbkdf2-above", "PBKDF2, 10,000,001 iterations", pbkdf2Bytes(t, salt, 10_000_001), "kdf.ErrIterationsAboveCeiling")

	// Floors (a server's).
	check("floors", "argon2id-default-meets-floors", "kdf.Default()", kdf.Default().Bytes(), "")
	check("floors", "argon2id-at-floors", "Argon2id, m = 19 MiB, t = 2, p = 1", argon2idBytes(t, salt, 19<<10, 2, 1), "")
	check("floors", "argon2id-memory-below", "Argon2id, m = 19 MiB - 1 KiB", argon2idBytes(t, salt, 19<<10-1, 2, 1), "kdf.ErrMemoryBelowFloor")
	check("floors", "argon2id-time-below", "Argon2id, t = 1", argon2idBytes(t, salt, 64<<10, 1, 4), "kdf.ErrTimeBelowFloor")
	check("floors", "argon2id-all-below", "Argon2id, m = 1 MiB, t = 1: memory is checked first", argon2idBytes(t, salt, 1024, 1, 1), "kdf.ErrMemoryBelowFloor")
	check("floors", "scrypt-at-floors", "scrypt, N = 2^17, r = 8, p = 1", scryptBytes(t, salt, 17, 8, 1), "")
	check("floors", "scrypt-larger-r", "scrypt, N = 2^17, r = 16: a larger block size only costs more", scryptBytes(t, salt, 17, 16, 1), "")
	check("floors", "scrypt-log-n-below", "scrypt, N = 2^16, r = 8", scryptBytes(t, salt, 16, 8, 1), "kdf.ErrScryptNBelowFloor")
	check("floors", "scrypt-r-below", "scrypt, N = 2^17, r = 7", scryptBytes(t, salt, 17, 7, 1), "kdf.ErrScryptRBelowFloor")
	check("floors", "pbkdf2-at-floor", "PBKDF2, 600,000 iterations", pbkdf2Bytes(t, salt, 600_000), "")
	check("floors", "pbkdf2-below", "PBKDF2, 599,999 iterations", pbkdf2Bytes(t, salt, 599_999), "kdf.ErrIterationsBelowFloor")
	return f
}

func TestKDF(t *testing.T) {
	var f kdfFile
	loadFile(t, "kdf.json", &f)
	put := newPutter(t, newStack(t, attesta.Config{}, generousLimits))
	if f.DefaultCeilings != kdfCeilings(kdf.DefaultCeilings()) || f.DefaultFloors != kdfFloors(kdf.DefaultFloors()) {
		t.Fatal("default ceilings or floors differ from the library's")
	}
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			p, err := kdf.Parse(v.Params)
			if v.Check == "parse" {
				checkError(t, err, v.Error)
			} else if err != nil {
				t.Fatal(err)
			}
			if err != nil {
				if p.Algorithm() != 0 || v.Algorithm != "" || v.PutError != "" || v.PutProblemCode != "" {
					t.Fatal("refused parameters have a value")
				}
				return
			}
			checkPut(t, put, paramsBlock(t, v.Params), v.PutError, v.PutProblemCode)
			if !bytes.Equal(p.Bytes(), v.Params) {
				t.Fatal("the parameters do not re-encode to the same bytes")
			}
			var d kdfVector
			d.setDecoded(p)
			if d.Algorithm != v.Algorithm || !bytes.Equal(d.Salt, v.Salt) || d.MemoryKiB != v.MemoryKiB || d.Time != v.Time ||
				d.Threads != v.Threads || d.LogN != v.LogN || d.R != v.R || d.P != v.P || d.Iterations != v.Iterations {
				t.Fatalf("decoded %+v", d)
			}
			switch v.Check {
			case "derive":
				if err := kdf.DefaultCeilings().Check(p); err != nil {
					t.Fatal(err)
				}
				if v.Password == nil || v.Error != "" {
					t.Fatal("a derive vector needs a password and no error")
				}
				key, err := p.Derive(t.Context(), []byte(*v.Password), v.KeyLen)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(key, v.Key) || !bytes.Equal(specDerive(t, v), v.Key) {
					t.Fatal("derived key differs")
				}
			case "ceilings":
				checkError(t, kdf.DefaultCeilings().Check(p), v.Error)
			case "floors":
				checkError(t, kdf.DefaultFloors().Check(p), v.Error)
			case "parse":
			default:
				t.Fatalf("unknown check %q", v.Check)
			}
		})
	}
}

// specDerive derives with the primitives docs/PROTOCOL.md names, from the
// vector's decoded fields.
func specDerive(t *testing.T, v kdfVector) []byte {
	pw := []byte(*v.Password)
	switch v.Algorithm {
	case "argon2id":
		return argon2.IDKey(pw, v.Salt, v.Time, v.MemoryKiB, v.Threads, uint32(v.KeyLen))
	case "scrypt":
		k, err := scrypt.Key(pw, v.Salt, 1<<v.LogN, int(v.R), int(v.P), v.KeyLen)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case "pbkdf2-sha256":
		k, err := pbkdf2.Key(sha256.New, string(pw), v.Salt, int(v.Iterations), v.KeyLen)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Fatalf("unknown algorithm %q", v.Algorithm)
	return nil
}
