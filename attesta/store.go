package attesta

import (
	"context"
	"time"
)

// Store is the server state Attesta needs. Its methods are the protocol's
// atomic steps, not a key-value API, so that an implementation can make each
// one a single transaction (one synced Pebble batch, one SQL transaction)
// and several server processes can share one database.
//
// A missing record is ErrNotFound. Every method that changes state returns
// only after the change is durable (synced), except Collect, whose
// deletions may come back after a crash and are collected again.
//
// Nothing in a Store may assume a single process: any number of server
// processes may share one database, so every check-and-change below is one
// atomic step across all of them. The conformance suite in
// attesta/storetest holds every implementation to these promises.
type Store interface {
	// CreateApp stores a new application; ErrAppExists if the name is taken.
	CreateApp(ctx context.Context, app App) error
	// AppByToken finds the application whose token hashes to h.
	AppByToken(ctx context.Context, h Hash) (App, error)
	// App returns the named application.
	App(ctx context.Context, name string) (App, error)
	// Apps lists every application, revoked ones included, by name.
	Apps(ctx context.Context) ([]App, error)
	// RevokeApp marks the named application revoked; ErrAppNotFound.
	RevokeApp(ctx context.Context, name string, at time.Time) error

	// BanKey records a key id as banned, for ever.
	BanKey(ctx context.Context, id KeyID, at time.Time) error
	// KeyBanned reports whether the key id is banned.
	KeyBanned(ctx context.Context, id KeyID) (bool, error)

	// RedeemChallenge redeems the challenge r.Challenge, which the Service
	// has authenticated and found unexpired, in one atomic, durable step:
	// it records the challenge's token hash as used until the challenge's
	// expiry (a token already recorded is ErrChallengeUnknown: of
	// concurrent redemptions of one token exactly one succeeds); refuses a
	// banned key (ErrKeyBanned), the token still recorded as used;
	// otherwise finds the party that holds the challenge's key or creates
	// party r.NewParty with that key, and stores r.Session for that party.
	// Pending challenges are not stored at all (see Challenge), so nothing
	// but a redemption, which only the key's holder can make, creates
	// challenge state.
	RedeemChallenge(ctx context.Context, r Redemption) (Redeemed, error)
	// RedeemedTokens counts the records of redeemed challenge tokens the
	// store holds, expired ones that Collect has not yet removed
	// included: the only challenge state there is (pending challenges are
	// not stored), for metrics. It is a read with no atomicity promise: a
	// redemption or collection running at the same time may or may not
	// be counted. Its cost grows with the count, which is bounded by the
	// redemptions of one ChallengeTTL plus one collection interval.
	RedeemedTokens(ctx context.Context) (int, error)

	// Party returns a party and its keys.
	Party(ctx context.Context, id PartyID) (Party, error)

	// Session returns the unexpired or expired session stored under h.
	Session(ctx context.Context, h Hash) (Session, error)
	// DeleteSession removes a session; deleting a missing one is not an
	// error.
	DeleteSession(ctx context.Context, h Hash) error

	// Collect deletes what expired at or before now (used challenge
	// tokens, sessions, full budgets, used-once marks) and returns how many
	// records it removed. Several processes may run it at once; each
	// record is removed by one of them.
	Collect(ctx context.Context, now time.Time) (int, error)

	// Spend takes every spend's cost from its budget at now, all or
	// nothing, in one atomic, durable step (see Limit for the arithmetic,
	// Limit.Spend for the one implementation of it). If a budget holds
	// less than its cost, nothing is taken from any of them and the error
	// is a *BudgetError (ErrBudgetExhausted) naming the first such spend
	// and when its cost will be there. A key never spent from holds a full
	// budget. Keys in one call are distinct.
	Spend(ctx context.Context, now time.Time, spends ...Spend) error
	// Refill restores the budget under key to full (forgets it).
	Refill(ctx context.Context, key Hash) error
	// UseOnce records key as used until expires, in one atomic, durable
	// step: ErrAlreadyUsed if key is recorded and its expiry is after now.
	UseOnce(ctx context.Context, key Hash, expires, now time.Time) error

	// AddNickname makes the identifier hashing to h an active nickname of
	// party: ErrIdentifierTaken if another party holds it or it is in
	// another party's quarantine at now; ErrTooManyIdentifiers if party
	// already has max nicknames. Adding a nickname the party holds is a
	// no-op.
	AddNickname(ctx context.Context, party PartyID, h Hash, hint string, max int, now time.Time) error
	// StartVerification stores a pending email or phone for party, with the
	// hash of its code, replacing any pending one for the same identifier
	// (and resetting its tries); ErrTooManyIdentifiers if party already
	// has max emails and phones, active and pending. ErrIdentifierTaken if
	// party already holds it.
	StartVerification(ctx context.Context, party PartyID, v Verification, max int) error
	// ConfirmVerification checks code (the hash of the code entered)
	// against party's pending identifier h at now, in one atomic step:
	// ErrCodeUnknown if there is none; ErrCodeExpired (and the pending
	// record is dropped) after its expiry; ErrWrongCode and one try more on
	// a mismatch, ErrCodeTriesExhausted (dropped) at maxTries; on a match,
	// ErrIdentifierTaken if another party holds h, else h becomes party's
	// active identifier.
	ConfirmVerification(ctx context.Context, party PartyID, h Hash, code Hash, maxTries int, now time.Time) error
	// RemoveIdentifier removes party's identifier h (active or pending):
	// a nickname stays reserved to party until quarantineUntil; an email
	// or phone is free at once. ErrIdentifierNotFound if party has no such
	// identifier.
	RemoveIdentifier(ctx context.Context, party PartyID, h Hash, quarantineUntil time.Time) error
	// Identifiers lists party's identifiers, active and pending.
	Identifiers(ctx context.Context, party PartyID) ([]IdentifierInfo, error)
	// PartyByIdentifier returns the party whose active identifier hashes
	// to h.
	PartyByIdentifier(ctx context.Context, h Hash) (PartyID, error)

	// PutRegistry replaces party's registry block if its stored version is
	// version (0: none stored), as one durable step, and returns the new
	// version, version+1; ErrVersionConflict otherwise.
	PutRegistry(ctx context.Context, party PartyID, block []byte, version uint64) (uint64, error)
	// Registry returns party's registry block and its version.
	Registry(ctx context.Context, party PartyID) ([]byte, uint64, error)

	// PutInstanceKey records k, a key that k.Party connects with as an
	// instance of application k.App, as one durable step. Recording a
	// key already recorded for the same application and party changes
	// nothing (the first record stays).
	PutInstanceKey(ctx context.Context, k InstanceKey) error
	// InstanceKey returns the instance key id of app's instance party.
	InstanceKey(ctx context.Context, app string, party PartyID, id KeyID) (InstanceKey, error)

	// GrantEntitlement records e (the store-backed Entitlements list) as
	// one durable step and returns the stored entitlement: granting one
	// that exists keeps its first Granted.
	GrantEntitlement(ctx context.Context, e Entitlement) (Entitlement, error)
	// RevokeEntitlement removes app's entitlement of party, as one
	// durable step; ErrEntitlementNotFound if there is none.
	RevokeEntitlement(ctx context.Context, app string, party PartyID) error
	// Entitlement returns app's entitlement of party.
	Entitlement(ctx context.Context, app string, party PartyID) (Entitlement, error)
	// Entitlements lists the entitlements of app, or of every application
	// for "", by application and then party id (both bytewise).
	Entitlements(ctx context.Context, app string) ([]Entitlement, error)

	// PutServiceKey replaces the service key of k.App and k.Provider by
	// k if the stored one's version is k.Version-1 (none stored for
	// k.Version 1), as one atomic, durable step; ErrVersionConflict
	// otherwise (of concurrent puts of one version exactly one succeeds).
	// k.Sealed is sealed by the Service; the store keeps only the
	// current version.
	PutServiceKey(ctx context.Context, k ServiceKey) error
	// ServiceKey returns the current service key of app and provider.
	ServiceKey(ctx context.Context, app, provider string) (ServiceKey, error)
	// ServiceKeys lists the service keys of every application, without
	// their sealed values, by application and then provider (bytewise).
	ServiceKeys(ctx context.Context) ([]ServiceKeyVersion, error)
}

