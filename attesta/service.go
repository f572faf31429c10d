package attesta

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/attesta-go/attesta/kdf"
)

// Config configures a Service. Store and Secret are required; the zero
// value of every other field is a safe default. New names every field that
// is missing or invalid.
type Config struct {
	// Store holds the server's state. Required.
	Store Store
	// ChallengeTTL is how long a token from AuthKeyRequest stays valid.
	// Default 5 minutes, at most 1 hour.
	ChallengeTTL time.Duration
	// SessionTTL is the lifetime of a session. Default 24 hours.
	SessionTTL time.Duration
	// Logger receives security events (bans, refused keys). Default: a
	// logger that discards. Nothing secret is ever logged.
	Logger *slog.Logger

	// Secret is the server's secret, SecretSize random bytes kept apart
	// from the store (the demo server keeps it in DATA/secret). Identifier
	// hashes, code hashes and decoy registries are keyed with it, so it
	// must stay the same for the life of the store. Required.
	Secret []byte
	// Notifier sends verification codes to emails and phones. Without one,
	// only nicknames can be added.
	Notifier Notifier
	// KDFFloors are the weakest registry KDF parameters the server stores.
	// Default kdf.DefaultFloors() (the OWASP minimums).
	KDFFloors *kdf.Floors
	// CodeTTL is the lifetime of a verification code. Default 10 minutes.
	CodeTTL time.Duration
	// MaxCodeTries is the number of wrong codes that void a pending
	// verification. Default 5.
	MaxCodeTries int
	// NicknameQuarantine is how long a released nickname stays reserved to
	// its last holder. Default 30 days.
	NicknameQuarantine time.Duration
	// Limits are the durable budgets on codes sent, codes tried and
	// registry fetches. The zero value of each is its default.
	Limits Limits

	// Entitlements decides which application instances are entitled to
	// their application's service keys (entitlements.go). Default:
	// StoreEntitlements(Store), the list GrantEntitlement manages.
	Entitlements Entitlements
	// EntitlementTTL is how long an answer of Entitlements is trusted,
	// per instance TOKEN, in this process: a revoked entitlement takes
	// effect within it (at once on the process that revoked it). A
	// failed check is remembered, as a refusal, for at most 5 seconds.
	// Default 1 minute.
	EntitlementTTL time.Duration

	// Now is the clock. Default time.Now; set it only in tests and
	// simulations (the published vectors run on a fixed clock).
	Now func() time.Time
}

// Service runs the key register/connect protocol over a Store. It is safe
// for concurrent use, and holds no state of its own beyond its
// configuration, so any number of processes may serve one shared Store.
type Service struct {
	store        Store
	challengeTTL time.Duration
	sessionTTL   time.Duration
	log          *slog.Logger
	keys         serverKeys
	notifier     Notifier
	floors       kdf.Floors
	codeTTL      time.Duration
	maxCodeTries int
	quarantine   time.Duration
	limits       Limits
	stats        *stats
	entitlements *entitlementCache
	now          func() time.Time // test hook
}

