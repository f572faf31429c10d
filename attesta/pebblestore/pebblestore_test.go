package pebblestore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pebblestore"
	"github.com/attesta-go/attesta/attesta/storetest"
)

// TestConformance runs the Store conformance suite on Pebble. One process
// holds a Pebble directory, so the suite's concurrency tests run all
// their goroutines on one handle (Harness.Share is nil).
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{Open: open, Reopen: reopen})
}

// BenchmarkStoreSteps times the store's own steps (see storetest.Bench),
// beside pgstore's BenchmarkStoreSteps.
func BenchmarkStoreSteps(b *testing.B) { storetest.Bench(b, open) }

// dirStore is a store and the directory it was opened on.
type dirStore struct {
	*pebblestore.Store
	dir string
}

func open(t testing.TB) attesta.Store { return openDir(t, t.TempDir()) }

func openDir(t testing.TB, dir string) attesta.Store {
	st, err := pebblestore.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return dirStore{st, dir}
}

func reopen(t testing.TB, st attesta.Store) attesta.Store {
	ds := st.(dirStore)
	require.NoError(t, ds.Close())
	return openDir(t, ds.dir)
}
