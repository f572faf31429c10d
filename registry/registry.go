package registry

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/kdf"
)

const (
	// Version is the format version Seal writes and Open reads.
	Version = 1

	// PadBlock is the bucket size: the padded plaintext is a multiple of it.
	PadBlock = 4096

	// MaxBlockSize is the largest block Seal produces and Open accepts.
	MaxBlockSize = 64 << 10

	// aeadXChaCha20Poly1305 is the header's AEAD identifier.
	aeadXChaCha20Poly1305 = 1

	// keyInfo is the HKDF info that binds the KDF's output to this format.
	keyInfo = "attesta registry v1 key"
)

var (
	// ErrWrongPassword means the AEAD refused the block: either the password
	// is wrong, or the header or ciphertext was changed. The two cannot be
	// told apart.
	ErrWrongPassword = errors.New("registry: wrong password or altered block")
	// ErrMalformed means the input is not a well-formed block (bad or
	// non-canonical CBOR, trailing bytes, wrong lengths, bad KDF parameters)
	// or, from Seal, that the plaintext cannot be encoded.
	ErrMalformed = errors.New("registry: malformed block")
	// ErrUnsupportedVersion means the block has the skeleton of a registry
	// block but a version other than 1.
	ErrUnsupportedVersion = errors.New("registry: unsupported version")
	// ErrUnsupportedAEAD means the header names an AEAD other than
	// XChaCha20-Poly1305.
	ErrUnsupportedAEAD = errors.New("registry: unsupported aead")
	// ErrTooLarge means the block exceeds MaxBlockSize, or that the
	// plaintext would make it do so.
	ErrTooLarge = errors.New("registry: block too large")

	errEmptyPassword = errors.New("registry: empty password")
)

// Header is the unencrypted part of a block.
type Header struct {
	// Version is the format version, 1.
	Version int
	// KDF is the password KDF with its salt and costs.
	KDF kdf.Params
}

// Seal encrypts pt under a key derived from password with params, and
// returns the block. Created is stored to the second, in UTC. Use a fresh
// salt for each password: kdf.Default(), kdf.Calibrate or
// params.WithNewSalt().
//
// Seal returns ErrTooLarge, before any KDF work, if the block would exceed
// MaxBlockSize, and ErrMalformed if pt cannot be encoded (a string that is
// not UTF-8). It applies no KDF policy of its own.
func Seal(ctx context.Context, pt Plaintext, password []byte, params kdf.Params) ([]byte, error) {
	if len(password) == 0 {
		return nil, errEmptyPassword
	}
	kdfBytes, err := params.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	padded, err := pt.pad()
	if err != nil {
		return nil, err
	}
	defer clear(padded)

	nonce := rnd.Bytes(chacha20poly1305.NonceSizeX)
	header := encodeHeader(kdfBytes, nonce)
	if blockSize(len(header), len(padded)+chacha20poly1305.Overhead) > MaxBlockSize {
		return nil, ErrTooLarge
	}

	aead, err := newAEAD(ctx, params, password)
	if err != nil {
		return nil, err
	}
	ct := aead.Seal(nil, nonce, padded, header)
	return encodeBlock(header, ct), nil
}

// Open decrypts a block sealed under password. It parses the block as
// Inspect does, refuses KDF parameters above c (with the kdf package's
// errors, wrapped) before deriving, and returns ErrWrongPassword if the AEAD
// check fails. Pass kdf.DefaultCeilings() unless the device needs its own;
// the zero Ceilings allow nothing. On error it returns the zero Plaintext.
func Open(ctx context.Context, block, password []byte, c kdf.Ceilings) (Plaintext, error) {
	b, err := parseBlock(block)
	if err != nil {
		return Plaintext{}, err
	}
	if err := c.Check(b.params); err != nil {
		return Plaintext{}, fmt.Errorf("registry: %w", err)
	}
	aead, err := newAEAD(ctx, b.params, password)
	if err != nil {
		return Plaintext{}, err
	}
	padded, err := aead.Open(nil, b.nonce, b.ct, b.header)
	if err != nil {
		return Plaintext{}, ErrWrongPassword
	}
	defer clear(padded)
	return decodePadded(padded)
}

// Inspect parses a block without decrypting it and returns its header. It
// checks everything Open checks before the KDF: size, encoding, version,
// AEAD, KDF parameters and ciphertext length, but no policy.
func Inspect(block []byte) (Header, error) {
	b, err := parseBlock(block)
	if err != nil {
		return Header{}, err
	}
	return Header{Version: Version, KDF: b.params}, nil
}

// ChangePassword opens block with oldPassword and seals its plaintext again
// under newPassword, with the same KDF costs, a new salt and a new nonce. To
// change the costs too, Open and Seal.
func ChangePassword(ctx context.Context, block, oldPassword, newPassword []byte, c kdf.Ceilings) ([]byte, error) {
	h, err := Inspect(block)
	if err != nil {
		return nil, err
	}
	pt, err := Open(ctx, block, oldPassword, c)
	if err != nil {
		return nil, err
	}
	return Seal(ctx, pt, newPassword, h.KDF.WithNewSalt())
}

// newAEAD derives the block key: the KDF's 32 bytes, expanded with HKDF
// under keyInfo so that they serve only this format.
func newAEAD(ctx context.Context, params kdf.Params, password []byte) (cipher.AEAD, error) {
	prk, err := params.Derive(ctx, password, 32)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer clear(prk)
	key, err := hkdf.Expand(sha256.New, prk, keyInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer clear(key)
	return chacha20poly1305.NewX(key)
}
