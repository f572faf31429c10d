package transport

import "time"

// Test hooks, for the tests of package transport_test.

// SetHandlerClock makes h's rate limiters read the time from now instead
// of time.Now, so that a test can assert an exact Retry-After. Call it
// before h serves its first request.
func SetHandlerClock(h *Handler, now func() time.Time) { h.now = now }

// SetClientClock makes c read Retry-After dates against now instead of
// time.Now.
func SetClientClock(c *Client, now func() time.Time) { c.now = now }
