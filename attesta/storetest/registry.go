package storetest

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/rnd"
)

// testRegistry: PutRegistry's compare-and-swap on the version (0: none
// stored), Registry, one winner among concurrent writers of one version.
func testRegistry(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	alice, bob := partyID(), partyID()
	_, _, err := st.Registry(ctx, alice)
	assert.ErrorIs(t, err, attesta.ErrNotFound)
	_, err = st.PutRegistry(ctx, alice, []byte("one"), 1)
	assert.ErrorIs(t, err, attesta.ErrVersionConflict, "version 1 when none is stored")

	block := rnd.Bytes(64 << 10)
	v, err := st.PutRegistry(ctx, alice, block, 0)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v)
	_, err = st.PutRegistry(ctx, alice, []byte("again"), 0)
	assert.ErrorIs(t, err, attesta.ErrVersionConflict, "version 0 when one is stored")
	got, v, err := st.Registry(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), v)
	assert.True(t, bytes.Equal(block, got), "the block comes back byte for byte")
	_, _, err = st.Registry(ctx, bob)
	assert.ErrorIs(t, err, attesta.ErrNotFound, "registries are per party")

	v, err = st.PutRegistry(ctx, alice, []byte("two"), 1)
	require.NoError(t, err)
	assert.Equal(t, uint64(2), v)
	for _, stale := range []uint64{0, 1, 3, 1 << 63} {
		_, err = st.PutRegistry(ctx, alice, []byte("stale"), stale)
		assert.ErrorIs(t, err, attesta.ErrVersionConflict, "version %d", stale)
	}
	got, v, err = st.Registry(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, []byte("two"), got)
	assert.Equal(t, uint64(2), v)

	// Concurrent writers of version 2: one wins, and its block is stored.
	hs := e.handles(t)
	blocks := make([][]byte, 20)
	for i := range blocks {
		blocks[i] = fmt.Appendf(nil, "writer %d", i)
	}
	errs := race(len(blocks), func(i int) error {
		v, err := hs[i%2].PutRegistry(ctx, alice, blocks[i], 2)
		if err == nil && v != 3 {
			return fmt.Errorf("new version %d, want 3", v)
		}
		return err
	})
	ok, conflicts := tally(t, errs, attesta.ErrVersionConflict)
	require.Equal(t, 1, ok, "one writer of a version wins")
	assert.Equal(t, len(blocks)-1, conflicts)
	got, v, err = st.Registry(ctx, alice)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), v)
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, blocks[i], got, "the winner's block")
		}
	}
}
