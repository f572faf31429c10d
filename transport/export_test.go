package transport

import (
	"testing"
	"time"
)

// SetNow replaces the handler's clock (its rate limits') for the test.
// Call it before h serves its first request.
func SetNow(t testing.TB, h *Handler, now func() time.Time) {
	old := h.now
	h.now = now
	t.Cleanup(func() { h.now = old })
}

// SetClientNow replaces the clock c reads Retry-After dates against.
func SetClientNow(t testing.TB, c *Client, now func() time.Time) {
	old := c.now
	c.now = now
	t.Cleanup(func() { c.now = old })
}
