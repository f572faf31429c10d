package attesta

import (
	"sync"
	"testing"
	"time"
)

// SetNow replaces the service's clock for the duration of the test.
func SetNow(t testing.TB, s *Service, now func() time.Time) {
	old := s.now
	s.now = now
	t.Cleanup(func() { s.now = old })
}

// RSAArithmetic records the RSA computations of the package while a test
// runs (testHookRSAArithmetic): each entry the sizes in bits of n, d, p,
// q, dP, dQ and qInv (0 where absent) a computation was about to use.
type RSAArithmetic struct {
	mu    sync.Mutex
	calls [][7]int
}

// RecordRSAArithmetic starts recording until the test ends. The test must
// not run in parallel with others that compute with RSA keys.
func RecordRSAArithmetic(t testing.TB) *RSAArithmetic {
	r := &RSAArithmetic{}
	old := testHookRSAArithmetic
	testHookRSAArithmetic = func(sizes [7]int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, sizes)
	}
	t.Cleanup(func() { testHookRSAArithmetic = old })
	return r
}

// Take returns the computations recorded since the last Take, and forgets
// them.
func (r *RSAArithmetic) Take() [][7]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}
