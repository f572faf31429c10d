package kdf_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/kdf"
)

func FuzzParse(f *testing.F) {
	seeds := 0
	add := func(b []byte) { f.Add(b); seeds++ }
	for _, p := range cheap(f) {
		add(p.Bytes())
	}
	add(kdf.Default().Bytes())
	add(enc(f, []any{1, make([]byte, 64), uint64(1<<32 - 1), uint64(1<<32 - 1), 255}))
	add(enc(f, []any{2, make([]byte, 16), 63, 1, 1<<30 - 1}))
	add(enc(f, []any{4, make([]byte, 16), 1}))
	add([]byte{0x9f, 0x01, 0xff})
	add([]byte{0x85, 0x18, 0x01})
	add(nil)
	if seeds == 0 {
		f.Fatal("no seeds")
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := kdf.Parse(b)
		if err != nil {
			require.Equal(t, kdf.Params{}, p, "a failed parse returns the zero Params")
			return
		}
		require.True(t, bytes.Equal(b, p.Bytes()), "an accepted input re-encodes to itself")
		q, err := kdf.Parse(p.Bytes())
		require.NoError(t, err)
		require.Equal(t, p, q)
		// Policies never panic on a parsed value.
		_ = kdf.DefaultCeilings().Check(p)
		_ = kdf.DefaultFloors().Check(p)
	})
}