// InstanceKey is a key an application instance connects with: the party
// is an instance of App, and the server encrypts service keys to Key.
type InstanceKey struct {
	App   string
	Party PartyID
	KeyID KeyID
	// Key is the packed public key (KeyID is its hash).
	Key   []byte
	Added time.Time
}

// Entitlement is one entry of the store-backed Entitlements list.
type Entitlement struct {
	App     string
	Party   PartyID
	Granted time.Time
}

// ServiceKey is one application's key for a provider, sealed under a key
// derived from the server secret (see vault.go).
type ServiceKey struct {
	App      string
	Provider string
	Version  uint64
	Sealed   []byte
	Updated  time.Time
}

// ServiceKeyVersion is what a listing shows of a service key: its names
// and version, never its value.
type ServiceKeyVersion struct {
	App      string
	Provider string
	Version  uint64
	Updated  time.Time
}

// Verification is a pending email or phone identifier.
type Verification struct {
	Hash     Hash // keyed hash of the identifier
	Kind     IdentifierKind
	Hint     string
	CodeHash Hash
	Expires  time.Time
}

// IdentifierInfo is what a party may see of its identifiers.
type IdentifierInfo struct {
	Kind  IdentifierKind
	Hint  string
	Added time.Time
	// Pending is true for an email or phone whose code is not confirmed.
	Pending bool
}

// App is an application allowed to run the challenge.
type App struct {
	Name      string
	TokenHash Hash
	Created   time.Time
	Revoked   time.Time // zero while the app is active
}

// Active reports whether the application has not been revoked.
func (a App) Active() bool { return a.Revoked.IsZero() }

// Challenge is an auth_key_request's challenge. It is not stored while it
// is pending: its token carries it, authenticated by the server (see
// challenge.go), so that requesting challenges for someone's public key
// creates no state and can fill no slot of that key. Only its redemption
// is stored, under the hash of its token (never the token), until it
// expires.
type Challenge struct {
	TokenHash Hash
	KeyID     KeyID
	KeyType   KeyType
	App       string
	ExpiresAt time.Time
}

// Redemption is a challenge to redeem.
type Redemption struct {
	Challenge Challenge
	Now       time.Time
	// NewParty is the id the party gets if the key is new.
	NewParty PartyID
	// Session is stored for the party; the store fills PartyID, KeyID and
	// App from the challenge.
	Session Session
}

// Redeemed is the outcome of a successful redemption.
type Redeemed struct {
	Challenge Challenge
	PartyID   PartyID
	IsNew     bool
}

// Party is an account: a random id and the keys that can log into it.
type Party struct {
	ID      PartyID
	Created time.Time
	Keys    []PartyKey
}

// PartyKey is one key of a party.
type PartyKey struct {
	ID    KeyID
	Type  KeyType
	Added time.Time
}

// Session is a bearer session, stored under the hash of its token.
type Session struct {
	Hash      Hash
	PartyID   PartyID
	KeyID     KeyID
	App       string
	ExpiresAt time.Time
}
