package testvectors_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/cborx"
	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
	"github.com/attesta-go/attesta/transport"
)

// Hex is a byte string written as lowercase hex in the vector files.
// Decoding accepts only that spelling, so that a file re-encodes to itself.
type Hex []byte

func (h Hex) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *Hex) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := hex.DecodeString(s)
	if err != nil || hex.EncodeToString(b) != s {
		return fmt.Errorf("not lowercase hex: %.20q", s)
	}
	*h = b
	return nil
}

// vectorBase is what every vector has: an id, unique in its file (the
// anchor docs/PROTOCOL.md cites), and a comment for people, never empty.
type vectorBase struct {
	ID      string `json:"id"`
	Comment string `json:"comment"`
}

func (v vectorBase) id() string      { return v.ID }
func (v vectorBase) comment() string { return v.Comment }

// encodeFile writes v as a vector file: two-space indentation, no HTML
// escaping, one trailing newline.
func encodeFile(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// loadFile decodes a vector file strictly into v (a pointer to a struct
// with a Vectors slice): unknown fields and trailing data fail, the file
// must be exactly what encodeFile writes for the decoded value (so no
// field is silently dropped or respelled), it must hold at least one
// vector, vector ids must be unique and non-empty, and every vector must
// have a comment.
func loadFile(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (go generate ./testvectors writes it)", err)
	}
	if err := decodeStrict(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	again, err := encodeFile(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("%s does not re-encode to the same bytes: edit the generator, not the file", name)
	}
	vs := reflect.ValueOf(v).Elem().FieldByName("Vectors")
	if !vs.IsValid() || vs.Len() == 0 {
		t.Fatalf("%s has no vectors", name)
	}
	seen := map[string]bool{}
	for i := range vs.Len() {
		v := vs.Index(i).Interface().(interface {
			id() string
			comment() string
		})
		id := v.id()
		if id == "" || seen[id] {
			t.Fatalf("%s: vector %d has an empty or duplicate id %q", name, i, id)
		}
		if v.comment() == "" {
			t.Fatalf("%s: vector %s has no comment", name, id)
		}
		seen[id] = true
	}
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// sentinels names every error a vector may expect. A vector naming
// anything else fails.
var sentinels = map[string]error{
	"attesta.ErrBadKey":                attesta.ErrBadKey,
	"attesta.ErrUnsupportedKey":        attesta.ErrUnsupportedKey,
	"attesta.ErrKeyTooSmall":           attesta.ErrKeyTooSmall,
	"attesta.ErrKeyTooLarge":           attesta.ErrKeyTooLarge,
	"attesta.ErrEvenModulus":           attesta.ErrEvenModulus,
	"attesta.ErrBadExponent":           attesta.ErrBadExponent,
	"attesta.ErrPrivateKeyDisclosed":   attesta.ErrPrivateKeyDisclosed,
	"attesta.ErrKeyBanned":             attesta.ErrKeyBanned,
	"attesta.ErrBadAppToken":           attesta.ErrBadAppToken,
	"attesta.ErrChallengeUnknown":      attesta.ErrChallengeUnknown,
	"attesta.ErrChallengeExpired":      attesta.ErrChallengeExpired,
	"attesta.ErrUnauthorized":          attesta.ErrUnauthorized,
	"attesta.ErrDecrypt":               attesta.ErrDecrypt,
	"attesta.ErrBadIdentifier":         attesta.ErrBadIdentifier,
	"attesta.ErrUnknownIdentifierKind": attesta.ErrUnknownIdentifierKind,
	"attesta.ErrIdentifierTaken":       attesta.ErrIdentifierTaken,
	"attesta.ErrIdentifierNotFound":    attesta.ErrIdentifierNotFound,
	"attesta.ErrTooManyIdentifiers":    attesta.ErrTooManyIdentifiers,
	"attesta.ErrCodeUnknown":           attesta.ErrCodeUnknown,
	"attesta.ErrCodeExpired":           attesta.ErrCodeExpired,
	"attesta.ErrWrongCode":             attesta.ErrWrongCode,
	"attesta.ErrCodeTriesExhausted":    attesta.ErrCodeTriesExhausted,
	"attesta.ErrNoNotifier":            attesta.ErrNoNotifier,
	"attesta.ErrVersionConflict":       attesta.ErrVersionConflict,
	"attesta.ErrNoIdentifier":          attesta.ErrNoIdentifier,
	"attesta.ErrAppExists":             attesta.ErrAppExists,
	"attesta.ErrAppNotFound":           attesta.ErrAppNotFound,
	"attesta.ErrBadAppName":            attesta.ErrBadAppName,
	"attesta.ErrBudgetExhausted":       attesta.ErrBudgetExhausted,
	"attesta.ErrKDFTooWeak":            attesta.ErrKDFTooWeak,
	"attesta.ErrKDFTooCostly":          attesta.ErrKDFTooCostly,
	"attesta.ErrBadRegistry":           attesta.ErrBadRegistry,
	"attesta.ErrRegistryTooLarge":      attesta.ErrRegistryTooLarge,
	"attesta.ErrNotFound":              attesta.ErrNotFound,
	"attesta.ErrNotInstance":           attesta.ErrNotInstance,
	"attesta.ErrNotSessionKey":         attesta.ErrNotSessionKey,
	"attesta.ErrBadInstanceToken":      attesta.ErrBadInstanceToken,
	"attesta.ErrNotEntitled":           attesta.ErrNotEntitled,
	"attesta.ErrServiceKeyNotFound":    attesta.ErrServiceKeyNotFound,
	"attesta.ErrBadProvider":           attesta.ErrBadProvider,
	"attesta.ErrBadServiceKey":         attesta.ErrBadServiceKey,
	"attesta.ErrEntitlementNotFound":   attesta.ErrEntitlementNotFound,

	"kdf.ErrMalformed":              kdf.ErrMalformed,
	"kdf.ErrUnknownAlgorithm":       kdf.ErrUnknownAlgorithm,
	"kdf.ErrAboveCeiling":           kdf.ErrAboveCeiling,
	"kdf.ErrBelowFloor":             kdf.ErrBelowFloor,
	"kdf.ErrMemoryAboveCeiling":     kdf.ErrMemoryAboveCeiling,
	"kdf.ErrTimeAboveCeiling":       kdf.ErrTimeAboveCeiling,
	"kdf.ErrThreadsAboveCeiling":    kdf.ErrThreadsAboveCeiling,
	"kdf.ErrScryptNAboveCeiling":    kdf.ErrScryptNAboveCeiling,
	"kdf.ErrIterationsAboveCeiling": kdf.ErrIterationsAboveCeiling,
	"kdf.ErrMemoryBelowFloor":       kdf.ErrMemoryBelowFloor,
	"kdf.ErrTimeBelowFloor":         kdf.ErrTimeBelowFloor,
	"kdf.ErrScryptNBelowFloor":      kdf.ErrScryptNBelowFloor,
	"kdf.ErrScryptRBelowFloor":      kdf.ErrScryptRBelowFloor,
	"kdf.ErrIterationsBelowFloor":   kdf.ErrIterationsBelowFloor,

	"registry.ErrWrongPassword":      registry.ErrWrongPassword,
	"registry.ErrMalformed":          registry.ErrMalformed,
	"registry.ErrUnsupportedVersion": registry.ErrUnsupportedVersion,
	"registry.ErrUnsupportedAEAD":    registry.ErrUnsupportedAEAD,
	"registry.ErrTooLarge":           registry.ErrTooLarge,

	"transport.ErrBadRequest":           transport.ErrBadRequest,
	"transport.ErrUnsupportedMediaType": transport.ErrUnsupportedMediaType,
	"transport.ErrTooLarge":             transport.ErrTooLarge,
	"transport.ErrRateLimited":          transport.ErrRateLimited,
	"transport.ErrMethodNotAllowed":     transport.ErrMethodNotAllowed,
	"transport.ErrNotFound":             transport.ErrNotFound,
	"transport.ErrInternal":             transport.ErrInternal,
}

// exactly reports whether err is exactly the error want names: it matches
// that sentinel with errors.Is, and no narrower sentinel that refines it
// (a vector naming attesta.ErrBadKey fails on attesta.ErrEvenModulus, one
// naming kdf.ErrAboveCeiling on kdf.ErrMemoryAboveCeiling). want "" means
// no error.
func exactly(err error, want string) error {
	if want == "" {
		if err != nil {
			return fmt.Errorf("unexpected error: %w", err)
		}
		return nil
	}
	s, ok := sentinels[want]
	if !ok {
		return fmt.Errorf("unknown error name %q", want)
	}
	if !errors.Is(err, s) {
		return fmt.Errorf("got error %v (%s), want %s", err, matching(err), want)
	}
	for name, other := range sentinels {
		if other != s && errors.Is(err, other) && errors.Is(other, s) {
			return fmt.Errorf("got error %v, which is the narrower %s; want %s", err, name, want)
		}
	}
	return nil
}

// matching lists the names of the sentinels err matches.
func matching(err error) string {
	var names []string
	for name, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return fmt.Sprint(names)
}

// checkError fails t unless err is exactly the error want names.
func checkError(t *testing.T, err error, want string) {
	t.Helper()
	if e := exactly(err, want); e != nil {
		t.Fatal(e)
	}
}

// expect is checkError for generators: a vector records the error the
// library returns, and generation stops if it is not the one the generator
// expects, so that a change of behaviour is a decision, not an accident.
func expect(t *testing.T, id string, err error, want string) string {
	t.Helper()
	if e := exactly(err, want); e != nil {
		t.Fatalf("%s: %v", id, e)
	}
	return want
}

// arr encodes the array of v in core deterministic encoding, for building
// inputs.
func arr(t *testing.T, v ...any) []byte {
	t.Helper()
	b, err := cborx.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// flip returns a copy of b with bit 0 of byte i changed (i < 0 counts from
// the end).
func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	if i < 0 {
		i += len(b)
	}
	b[i] ^= 1
	return b
}
