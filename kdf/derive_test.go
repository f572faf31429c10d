package kdf_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/scrypt"

	"github.com/attesta-go/attesta/kdf"
)

func TestDerive(t *testing.T) {
	ctx := t.Context()
	pw := []byte("correct horse battery staple")
	for alg, p := range cheap(t) {
		t.Run(alg.String(), func(t *testing.T) {
			k, err := p.Derive(ctx, pw, 32)
			require.NoError(t, err)
			assert.Len(t, k, 32)

			// Parameters read back derive the same key.
			q, err := kdf.Parse(p.Bytes())
			require.NoError(t, err)
			k2, err := q.Derive(ctx, pw, 32)
			require.NoError(t, err)
			assert.Equal(t, k, k2)

			// The parameters mean what the primitive does with them.
			var want []byte
			switch alg {
			case kdf.Argon2id:
				want = argon2.IDKey(pw, p.Salt(), 1, 1024, 1, 32)
			case kdf.Scrypt:
				want, err = scrypt.Key(pw, p.Salt(), 1024, 8, 1, 32)
				require.NoError(t, err)
			case kdf.PBKDF2SHA256:
				want, err = pbkdf2.Key(sha256.New, string(pw), p.Salt(), 1000, 32)
				require.NoError(t, err)
			}
			assert.Equal(t, want, k)

			other, err := p.Derive(ctx, []byte("Correct horse battery staple"), 32)
			require.NoError(t, err)
			assert.NotEqual(t, k, other, "another password")
			other, err = p.WithNewSalt().Derive(ctx, pw, 32)
			require.NoError(t, err)
			assert.NotEqual(t, k, other, "another salt")

			long, err := p.Derive(ctx, pw, 64)
			require.NoError(t, err)
			assert.Len(t, long, 64)
		})
	}
}

func TestDeriveRefuses(t *testing.T) {
	p := cheap(t)[kdf.Argon2id]
	for _, n := range []int{-1, 0, 15, 1025} {
		_, err := p.Derive(t.Context(), []byte("pw"), n)
		assert.Error(t, err, "keyLen %d", n)
	}
	_, err := kdf.Params{}.Derive(t.Context(), []byte("pw"), 32)
	assert.ErrorIs(t, err, kdf.ErrUnknownAlgorithm)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = p.Derive(ctx, []byte("pw"), 32)
	assert.ErrorIs(t, err, context.Canceled)
}
