package attesta

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/kdf"
)

// Config configures a Service. The zero value of every field but Store is a
// safe default.
type Config struct {
	// Store holds the server's state. Required.
	Store Store
	// ChallengeTTL is how long a token from AuthKeyRequest stays valid.
	// Default 5 minutes.
	ChallengeTTL time.Duration
	// SessionTTL is the lifetime of a session. Default 24 hours.
	SessionTTL time.Duration
	// MaxChallengesPerKey bounds the pending challenges one key id may
	// have, so that a client cannot fill the store. Default 4, at most
	// 256.
	MaxChallengesPerKey int
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
	maxPerKey    int
	log          *slog.Logger
	keys         serverKeys
	notifier     Notifier
	floors       kdf.Floors
	codeTTL      time.Duration
	maxCodeTries int
	quarantine   time.Duration
	now          func() time.Time // test hook
}

// New checks cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("attesta: Config.Store is required")
	}
	s := &Service{
		store:        cfg.Store,
		challengeTTL: cfg.ChallengeTTL,
		sessionTTL:   cfg.SessionTTL,
		maxPerKey:    cfg.MaxChallengesPerKey,
		log:          cfg.Logger,
		notifier:     cfg.Notifier,
		floors:       kdf.DefaultFloors(),
		codeTTL:      cmp.Or(cfg.CodeTTL, 10*time.Minute),
		maxCodeTries: cmp.Or(cfg.MaxCodeTries, 5),
		quarantine:   cmp.Or(cfg.NicknameQuarantine, 30*24*time.Hour),
		now:          cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.KDFFloors != nil {
		s.floors = *cfg.KDFFloors
	}
	if len(cfg.Secret) < SecretSize {
		return nil, fmt.Errorf("attesta: Config.Secret needs %d random bytes", SecretSize)
	}
	var err error
	if s.keys, err = deriveKeys(cfg.Secret); err != nil {
		return nil, err
	}
	if s.challengeTTL == 0 {
		s.challengeTTL = 5 * time.Minute
	}
	if s.sessionTTL == 0 {
		s.sessionTTL = 24 * time.Hour
	}
	if s.maxPerKey == 0 {
		s.maxPerKey = 4
	}
	if s.maxPerKey > 256 {
		return nil, errors.New("attesta: Config.MaxChallengesPerKey above 256")
	}
	if s.challengeTTL < 0 || s.sessionTTL < 0 || s.maxPerKey < 0 || s.codeTTL < 0 || s.maxCodeTries < 0 || s.quarantine < 0 {
		return nil, errors.New("attesta: negative Config duration or limit")
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
}

// AuthKeyRequest starts a connect: it checks the application token, parses
// and vets the packed public key, refuses a banned one, stores a pending
// challenge under the hash of a fresh 256-bit token and returns the token
// encrypted to the key.
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
	token := rnd.Bytes(TokenSize)
	ct, err := pub.EncryptToken(token)
	if err != nil {
		// ParsePublicKey refuses every key known to make encryption fail;
		// should one slip through, it is the key's fault, not the server's.
		return KeyRequest{}, fmt.Errorf("%w: encrypting to the key: %v", ErrBadKey, err)
	}
	now := s.now()
	c := Challenge{
		TokenHash: hashOf(token),
		KeyID:     id,
		KeyType:   pub.Type(),
		App:       app.Name,
		ExpiresAt: now.Add(s.challengeTTL),
	}
	if err := s.store.AddChallenge(ctx, c, s.maxPerKey, now); err != nil {
		return KeyRequest{}, err
	}
	return KeyRequest{EncryptedToken: ct, ExpiresAt: c.ExpiresAt}, nil
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
// of the key. The challenge is consumed whatever the outcome; if the key
// belongs to a party that party is logged in, else a new party is made with
// the key, in the same durable step. A token works once, even when
// submitted many times at once.
func (s *Service) AuthKeyToken(ctx context.Context, token []byte) (KeyToken, error) {
	if len(token) != TokenSize {
		return KeyToken{}, ErrChallengeUnknown
	}
	now := s.now()
	session, sh := newBearer(SessionPrefix)
	r, err := s.store.RedeemChallenge(ctx, Redemption{
		TokenHash: hashOf(token),
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

// Collect deletes expired challenges and sessions once.
func (s *Service) Collect(ctx context.Context) (int, error) {
	return s.store.Collect(ctx, s.now())
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
