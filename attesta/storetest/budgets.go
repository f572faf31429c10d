package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
)

// testBudgets: Spend (attesta.Limit's arithmetic through the store, one
// budget or several all or nothing), Refill, UseOnce.
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
		require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: k, Limit: l, Cost: 1}))
	}
	assert.Equal(t, time.Minute, retryAfter(st.Spend(ctx, t0, attesta.Spend{Key: k, Limit: l, Cost: 1})))
	assert.Equal(t, 30*time.Second, retryAfter(st.Spend(ctx, t0.Add(30*time.Second), attesta.Spend{Key: k, Limit: l, Cost: 1})))
	// One unit back every Every.
	require.NoError(t, st.Spend(ctx, t0.Add(time.Minute), attesta.Spend{Key: k, Limit: l, Cost: 1}))
	assert.Equal(t, time.Minute, retryAfter(st.Spend(ctx, t0.Add(time.Minute), attesta.Spend{Key: k, Limit: l, Cost: 1})))
	// A refused spend takes nothing: 2 of 3 back after two minutes more,
	// a cost of 3 is refused and a cost of 2 then passes.
	later := t0.Add(3 * time.Minute)
	assert.Equal(t, time.Minute, retryAfter(st.Spend(ctx, later, attesta.Spend{Key: k, Limit: l, Cost: 3})))
	require.NoError(t, st.Spend(ctx, later, attesta.Spend{Key: k, Limit: l, Cost: 2}))
	retryAfter(st.Spend(ctx, later, attesta.Spend{Key: k, Limit: l, Cost: 1}))
	// Long idle: full again, and no more than full.
	idle := later.Add(24 * time.Hour)
	require.NoError(t, st.Spend(ctx, idle, attesta.Spend{Key: k, Limit: l, Cost: 3}))
	retryAfter(st.Spend(ctx, idle, attesta.Spend{Key: k, Limit: l, Cost: 1}))
	// A cost outside 1..Burst is an error, not an exhausted budget, and
	// takes nothing.
	for _, cost := range []int{0, -1, 4} {
		err := st.Spend(ctx, t0, attesta.Spend{Key: other, Limit: l, Cost: cost})
		require.Error(t, err, "cost %d", cost)
		assert.False(t, errors.Is(err, attesta.ErrBudgetExhausted), "cost %d", cost)
	}
	// Keys are independent.
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: other, Limit: l, Cost: 3}))

	// Several budgets in one call: all or nothing; the refusal names the
	// first budget that refused, by its index in the call.
	a, b, c := hash(), hash(), hash()
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: a, Limit: l, Cost: 1}, attesta.Spend{Key: b, Limit: l, Cost: 3}))
	err := st.Spend(ctx, t0, attesta.Spend{Key: a, Limit: l, Cost: 2}, attesta.Spend{Key: b, Limit: l, Cost: 1}, attesta.Spend{Key: c, Limit: l, Cost: 1})
	var be *attesta.BudgetError
	require.ErrorAs(t, err, &be)
	assert.Equal(t, 1, be.Spend, "the second budget refused")
	assert.Equal(t, time.Minute, be.RetryAfter)
	err = st.Spend(ctx, t0, attesta.Spend{Key: b, Limit: l, Cost: 1}, attesta.Spend{Key: a, Limit: l, Cost: 3})
	require.ErrorAs(t, err, &be)
	assert.Equal(t, 0, be.Spend, "the first of two that refuse is named")
	require.NoError(t, st.Spend(ctx, t0, attesta.Spend{Key: a, Limit: l, Cost: 2}, attesta.Spend{Key: c, Limit: l, Cost: 3}),
		"a refused call took nothing from the others")
	err = st.Spend(ctx, t0.Add(time.Hour), attesta.Spend{Key: a, Limit: l, Cost: 1}, attesta.Spend{Key: c, Limit: l, Cost: 4})
	require.Error(t, err, "a bad cost in the second")
	require.NoError(t, st.Spend(ctx, t0.Add(time.Hour), attesta.Spend{Key: a, Limit: l, Cost: 3}), "and nothing taken from the first")

	// Refill: full again at once; refilling a key never spent from is
	// nothing.
	require.NoError(t, st.Refill(ctx, k))
	require.NoError(t, st.Spend(ctx, idle, attesta.Spend{Key: k, Limit: l, Cost: 3}))
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
	errs := race(40, func(i int) error { return hs[i%2].Spend(ctx, t0, attesta.Spend{Key: k, Limit: l, Cost: 1}) })
	ok, refused := tally(t, errs, attesta.ErrBudgetExhausted)
	assert.Equal(t, burst, ok, "a budget of %d gives %d, however many spend at once", burst, burst)
	assert.Equal(t, 40-burst, refused)
	assert.ErrorIs(t, e.st.Spend(ctx, t0, attesta.Spend{Key: k, Limit: l, Cost: 1}), attesta.ErrBudgetExhausted)

	// Two budgets at once, in both orders (no deadlock): the smaller one
	// decides, and the larger gives no more than the successes.
	big, small := hash(), hash()
	lb, ls := attesta.Limit{Burst: 10, Every: time.Hour}, attesta.Limit{Burst: 5, Every: time.Hour}
	errs = race(30, func(i int) error {
		sp := []attesta.Spend{{Key: big, Limit: lb, Cost: 1}, {Key: small, Limit: ls, Cost: 1}}
		if i%4 >= 2 {
			sp[0], sp[1] = sp[1], sp[0]
		}
		return hs[i%2].Spend(ctx, t0, sp...)
	})
	ok, refused = tally(t, errs, attesta.ErrBudgetExhausted)
	assert.Equal(t, 5, ok, "the smaller budget decides")
	assert.Equal(t, 25, refused)
	require.NoError(t, e.st.Spend(ctx, t0, attesta.Spend{Key: big, Limit: lb, Cost: 5}), "refused calls took nothing from the larger")
	assert.ErrorIs(t, e.st.Spend(ctx, t0, attesta.Spend{Key: big, Limit: lb, Cost: 1}), attesta.ErrBudgetExhausted)

	m := hash()
	errs = race(40, func(i int) error { return hs[i%2].UseOnce(ctx, m, t0.Add(time.Hour), t0) })
	ok, used := tally(t, errs, attesta.ErrAlreadyUsed)
	assert.Equal(t, 1, ok, "a mark is used once, however many use it at once")
	assert.Equal(t, 39, used)
}
