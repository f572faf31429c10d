package attesta

import (
	"context"
	"sync"
	"sync/atomic"
)

// Stats counts what a Service did since New, in this process, for
// metrics (attesta-server exports them to Prometheus). It is not protocol
// state: several processes on one store each count their own. Every
// count is by a kind from a small fixed set, never by party, key or
// identifier.
//
// Pending challenges are not counted because there are none: a challenge
// lives in its token (see challenge.go), and what a store holds of
// challenges is the record of each redeemed token until it expires
// (Store.RedeemedTokens).
type Stats struct {
	// Collections counts the runs of Collect, CollectFailures those that
	// failed, and Collected the records they removed.
	Collections, CollectFailures, Collected uint64
	// KDFFloorRefusals counts the registry blocks refused for a KDF
	// below the server's floors (ErrKDFTooWeak).
	KDFFloorRefusals uint64
	// BudgetRefusals counts the requests refused by a durable budget
	// (ErrBudgetExhausted), by the budget's kind: "code send cooldown",
	// "code sends per destination", "code sends per party", "code sends
	// total", "code tries per identifier", "registry fetches per login".
	// Every kind is present, refused or not.
	BudgetRefusals map[string]uint64
}

// Stats returns the Service's counts so far.
func (s *Service) Stats() Stats {
	st := s.stats
	out := Stats{
		Collections:      st.collections.Load(),
		CollectFailures:  st.collectFailures.Load(),
		Collected:        st.records.Load(),
		KDFFloorRefusals: st.kdfFloorRefusals.Load(),
		BudgetRefusals:   map[string]uint64{},
	}
	st.budgets.Range(func(k, v any) bool {
		out.BudgetRefusals[k.(string)] = v.(*atomic.Uint64).Load()
		return true
	})
	return out
}

// RedeemedTokens counts the redeemed-token records the store holds (see
// Store.RedeemedTokens).
func (s *Service) RedeemedTokens(ctx context.Context) (int, error) {
	return s.store.RedeemedTokens(ctx)
}

// stats are a Service's counters: atomic adds, nothing on the path of a
// connect.
type stats struct {
	collections, collectFailures, records, kdfFloorRefusals atomic.Uint64
	budgets                                                 sync.Map // kind -> *atomic.Uint64
}

func newStats() *stats {
	st := &stats{}
	for _, k := range budgetKinds {
		st.budgets.Store(k, new(atomic.Uint64))
	}
	return st
}

func (st *stats) collected(n int, err error) {
	st.collections.Add(1)
	if err != nil {
		st.collectFailures.Add(1)
	}
	st.records.Add(uint64(max(n, 0)))
}

func (st *stats) budgetRefused(kind string) {
	c, ok := st.budgets.Load(kind)
	if !ok {
		c, _ = st.budgets.LoadOrStore(kind, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}
