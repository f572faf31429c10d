package attesta

import (
	"context"
	"errors"
	"time"
)

// Limits are the durable budgets of a Service (see budget.go): each bounds
// what an attacker could gain by asking many times, and each is keyed so
// that an attacker spends its own budget (its party's, one destination's)
// rather than its victim's wherever the protocol allows it. The zero value
// of every field is its default. docs/SECURITY.md gives the arithmetic.
type Limits struct {
	// CodeSendCooldown and CodeSendsPerDestination bound the codes sent
	// to one email or phone number, whoever asks: default at most one a
	// minute, and 5 a day (a burst of 5, then one every 4.8 hours). They
	// stop a party, or many, from bombing someone's inbox or running up
	// a text-message bill, and they bound the codes anyone can try
	// against one identifier (CodeSendsPerDestination × Config.MaxCodeTries
	// a day).
	CodeSendCooldown        Limit
	CodeSendsPerDestination Limit
	// CodeSendsPerParty bounds the codes one party has sent. Default a
	// burst of 10, then one every 6 minutes.
	CodeSendsPerParty Limit
	// CodeSendsTotal bounds every code the server sends, to all
	// destinations: what an attacker with many parties and many
	// destinations could cost. Default a burst of 1000, then 1000 an hour.
	CodeSendsTotal Limit
	// CodeTriesPerIdentifier bounds the codes one party may try for one
	// email or phone, across new codes (adding the identifier again sends
	// a new code and resets Config.MaxCodeTries, not this). Default a
	// burst of 10, then 10 a day.
	CodeTriesPerIdentifier Limit
	// RegistryFetchesPerLogin bounds the unauthenticated registry fetches
	// of one login from all addresses together (the transport bounds them
	// per login and address too, far lower). Default a burst of 30, then
	// 30 an hour.
	RegistryFetchesPerLogin Limit
}

var defaultLimits = Limits{
	CodeSendCooldown:        Limit{Burst: 1, Every: time.Minute},
	CodeSendsPerDestination: Limit{Burst: 5, Every: 24 * time.Hour / 5},
	CodeSendsPerParty:       Limit{Burst: 10, Every: 6 * time.Minute},
	CodeSendsTotal:          Limit{Burst: 1000, Every: time.Hour / 1000},
	CodeTriesPerIdentifier:  Limit{Burst: 10, Every: 24 * time.Hour / 10},
	RegistryFetchesPerLogin: Limit{Burst: 30, Every: time.Hour / 30},
}

// check fills in the defaults of l and names its first bad field.
func (l *Limits) check() error {
	for _, f := range []struct {
		name string
		l    *Limit
		def  Limit
	}{
		{"CodeSendCooldown", &l.CodeSendCooldown, defaultLimits.CodeSendCooldown},
		{"CodeSendsPerDestination", &l.CodeSendsPerDestination, defaultLimits.CodeSendsPerDestination},
		{"CodeSendsPerParty", &l.CodeSendsPerParty, defaultLimits.CodeSendsPerParty},
		{"CodeSendsTotal", &l.CodeSendsTotal, defaultLimits.CodeSendsTotal},
		{"CodeTriesPerIdentifier", &l.CodeTriesPerIdentifier, defaultLimits.CodeTriesPerIdentifier},
		{"RegistryFetchesPerLogin", &l.RegistryFetchesPerLogin, defaultLimits.RegistryFetchesPerLogin},
	} {
		if err := f.l.Check(f.def); err != nil {
			return &fieldError{field: "Limits." + f.name, err: err}
		}
	}
	return nil
}

type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return "attesta: Config." + e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// Budget kinds: the first part of every budget key, so that two budgets
// of different kinds never share a key.
const (
	budgetSendCooldown = "code send cooldown"
	budgetSendDest     = "code sends per destination"
	budgetSendParty    = "code sends per party"
	budgetSendTotal    = "code sends total"
	budgetTries        = "code tries per identifier"
	budgetFetchLogin   = "registry fetches per login"
)

// budgetKinds lists the kinds, so that metrics show each from the start.
var budgetKinds = []string{budgetSendCooldown, budgetSendDest, budgetSendParty, budgetSendTotal, budgetTries, budgetFetchLogin}

// budgetKey is the key under which a budget is stored: a keyed hash, so
// that a copy of the store does not list what is being counted.
func (s *Service) budgetKey(kind string, parts ...[]byte) Hash {
	return mac(s.keys.budget, append([][]byte{[]byte(kind)}, parts...)...)
}

// spend takes one unit from each budget, all or none (Store.Spend): a
// request refused by one budget spends nothing from the others, so that
// asks refused at a victim's destination do not drain the server's total,
// nor asks refused by the total a destination's. A refusal is counted by
// the kind of the budget that refused (Stats).
func (s *Service) spend(ctx context.Context, now time.Time, budgets ...budget) error {
	spends := make([]Spend, len(budgets))
	for i, b := range budgets {
		spends[i] = Spend{Key: b.key, Limit: b.limit, Cost: 1}
	}
	err := s.store.Spend(ctx, now, spends...)
	if be := (*BudgetError)(nil); errors.As(err, &be) && be.Spend >= 0 && be.Spend < len(budgets) {
		s.stats.budgetRefused(budgets[be.Spend].kind)
	}
	return err
}

// budget is one budget a request spends from: its kind (one of the
// budget… constants), the key it is stored under and its shape.
type budget struct {
	kind  string
	key   Hash
	limit Limit
}

// budget is the budget of kind, shaped by l, for what parts name (see
// budgetKey).
func (s *Service) budget(kind string, l Limit, parts ...[]byte) budget {
	return budget{kind: kind, key: s.budgetKey(kind, parts...), limit: l}
}
