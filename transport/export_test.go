package transport

import (
	"testing"
	"time"
)

// SetNow replaces the handler's clock (its rate limits') for the test.
func SetNow(t testing.TB, h *Handler, now func() time.Time) {
	old := h.now
	h.now = now
	t.Cleanup(func() { h.now = old })
}
