package attesta

import (
	"testing"
	"time"
)

// SetNow replaces the service's clock for the duration of the test.
func SetNow(t testing.TB, s *Service, now func() time.Time) {
	old := s.now
	s.now = now
	t.Cleanup(func() { s.now = old })
}
