package registry

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
)

const decoyInfo = "attesta registry v1 decoy"

var errShortSeed = errors.New("registry: decoy seed shorter than 16 bytes")

// Decoy returns a block shaped byte for byte like one that Seal makes with
// kdf.Default() for a plaintext of one bucket: version 1, Argon2id with
// m = 64 MiB, t = 3, p = 4 and a 16-byte salt, XChaCha20-Poly1305 with a
// 24-byte nonce, and a ciphertext of PadBlock + 16 bytes. Salt, nonce and
// ciphertext are a ChaCha20 keystream under a key expanded from seed with
// HKDF-SHA-256, so Decoy is deterministic in seed, runs no KDF, and no
// password opens its result.
//
// A server answers a fetch for an identifier it does not know with a decoy
// seeded from a server secret and the identifier (at least 16 bytes, such as
// an HMAC of the identifier), so that the answer looks like a real block
// and is the same every time it is asked.
func Decoy(seed []byte) ([]byte, error) {
	if len(seed) < 16 {
		return nil, errShortSeed
	}
	key, err := hkdf.Key(sha256.New, seed, nil, decoyInfo, chacha20.KeySize)
	if err != nil {
		return nil, err
	}
	stream, err := chacha20.NewUnauthenticatedCipher(key, make([]byte, chacha20.NonceSize))
	if err != nil {
		return nil, err
	}
	buf := make([]byte, kdf.SaltSize+chacha20poly1305.NonceSizeX+PadBlock+chacha20poly1305.Overhead)
	stream.XORKeyStream(buf, buf)
	salt, buf := buf[:kdf.SaltSize], buf[kdf.SaltSize:]
	nonce, ct := buf[:chacha20poly1305.NonceSizeX], buf[chacha20poly1305.NonceSizeX:]

	// kdf.Default() would draw a random salt; write its encoding with ours.
	kdfBytes, err := cborx.Marshal([]any{uint64(kdf.Argon2id), salt,
		uint64(kdf.DefaultMemoryKiB), uint64(kdf.DefaultTime), uint64(kdf.DefaultThreads)})
	if err != nil {
		return nil, err
	}
	if _, err := kdf.Parse(kdfBytes); err != nil {
		return nil, err
	}
	return encodeBlock(encodeHeader(kdfBytes, nonce), ct), nil
}
