package transport

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// Errors of the HTTP layer itself, beside the attesta sentinels. A Client
// returns them as a *Problem that matches them with errors.Is.
var (
	// ErrBadRequest: the body is not one well-formed value of the
	// endpoint's type (bad JSON or CBOR, bad base64url, unknown, duplicate
	// or missing fields, trailing data).
	ErrBadRequest = errors.New("transport: bad request")
	// ErrUnsupportedMediaType: the request's Content-Type is neither
	// application/json nor application/cbor.
	ErrUnsupportedMediaType = errors.New("transport: unsupported media type")
	// ErrTooLarge: the request body is over HandlerConfig.MaxBodyBytes
	// (MaxRegistryBodyBytes for PUT /v1/registry).
	ErrTooLarge = errors.New("transport: request body too large")
	// ErrRateLimited: the client address, or the party or login the
	// request is for, is over its rate on this endpoint;
	// Problem.RetryAfter says when to try again.
	ErrRateLimited = errors.New("transport: rate limited")
	// ErrMethodNotAllowed: the path exists but not with this method.
	ErrMethodNotAllowed = errors.New("transport: method not allowed")
	// ErrNotFound: no endpoint has this path.
	ErrNotFound = errors.New("transport: not found")
	// ErrInternal: the server failed; the details are in its log only.
	ErrInternal = errors.New("transport: internal server error")
)

// ErrNoKey is the Client's own: LoginWithPassword opened a registry that
// holds no private key, so there is nothing to connect with.
var ErrNoKey = errors.New("transport: the registry holds no private key")

// problemRow is one line of the error table.
type problemRow struct {
	err    error
	status int
	code   string
	title  string
}

