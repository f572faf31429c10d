package transport

import "time"

// Wire types: the bodies of every endpoint, shared by the handlers and the
// Client. In JSON, []byte fields are unpadded base64url strings (see B64);
// in CBOR they are byte strings. Times are RFC 3339 strings (UTC) in JSON
// and untagged integers of Unix seconds in CBOR, as internal/cborx's core
// deterministic configuration encodes them (it forbids tags).

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
	PartyID string     `json:"party_id" cbor:"party_id"`
	Created time.Time  `json:"created" cbor:"created"`
	Keys    []PartyKey `json:"keys" cbor:"keys"`
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
