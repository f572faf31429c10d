// Package cborx holds Attesta's one CBOR configuration: core deterministic
// encoding (RFC 8949 §4.2.1) and a strict decoder with explicit limits.
//
// Every structure Attesta defines has exactly one encoding. Decode enforces
// that: after a successful decode the value is encoded again and must give
// back the input bytes, so non-minimal integers, unsorted or duplicate map
// keys, indefinite lengths and trailing bytes are all refused.
package cborx

import (
	"bytes"
	"errors"

	"github.com/fxamacker/cbor/v2"
)

// ErrNonCanonical reports input that decodes but is not in core
// deterministic encoding.
var ErrNonCanonical = errors.New("cbor: not in deterministic encoding")

var (
	enc cbor.EncMode
	dec cbor.DecMode
)

func init() {
	var err error
	eo := cbor.CoreDetEncOptions()
	eo.Time = cbor.TimeUnix
	// A nil byte string or array is an empty one, never null, so that a
	// value has one encoding.
	eo.NilContainers = cbor.NilContainerAsEmpty
	if enc, err = eo.EncMode(); err != nil {
		panic(err)
	}
	dec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   8,
		MaxArrayElements:  1024,
		MaxMapPairs:       1024,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes v in core deterministic encoding.
func Marshal(v any) ([]byte, error) { return enc.Marshal(v) }

// Decode decodes data into v strictly: limits on nesting (8), array and map
// sizes (1024), no tags, no indefinite lengths, no duplicate or unknown map
// keys, no trailing bytes, and the input must be the deterministic encoding
// of the decoded value. The caller bounds len(data) before calling.
func Decode(data []byte, v any) error {
	if err := dec.Unmarshal(data, v); err != nil {
		return err
	}
	again, err := enc.Marshal(v)
	if err != nil {
		return err
	}
	if !bytes.Equal(again, data) {
		return ErrNonCanonical
	}
	return nil
}

// Wellformed reports whether data is one well-formed CBOR item within the
// decoder's limits, without decoding it into a value.
func Wellformed(data []byte) error { return dec.Wellformed(data) }

// Unmarshal decodes data into v with the strict decoder, without the
// re-encoding check (for callers that check canonical form on a value of
// their own).
func Unmarshal(data []byte, v any) error { return dec.Unmarshal(data, v) }

// UnmarshalFirst decodes the first item of data into v with the strict
// decoder and returns the bytes after it.
func UnmarshalFirst(data []byte, v any) (rest []byte, err error) {
	return dec.UnmarshalFirst(data, v)
}

// ErrUnexpectedType reports an item of another major type than required.
var ErrUnexpectedType = errors.New("cbor: unexpected item type")

// Major types (RFC 8949 §3.1).
const (
	majorUint  = 0
	majorBytes = 2
	majorArray = 4
)

func major(raw []byte, want byte) error {
	if len(raw) == 0 || raw[0]>>5 != want {
		return ErrUnexpectedType
	}
	return nil
}

// Array decodes one array into its raw items.
func Array(raw []byte) ([]cbor.RawMessage, error) {
	if err := major(raw, majorArray); err != nil {
		return nil, err
	}
	var v []cbor.RawMessage
	if err := dec.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Uint decodes an unsigned integer, refusing every other type (null
// included, which the decoder would otherwise turn into zero).
func Uint(raw []byte) (uint64, error) {
	if err := major(raw, majorUint); err != nil {
		return 0, err
	}
	var v uint64
	err := dec.Unmarshal(raw, &v)
	return v, err
}

// ByteString decodes a byte string, refusing every other type.
func ByteString(raw []byte) ([]byte, error) {
	if err := major(raw, majorBytes); err != nil {
		return nil, err
	}
	var v []byte
	if err := dec.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}
