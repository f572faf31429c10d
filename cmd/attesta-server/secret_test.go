package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, secretFile)

	secret, created, err := loadSecret(dir)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Len(t, secret, attesta.SecretSize)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, secret, onDisk)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")

	again, created, err := loadSecret(dir)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, secret, again)

	// 0400 is as good as 0600; any access for group or others is refused.
	require.NoError(t, os.Chmod(path, 0o400))
	_, _, err = loadSecret(dir)
	assert.NoError(t, err)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o601, 0o644} {
		require.NoError(t, os.Chmod(path, mode))
		_, _, err := loadSecret(dir)
		assert.ErrorContains(t, err, fmt.Sprintf("has mode %04o", mode), "%v", mode)
	}
	require.NoError(t, os.Chmod(path, 0o640))
	_, _, err = loadSecret(dir)
	assert.EqualError(t, err, "the server secret "+path+" has mode 0640: group and others must have no access (chmod 600 "+path+
		"), and if others could read it, it is no longer secret")
	require.NoError(t, os.Chmod(path, 0o600))

	// A secret of another size is refused, never replaced.
	for size, want := range map[int]string{0: "holds 0 bytes", 31: "holds 31 bytes", 33: "holds over 32 bytes", 4096: "holds over 32 bytes"} {
		require.NoError(t, os.WriteFile(path, make([]byte, size), 0o600))
		_, _, err := loadSecret(dir)
		assert.ErrorContains(t, err, want)
		assert.ErrorContains(t, err, "restore it from the backup")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Len(t, b, size)
	}

	// Not a regular file.
	other := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(other, secretFile), 0o700))
	_, _, err = loadSecret(other)
	assert.ErrorContains(t, err, "is not a regular file")

	// A missing directory is an error, not a secret somewhere else.
	_, _, err = loadSecret(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}

// Processes that start at once on a fresh directory agree on one secret.
func TestLoadSecretRace(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	secrets := make([][]byte, n)
	made := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			secrets[i], made[i], err = loadSecret(dir)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	count := 0
	for i := range n {
		assert.Equal(t, secrets[0], secrets[i])
		if made[i] {
			count++
		}
	}
	assert.Equal(t, 1, count, "one made it, the others read it")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")
}
