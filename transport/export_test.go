package transport

import (
	"testing"
	"time"
)

// SetNow replaces the handler's clock (its rate limits') for the test. It
// is set for good, not restored: each test makes its own Handler, and a
// request still logging after the test's last answer may read the clock.
func SetNow(_ testing.TB, h *Handler, now func() time.Time) { h.now = now }

// SetClientNow replaces the clock c reads Retry-After dates against, for
// good, as SetNow does.
func SetClientNow(_ testing.TB, c *Client, now func() time.Time) { c.now = now }
