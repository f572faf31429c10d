package transport

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// B64 is a binary field of a wire type. In JSON it is a string in unpadded
// base64url (RFC 4648 §5, no "=" padding), in CBOR a byte string.
//
// Decoding is strict so that a value has one spelling: only the 64
// characters of the URL-safe alphabet may appear (no padding, no white space,
// no line breaks — encoding/base64 would skip CR and LF — and no JSON
// escapes), and the unused low bits of the last character must be zero.
// JSON null is refused: a binary field is never absent on the wire.
type B64 []byte

// errB64 is the one error of B64 decoding. It names no input byte.
var errB64 = errors.New("transport: binary field is not unpadded base64url")

// MarshalJSON encodes b as a JSON string in unpadded base64url.
func (b B64) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, base64.RawURLEncoding.EncodedLen(len(b))+2)
	out = append(out, '"')
	out = base64.RawURLEncoding.AppendEncode(out, b)
	return append(out, '"'), nil
}

// UnmarshalJSON decodes a JSON string in strict unpadded base64url.
func (b *B64) UnmarshalJSON(data []byte) error {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return errB64
	}
	s := data[1 : len(data)-1]
	// The strict decoder refuses every byte outside the alphabet but CR
	// and LF, which it skips.
	if bytes.IndexByte(s, '\r') >= 0 || bytes.IndexByte(s, '\n') >= 0 {
		return errB64
	}
	out, err := base64.RawURLEncoding.Strict().AppendDecode(make([]byte, 0, base64.RawURLEncoding.DecodedLen(len(s))), s)
	if err != nil {
		return errB64
	}
	*b = out
	return nil
}
