package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testBudgets: Spend (attesta.Limit's arithmetic through the store),
// Refill, UseOnce.
func testBudgets(t *testing.T, e *env) {
	ctx, st := e.ctx, e.st
	l := attesta.Limit{Burst: 3, Every: time.Minute}
	k, other := hash(), hash()

	retryAfter := func(err error) time.Duration {
		t.Helper()
		var be *attesta.BudgetError
		require.ErrorAs(t, err, &be)
		assert.ErrorIs(t, err, attesta.ErrBudgetExhausted)
		return be.RetryAfter
	}

	// A key never spent from is full: Burst units at once.
	for range 3 {
		require.NoError(t, st.Spend(ctx, k, l, 1, t0))
	}
	assert.Equal(t, time.Minute, retryAfter(st.Spend(ctx, k, l, 1, t0)))
	assert.Equal(t, 30*time.Second, retryAfter(st.Spend(ctx, k, l, 1, t0.Add(30*time.Second))))
	// One unit back every Every.
	require.NoError(t, st.Spend(ctx, k, l, 1, t0.Add(time.Minute)))
	assert.Equal(t, time.Minute, retryAfter(st.Spend(ctx, k, l, 1, t0.Add(time.Minute))))
	// A refused spend takes nothing: 2 of 3 back after two minutes more,
	// a cost of 3 is refused and a cost of 2 then passes.
	later := t0.Add(3 * time.Minute)
	assert.Equal(t, time.Minute, retryAfter(st.Spend(ctx, k, l, 3, later)))
	require.NoError(t, st.Spend(ctx, k, l, 2, later))
	retryAfter(st.Spend(ctx, k, l, 1, later))
	// Long idle: full again, and no more than full.
	idle := later.Add(24 * time.Hour)
	require.NoError(t, st.Spend(ctx, k, l, 3, idle))
	retryAfter(st.Spend(ctx, k, l, 1, idle))
	// A cost outside 1..Burst is an error, not an exhausted budget, and
	// takes nothing.
	for _, cost := range []int{0, -1, 4} {
		err := st.Spend(ctx, other, l, cost, t0)
		require.Error(t, err, "cost %d", cost)
		assert.False(t, errors.Is(err, attesta.ErrBudgetExhausted), "cost %d", cost)
	}
	// Keys are independent.
	require.NoError(t, st.Spend(ctx, other, l, 3, t0))

	// Refill: full again at once; refilling a key never spent from is
	// nothing.
	require.NoError(t, st.Refill(ctx, k))
	require.NoError(t, st.Spend(ctx, k, l, 3, idle))
	require.NoError(t, st.Refill(ctx, hash()))

	// UseOnce: used until its expiry, free again at it.
	m := hash()
	exp := t0.Add(time.Hour)
	require.NoError(t, st.UseOnce(ctx, m, exp, t0))
	assert.ErrorIs(t, st.UseOnce(ctx, m, exp, t0), attesta.ErrAlreadyUsed)
	assert.ErrorIs(t, st.UseOnce(ctx, m, exp.Add(time.Hour), exp.Add(-time.Nanosecond)), attesta.ErrAlreadyUsed)
	require.NoError(t, st.UseOnce(ctx, hash(), exp, t0), "another key")
	require.NoError(t, st.UseOnce(ctx, m, exp.Add(time.Hour), exp), "free at its expiry, and used again")
	assert.ErrorIs(t, st.UseOnce(ctx, m, exp.Add(time.Hour), exp.Add(time.Minute)), attesta.ErrAlreadyUsed, "until the new expiry")
}

// testBudgetsConcurrent: many goroutines (over both handles) spending
// from one budget of Burst B get exactly B successes; many using one
// mark at once, exactly one.
func testBudgetsConcurrent(t *testing.T, e *env) {
	ctx := e.ctx
	hs := e.handles(t)
	const burst = 10
	l := attesta.Limit{Burst: burst, Every: time.Hour}
	k := hash()
	errs := race(40, func(i int) error { return hs[i%2].Spend(ctx, k, l, 1, t0) })
	ok, refused := tally(t, errs, attesta.ErrBudgetExhausted)
	assert.Equal(t, burst, ok, "a budget of %d gives %d, however many spend at once", burst, burst)
	assert.Equal(t, 40-burst, refused)
	assert.ErrorIs(t, e.st.Spend(ctx, k, l, 1, t0), attesta.ErrBudgetExhausted)

	m := hash()
	errs = race(40, func(i int) error { return hs[i%2].UseOnce(ctx, m, t0.Add(time.Hour), t0) })
	ok, used := tally(t, errs, attesta.ErrAlreadyUsed)
	assert.Equal(t, 1, ok, "a mark is used once, however many use it at once")
	assert.Equal(t, 39, used)
}
