// Package transport is Attesta's HTTP layer: a Handler that serves the
// protocol of package attesta, and a Client that runs it.
//
// Handlers are thin, after smallstep's: decode the body, call the
// attesta.Service, map its error, render the answer. Every protocol
// decision (which keys, which tokens, bans, sessions) is the Service's.
//
// # Endpoints
//
//	POST   /v1/auth_key_request     {key, app_token}           -> 200 {encrypted_token, expires_at}
//	POST   /v1/auth_key_token       {token}                    -> 200 {is_new, party_id, session, session_expires_at}
//	GET    /v1/party                Bearer                     -> 200 {party_id, created, keys: [{key_id, type, added}],
//	                                                                   identifiers: [{kind, hint, pending, added}]}
//	POST   /v1/logout               Bearer                     -> 204, the session is revoked
//	POST   /v1/identifiers          Bearer {kind, value}       -> 200 {status: "active" | "pending"}
//	POST   /v1/identifiers/confirm  Bearer {kind, value, code} -> 204
//	DELETE /v1/identifiers          Bearer {kind, value}       -> 204
//	PUT    /v1/registry             Bearer {registry, version} -> 200 {version}
//	GET    /v1/registry?login=L     (no authentication)        -> 200 {registry, version}
//	GET    /v1/registry             Bearer                     -> 200 {registry, version}, or 404 not_found
//	POST   /v1/instance             Bearer {key}               -> 200 {token}
//	GET    /v1/instance/token       Bearer                     -> 200 {token}
//	GET    /v1/service_keys/{provider} Bearer                  -> 200 {provider, version, encrypted_key}
//	GET    /healthz                                            -> 200 {"status": "ok"}
//
// The bodies are the wire types of this package (AuthKeyRequestBody, …),
// shared by the Handler and the Client. key is a packed public key
// (attesta.PublicKey.Pack); a session goes in "Authorization: Bearer
// <session>" (RFC 6750). Handler.Register mounts the routes on any
// http.ServeMux with method patterns; Handler.ServeHTTP serves them on a
// mux of its own. Logout takes no body.
//
// # Embedding
//
// To serve the API under a prefix of a service's own mux, mount the
// Handler with http.StripPrefix, and give the Client the base URL with the
// prefix:
//
//	mux.Handle("/auth/", http.StripPrefix("/auth", h))
//	…
//	transport.NewClient("https://shop.example/auth").Connect(ctx, key, appToken)
//
// ExampleNewHandler does it end to end (a Store, the secret, the Service
// and its collector, a route of the service that trusts the sessions);
// package attesta's documentation says what an embedder must run.
//
// # Password login
//
// The endpoints of the second flow (see attesta.Service.AddIdentifier and
// what follows it) carry the Service's answers and nothing more:
//
//   - POST /v1/identifiers adds a login identifier: kind is "nickname",
//     "email" or "phone", value is what the user typed (the Service
//     normalises it). A free nickname is "active"; an email or phone is
//     "pending" and a code is sent to it — even one another party holds,
//     so that this endpoint does not tell who is registered.
//   - POST /v1/identifiers/confirm activates a pending email or phone with
//     its code. It answers 204: the only news is success, and GET
//     /v1/party lists the identifiers.
//   - DELETE /v1/identifiers removes an identifier, active or pending. It
//     takes a body, {kind, value}, because an identifier does not belong
//     in a URL (URLs are logged).
//   - GET /v1/party lists the identifiers by kind and hint (the server
//     keeps no identifier in clear): active ones by the time they were
//     added, then pending ones, which have no "added".
//   - PUT /v1/registry stores a block sealed with registry.Seal (its KDF
//     between the server's floors, kdf_too_weak, and the default client
//     ceilings, kdf_too_costly: a block no client would open is refused) under
//     compare-and-swap: version is the version the device last read (0
//     for none), the answer the new one; a registry changed since is 409
//     version_conflict, and the device reads it (GET /v1/registry with its
//     session), merges and puts again.
//   - GET /v1/registry?login=L fetches the registry of whoever holds the
//     login L (a nickname, an email with "@", a phone number starting with
//     "+"; see attesta.ParseLogin), without authentication; the
//     Authorization header is not read. The query must be exactly one
//     login parameter (anything else is 400 bad_request), and a login that
//     does not parse is 400 bad_identifier. A login that names no party,
//     or a party without a registry, is answered by the Service with a
//     decoy: 200, a block shaped like a real one and opened by no
//     password, the same on every call. Its version is always 1, for real
//     blocks too: a real version counts updates, which a decoy cannot
//     imitate; the owner reads the current version with its session. The
//     handler renders the Service's
//     answer without looking at it, and every refusal it makes before
//     (rate limits, query, login syntax) depends on the request alone, so
//     that the handler adds no difference, in the answer or its time,
//     between a login that exists and one that does not.
//
// The Client runs the flow: AddIdentifier, ConfirmIdentifier,
// RemoveIdentifier, PutRegistry, OwnRegistry, GetRegistry, and
// LoginWithPassword, which fetches the block by login, checks its KDF
// parameters against the Client's ceilings (WithCeilings, default
// kdf.DefaultCeilings()) before it derives anything — the block, and so
// its parameters, come from the server, which must not be able to make
// the device allocate 64 GiB —, opens it, parses its keys and connects
// with the first. A wrong password and an unknown login are the same
// error, registry.ErrWrongPassword.
//
// # Application instances
//
// The instance routes (instance.go) carry attesta.Service's answers:
// POST /v1/instance registers the session's key as an instance of the
// session's application and answers its TOKEN, GET /v1/instance/token
// answers it again, GET /v1/service_keys/{provider} answers the
// application's key for the provider encrypted to the session's key. The
// Client's ConnectInstance, InstanceToken and ServiceKey (which decrypts)
// drive them. WebhookEntitlements is an attesta.Entitlements that asks a
// payment system's URL, failing closed; the administration API has the
// operator's routes (entitlements, service keys; never a value out).
//
// # Formats
//
// A request body is JSON (Content-Type application/json, charset utf-8 if
// any) or CBOR (application/cbor); anything else is 415
// unsupported_media_type. The answer is in the format Accept prefers,
// else in the request's format; GET answers default to JSON. Answers carry
// Cache-Control: no-store.
//
// Decoding is strict in both formats, so that a body has one reading:
//
//   - JSON: exactly one object, whose members are exactly the type's
//     fields — none missing, none unknown, none twice, names spelled
//     exactly (encoding/json alone would match them case-insensitively and
//     keep the last duplicate) — and nothing after it but white space.
//     Binary fields (B64) are unpadded base64url (RFC 4648 §5) in its
//     canonical form only: no "=", no white space or line breaks, no
//     escapes, zero unused bits. Times are RFC 3339 strings in UTC.
//   - CBOR: internal/cborx, the project's one decoder: nesting, array and
//     map limits, no tags, no indefinite lengths, no unknown or duplicate
//     keys, no trailing bytes, and only the core deterministic encoding
//     (RFC 8949 §4.2.1), which also means every field is present. Binary
//     fields are byte strings; times are untagged integers of Unix
//     seconds (the deterministic configuration forbids tags), so a CBOR
//     expiry is the RFC 3339 one rounded down to the second.
//
// A body is at most HandlerConfig.MaxBodyBytes (64 KiB by default), read
// through http.MaxBytesReader; more is 413 too_large. PUT /v1/registry
// alone has a larger limit, HandlerConfig.MaxRegistryBodyBytes (90 KiB by
// default): room for a block of registry.MaxBlockSize (64 KiB) in
// base64url JSON (87,382 characters) with its field names. A block over
// registry.MaxBlockSize that fits the body is refused by the Service, with
// the same answer, 413 too_large.
//
// # Errors
//
// Every error answer is an RFC 9457 problem document, always
// application/problem+json even for a CBOR request (one format for errors
// keeps every client, proxy and log able to read them), with a stable
// code member clients branch on:
//
//	{"title": "Key is banned", "status": 403, "code": "key_banned"}
//
// The title is a fixed text per code; detail, when present, is a fixed
// text too. No answer carries the input, an expected value or the text of
// an internal error. type is omitted (about:blank): code identifies the
// problem. One table maps errors to answers, first match by errors.Is
// winning, and the Client reads it backwards, so errors.Is(err,
// attesta.ErrKeyBanned) holds on both sides:
//
//	error                          status  code
//	attesta.ErrEvenModulus         400     key_even_modulus
//	attesta.ErrBadExponent         400     key_bad_exponent
//	attesta.ErrBadKey              400     bad_key
//	attesta.ErrUnsupportedKey      400     unsupported_key
//	attesta.ErrKeyTooSmall         400     key_too_small
//	attesta.ErrKeyTooLarge         400     key_too_large
//	attesta.ErrPrivateKeyDisclosed 400     private_key_disclosed
//	attesta.ErrKeyBanned           403     key_banned
//	attesta.ErrBadAppToken         401     bad_app_token
//	attesta.ErrChallengeUnknown    400     challenge_unknown
//	attesta.ErrChallengeExpired    410     challenge_expired
//	attesta.ErrUnauthorized        401     unauthorized (WWW-Authenticate: Bearer)
//	attesta.ErrBadIdentifier       400     bad_identifier
//	attesta.ErrUnknownIdentifierKind 400   unknown_identifier_kind
//	attesta.ErrIdentifierTaken     409     identifier_taken
//	attesta.ErrIdentifierNotFound  404     identifier_not_found
//	attesta.ErrTooManyIdentifiers  409     too_many_identifiers
//	attesta.ErrCodeUnknown         400     code_unknown
//	attesta.ErrCodeExpired         410     code_expired
//	attesta.ErrWrongCode           400     wrong_code
//	attesta.ErrCodeTriesExhausted  400     code_tries_exhausted
//	attesta.ErrNoNotifier          501     no_notifier
//	attesta.ErrVersionConflict     409     version_conflict
//	attesta.ErrKDFTooWeak          400     kdf_too_weak
//	attesta.ErrKDFTooCostly        400     kdf_too_costly
//	attesta.ErrBadRegistry         400     bad_registry
//	ErrBadRequest                  400     bad_request
//	ErrUnsupportedMediaType        415     unsupported_media_type
//	ErrTooLarge                    413     too_large
//	attesta.ErrRegistryTooLarge    413     too_large
//	ErrRateLimited                 429     rate_limited (Retry-After)
//	ErrMethodNotAllowed            405     method_not_allowed (Allow)
//	ErrNotFound                    404     not_found
//	attesta.ErrNotFound            404     not_found
//	any other error                500     internal
//
// An even modulus and a bad exponent have codes of their own, and still
// match attesta.ErrBadKey and attesta.ErrUnsupportedKey on the client as
// their sentinels do. A disclosed private key is 400 like every other
// refused key: the request is wrong in itself, and the ban it caused shows
// as 403 key_banned from the next request on. challenge_unknown is 400,
// not 404, because it covers a token never issued, already used or
// collected — the server does not tell them apart — and a 404 would look
// like a wrong URL; an expired one is 410 Gone. bad_app_token is 401
// without WWW-Authenticate: the application token travels in the body,
// not in an authentication scheme. An internal error is logged at error
// level with its text, and answered without it.
//
// The identifier and registry codes follow the same lines. code_unknown
// is 400 like challenge_unknown: no pending verification, whether never
// started, already confirmed, voided or collected (or a nickname, which
// has no code). code_expired is 410 like challenge_expired. wrong_code
// and code_tries_exhausted are 400, not 429: waiting does not help, a
// voided verification needs a new code (POST /v1/identifiers again), and
// 429 stays the code of a wait (rate_limited).
// identifier_taken, too_many_identifiers and version_conflict are 409:
// conflicts with the server's state that the client resolves (another
// identifier, a removal, a merge). identifier_not_found is 404; it is
// about the party's own identifiers, so it tells nothing of anyone
// else's. no_notifier is 501: the server was not set up to send codes,
// which no request can fix. kdf_too_weak is 400 like key_too_small: the
// block is refused for a parameter it carries; seal again with
// kdf.Default() or kdf.Calibrate.
//
// Two codes stand for two sentinels each, one per condition a client has
// no use telling apart: too_large (the body limit, or a registry block
// over registry.MaxBlockSize: which one a block meets first depends on
// its encoding) matches ErrTooLarge and attesta.ErrRegistryTooLarge, and
// not_found (no endpoint, or no record: a party without a registry)
// matches ErrNotFound and attesta.ErrNotFound.
//
// # Rate limiting
//
// Two kinds of limits, on one rule: whoever asks spends its own budget —
// its address's, its party's — and never a victim's. No bucket here is
// keyed on something an attacker names but does not own (a login, an
// email, a public key) alone.
//
// The Handler's buckets are in memory, per process: they protect this
// process's CPU and answer cheaply.
//
//	endpoint                      bucket per        default: burst, then
//	POST /v1/auth_key_request     client address    40, then 20 a second, in units of
//	                                                server CPU (EncryptCost: RSA-2048 1,
//	                                                X25519 3, RSA-4096 11, RSA-16384 158)
//	POST /v1/auth_key_token       client address    40, then 20 a second
//	                              client address    100 new parties, then 100 an hour
//	GET  /v1/registry?login=      login and address 5, then 5 a minute
//	                              client address    10, then 30 a minute
//	POST /v1/identifiers          party             10, then 1 a minute
//	                              client address    10, then 30 a minute
//	POST /v1/identifiers/confirm  party             5, then 1 a minute
//	                              client address    10, then 30 a minute
//	PUT  /v1/registry             client address    10, then 1 a minute
//	POST /v1/instance             client address    20, then 30 a minute
//	GET  /v1/service_keys/{p}     client address    20, then 30 a minute, in units of
//	                                                server CPU, as auth_key_request
//
// An auth_key_request takes one unit before its body is read, and the
// rest of what its encryption cost once it is done (attesta.KeyRequest.Cost),
// into debt if need be: an address's budget is server CPU, whatever keys it
// sends, so that large RSA keys buy it no more work than small ones.
//
// (HandlerConfig: RatePerSecond and RateBurst, NewPartiesPerAddress,
// LoginPerIdentifierAndAddress, LoginPerAddress, AddPerParty,
// ConfirmPerParty, IdentifierPerAddress, RegistryPutPerAddress.) Each
// endpoint counts apart. Past a bucket the answer is 429 rate_limited
// with Retry-After in seconds. The address bucket comes first, before
// authentication and before the body or the query is read; the party
// bucket right after authentication; the login's once it has parsed (a
// malformed one takes no one's token).
//
// What must hold across server processes, because an attacker could
// spread its requests over them to gain guesses or sends, is counted by
// the Service in the store (attesta.Limits): the codes sent to one
// destination (a cooldown and a daily cap, whoever asks), by one party
// and by the server in all; the codes one party tries for one identifier
// in a day; the fetches of one login over every address. Those answer 429
// rate_limited too (attesta.ErrBudgetExhausted, with Retry-After).
//
// The address is the connection's (r.RemoteAddr). X-Forwarded-For is read
// only from a peer in HandlerConfig.TrustedProxies, from the right, past
// every trusted hop: the first other entry is the client. An IPv6 client
// counts as its /64. Every bucket table is bounded
// (HandlerConfig.MaxTrackedAddresses); when it is full, the idlest of a
// few sampled buckets is evicted: many addresses, parties or logins
// cannot grow memory, and a drained bucket is the last to go.
//
// Why the registry fetch is limited as it is. Guessing a password needs no
// server once the block is fetched: one fetch, then offline work, which
// only the KDF (the server's floors) and the password's strength bound.
// No rate limit changes that for one targeted account, and these do not
// try (password login by OPAQUE does). What they stop is harvesting:
// fetching the blocks of many logins to attack them all offline, at 30
// logins a minute per address instead of thousands a second. The bucket
// of a login is per address too, so that an attacker fetching it from its
// addresses never makes the owner wait at another; the Service's durable
// cap per login over every address (30, then 30 an hour) bounds what
// repetition can learn about one login. A known and an unknown login are
// limited alike. Login buckets are keyed on the login as normalised
// (attesta.ParseLogin), hashed with HMAC under a key the Handler draws
// when it is made, so that the table in memory lists no email or phone.
//
// Why confirmation is limited so. A code has six digits. The Service voids
// a pending verification after five wrong codes, and a new code needs a
// new send, which the destination's budget caps at one a minute and five,
// then five a day, whoever asks: so at most about fifty codes a day are
// tried against one identifier by every party together, and each party
// tries at most ten a day for one identifier however many codes it asks
// for. An even chance of confirming an email one does not receive takes
// tens of years. No bucket is the identifier's alone, so wrong codes from
// one party never stop the owner from confirming its own.
//
// # Logging
//
// One debug record per request: method, path, status, duration and code.
// The path is logged without its query, so a login never reaches the log.
// Bodies, tokens, sessions, application tokens, keys, identifiers, codes
// and registry blocks are never logged.
//
// # Metrics
//
// HandlerConfig.Observer is told of every request (its route, from the
// route table: Handler.Routes; its problem code; its duration) and of
// every refusal by one of the in-process buckets (by name:
// Handler.Buckets). None of them holds anything a client sent, so a
// metric labelled by them has a bounded number of series. attesta-server
// exports them to Prometheus (internal/metrics).
package transport
