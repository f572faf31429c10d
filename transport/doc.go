// Package transport is Attesta's HTTP layer: a Handler that serves the
// protocol of package attesta, and a Client that runs it.
//
// Handlers are thin, after smallstep's: decode the body, call the
// attesta.Service, map its error, render the answer. Every protocol
// decision (which keys, which tokens, bans, sessions) is the Service's.
//
// # Endpoints
//
//	POST /v1/auth_key_request  {key, app_token}   -> 200 {encrypted_token, expires_at}
//	POST /v1/auth_key_token    {token}            -> 200 {is_new, party_id, session, session_expires_at}
//	GET  /v1/party             Bearer session     -> 200 {party_id, created, keys: [{key_id, type, added}]}
//	POST /v1/logout            Bearer session     -> 204, the session is revoked
//	GET  /healthz                                 -> 200 {"status": "ok"}
//
// The bodies are the wire types of this package (AuthKeyRequestBody, …),
// shared by the Handler and the Client. key is a packed public key
// (attesta.PublicKey.Pack); a session goes in "Authorization: Bearer
// <session>" (RFC 6750). Handler.Register mounts the routes on any
// http.ServeMux with method patterns; Handler.ServeHTTP serves them on a
// mux of its own. Logout takes no body.
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
// through http.MaxBytesReader; more is 413 too_large.
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
//	attesta.ErrTooManyChallenges   429     too_many_challenges
//	attesta.ErrUnauthorized        401     unauthorized (WWW-Authenticate: Bearer)
//	ErrBadRequest                  400     bad_request
//	ErrUnsupportedMediaType        415     unsupported_media_type
//	ErrTooLarge                    413     too_large
//	ErrRateLimited                 429     rate_limited (Retry-After)
//	ErrMethodNotAllowed            405     method_not_allowed (Allow)
//	ErrNotFound                    404     not_found
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
// # Rate limiting
//
// Each client address has a token bucket on each challenge endpoint
// (auth_key_request and auth_key_token, counted apart): by default a burst
// of 40, then 20 a second. Past it the answer is 429 rate_limited with
// Retry-After in seconds, before the body is read. The address is the
// connection's (r.RemoteAddr); X-Forwarded-For is read only with
// HandlerConfig.TrustForwardedFor, and then only its last entry, the one
// the trusted proxy added. An IPv6 client counts as its /64. The bucket
// table of each endpoint is bounded (HandlerConfig.MaxTrackedAddresses);
// when it is full, the idlest of a few sampled buckets is evicted, so an
// attacker with many addresses can neither grow memory nor lock anyone
// out. The limiter is in memory, per process: behind several instances,
// rate-limit at the proxy too.
//
// # Logging
//
// One debug record per request: method, path, status, duration and code.
// Bodies, tokens, sessions, application tokens and keys are never logged.
package transport
