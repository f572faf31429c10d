package attesta

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/attesta-go/attesta/internal/rnd"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

// Notifier delivers verification codes to emails and phone numbers. The
// code is secret: an implementation must not log it.
type Notifier interface {
	SendCode(ctx context.Context, to Identifier, code string) error
}

// SecretSize is the size of Config.Secret.
const SecretSize = 32

// serverKeys are the keys derived from Config.Secret, one per use.
type serverKeys struct {
	ident []byte // HMAC key for identifier hashes
	code  []byte // HMAC key for verification code hashes
	decoy []byte // HMAC key for decoy seeds
	// challenge authenticates challenge tokens (challenge.go).
	challenge []byte
	// budget keys the hashes under which budgets are stored (budget.go).
	budget []byte
	// instance signs instance TOKENs (instance.go); vault seals service
	// keys at rest (vault.go).
	instance ed25519.PrivateKey
	vault    []byte
}

func deriveKeys(secret []byte) (serverKeys, error) {
	var k serverKeys
	for info, dst := range map[string]*[]byte{
		"attesta v1 identifier hash":   &k.ident,
		"attesta v1 code hash":         &k.code,
		"attesta v1 registry decoy":    &k.decoy,
		"attesta v1 challenge token":   &k.challenge,
		"attesta v1 budget key":        &k.budget,
		"attesta v1 service key vault": &k.vault,
	} {
		b, err := hkdf.Expand(sha256.New, secret, info, 32)
		if err != nil {
			return serverKeys{}, err
		}
		*dst = b
	}
	seed, err := hkdf.Expand(sha256.New, secret, instanceKeyInfo, ed25519.SeedSize)
	if err != nil {
		return serverKeys{}, err
	}
	k.instance = ed25519.NewKeyFromSeed(seed)
	return k, nil
}

func mac(key []byte, parts ...[]byte) Hash {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	var h Hash
	m.Sum(h[:0])
	return h
}

// identHash is the keyed hash under which the server knows an identifier:
// a copy of the database without the secret does not list emails or phone
// numbers, and cannot test guesses.
func (s *Service) identHash(id Identifier) Hash {
	return mac(s.keys.ident, []byte(id.Kind), []byte(id.Value))
}

// IdentifierStatus is the state of a newly added identifier.
type IdentifierStatus string

const (
	StatusActive  IdentifierStatus = "active"
	StatusPending IdentifierStatus = "pending"
)

// AddIdentifier adds a login identifier to party. A nickname is active at
// once if no other party holds it (or holds it in quarantine). An email or
// phone is pending: a 6-digit code is sent to it through the Notifier, and
// ConfirmIdentifier makes it active. Whether another party holds an email
// or phone is told only to whoever confirms the code, so this call cannot
// be used to learn who is registered.
//
// Every code sent spends, in this order, from the party's budget, the
// server's total and the destination's daily budget and cooldown
// (Config.Limits), whoever asks: ErrBudgetExhausted (a *BudgetError) when
// one is empty, and no code is sent.
func (s *Service) AddIdentifier(ctx context.Context, party PartyID, kind IdentifierKind, value string) (IdentifierStatus, error) {
	id, err := NormalizeIdentifier(kind, value)
	if err != nil {
		return "", err
	}
	h := s.identHash(id)
	now := s.now()
	if kind == Nickname {
		if err := s.store.AddNickname(ctx, party, h, id.Hint(), MaxNicknames, now); err != nil {
			return "", err
		}
		return StatusActive, nil
	}
	if s.notifier == nil {
		return "", ErrNoNotifier
	}
	// The party's own active identifier: nothing to send, nothing to
	// spend (StartVerification says so too, but only after the budgets).
	if holder, err := s.store.PartyByIdentifier(ctx, h); err == nil && holder == party {
		return StatusActive, nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return "", err
	}
	if err := s.spend(ctx, now,
		s.budget(budgetSendParty, s.limits.CodeSendsPerParty, party[:]),
		s.budget(budgetSendTotal, s.limits.CodeSendsTotal),
		s.budget(budgetSendDest, s.limits.CodeSendsPerDestination, h[:]),
		s.budget(budgetSendCooldown, s.limits.CodeSendCooldown, h[:]),
	); err != nil {
		return "", err
	}
	code := newCode()
	err = s.store.StartVerification(ctx, party, Verification{
		Hash: h, Kind: kind, Hint: id.Hint(), CodeHash: s.codeHash(party, h, code), Expires: now.Add(s.codeTTL),
	}, MaxVerified)
	if errors.Is(err, ErrIdentifierTaken) {
		return StatusActive, nil // already this party's
	}
	if err != nil {
		return "", err
	}
	if err := s.notifier.SendCode(ctx, id, code); err != nil {
		return "", fmt.Errorf("attesta: sending code: %w", err)
	}
	s.log.InfoContext(ctx, "verification code sent", "party_id", party.String(), "kind", string(kind), "to", id.Hint())
	return StatusPending, nil
}

// newCode draws a uniform 6-digit code.
func newCode() string {
	for {
		v := binary.BigEndian.Uint32(rnd.Bytes(4))
		if v < 4294000000 { // 4294 * 10^6: no modulo bias
			return fmt.Sprintf("%06d", v%1000000)
		}
	}
}

func (s *Service) codeHash(party PartyID, h Hash, code string) Hash {
	return mac(s.keys.code, party[:], h[:], []byte(code))
}

