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
// A missing record is ErrNotFound. Every method that changes state durably
// returns only after the change is durable (synced), except AddChallenge:
// a pending challenge lost in a crash costs the client one retry, and
// RedeemChallenge's synced commit makes it durable before it is used.
type Store interface {
	// CreateApp stores a new application; ErrAppExists if the name is taken.
	CreateApp(ctx context.Context, app App) error
	// AppByToken finds the application whose token hashes to h.
	AppByToken(ctx context.Context, h Hash) (App, error)
	// Apps lists every application, revoked ones included, by name.
	Apps(ctx context.Context) ([]App, error)
	// RevokeApp marks the named application revoked; ErrAppNotFound.
	RevokeApp(ctx context.Context, name string, at time.Time) error

	// BanKey records a key id as banned, for ever.
	BanKey(ctx context.Context, id KeyID, at time.Time) error
	// KeyBanned reports whether the key id is banned.
	KeyBanned(ctx context.Context, id KeyID) (bool, error)

	// AddChallenge stores a pending challenge unless its key already has
	// max unexpired ones at now (ErrTooManyChallenges).
	AddChallenge(ctx context.Context, c Challenge, max int, now time.Time) error
	// RedeemChallenge consumes the challenge whose token hashes to
	// r.TokenHash and, in the same atomic, durable step: refuses a banned
	// key (ErrKeyBanned) or an expired challenge (ErrChallengeExpired), each
	// consuming the challenge; otherwise finds the party that holds the
	// challenge's key or creates party r.NewParty with that key, and stores
	// r.Session for that party. An unknown or already consumed token is
	// ErrChallengeUnknown; of concurrent redemptions of one token exactly
	// one succeeds.
	RedeemChallenge(ctx context.Context, r Redemption) (Redeemed, error)

	// Party returns a party and its keys.
	Party(ctx context.Context, id PartyID) (Party, error)

	// Session returns the unexpired or expired session stored under h.
	Session(ctx context.Context, h Hash) (Session, error)
	// DeleteSession removes a session; deleting a missing one is not an
	// error.
	DeleteSession(ctx context.Context, h Hash) error

	// Collect deletes challenges and sessions that expired before now and
	// returns how many records it removed.
	Collect(ctx context.Context, now time.Time) (int, error)
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

// Challenge is a pending auth_key_request, stored under the hash of its
// token (never the token).
type Challenge struct {
	TokenHash Hash
	KeyID     KeyID
	KeyType   KeyType
	App       string
	ExpiresAt time.Time
}

// Redemption is what RedeemChallenge needs besides the stored challenge.
type Redemption struct {
	TokenHash Hash
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