// problems is the one table between errors and answers. The handler picks
// the first row whose error matches with errors.Is, so a narrow sentinel
// comes before the broad one it also matches (ErrEvenModulus is also
// ErrBadKey). The Client reads it backwards, from code to sentinel: a code
// stands for the sentinels of every row that carries it. Two codes have
// two rows, each for one condition the server cannot or need not tell
// apart: too_large (a body over the endpoint's limit, or a registry block
// over registry.MaxBlockSize — which one a block hits first depends on its
// encoding) and not_found (a path without an endpoint, or a record the
// Service does not have). Their rows have the same status and title.
//
// Titles are fixed texts: an answer never carries the input, an expected
// value or the text of an internal error.
var problems = []problemRow{
	{attesta.ErrEvenModulus, http.StatusBadRequest, "key_even_modulus", "RSA modulus is even"},
	{attesta.ErrBadExponent, http.StatusBadRequest, "key_bad_exponent", "RSA public exponent is not 65537"},
	{attesta.ErrBadKey, http.StatusBadRequest, "bad_key", "Malformed key"},
	{attesta.ErrUnsupportedKey, http.StatusBadRequest, "unsupported_key", "Unsupported key type"},
	{attesta.ErrKeyTooSmall, http.StatusBadRequest, "key_too_small", "RSA key too small"},
	{attesta.ErrKeyTooLarge, http.StatusBadRequest, "key_too_large", "RSA key too large"},
	{attesta.ErrPrivateKeyDisclosed, http.StatusBadRequest, "private_key_disclosed", "Private key disclosed"},
	{attesta.ErrKeyBanned, http.StatusForbidden, "key_banned", "Key is banned"},
	{attesta.ErrBadAppToken, http.StatusUnauthorized, "bad_app_token", "Bad application token"},
	{attesta.ErrChallengeUnknown, http.StatusBadRequest, "challenge_unknown", "Unknown or used challenge token"},
	{attesta.ErrChallengeExpired, http.StatusGone, "challenge_expired", "Challenge expired"},
	{attesta.ErrUnauthorized, http.StatusUnauthorized, "unauthorized", "Unauthorized"},
	{attesta.ErrBadIdentifier, http.StatusBadRequest, "bad_identifier", "Malformed identifier"},
	{attesta.ErrUnknownIdentifierKind, http.StatusBadRequest, "unknown_identifier_kind", "Unknown identifier kind"},
	{attesta.ErrIdentifierTaken, http.StatusConflict, "identifier_taken", "Identifier taken"},
	{attesta.ErrIdentifierNotFound, http.StatusNotFound, "identifier_not_found", "Identifier not found"},
	{attesta.ErrTooManyIdentifiers, http.StatusConflict, "too_many_identifiers", "Too many identifiers of this kind"},
	{attesta.ErrCodeUnknown, http.StatusBadRequest, "code_unknown", "No pending verification"},
	{attesta.ErrCodeExpired, http.StatusGone, "code_expired", "Verification code expired"},
	{attesta.ErrWrongCode, http.StatusBadRequest, "wrong_code", "Wrong verification code"},
	{attesta.ErrCodeTriesExhausted, http.StatusBadRequest, "code_tries_exhausted", "Too many wrong codes"},
	{attesta.ErrNoNotifier, http.StatusNotImplemented, "no_notifier", "The server cannot send verification codes"},
	{attesta.ErrNoIdentifier, http.StatusConflict, "no_identifier", "The party has no active login identifier"},
	{attesta.ErrVersionConflict, http.StatusConflict, "version_conflict", "Registry version conflict"},
	{attesta.ErrKDFTooWeak, http.StatusBadRequest, "kdf_too_weak", "Registry KDF below the server's floors"},
	{attesta.ErrKDFTooCostly, http.StatusBadRequest, "kdf_too_costly", "Registry KDF above what clients will run"},
	{attesta.ErrBadRegistry, http.StatusBadRequest, "bad_registry", "Malformed registry block"},
	{attesta.ErrBadAppName, http.StatusBadRequest, "bad_app_name", "Bad application name"},
	{attesta.ErrAppExists, http.StatusConflict, "app_exists", "Application exists"},
	{attesta.ErrAppNotFound, http.StatusNotFound, "app_not_found", "Application not found"},
	{attesta.ErrNotInstance, http.StatusForbidden, "not_instance", "Not an application instance"},
	{attesta.ErrNotSessionKey, http.StatusBadRequest, "not_session_key", "Not the key the session connected with"},
	{attesta.ErrBadInstanceToken, http.StatusBadRequest, "bad_instance_token", "Bad instance token"},
	{attesta.ErrNotEntitled, http.StatusForbidden, "not_entitled", "Not entitled"},
	{attesta.ErrServiceKeyNotFound, http.StatusNotFound, "service_key_not_found", "No service key for this provider"},
	{attesta.ErrBadProvider, http.StatusBadRequest, "bad_provider", "Bad provider name"},
	{attesta.ErrBadServiceKey, http.StatusBadRequest, "bad_service_key", "Service key empty or too large"},
	{attesta.ErrEntitlementNotFound, http.StatusNotFound, "entitlement_not_found", "No such entitlement"},
	{ErrBadRequest, http.StatusBadRequest, "bad_request", "Bad request"},
	{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type"},
	{ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large", "Request body too large"},
	{attesta.ErrRegistryTooLarge, http.StatusRequestEntityTooLarge, "too_large", "Request body too large"},
	{ErrRateLimited, http.StatusTooManyRequests, "rate_limited", "Too many requests"},
	{attesta.ErrBudgetExhausted, http.StatusTooManyRequests, "rate_limited", "Too many requests"},
	{ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed"},
	{ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{attesta.ErrNotFound, http.StatusNotFound, "not_found", "Not found"},
	{ErrInternal, http.StatusInternalServerError, "internal", "Internal server error"},
}

// rowOf returns the row of the first sentinel err matches, or nil.
func rowOf(err error) *problemRow {
	for i := range problems {
		if errors.Is(err, problems[i].err) {
			return &problems[i]
		}
	}
	return nil
}

// Error describes the problem. Its text comes from the server.
func (p *Problem) Error() string {
	if p.Code == "" {
		return fmt.Sprintf("transport: server answered %d %s", p.Status, p.Title)
	}
	return fmt.Sprintf("transport: server answered %d %s: %s", p.Status, p.Code, p.Title)
}

// Is reports whether a sentinel p's Code stands for matches target, so
// that errors.Is(err, attesta.ErrKeyBanned) works on the client side as on
// the server side (and a key_even_modulus problem is also
// attesta.ErrBadKey; a not_found problem is both ErrNotFound and
// attesta.ErrNotFound). A problem with an unknown code matches nothing.
func (p *Problem) Is(target error) bool {
	if p.Code == "" {
		return false
	}
	for i := range problems {
		if problems[i].code == p.Code && errors.Is(problems[i].err, target) {
			return true
		}
	}
	return false
}

// requestError is an error of the HTTP layer with a fixed detail text for
// the answer (never derived from the input).
type requestError struct {
	err    error // a sentinel of the table
	detail string
}

func (e *requestError) Error() string { return e.err.Error() + ": " + e.detail }
func (e *requestError) Unwrap() error { return e.err }

func badRequest(detail string) error { return &requestError{err: ErrBadRequest, detail: detail} }

// rateLimitError carries the wait before the next allowed request, and
// the name of the bucket that refused it (for metrics).
type rateLimitError struct {
	retryAfter time.Duration
	bucket     string
}

func (e *rateLimitError) Error() string { return ErrRateLimited.Error() }
func (e *rateLimitError) Unwrap() error { return ErrRateLimited }

// methodError carries the Allow header of a 405 answer.
type methodError struct{ allow string }

func (e *methodError) Error() string { return ErrMethodNotAllowed.Error() }
func (e *methodError) Unwrap() error { return ErrMethodNotAllowed }
