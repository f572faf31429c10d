package kdf_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/kdf"
)

func must(t testing.TB) func(kdf.Params, error) kdf.Params {
	return func(p kdf.Params, err error) kdf.Params {
		t.Helper()
		require.NoError(t, err)
		return p
	}
}

func TestCeilings(t *testing.T) {
	m := must(t)
	c := kdf.DefaultCeilings()
	for _, tc := range []struct {
		name  string
		p     kdf.Params
		err   error
		field string
		limit uint64
		got   uint64
	}{
		{"argon2id at ceiling", m(kdf.Argon2idParams(1<<20, 16, 16)), nil, "", 0, 0},
		{"argon2id memory", m(kdf.Argon2idParams(1<<20+1, 3, 4)), kdf.ErrMemoryAboveCeiling, "memoryKiB", 1 << 20, 1<<20 + 1},
		{"argon2id 64 GiB", m(kdf.Argon2idParams(64<<20, 1, 1)), kdf.ErrMemoryAboveCeiling, "memoryKiB", 1 << 20, 64 << 20},
		{"argon2id time", m(kdf.Argon2idParams(1024, 17, 1)), kdf.ErrTimeAboveCeiling, "time", 16, 17},
		{"argon2id threads", m(kdf.Argon2idParams(1<<16, 1, 17)), kdf.ErrThreadsAboveCeiling, "threads", 16, 17},
		{"scrypt at ceiling", m(kdf.ScryptParams(22, 2, 16)), nil, "", 0, 0},
		{"scrypt logN", m(kdf.ScryptParams(23, 1, 1)), kdf.ErrScryptNAboveCeiling, "logN", 22, 23},
		{"scrypt memory", m(kdf.ScryptParams(20, 9, 1)), kdf.ErrMemoryAboveCeiling, "memoryBytes", 1 << 30, 128 * 9 << 20},
		{"scrypt memory 2^56", m(kdf.ScryptParams(20, 1<<29, 1)), kdf.ErrMemoryAboveCeiling, "memoryBytes", 1 << 30, 1 << 56},
		{"scrypt p", m(kdf.ScryptParams(10, 8, 17)), kdf.ErrThreadsAboveCeiling, "p", 16, 17},
		{"pbkdf2 at ceiling", m(kdf.PBKDF2Params(10_000_000)), nil, "", 0, 0},
		{"pbkdf2 iterations", m(kdf.PBKDF2Params(10_000_001)), kdf.ErrIterationsAboveCeiling, "iterations", 10_000_000, 10_000_001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.p)
			if tc.err == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.err)
			assert.ErrorIs(t, err, kdf.ErrAboveCeiling)
			assert.NotErrorIs(t, err, kdf.ErrBelowFloor)
			var pe *kdf.PolicyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.p.Algorithm(), pe.Algorithm)
			assert.Equal(t, tc.field, pe.Field)
			assert.Equal(t, tc.limit, pe.Limit)
			assert.Equal(t, tc.got, pe.Got)
			assert.Contains(t, err.Error(), "above ceiling")
		})
	}

	// 128·r·N beyond 64 bits saturates rather than wraps.
	wide := c
	wide.ScryptMaxLogN = 63
	var pe *kdf.PolicyError
	require.ErrorAs(t, wide.Check(m(kdf.ScryptParams(63, 1, 1))), &pe)
	assert.Equal(t, uint64(1<<64-1), pe.Got)
	assert.ErrorIs(t, pe, kdf.ErrMemoryAboveCeiling)

	// A zero ceiling refuses the algorithm altogether.
	assert.ErrorIs(t, kdf.Ceilings{}.Check(kdf.Default()), kdf.ErrAboveCeiling)
	assert.ErrorIs(t, c.Check(kdf.Params{}), kdf.ErrUnknownAlgorithm)
}

func TestFloors(t *testing.T) {
	m := must(t)
	f := kdf.DefaultFloors()
	for _, tc := range []struct {
		name  string
		p     kdf.Params
		err   error
		field string
		limit uint64
		got   uint64
	}{
		{"argon2id at floor", m(kdf.Argon2idParams(19456, 2, 1)), nil, "", 0, 0},
		{"argon2id memory", m(kdf.Argon2idParams(19455, 2, 1)), kdf.ErrMemoryBelowFloor, "memoryKiB", 19456, 19455},
		{"argon2id time", m(kdf.Argon2idParams(1<<16, 1, 4)), kdf.ErrTimeBelowFloor, "time", 2, 1},
		{"scrypt at floor", m(kdf.ScryptParams(17, 8, 1)), nil, "", 0, 0},
		{"scrypt larger r", m(kdf.ScryptParams(17, 16, 1)), nil, "", 0, 0},
		{"scrypt logN", m(kdf.ScryptParams(16, 8, 2)), kdf.ErrScryptNBelowFloor, "logN", 17, 16},
		{"scrypt r", m(kdf.ScryptParams(20, 4, 1)), kdf.ErrScryptRBelowFloor, "r", 8, 4},
		{"pbkdf2 at floor", m(kdf.PBKDF2Params(600_000)), nil, "", 0, 0},
		{"pbkdf2 iterations", m(kdf.PBKDF2Params(599_999)), kdf.ErrIterationsBelowFloor, "iterations", 600_000, 599_999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.Check(tc.p)
			if tc.err == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.err)
			assert.ErrorIs(t, err, kdf.ErrBelowFloor)
			assert.NotErrorIs(t, err, kdf.ErrAboveCeiling)
			var pe *kdf.PolicyError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.p.Algorithm(), pe.Algorithm)
			assert.Equal(t, tc.field, pe.Field)
			assert.Equal(t, tc.limit, pe.Limit)
			assert.Equal(t, tc.got, pe.Got)
			assert.Contains(t, err.Error(), "below floor")
		})
	}

	assert.NoError(t, kdf.Floors{}.Check(cheap(t)[kdf.PBKDF2SHA256]), "a zero floor requires nothing")
	assert.ErrorIs(t, f.Check(kdf.Params{}), kdf.ErrUnknownAlgorithm)
}

func TestSentinels(t *testing.T) {
	for _, err := range []error{kdf.ErrMemoryAboveCeiling, kdf.ErrTimeAboveCeiling, kdf.ErrThreadsAboveCeiling,
		kdf.ErrScryptNAboveCeiling, kdf.ErrIterationsAboveCeiling} {
		assert.ErrorIs(t, err, kdf.ErrAboveCeiling)
		assert.NotErrorIs(t, err, kdf.ErrBelowFloor)
	}
	for _, err := range []error{kdf.ErrMemoryBelowFloor, kdf.ErrTimeBelowFloor, kdf.ErrScryptNBelowFloor,
		kdf.ErrScryptRBelowFloor, kdf.ErrIterationsBelowFloor} {
		assert.ErrorIs(t, err, kdf.ErrBelowFloor)
		assert.NotErrorIs(t, err, kdf.ErrAboveCeiling)
	}
	assert.False(t, errors.Is(kdf.ErrMemoryAboveCeiling, kdf.ErrMemoryBelowFloor))
	assert.Equal(t, "kdf: parameters refused by policy", (&kdf.PolicyError{}).Error())
}
