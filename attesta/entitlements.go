package attesta

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Entitlements decides whether an application instance's TOKEN is
// entitled to its application's service keys: keypeer's "has this
// instance paid". The Service consumes it (ServiceKey): it asks only about
// TOKENs it made itself, for an instance whose session it has just
// authenticated, caches each answer per TOKEN for Config.EntitlementTTL,
// and refuses when the check fails: an error is ErrNotEntitled to the
// caller (fails closed), remembered for at most entitlementFailureTTL so
// that a failing checker is not asked on every request.
//
// Two implementations: StoreEntitlements, the list in the Store that
// Service.GrantEntitlement and RevokeEntitlement manage (the default), and
// transport.WebhookEntitlements, which asks a payment system's URL.
type Entitlements interface {
	// Entitled reports whether the instance token names is entitled to
	// the service keys of token.App(). An error means that the answer
	// is unknown.
	Entitled(ctx context.Context, token InstanceToken) (bool, error)
}

// StoreEntitlements is the store-backed list: a TOKEN is entitled while
// its application and party have an entitlement in st (granted by
// Service.GrantEntitlement, `attesta-server entitlement grant`).
func StoreEntitlements(st Store) Entitlements { return storeEntitlements{st} }

type storeEntitlements struct{ st Store }

func (e storeEntitlements) Entitled(ctx context.Context, t InstanceToken) (bool, error) {
	_, err := e.st.Entitlement(ctx, t.app, t.party)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Bounds of the entitlement cache.
const (
	// defaultEntitlementTTL is Config.EntitlementTTL's default.
	defaultEntitlementTTL = time.Minute
	// entitlementFailureTTL is the longest a failed check is remembered.
	entitlementFailureTTL = 5 * time.Second
	// maxCachedEntitlements bounds the cache: at about 150 bytes an
	// entry, 10 MiB. Its keys are instances that connected and asked,
	// each a party its address paid for (new parties are limited per
	// address), so the bound is a backstop.
	maxCachedEntitlements = 1 << 16
)

// entitlementCache remembers Entitlements' answers per instance, in
// memory: each process has its own, so an answer changed in the store or
// by the webhook reaches a process within the TTL, and at once on the
// process that changed it (forget).
type entitlementCache struct {
	inner Entitlements
	ttl   time.Duration
	mu    sync.Mutex
	m     map[instanceRef]cachedEntitlement
}

type instanceRef struct {
	app   string
	party PartyID
}

type cachedEntitlement struct {
	entitled bool
	until    time.Time
}

func newEntitlementCache(inner Entitlements, ttl time.Duration) *entitlementCache {
	return &entitlementCache{inner: inner, ttl: ttl, m: map[instanceRef]cachedEntitlement{}}
}

// entitled answers from the cache while its answer is fresh at now, else
// asks inner and remembers the answer.
func (c *entitlementCache) entitled(ctx context.Context, t InstanceToken, now time.Time) (bool, error) {
	ref := instanceRef{t.app, t.party}
	c.mu.Lock()
	e, ok := c.m[ref]
	c.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.entitled, nil
	}
	entitled, err := c.inner.Entitled(ctx, t)
	ttl := c.ttl
	if err != nil {
		if ctx.Err() != nil {
			return false, err // the caller gave up, not the checker: nothing learnt
		}
		entitled, ttl = false, min(ttl, entitlementFailureTTL)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedEntitlements {
		for k, v := range c.m {
			if !now.Before(v.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < maxCachedEntitlements {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[ref] = cachedEntitlement{entitled: entitled, until: now.Add(ttl)}
	return entitled, err
}

// forget drops what the cache knows of an instance.
func (c *entitlementCache) forget(t InstanceToken) {
	c.mu.Lock()
	delete(c.m, instanceRef{t.app, t.party})
	c.mu.Unlock()
}

// GrantedEntitlement is one entry of the store-backed list.
type GrantedEntitlement struct {
	Token   InstanceToken
	Granted time.Time
}

// GrantEntitlement entitles the instance a TOKEN names, in the
// store-backed list (the operator's "paid"): the TOKEN must be this
// server's (ErrBadInstanceToken) and name an existing application
// (ErrAppNotFound). Granting again keeps the first grant's time. This
// process answers from the list at once; other processes within
// Config.EntitlementTTL. With other Entitlements than the list
// (Config.Entitlements), the list is kept but not consulted.
func (s *Service) GrantEntitlement(ctx context.Context, token string) (GrantedEntitlement, error) {
	t, err := s.VerifyInstanceToken(token)
	if err != nil {
		return GrantedEntitlement{}, err
	}
	if _, err := s.store.App(ctx, t.app); errors.Is(err, ErrNotFound) {
		return GrantedEntitlement{}, ErrAppNotFound
	} else if err != nil {
		return GrantedEntitlement{}, err
	}
	e, err := s.store.GrantEntitlement(ctx, Entitlement{App: t.app, Party: t.party, Granted: s.now()})
	if err != nil {
		return GrantedEntitlement{}, err
	}
	s.entitlements.forget(t)
	s.log.InfoContext(ctx, "entitlement granted", "app", t.app, "party_id", t.party.String())
	return GrantedEntitlement{Token: t, Granted: e.Granted}, nil
}

// RevokeEntitlement removes the entitlement of the instance a TOKEN names
// from the list: ErrBadInstanceToken for a TOKEN that is not this
// server's, ErrEntitlementNotFound if it was not granted. This process
// refuses the instance at once; other processes within
// Config.EntitlementTTL (the TTL of their cached answer).
func (s *Service) RevokeEntitlement(ctx context.Context, token string) error {
	t, err := s.VerifyInstanceToken(token)
	if err != nil {
		return err
	}
	if err := s.store.RevokeEntitlement(ctx, t.app, t.party); err != nil {
		return err
	}
	s.entitlements.forget(t)
	s.log.InfoContext(ctx, "entitlement revoked", "app", t.app, "party_id", t.party.String())
	return nil
}

// Entitlements lists the store-backed list's entitlements of app, or of
// every application for "", by application and then party id.
func (s *Service) Entitlements(ctx context.Context, app string) ([]GrantedEntitlement, error) {
	es, err := s.store.Entitlements(ctx, app)
	if err != nil {
		return nil, err
	}
	out := make([]GrantedEntitlement, len(es))
	for i, e := range es {
		out[i] = GrantedEntitlement{Token: s.instanceToken(e.App, e.Party), Granted: e.Granted}
	}
	return out, nil
}
