package attesta_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// TestStats: the counts behind the server's metrics. A refusal by a
// durable budget is counted by the kind of the budget that refused (the
// cooldown, not the total it did not reach), a registry below the KDF
// floors is counted, a collection run and what it removed are counted;
// every budget kind is listed from the start; RedeemedTokens counts the
// tokens redeemed and not yet collected.
func TestStats(t *testing.T) {
	ctx := context.Background()
	f := newPWFixture(t, attesta.Config{})
	now := time.Now()
	attesta.SetNow(t, f.svc, func() time.Time { return now })

	st := f.svc.Stats()
	require.Len(t, st.BudgetRefusals, 6, "every kind, from the start")
	for kind, n := range st.BudgetRefusals {
		assert.Zero(t, n, kind)
	}

	_, err := f.svc.AddIdentifier(ctx, f.party, attesta.Email, "a@example.org")
	require.NoError(t, err)
	_, err = f.svc.AddIdentifier(ctx, f.party, attesta.Email, "a@example.org")
	require.ErrorIs(t, err, attesta.ErrBudgetExhausted)
	_, err = f.svc.PutRegistry(ctx, f.party, seal(t, cheap(t), ""), 0)
	require.ErrorIs(t, err, attesta.ErrKDFTooWeak)

	n, err := f.svc.RedeemedTokens(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the fixture's connect")
	now = now.Add(time.Hour)
	removed, err := f.svc.Collect(ctx)
	require.NoError(t, err)
	n, err = f.svc.RedeemedTokens(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "collected after its expiry")

	st = f.svc.Stats()
	assert.Equal(t, uint64(1), st.BudgetRefusals["code send cooldown"])
	assert.Equal(t, uint64(0), st.BudgetRefusals["code sends total"])
	assert.Equal(t, uint64(1), st.KDFFloorRefusals)
	assert.Equal(t, uint64(1), st.Collections)
	assert.Equal(t, uint64(0), st.CollectFailures)
	assert.Equal(t, uint64(removed), st.Collected)
	assert.Positive(t, removed)
}
