package kdf

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"
)

const (
	minKeyLen = 16
	maxKeyLen = 1024
)

var errKeyLen = errors.New("kdf: key length out of range")

// Derive runs the KDF on password and returns a key of keyLen bytes
// (16 to 1024). The same parameters and password always give the
// same key.
//
// Derive applies no policy: parameters that came from someone else must be
// checked against Ceilings first, or they may ask for any amount of memory
// and time. The primitives cannot be interrupted, so ctx is consulted only
// before the work starts.
func (p Params) Derive(ctx context.Context, password []byte, keyLen int) ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if keyLen < minKeyLen || keyLen > maxKeyLen {
		return nil, errKeyLen
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch p.alg {
	case Argon2id:
		return argon2.IDKey(password, p.salt, p.time, p.memoryKiB, p.threads, uint32(keyLen)), nil
	case Scrypt:
		if int(p.logN) >= bits.UintSize-1 {
			return nil, fmt.Errorf("kdf: scrypt N = 2^%d does not fit in an int", p.logN)
		}
		k, err := scrypt.Key(password, p.salt, 1<<p.logN, int(p.r), int(p.p), keyLen)
		if err != nil {
			return nil, fmt.Errorf("kdf: scrypt: %w", err)
		}
		return k, nil
	case PBKDF2SHA256:
		// crypto/pbkdf2 takes the password as a string, which copies it
		// into memory we cannot clear.
		k, err := pbkdf2.Key(sha256.New, string(password), p.salt, int(p.iterations), keyLen)
		if err != nil {
			return nil, fmt.Errorf("kdf: pbkdf2: %w", err)
		}
		return k, nil
	}
	return nil, ErrUnknownAlgorithm
}
