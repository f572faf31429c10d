package registry

import (
	"fmt"
	"github.com/attesta-go/attesta/internal/cborx"
	"time"
)

// Plaintext is what a block protects.
type Plaintext struct {
	// PartyID is the party's identifier on the server.
	PartyID string
	// Keys are the party's packed private keys, opaque to this package.
	Keys [][]byte
	// Created is when the registry was made; it is stored to the second,
	// and Open returns it in UTC. The zero Time is not stored.
	Created time.Time
	// AppData holds the application's own entries.
	AppData map[string][]byte
}

// plaintextWire is the plaintext map. Empty fields are omitted, so that
// each Plaintext has one encoding; Created is a pointer so that the Unix
// epoch (0) is stored and the zero Time is not.
type plaintextWire struct {
	PartyID string            `cbor:"1,keyasint,omitempty"`
	Keys    [][]byte          `cbor:"2,keyasint,omitempty"`
	Created *int64            `cbor:"3,keyasint,omitempty"`
	AppData map[string][]byte `cbor:"4,keyasint,omitempty"`
}

// pad encodes pt and appends zero bytes up to the next multiple of
// PadBlock. It refuses, with ErrTooLarge or ErrMalformed, anything that
// decodePadded would refuse.
func (pt Plaintext) pad() ([]byte, error) {
	w := plaintextWire{PartyID: pt.PartyID, Keys: pt.Keys, AppData: pt.AppData}
	if !pt.Created.IsZero() {
		s := pt.Created.Unix()
		w.Created = &s
	}
	b, err := cborx.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(b) > MaxBlockSize {
		return nil, ErrTooLarge
	}
	padded := make([]byte, (len(b)+PadBlock-1)/PadBlock*PadBlock)
	copy(padded, b)
	clear(b)
	// Seal nothing that Open would refuse, such as a string that is not
	// UTF-8 or more keys than the decoder allows.
	if _, err := decodePadded(padded); err != nil {
		return nil, err
	}
	return padded, nil
}

// decodePadded decodes one plaintext map and requires the rest to be zero
// bytes. On error it returns the zero Plaintext.
func decodePadded(padded []byte) (Plaintext, error) {
	if len(padded) == 0 || padded[0]>>5 != 5 { // major type 5: map
		return Plaintext{}, fmt.Errorf("%w: plaintext is not a map", ErrMalformed)
	}
	var w plaintextWire
	rest, err := cborx.UnmarshalFirst(padded, &w) // up to 1024 keys and entries
	if err != nil {
		return Plaintext{}, fmt.Errorf("%w: plaintext: %v", ErrMalformed, err)
	}
	for _, c := range rest {
		if c != 0 {
			return Plaintext{}, fmt.Errorf("%w: non-zero padding", ErrMalformed)
		}
	}
	re, err := cborx.Marshal(w)
	if err != nil || string(re) != string(padded[:len(padded)-len(rest)]) {
		return Plaintext{}, fmt.Errorf("%w: plaintext not in canonical encoding", ErrMalformed)
	}
	clear(re)
	pt := Plaintext{PartyID: w.PartyID, Keys: w.Keys, AppData: w.AppData}
	if w.Created != nil {
		pt.Created = time.Unix(*w.Created, 0).UTC()
		if pt.Created.IsZero() { // the zero Time is stored by leaving key 3 out
			return Plaintext{}, fmt.Errorf("%w: plaintext not in canonical encoding", ErrMalformed)
		}
	}
	return pt, nil
}
