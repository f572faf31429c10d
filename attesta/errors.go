package attesta

import "errors"

// Errors a caller may branch on. Each is a sentinel usable with errors.Is;
// the library wraps them with %w to add context, never a secret or an
// expected value.
var (
	// ErrBadKey: the bytes are not a well-formed packed key (bad CBOR,
	// trailing bytes, wrong lengths, leading zeros in a magnitude, an even
	// RSA modulus, …).
	ErrBadKey = errors.New("attesta: malformed key")
	// ErrUnsupportedKey: a well-formed key of a type or with parameters the
	// protocol does not accept (an unknown type code, an RSA exponent other
	// than 65537).
	ErrUnsupportedKey = errors.New("attesta: unsupported key")
	// ErrKeyTooSmall: an RSA modulus below MinRSABits.
	ErrKeyTooSmall = errors.New("attesta: rsa key too small")
	// ErrKeyTooLarge: an RSA modulus above MaxRSABits, or an RSA private
	// key (in any form) with a number above its bound: a prime or CRT
	// value above MaxRSAPrimeBits, a modulus or private exponent above
	// MaxRSABits. It is refused before any arithmetic on it.
	ErrKeyTooLarge = errors.New("attesta: rsa key too large")
	// ErrEvenModulus: an RSA modulus that is even (never a product of two
	// odd primes). Also matches ErrBadKey.
	ErrEvenModulus = &keyError{msg: "attesta: rsa modulus is even", is: ErrBadKey}
	// ErrBadExponent: an RSA public exponent other than 65537. Also matches
	// ErrUnsupportedKey.
	ErrBadExponent = &keyError{msg: "attesta: rsa exponent is not 65537", is: ErrUnsupportedKey}
	// ErrPrivateKeyDisclosed: a private key, or a container that says it
	// holds one, arrived where a public key was expected. The server bans
	// a key only when it proved the key's private half (DetectPrivateKey):
	// this error alone does not say that anything was banned.
	ErrPrivateKeyDisclosed = errors.New("attesta: private key disclosed")
	// ErrKeyBanned: the key was banned (its private key was disclosed).
	ErrKeyBanned = errors.New("attesta: key is banned")
	// ErrBadAppToken: the application token is unknown, malformed or revoked.
	ErrBadAppToken = errors.New("attesta: bad application token")
	// ErrChallengeUnknown: the token is not a challenge token this server
	// made (wrong, truncated or tampered with), or it was used already.
	ErrChallengeUnknown = errors.New("attesta: unknown challenge token")
	// ErrChallengeExpired: the challenge token is genuine but past its
	// expiry; ask for a new one.
	ErrChallengeExpired = errors.New("attesta: challenge expired")
	// ErrUnauthorized: the session is unknown, malformed, revoked or expired.
	ErrUnauthorized = errors.New("attesta: unauthorized")
	// ErrAppExists: an application with that name already exists.
	ErrAppExists = errors.New("attesta: application exists")
	// ErrAppNotFound: no application has that name.
	ErrAppNotFound = errors.New("attesta: application not found")
	// ErrBadAppName: an application name outside [a-z0-9-_.], 1-64 chars.
	ErrBadAppName = errors.New("attesta: bad application name")
	// ErrNotFound is what a Store returns for a missing record.
	ErrNotFound = errors.New("attesta: not found")
	// ErrIdentifierTaken: another party holds the identifier (or holds it
	// in quarantine).
	ErrIdentifierTaken = errors.New("attesta: identifier taken")
	// ErrIdentifierNotFound: the party has no such identifier.
	ErrIdentifierNotFound = errors.New("attesta: identifier not found")
	// ErrTooManyIdentifiers: the party holds its maximum of that kind.
	ErrTooManyIdentifiers = errors.New("attesta: too many identifiers")
	// ErrCodeUnknown: no pending verification for that identifier.
	ErrCodeUnknown = errors.New("attesta: no pending verification")
	// ErrCodeExpired: the verification code expired; ask for a new one.
	ErrCodeExpired = errors.New("attesta: verification code expired")
	// ErrWrongCode: the code does not match; a few tries remain.
	ErrWrongCode = errors.New("attesta: wrong verification code")
	// ErrCodeTriesExhausted: too many wrong codes; the pending
	// verification is void, ask for a new one.
	ErrCodeTriesExhausted = errors.New("attesta: too many wrong codes")
	// ErrNoNotifier: the server cannot send codes, so it cannot verify
	// emails or phones.
	ErrNoNotifier = errors.New("attesta: no notifier configured for codes")
	// ErrVersionConflict: the registry changed since the version the
	// client read; read it again and merge.
	ErrVersionConflict = errors.New("attesta: registry version conflict")
	// ErrNoIdentifier: the party has no active login identifier, so it
	// cannot store a registry (nobody could fetch it by login).
	ErrNoIdentifier = errors.New("attesta: the party has no active login identifier")
	// ErrKDFTooWeak: a registry block whose KDF is below the server's
	// floors (also matches kdf.ErrBelowFloor through the wrapped error).
	ErrKDFTooWeak = errors.New("attesta: registry kdf below the server's floors")
	// ErrKDFTooCostly: a registry block whose KDF is above what clients
	// with kdf.DefaultCeilings() will run: stored, it could never be
	// opened (also matches kdf.ErrAboveCeiling).
	ErrKDFTooCostly = errors.New("attesta: registry kdf above what clients will run")
	// ErrBadRegistry: a registry block that is not a well-formed block.
	ErrBadRegistry = errors.New("attesta: malformed registry block")
	// ErrRegistryTooLarge: a registry block over registry.MaxBlockSize.
	ErrRegistryTooLarge = errors.New("attesta: registry block too large")
	// ErrDecrypt: a challenge or service-key ciphertext could not be
	// decrypted with the key (client side).
	ErrDecrypt = errors.New("attesta: cannot decrypt with this key")
	// ErrNotInstance: the session is not an application instance's: its
	// key was never registered as an instance of the session's
	// application (POST /v1/instance, Service.RegisterInstance).
	ErrNotInstance = errors.New("attesta: not an application instance")
	// ErrNotSessionKey: the key sent to register an instance is not the
	// key the session connected with.
	ErrNotSessionKey = errors.New("attesta: not the session's key")
	// ErrBadInstanceToken: an instance TOKEN that is malformed, or whose
	// signature is not this server's for what it names.
	ErrBadInstanceToken = errors.New("attesta: bad instance token")
	// ErrNotEntitled: the instance's TOKEN is not entitled to its
	// application's service keys (or the entitlement check failed: it
	// fails closed). To a caller that is not entitled, an unknown
	// provider is this error too.
	ErrNotEntitled = errors.New("attesta: instance not entitled")
	// ErrServiceKeyNotFound: the application has no service key for that
	// provider (said only to an entitled instance, and to the operator).
	ErrServiceKeyNotFound = errors.New("attesta: no service key for that provider")
	// ErrBadProvider: a provider name outside [a-z0-9-_.], 1-64 chars.
	ErrBadProvider = errors.New("attesta: bad provider name")
	// ErrBadServiceKey: a service key that is empty or over
	// MaxServiceKeySize bytes.
	ErrBadServiceKey = errors.New("attesta: service key empty or too large")
	// ErrEntitlementNotFound: revoking an entitlement that was not
	// granted.
	ErrEntitlementNotFound = errors.New("attesta: no such entitlement")
)

// keyError is a sentinel that also matches a broader one, so that a caller
// can branch on ErrBadKey without listing every way a key can be bad.
type keyError struct {
	msg string
	is  error
}

func (e *keyError) Error() string        { return e.msg }
func (e *keyError) Is(target error) bool { return target == e.is }