// New checks cfg and returns a Service. Its error names every missing or
// invalid field.
func New(cfg Config) (*Service, error) {
	var bad []error
	field := func(ok bool, format string, args ...any) {
		if !ok {
			bad = append(bad, fmt.Errorf("attesta: Config."+format, args...))
		}
	}
	field(cfg.Store != nil, "Store is required")
	field(len(cfg.Secret) == SecretSize, "Secret needs exactly %d random bytes (has %d)", SecretSize, len(cfg.Secret))
	field(cfg.ChallengeTTL >= 0 && cfg.ChallengeTTL <= time.Hour, "ChallengeTTL must be between 0 (default) and 1h")
	field(cfg.SessionTTL >= 0, "SessionTTL must not be negative")
	field(cfg.CodeTTL >= 0, "CodeTTL must not be negative")
	field(cfg.MaxCodeTries >= 0 && cfg.MaxCodeTries <= 255, "MaxCodeTries must be between 0 (default) and 255")
	field(cfg.NicknameQuarantine >= 0, "NicknameQuarantine must not be negative")
	field(cfg.EntitlementTTL >= 0, "EntitlementTTL must not be negative")
	if err := cfg.Limits.check(); err != nil {
		bad = append(bad, err)
	}
	if len(bad) > 0 {
		return nil, errors.Join(bad...)
	}
	s := &Service{
		store:        cfg.Store,
		challengeTTL: cmp.Or(cfg.ChallengeTTL, 5*time.Minute),
		sessionTTL:   cmp.Or(cfg.SessionTTL, 24*time.Hour),
		log:          cfg.Logger,
		notifier:     cfg.Notifier,
		floors:       kdf.DefaultFloors(),
		codeTTL:      cmp.Or(cfg.CodeTTL, 10*time.Minute),
		maxCodeTries: cmp.Or(cfg.MaxCodeTries, 5),
		quarantine:   cmp.Or(cfg.NicknameQuarantine, 30*24*time.Hour),
		limits:       cfg.Limits,
		stats:        newStats(),
		now:          cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.KDFFloors != nil {
		s.floors = *cfg.KDFFloors
	}
	if cfg.Entitlements == nil {
		cfg.Entitlements = StoreEntitlements(cfg.Store)
	}
	s.entitlements = newEntitlementCache(cfg.Entitlements, cmp.Or(cfg.EntitlementTTL, defaultEntitlementTTL))
	var err error
	if s.keys, err = deriveKeys(cfg.Secret); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// KeyRequest is the answer to AuthKeyRequest.
type KeyRequest struct {
	// EncryptedToken is the challenge token encrypted to the key.
	EncryptedToken []byte
	ExpiresAt      time.Time
	// Cost is what the encryption cost the server, in units of one
	// RSA-2048 encryption (PublicKey.EncryptCost), so that a caller can
	// charge a client's budget by it: an RSA-16384 key costs the server
	// about 150 times an RSA-2048 one.
	Cost int
}

// AuthKeyRequest starts a connect: it checks the application token, parses
// and vets the packed public key, refuses a banned one, and returns a fresh
// challenge token (see challenge.go) encrypted to the key. It stores
// nothing: asking for challenges for someone else's public key, however
// often, neither fills the store nor stops the key's holder from
// connecting.
//
// A private key sent as key (packed private form, PKCS#1, PKCS#8 or SEC 1
// DER, PEM, OpenSSH) is a disclosure, answered ErrPrivateKeyDisclosed;
// the keys whose private half it proves (DetectPrivateKey) are banned for
// ever, and a container that proves none (encrypted, inconsistent, of a
// foreign type) bans nothing. A private-key form with a number over its
// bound is refused with ErrKeyTooLarge before any arithmetic.
func (s *Service) AuthKeyRequest(ctx context.Context, key []byte, appToken string) (KeyRequest, error) {
	app, err := s.app(ctx, appToken)
	if err != nil {
		return KeyRequest{}, err
	}
	pub, err := ParsePublicKey(key)
	if err != nil {
		if proven, refusal := DetectPrivateKey(key); refusal != nil {
			return KeyRequest{}, s.banDisclosed(ctx, proven, refusal, app.Name)
		}
		return KeyRequest{}, err
	}
	id := pub.ID()
	if banned, err := s.store.KeyBanned(ctx, id); err != nil {
		return KeyRequest{}, err
	} else if banned {
		return KeyRequest{}, ErrKeyBanned
	}
	c := Challenge{
		KeyID:     id,
		KeyType:   pub.Type(),
		App:       app.Name,
		ExpiresAt: s.now().Add(s.challengeTTL).Truncate(time.Second),
	}
	ct, err := pub.EncryptToken(s.sealChallenge(purposeConnect, c))
	if err != nil {
		// ParsePublicKey refuses every key known to make encryption fail;
		// should one slip through, it is the key's fault, not the server's.
		return KeyRequest{}, fmt.Errorf("%w: encrypting to the key: %v", ErrBadKey, err)
	}
	return KeyRequest{EncryptedToken: ct, ExpiresAt: c.ExpiresAt, Cost: pub.EncryptCost()}, nil
}

// banDisclosed bans the keys whose private half a request proved, and
// returns DetectPrivateKey's refusal. With nothing proven it bans nothing.
func (s *Service) banDisclosed(ctx context.Context, proven []*PublicKey, refusal error, app string) error {
	if len(proven) == 0 {
		s.log.WarnContext(ctx, "private key form refused; nothing proven, nothing banned", "reason", refusal.Error(), "app", app)
		return refusal
	}
	for _, pub := range proven {
		if err := s.store.BanKey(ctx, pub.ID(), s.now()); err != nil {
			return err
		}
		s.log.WarnContext(ctx, "private key disclosed; key banned", "key_id", pub.ID().String(), "app", app)
	}
	return refusal
}

func (s *Service) app(ctx context.Context, token string) (App, error) {
	h, ok := parseBearer(AppTokenPrefix, token)
	if !ok {
		return App{}, ErrBadAppToken
	}
	app, err := s.store.AppByToken(ctx, h)
	if errors.Is(err, ErrNotFound) || err == nil && !app.Active() {
		return App{}, ErrBadAppToken
	}
	return app, err
}

// KeyToken is the answer to AuthKeyToken.
type KeyToken struct {
	IsNew            bool
	PartyID          PartyID
	Session          string
	SessionExpiresAt time.Time
}

// AuthKeyToken completes a connect: the decrypted token proves possession
// of the key. A token that the server did not make is ErrChallengeUnknown,
// one past its expiry ErrChallengeExpired. If the key belongs to a party
// that party is logged in, else a new party is made with the key, in the
// same durable step that records the token as used: a token works once,
// even when submitted many times at once (ErrChallengeUnknown after).
func (s *Service) AuthKeyToken(ctx context.Context, token []byte) (KeyToken, error) {
	c, ok := s.openChallenge(purposeConnect, token)
	if !ok {
		return KeyToken{}, ErrChallengeUnknown
	}
	now := s.now()
	if !now.Before(c.ExpiresAt) {
		return KeyToken{}, ErrChallengeExpired
	}
	session, sh := newBearer(SessionPrefix)
	r, err := s.store.RedeemChallenge(ctx, Redemption{
		Challenge: c,
		Now:       now,
		NewParty:  newPartyID(),
		Session:   Session{Hash: sh, ExpiresAt: now.Add(s.sessionTTL)},
	})
	if err != nil {
		return KeyToken{}, err
	}
	if r.IsNew {
		s.log.InfoContext(ctx, "party registered", "party_id", r.PartyID.String(), "key_id", r.Challenge.KeyID.String(), "app", r.Challenge.App)
	}
	return KeyToken{IsNew: r.IsNew, PartyID: r.PartyID, Session: session, SessionExpiresAt: now.Add(s.sessionTTL)}, nil
}

// Authenticate returns the live session a bearer token names, or
// ErrUnauthorized. A session dies with its key (banned after a disclosure)
// and with its application (revoked), not only at its expiry.
func (s *Service) Authenticate(ctx context.Context, session string) (Session, error) {
	h, ok := parseBearer(SessionPrefix, session)
	if !ok {
		return Session{}, ErrUnauthorized
	}
	sess, err := s.store.Session(ctx, h)
	if errors.Is(err, ErrNotFound) || err == nil && !s.now().Before(sess.ExpiresAt) {
		return Session{}, ErrUnauthorized
	} else if err != nil {
		return Session{}, err
	}
	if banned, err := s.store.KeyBanned(ctx, sess.KeyID); err != nil {
		return Session{}, err
	} else if banned {
		return Session{}, ErrUnauthorized
	}
	if app, err := s.store.App(ctx, sess.App); err != nil && !errors.Is(err, ErrNotFound) {
		return Session{}, err
	} else if err != nil || !app.Active() {
		return Session{}, ErrUnauthorized
	}
	return sess, nil
}

// Revoke ends a session. Revoking an unknown session is ErrUnauthorized.
func (s *Service) Revoke(ctx context.Context, session string) error {
	sess, err := s.Authenticate(ctx, session)
	if err != nil {
		return err
	}
	return s.store.DeleteSession(ctx, sess.Hash)
}

// Party returns a party and its keys.
func (s *Service) Party(ctx context.Context, id PartyID) (Party, error) {
	return s.store.Party(ctx, id)
}

var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CreateApp registers an application and returns its token. The token is
// shown once: only its hash is stored.
func (s *Service) CreateApp(ctx context.Context, name string) (token string, err error) {
	if !appName.MatchString(name) {
		return "", ErrBadAppName
	}
	token, h := newBearer(AppTokenPrefix)
	if err := s.store.CreateApp(ctx, App{Name: name, TokenHash: h, Created: s.now()}); err != nil {
		return "", err
	}
	return token, nil
}

// Apps lists the applications.
func (s *Service) Apps(ctx context.Context) ([]App, error) { return s.store.Apps(ctx) }

// RevokeApp revokes an application: its token is refused from now on.
func (s *Service) RevokeApp(ctx context.Context, name string) error {
	return s.store.RevokeApp(ctx, name, s.now())
}

// Collect deletes expired records (used challenge tokens, sessions, full
// budgets, used-once marks) once.
func (s *Service) Collect(ctx context.Context) (int, error) {
	n, err := s.store.Collect(ctx, s.now())
	s.stats.collected(n, err)
	return n, err
}

// CollectEvery runs Collect every interval until ctx is done. Run it in its
// own goroutine.
func (s *Service) CollectEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Collect(ctx); err != nil {
				s.log.ErrorContext(ctx, "collecting expired records", "err", err)
			} else if n > 0 {
				s.log.DebugContext(ctx, "collected expired records", "n", n)
			}
		}
	}
}
