package transport

import (
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// Wire types: the bodies of every endpoint, shared by the handlers and the
// Client. In JSON, []byte fields are unpadded base64url strings (see B64);
// in CBOR they are byte strings. Times are RFC 3339 strings (UTC) in JSON
// and untagged integers of Unix seconds in CBOR, as internal/cborx's core
// deterministic configuration encodes them (it forbids tags). The handlers
// put every time through wireTime, so that both formats carry whole
// seconds and say the same instant.

// wireTime is t as an answer carries it: in UTC and rounded down to the
// second (JSON would otherwise carry nanoseconds that CBOR drops).
func wireTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// AuthKeyRequestBody is the body of POST /v1/auth_key_request.
type AuthKeyRequestBody struct {
	Key      B64    `json:"key" cbor:"key"`
	AppToken string `json:"app_token" cbor:"app_token"`
}

// AuthKeyRequestResponse answers POST /v1/auth_key_request.
type AuthKeyRequestResponse struct {
	EncryptedToken B64       `json:"encrypted_token" cbor:"encrypted_token"`
	ExpiresAt      time.Time `json:"expires_at" cbor:"expires_at"`
}

// AuthKeyTokenBody is the body of POST /v1/auth_key_token.
type AuthKeyTokenBody struct {
	Token B64 `json:"token" cbor:"token"`
}

// AuthKeyTokenResponse answers POST /v1/auth_key_token.
type AuthKeyTokenResponse struct {
	IsNew            bool      `json:"is_new" cbor:"is_new"`
	PartyID          string    `json:"party_id" cbor:"party_id"`
	Session          string    `json:"session" cbor:"session"`
	SessionExpiresAt time.Time `json:"session_expires_at" cbor:"session_expires_at"`
}

// PartyResponse answers GET /v1/party.
type PartyResponse struct {
	PartyID     string            `json:"party_id" cbor:"party_id"`
	Created     time.Time         `json:"created" cbor:"created"`
	Keys        []PartyKey        `json:"keys" cbor:"keys"`
	Identifiers []PartyIdentifier `json:"identifiers" cbor:"identifiers"`
}

// PartyIdentifier is one login identifier of a party, as the server knows
// it: its kind and a hint (attesta.Identifier.Hint), never its value.
// Pending is true for an email or phone whose code is not yet confirmed;
// Added is absent while it is pending.
type PartyIdentifier struct {
	Kind    attesta.IdentifierKind `json:"kind" cbor:"kind"`
	Hint    string                 `json:"hint" cbor:"hint"`
	Pending bool                   `json:"pending" cbor:"pending"`
	Added   time.Time              `json:"added,omitzero" cbor:"added,omitzero"`
}

// IdentifierBody is the body of POST /v1/identifiers and DELETE
// /v1/identifiers: a kind ("nickname", "email" or "phone") and a value,
// which the server normalises.
type IdentifierBody struct {
	Kind  attesta.IdentifierKind `json:"kind" cbor:"kind"`
	Value string                 `json:"value" cbor:"value"`
}

// AddIdentifierResponse answers POST /v1/identifiers: "active" (a free
// nickname, or an identifier the party holds already) or "pending" (a code
// was sent to the email or phone).
type AddIdentifierResponse struct {
	Status attesta.IdentifierStatus `json:"status" cbor:"status"`
}

// ConfirmIdentifierBody is the body of POST /v1/identifiers/confirm.
type ConfirmIdentifierBody struct {
	Kind  attesta.IdentifierKind `json:"kind" cbor:"kind"`
	Value string                 `json:"value" cbor:"value"`
	Code  string                 `json:"code" cbor:"code"`
}

// PutRegistryBody is the body of PUT /v1/registry: a sealed registry block
// and the version it replaces (0 if the party has none yet).
type PutRegistryBody struct {
	Registry B64    `json:"registry" cbor:"registry"`
	Version  uint64 `json:"version" cbor:"version"`
}

// PutRegistryResponse answers PUT /v1/registry with the new version.
type PutRegistryResponse struct {
	Version uint64 `json:"version" cbor:"version"`
}

// RegistryResponse answers GET /v1/registry: a sealed registry block and
// its version.
type RegistryResponse struct {
	Registry B64    `json:"registry" cbor:"registry"`
	Version  uint64 `json:"version" cbor:"version"`
}

// PartyKey is one key of a party.
type PartyKey struct {
	KeyID string    `json:"key_id" cbor:"key_id"`
	Type  string    `json:"type" cbor:"type"`
	Added time.Time `json:"added" cbor:"added"`
}

// Problem is an RFC 9457 problem document, the body of every error answer
// (always application/problem+json). Code is stable: clients branch on it.
// It is also the error the Client returns for an error answer; errors.Is
// matches it against the attesta sentinel its Code stands for.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
	// RetryAfter is the Retry-After of a 429 answer (client side only).
	RetryAfter time.Duration `json:"-"`
}
