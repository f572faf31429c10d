// Package attesta is the protocol core of Attesta's key-based accounts. A
// party (a person's device, an application instance) owns an account
// because it can prove that it holds a private key; a device that has no
// key logs in with a login name and a password, which open a registry of
// the party's keys that the server stores sealed and cannot read.
//
// The package knows nothing of HTTP. Package transport serves a Service
// over HTTP and holds the Go client; package registry seals and opens
// registry blocks; package kdf turns passwords into keys; package
// attesta/pebblestore is the embedded Store.
//
// # The Service
//
// A Service runs both flows over a Store. Every method takes a
// context.Context first and the protocol's own values (a packed key, a
// token, a session, a PartyID), never an HTTP request. A Service holds no
// state beyond its configuration: every challenge, party, session, ban,
// identifier and registry is in the Store, so a Service is safe for
// concurrent use, and several processes may serve one Store that is made
// to be shared.
//
// # Key register/connect
//
// One flow for new and returning keys, in two calls:
//
//  1. AuthKeyRequest(packed public key, application token) checks the
//     application token, parses and vets the key (RSA of 2048 bits or more
//     with exponent 65537, HPKE X25519, HPKE ML-KEM-768+X25519; see
//     ParsePublicKey), stores a pending challenge under the hash of a fresh
//     random token and returns the token encrypted to the key.
//  2. The client decrypts it (PrivateKey.DecryptToken) and sends it back:
//     AuthKeyToken(token) consumes the challenge, once, and logs in the
//     party that holds the key (IsNew false), or makes a new party with it
//     (IsNew true), in one durable step. It returns the party's id, which
//     never changes, and a session.
//
// A session is a bearer credential: Authenticate turns it into the
// Session (its party, key and application), Revoke ends it. A private key
// that reaches AuthKeyRequest in any form (packed, PKCS#1, PKCS#8, SEC 1,
// PEM, OpenSSH) is a disclosure: its public key is banned for good
// (ErrPrivateKeyDisclosed, then ErrKeyBanned), and its sessions die.
//
// # Password login
//
// For a device with no key:
//
//  1. The party adds login identifiers (AddIdentifier): a nickname is
//     active at once if it is free; an email or phone number is pending
//     until ConfirmIdentifier gets the code that the Notifier sent to it.
//  2. The party stores its registry (PutRegistry): its id and private
//     keys, sealed by the client with registry.Seal under a key derived
//     from the password. The server checks only the block's header: its
//     KDF must be at or above the floors (Config.KDFFloors), since anyone
//     may download the block.
//  3. A new device fetches the block by login (RegistryByLogin, no
//     authentication), opens it with registry.Open and the password, and
//     connects with the key it holds, as above. A login that no party
//     holds gets a decoy: a block shaped like a real one that no password
//     opens, so that the fetch does not tell who is registered.
//
// # Application instances
//
// An application instance (keypeer's brokered apps) is a party that
// connected with its own key and registered it (RegisterInstance): the
// server learns the public key, to encrypt service keys to it. Its TOKEN
// (InstanceToken) is the server's deterministic Ed25519 signature over the
// application's name and the party id, written compactly for a payment's
// label; anyone verifies it with InstanceTokenKey (published in the JWKS),
// the server by signing again (VerifyInstanceToken), storing nothing. An
// Entitlements (Config.Entitlements: the store-backed list of
// GrantEntitlement by default, or transport.WebhookEntitlements) decides
// which TOKENs are entitled, each answer cached per TOKEN for
// Config.EntitlementTTL, failures closed. The operator stores service keys
// (SetServiceKey), sealed at rest under a key derived from the secret,
// each set a new version; ServiceKey answers an entitled instance with the
// current version encrypted to its own key (PrivateKey.DecryptServiceKey
// opens it). ExampleService_ServiceKey runs the whole.
//
// # Running a Service
//
// What an embedder provides and runs (ExampleService does each):
//
//   - A Store: pebblestore.Open(dir) for one process with its data in one
//     directory, or any implementation of Store, whose documentation says
//     what each method must guarantee.
//   - The secret, Config.Secret: SecretSize random bytes (crypto/rand),
//     made once and kept apart from the store (a file of mode 0600, a
//     secret manager), the same for the life of the store. Identifier
//     hashes, code hashes and decoys are keyed with it, so a copy of the
//     store alone lists nobody's email. Back it up with the store: without
//     it no identifier matches any more.
//   - CollectEvery, in a goroutine of its own, for as long as the Service
//     runs: used challenge tokens, expired sessions and full budgets stay
//     in the store until collected.
//   - Optionally, metrics: Stats counts collection runs, KDF floor
//     refusals and durable budget refusals by kind, in this process;
//     RedeemedTokens is the store's count of the challenge state there is
//     (the redeemed tokens not yet collected: pending challenges are not
//     stored). attesta-server exports them with its -metrics-addr.
//   - Application tokens: CreateApp makes one for each client application
//     and shows it once; RevokeApp refuses it from then on. The token ships
//     inside the application, so it is public: it names an application, it
//     proves nothing.
//   - For emails and phone numbers, a Notifier that delivers the codes
//     (package attesta/outbox writes them to a file, for demos). Without
//     one, only nicknames can be added.
//
// Store and Secret are required; New refuses a Config without them. The
// other fields of Config have safe defaults.
//
// # Examples
//
// ExampleService runs the connect flow on the core API, over a Pebble
// store in a temporary directory, and ExampleService_RegistryByLogin the
// password login. transport's ExampleNewHandler embeds the whole: the
// Handler mounted under /auth/ on a service's own http.ServeMux, a route
// of the service that trusts the sessions, and the Go client connecting
// through the prefix. go doc does not show examples: read them in the
// example_test.go files of this package and of transport, or on
// pkg.go.dev.
//
// # Errors
//
// Every error a caller may branch on is a sentinel of this package
// (ErrKeyBanned, ErrChallengeUnknown, ErrWrongCode, ErrNotEntitled, …) matched with
// errors.Is, or wraps one; package transport maps each to a stable
// problem code, listed in its documentation. No error holds a secret or
// an expected value.
//
// # What is secret
//
// An application token, a public key and an instance TOKEN are public.
// Tokens, codes and sessions are stored only as hashes, identifiers only
// as hashes keyed with the secret, registries and service keys only
// sealed; nothing secret is ever logged. docs/PROTOCOL.md in the repository specifies the formats and
// the protocol.
package attesta
