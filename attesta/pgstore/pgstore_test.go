package pgstore_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/attesta/pgstore"
	"github.com/attesta-go/attesta/attesta/storetest"
	"github.com/attesta-go/attesta/internal/pgtest"
)

// TestConformance runs the Store conformance suite on PostgreSQL, each
// section in a schema of its own; the concurrency tests spread their
// goroutines over two connection pools, as over two servers. Each
// section logs its stores' transaction and retry counts (go test -v).
func TestConformance(t *testing.T) {
	pgtest.Base(t) // the skip, once, when there is no server
	storetest.Run(t, storetest.Harness{Open: open, Reopen: reopen, Share: share})
}

// BenchmarkStoreSteps times the store's own steps (see storetest.Bench),
// beside pebblestore's BenchmarkStoreSteps.
func BenchmarkStoreSteps(b *testing.B) {
	pgtest.Base(b)
	storetest.Bench(b, open)
}

// testConfig keeps the pools small (the suite opens many at once) and
// the collection batches small (so that the suite's collections run
// several, concurrently).
var testConfig = pgstore.Config{MaxConns: 4, CollectBatch: 16}

// dsnStore is a store and the DSN it was opened on.
type dsnStore struct {
	*pgstore.Store
	dsn string
}

func open(t testing.TB) attesta.Store {
	dsn, _ := pgtest.DSN(t)
	return openDSN(t, dsn)
}

func openDSN(t testing.TB, dsn string) dsnStore {
	st, err := pgstore.Open(t.Context(), dsn, testConfig)
	require.NoError(t, err)
	t.Cleanup(func() {
		stats := st.Stats()
		t.Logf("pgstore %s: %d transactions, %d retries, %d given up", t.Name(), stats.Transactions, stats.Retries, stats.GaveUp)
		st.Close()
	})
	return dsnStore{st, dsn}
}

func reopen(t testing.TB, st attesta.Store) attesta.Store {
	ds := st.(dsnStore)
	require.NoError(t, ds.Close())
	return openDSN(t, ds.dsn)
}

func share(t testing.TB, st attesta.Store) attesta.Store {
	return openDSN(t, st.(dsnStore).dsn)
}
