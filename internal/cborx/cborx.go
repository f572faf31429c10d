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
	if enc, err = eo.EncMode(); err != nil {
		panic(err)
	}
	dec, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   8,
		MaxArrayElements:  64,
		MaxMapPairs:       64,
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
// sizes (64), no tags, no indefinite lengths, no duplicate or unknown map
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
