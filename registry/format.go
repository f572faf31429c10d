package registry

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
)

// block is a parsed block.
type block struct {
	header []byte // the exact encoded header: the AEAD's associated data
	params kdf.Params
	nonce  []byte
	ct     []byte
}

func encodeHeader(kdfParams []byte, nonce []byte) []byte {
	b, err := cborx.Marshal([]any{uint64(Version), cbor.RawMessage(kdfParams), uint64(aeadXChaCha20Poly1305), nonce})
	if err != nil {
		panic("registry: encoding header: " + err.Error())
	}
	return b
}

func encodeBlock(header, ct []byte) []byte {
	b, err := cborx.Marshal([]any{cbor.RawMessage(header), ct})
	if err != nil {
		panic("registry: encoding block: " + err.Error())
	}
	return b
}

// blockSize is the length of encodeBlock's output for a header of
// headerLen bytes and a ciphertext of ctLen bytes.
func blockSize(headerLen, ctLen int) int {
	head := 1 // byte string head
	switch {
	case ctLen >= 1<<32:
		head += 8
	case ctLen >= 1<<16:
		head += 4
	case ctLen >= 1<<8:
		head += 2
	case ctLen >= 24:
		head += 1
	}
	return 1 + headerLen + head + ctLen
}

// parseBlock parses and checks everything that can be checked without the
// password.
func parseBlock(in []byte) (*block, error) {
	if len(in) > MaxBlockSize {
		return nil, ErrTooLarge
	}
	outer, err := decodeArray(in)
	if err != nil {
		return nil, err
	}
	if len(outer) != 2 {
		return nil, fmt.Errorf("%w: block has %d elements", ErrMalformed, len(outer))
	}
	fields, err := decodeArray(outer[0])
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: empty header", ErrMalformed)
	}
	version, err := decodeUint(fields[0])
	if err != nil {
		return nil, err
	}
	if version != Version {
		return nil, ErrUnsupportedVersion
	}
	if len(fields) != 4 {
		return nil, fmt.Errorf("%w: header has %d elements", ErrMalformed, len(fields))
	}

	b := &block{header: outer[0]}
	if b.params, err = kdf.Parse(fields[1]); err != nil {
		if errors.Is(err, kdf.ErrUnknownAlgorithm) {
			return nil, fmt.Errorf("registry: %w", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	aead, err := decodeUint(fields[2])
	if err != nil {
		return nil, err
	}
	if aead != aeadXChaCha20Poly1305 {
		return nil, ErrUnsupportedAEAD
	}
	if b.nonce, err = decodeBytes(fields[3]); err != nil {
		return nil, err
	}
	if len(b.nonce) != chacha20poly1305.NonceSizeX {
		return nil, fmt.Errorf("%w: nonce is %d bytes", ErrMalformed, len(b.nonce))
	}
	if b.ct, err = decodeBytes(outer[1]); err != nil {
		return nil, err
	}
	if n := len(b.ct) - chacha20poly1305.Overhead; n < PadBlock || n%PadBlock != 0 {
		return nil, fmt.Errorf("%w: ciphertext is %d bytes", ErrMalformed, len(b.ct))
	}

	// Core deterministic encoding gives a block one encoding; refuse any
	// other that the decoder let through (non-minimal heads).
	if string(encodeBlock(encodeHeader(b.params.Bytes(), b.nonce), b.ct)) != string(in) {
		return nil, fmt.Errorf("%w: not in canonical encoding", ErrMalformed)
	}
	return b, nil
}

func decodeArray(raw []byte) ([]cbor.RawMessage, error) {
	v, err := cborx.Array(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return v, nil
}

func decodeUint(raw []byte) (uint64, error) {
	v, err := cborx.Uint(raw)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return v, nil
}

func decodeBytes(raw []byte) ([]byte, error) {
	v, err := cborx.ByteString(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return v, nil
}