// ConfirmIdentifier confirms a pending email or phone with the code sent to
// it. Five wrong codes void the pending verification; so does its expiry.
// Every try spends from the party's budget for that identifier
// (Limits.CodeTriesPerIdentifier), which a new code does not refill.
func (s *Service) ConfirmIdentifier(ctx context.Context, party PartyID, kind IdentifierKind, value, code string) error {
	id, err := NormalizeIdentifier(kind, value)
	if err != nil {
		return err
	}
	if kind == Nickname {
		return ErrCodeUnknown
	}
	h := s.identHash(id)
	if len(code) > 16 {
		code = code[:16]
	}
	now := s.now()
	if err := s.spend(ctx, now, s.budget(budgetTries, s.limits.CodeTriesPerIdentifier, party[:], h[:])); err != nil {
		return err
	}
	return s.store.ConfirmVerification(ctx, party, h, s.codeHash(party, h, code), s.maxCodeTries, now)
}

// RemoveIdentifier removes one of party's identifiers. A nickname stays
// reserved to party for Config.NicknameQuarantine before another party may
// take it. The registry is untouched: without an identifier it is no
// longer reachable by login, but it is not lost.
func (s *Service) RemoveIdentifier(ctx context.Context, party PartyID, kind IdentifierKind, value string) error {
	id, err := NormalizeIdentifier(kind, value)
	if err != nil {
		return err
	}
	return s.store.RemoveIdentifier(ctx, party, s.identHash(id), s.now().Add(s.quarantine))
}

// Identifiers lists party's identifiers (kinds and hints; the server keeps
// no identifier in clear).
func (s *Service) Identifiers(ctx context.Context, party PartyID) ([]IdentifierInfo, error) {
	return s.store.Identifiers(ctx, party)
}

// PutRegistry stores party's sealed registry block if version is the
// version the client last read (0 for none), and returns the new version.
// The server never sees the password or the plaintext; it checks only the
// header: the block must be well formed, at most registry.MaxBlockSize, and
// its KDF at or above the server's floors, because anyone can download a
// registry and the KDF is all that stands between them and the key.
//
// A party needs an active login identifier to store a registry
// (ErrNoIdentifier): a registry is for logging in by name, and the rule
// bounds what parties made by the thousand can store.
func (s *Service) PutRegistry(ctx context.Context, party PartyID, block []byte, version uint64) (uint64, error) {
	if len(block) > registry.MaxBlockSize {
		return 0, ErrRegistryTooLarge
	}
	h, err := registry.Inspect(block)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadRegistry, err)
	}
	if err := s.floors.Check(h.KDF); err != nil {
		s.stats.kdfFloorRefusals.Add(1)
		return 0, fmt.Errorf("%w: %w", ErrKDFTooWeak, err)
	}
	if err := kdf.DefaultCeilings().Check(h.KDF); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrKDFTooCostly, err)
	}
	ids, err := s.store.Identifiers(ctx, party)
	if err != nil {
		return 0, err
	}
	if !slices.ContainsFunc(ids, func(i IdentifierInfo) bool { return !i.Pending }) {
		return 0, ErrNoIdentifier
	}
	return s.store.PutRegistry(ctx, party, block, version)
}

// Registry is a registry block as served by RegistryByLogin.
type Registry struct {
	Block   []byte
	Version uint64
}

// RegistryByLogin returns the registry of the party that holds login, for
// a device that has only a login name and a password. It needs no
// authentication, so it must not tell whether an account exists: for a
// login no party holds, or a party without a registry, it returns a decoy,
// a block derived from the server secret and the login, shaped like a real
// block sealed with kdf.Default() (the same size for a one-bucket
// plaintext, the same KDF parameters), the same on every call, and opened
// by no password. Both paths compute the decoy and read the store twice,
// so they cost the same work.
//
// The Version of the answer is always 1: a real version counts the
// owner's updates, which a decoy cannot imitate. The owner learns the
// current version, for PutRegistry, from OwnRegistry once logged in.
//
// A malformed login is ErrBadIdentifier: it cannot name an account, so
// refusing it tells nothing. Every fetch spends from the login's budget
// (Limits.RegistryFetchesPerLogin), known or not, so the budget tells
// nothing either.
func (s *Service) RegistryByLogin(ctx context.Context, login string) (Registry, error) {
	id, err := ParseLogin(login)
	if err != nil {
		return Registry{}, err
	}
	h := s.identHash(id)
	if err := s.spend(ctx, s.now(), s.budget(budgetFetchLogin, s.limits.RegistryFetchesPerLogin, h[:])); err != nil {
		return Registry{}, err
	}
	seed := mac(s.keys.decoy, h[:])
	decoy, err := registry.Decoy(seed[:])
	if err != nil {
		return Registry{}, err
	}
	party, err := s.store.PartyByIdentifier(ctx, h)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Registry{}, err
	}
	// For an unknown login, party is the zero id, which has no registry:
	// the read costs what the real one does.
	block, _, err := s.store.Registry(ctx, party)
	if errors.Is(err, ErrNotFound) {
		return Registry{Block: decoy, Version: 1}, nil
	} else if err != nil {
		return Registry{}, err
	}
	return Registry{Block: block, Version: 1}, nil
}

// OwnRegistry returns party's own registry (for an authenticated device
// that wants to merge before a PutRegistry); ErrNotFound if it has none.
func (s *Service) OwnRegistry(ctx context.Context, party PartyID) (Registry, error) {
	block, version, err := s.store.Registry(ctx, party)
	if err != nil {
		return Registry{}, err
	}
	return Registry{Block: block, Version: version}, nil
}
