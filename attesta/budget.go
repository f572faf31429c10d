package attesta

import (
	"errors"
	"fmt"
	"time"
)

// Budgets are the counters an attacker could otherwise spread over several
// server processes to gain guesses or sends: password guesses per login,
// codes sent per destination, code tries per identifier, TOTP tries per
// party. They are store state (Store.Spend), durable and shared by every
// process on one store; what protects one process only (connection caps,
// per-address request rates in front of the CPU) stays in memory in the
// transport.
//
// A budget's key is a keyed hash (budgetKey) of what it counts, so that a
// copy of the store does not list the logins, emails or phone numbers
// being limited.

var (
	// ErrBudgetExhausted: a budget (guesses, sends, tries) has less left
	// than the request costs. The error is a *BudgetError that says when
	// to try again.
	ErrBudgetExhausted = errors.New("attesta: budget exhausted")
	// ErrAlreadyUsed: a one-time value (a token id, a code) was used
	// already.
	ErrAlreadyUsed = errors.New("attesta: already used")
)

// Limit shapes a budget: Burst units at once, then one more unit every
// Every, up to Burst again. The zero Limit stands for the default of the
// field that holds it.
//
// The arithmetic is the generic cell rate algorithm: a budget is one time,
// the moment it will be full again (its "theoretical arrival time", TAT).
// Spending c units at now moves it to max(TAT, now) + c·Every, and is
// allowed when that is at most now + Burst·Every. A budget whose TAT is at
// or before now is full and need not be stored at all, which is what lets
// Collect forget it.
type Limit struct {
	Burst int
	Every time.Duration
}

// Check fills in def for the zero Limit and refuses a negative or half-set
// one.
func (l *Limit) Check(def Limit) error {
	if *l == (Limit{}) {
		*l = def
	}
	if l.Burst <= 0 || l.Every <= 0 {
		return errors.New("attesta: a Limit needs a positive Burst and Every")
	}
	return nil
}

// Spend is the one implementation of the arithmetic above, for stores:
// given the stored TAT (zero for none) it returns the TAT to store, or a
// *BudgetError when the budget holds less than cost at now (store
// nothing then).
func (l Limit) Spend(tat time.Time, cost int, now time.Time) (time.Time, error) {
	if cost <= 0 || cost > l.Burst || l.Every <= 0 {
		return time.Time{}, fmt.Errorf("attesta: budget cost %d outside 1..%d", cost, l.Burst)
	}
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(time.Duration(cost) * l.Every)
	if allowAt := next.Add(-time.Duration(l.Burst) * l.Every); allowAt.After(now) {
		return time.Time{}, &BudgetError{RetryAfter: allowAt.Sub(now)}
	}
	return next, nil
}

// Spend is one budget to take from in Store.Spend: Cost units of the
// budget stored under Key, shaped by Limit.
type Spend struct {
	Key   Hash
	Limit Limit
	Cost  int
}

// BudgetError is ErrBudgetExhausted with the wait until the request would
// be allowed.
type BudgetError struct {
	// Spend is the index, in the Store.Spend call, of the budget that
	// refused (the first one that did).
	Spend      int
	RetryAfter time.Duration
}

func (e *BudgetError) Error() string { return ErrBudgetExhausted.Error() }
func (e *BudgetError) Unwrap() error { return ErrBudgetExhausted }
