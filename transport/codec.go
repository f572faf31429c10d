package transport

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/attesta-go/attesta/internal/cborx"
)

// Media types.
const (
	mediaJSON    = "application/json"
	mediaCBOR    = "application/cbor"
	mediaProblem = "application/problem+json"
)

// The Content-Type values of answers (see writeBody).
var (
	jsonType    = []string{mediaJSON}
	cborType    = []string{mediaCBOR}
	problemType = []string{mediaProblem}
)

// format is a body encoding.
type format int

const (
	formatJSON format = iota
	formatCBOR
)

func (f format) mediaType() string {
	if f == formatCBOR {
		return mediaCBOR
	}
	return mediaJSON
}

// requestFormat reads the Content-Type of a request with a body. It must
// be present once and be application/json (charset, if given, utf-8) or
// application/cbor.
func requestFormat(r *http.Request) (format, error) {
	vs := r.Header.Values("Content-Type")
	if len(vs) != 1 {
		return 0, &requestError{ErrUnsupportedMediaType, "Content-Type must be application/json or application/cbor"}
	}
	// The two plain spellings, without parsing (which allocates).
	switch vs[0] {
	case mediaJSON:
		return formatJSON, nil
	case mediaCBOR:
		return formatCBOR, nil
	}
	mt, params, err := mime.ParseMediaType(vs[0])
	if err == nil {
		switch mt {
		case mediaJSON:
			if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
				return formatJSON, nil
			}
		case mediaCBOR:
			return formatCBOR, nil
		}
	}
	return 0, &requestError{ErrUnsupportedMediaType, "Content-Type must be application/json or application/cbor"}
}

// responseFormat picks the answer's format from Accept. def (the request's
// format, JSON for a request without a body) wins unless Accept prefers the
// other format by a higher q, or refuses def with q=0 and does not refuse
// the other. Accept naming neither type, only wildcards, or refusing both
// is disregarded (RFC 9110 §12.5.1 allows it): the answer is in def.
func responseFormat(r *http.Request, def format) format {
	q := [2]float64{-1, -1} // -1: not named
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			w := 1.0
			if s, ok := params["q"]; ok {
				if w, err = strconv.ParseFloat(s, 64); err != nil || !(w >= 0 && w <= 1) {
					continue
				}
			}
			switch mt {
			case mediaJSON:
				q[formatJSON] = max(q[formatJSON], w)
			case mediaCBOR:
				q[formatCBOR] = max(q[formatCBOR], w)
			}
		}
	}
	other := 1 - def
	if qo, qd := q[other], q[def]; qo > 0 && qo > qd || qd == 0 && qo != 0 {
		return other
	}
	return def
}

// readBody reads the whole body, at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, ErrTooLarge
	}
	// A declared length sizes the buffer at once (and one byte more, to
	// read the end without growing it); io.ReadAll would start at 512
	// bytes and grow.
	size := int64(512)
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1
	}
	b, err := readAll(http.MaxBytesReader(w, r.Body, limit), make([]byte, 0, size))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, badRequest("the body could not be read")
	}
	return b, nil
}

// readAll is io.ReadAll into b.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// decodeBody decodes data, in format f, into v, a pointer to a wire struct.
func decodeBody(f format, data []byte, v any) error {
	if f == formatCBOR {
		// cborx is the project's strict decoder: limits, no tags, no
		// unknown or duplicate keys, no trailing bytes, and only the core
		// deterministic encoding, so every field must be present.
		if err := cborx.Decode(data, v); err != nil {
			return badRequest("the body is not the deterministic CBOR encoding of the expected map")
		}
		return nil
	}
	return decodeJSON(data, v)
}

// decodeJSON decodes one JSON object into v strictly. encoding/json alone
// takes the last of duplicate members, matches names case-insensitively
// and leaves absent fields at zero, so a body is accepted only if it is
// one object whose members are exactly v's fields, each once, spelled
// exactly, followed by nothing but white space.
//
// Most bodies are flat objects of plain strings, booleans and integers:
// decodeFlat reads those in one pass. Anything else it does not take
// (an escape, a null, a nested value, any defect at all) goes to
// decodeJSONStrict, the reference, which decides the answer and its
// detail text. decodeFlat accepts only what decodeJSONStrict accepts and
// decodes it to the same value (TestDecodeFlatAgrees, FuzzDecodeJSON).
func decodeJSON(data []byte, v any) error {
	// encoding/json would replace invalid UTF-8 with U+FFFD, so that two
	// different bodies meant the same: refuse it, as the CBOR decoder does.
	if !utf8.Valid(data) {
		return badRequest("the body is not valid UTF-8")
	}
	if decodeFlat(data, v) {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero() // what decodeFlat may have set
	return decodeJSONStrict(data, v)
}

// decodeJSONStrict is decodeJSON's reference: a first pass over the
// tokens checks the object's members, then encoding/json decodes it.
func decodeJSONStrict(data []byte, v any) error {
	names := wireTypeOf(v).names
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return badRequest("the body is not a JSON object")
	}
	seen := make(map[string]bool, len(names))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return badRequest("the body is not valid JSON")
		}
		name, _ := t.(string)
		if _, ok := names[name]; !ok {
			return badRequest("the body has an unknown field")
		}
		if seen[name] {
			return badRequest("the body has a duplicate field")
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return badRequest("the body is not valid JSON")
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return badRequest("the body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body has data after the JSON value")
	}
	if len(seen) != len(names) {
		return badRequest("the body lacks a field")
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, errB64) {
			return badRequest("a binary field is not unpadded base64url")
		}
		return badRequest("a field has the wrong type")
	}
	return nil
}

// wireType is what the codec knows of a wire struct, worked out once per
// type.
type wireType struct {
	// names are the JSON member names of its fields.
	names map[string]struct{}
	// fields are its fields by JSON name, for decodeFlat and appendFlat;
	// nil if a field is of a kind they do not handle.
	fields map[string]*wireField
	// order is fields in the struct's order (JSON's order when encoding).
	order []*wireField
}

type wireField struct {
	name      string
	index     int
	kind      fieldKind
	bit       uint64 // decodeFlat's bit for the field
	omitEmpty bool   // a string with ",omitempty"
	omitZero  bool   // a time with ",omitzero"
	quoted    []byte // `"name":`, as appendFlat writes it
}

type fieldKind int

const (
	kindString fieldKind = iota // a string, or a named string type
	kindBool
	kindUint // uint64 and smaller unsigned integers
	kindInt  // int64 and smaller signed integers (encoding only)
	kindB64
	kindTime // time.Time (encoding only)
)

var (
	wireTypes    sync.Map // reflect.Type -> *wireType
	b64Type      = reflect.TypeFor[B64]()
	timeType     = reflect.TypeFor[time.Time]()
	unmarshalerT = reflect.TypeFor[json.Unmarshaler]()
	marshalerT   = reflect.TypeFor[json.Marshaler]()
	textUnmarshT = reflect.TypeFor[encoding.TextUnmarshaler]()
	textMarshT   = reflect.TypeFor[encoding.TextMarshaler]()
)

// wireTypeOf returns the wireType of the struct v points to.
func wireTypeOf(v any) *wireType { return wireTypeFor(reflect.TypeOf(v).Elem()) }

// wireTypeFor returns the wireType of struct type t.
func wireTypeFor(t reflect.Type) *wireType {
	if wt, ok := wireTypes.Load(t); ok {
		return wt.(*wireType)
	}
	wt := newWireType(t)
	wireTypes.Store(t, wt)
	return wt
}

func newWireType(t reflect.Type) *wireType {
	wt := &wireType{names: map[string]struct{}{}, fields: map[string]*wireField{}}
	flat := t.NumField() <= 64
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		wt.names[name] = struct{}{}
		wf := &wireField{name: name, index: f.Index[0], bit: 1 << len(wt.order)}
		switch {
		case f.Anonymous || !isPlainName(name):
			flat = false
		case opts == "omitempty" && f.Type.Kind() == reflect.String:
			wf.omitEmpty = true
		case opts == "omitzero" && f.Type == timeType:
			wf.omitZero = true
		case opts != "":
			flat = false
		}
		switch ft := f.Type; {
		case ft == b64Type:
			wf.kind = kindB64
		case ft == timeType:
			wf.kind = kindTime
		case ft.Implements(marshalerT) || reflect.PointerTo(ft).Implements(unmarshalerT) ||
			ft.Implements(textMarshT) || reflect.PointerTo(ft).Implements(textUnmarshT):
			flat = false
		case ft.Kind() == reflect.String:
			wf.kind = kindString
		case ft.Kind() == reflect.Bool:
			wf.kind = kindBool
		case ft.Kind() >= reflect.Uint && ft.Kind() <= reflect.Uint64:
			wf.kind = kindUint
		case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Int64:
			wf.kind = kindInt
		default:
			flat = false
		}
		wf.quoted = append(strconv.AppendQuote(nil, name), ':')
		wt.fields[name] = wf
		wt.order = append(wt.order, wf)
	}
	if !flat {
		wt.fields, wt.order = nil, nil
	}
	return wt
}

// isPlainName reports whether a member name needs no escape in JSON.
func isPlainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return s != ""
}

// decodeFlat decodes data into the struct v points to if data is a flat
// object of v's fields, each once, exactly spelled, in any order, with
// plain values only: strings without escapes (into string and B64
// fields), true or false (bool fields) and integers without sign,
// fraction or exponent (unsigned fields), with JSON white space between
// tokens. It returns false for anything else, having set some fields
// perhaps. data is valid UTF-8.
func decodeFlat(data []byte, v any) bool {
	wt := wireTypeOf(v)
	if wt.fields == nil || len(wt.order) == 0 {
		return false
	}
	rv := reflect.ValueOf(v).Elem()
	i := skipSpace(data, 0)
	if i == len(data) || data[i] != '{' {
		return false
	}
	var seen uint64
	for i = skipSpace(data, i+1); ; {
		name, j, ok := plainString(data, i)
		if !ok {
			return false
		}
		f := wt.fields[string(name)]
		if f == nil || seen&f.bit != 0 || f.kind == kindTime || f.kind == kindInt {
			return false
		}
		seen |= f.bit
		if i = skipSpace(data, j); i == len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		fv := rv.Field(f.index)
		switch f.kind {
		case kindString:
			s, j, ok := plainString(data, i)
			if !ok {
				return false
			}
			fv.SetString(string(s))
			i = j
		case kindB64:
			_, j, ok := plainString(data, i)
			if !ok || fv.Addr().Interface().(*B64).UnmarshalJSON(data[i:j]) != nil {
				return false
			}
			i = j
		case kindBool:
			switch {
			case bytes.HasPrefix(data[i:], []byte("true")):
				fv.SetBool(true)
				i += 4
			case bytes.HasPrefix(data[i:], []byte("false")):
				fv.SetBool(false)
				i += 5
			default:
				return false
			}
		case kindUint:
			j := i
			for j < len(data) && '0' <= data[j] && data[j] <= '9' {
				j++
			}
			if j == i || data[i] == '0' && j > i+1 {
				return false // no digits, or a leading zero
			}
			n, err := strconv.ParseUint(string(data[i:j]), 10, fv.Type().Bits())
			if err != nil {
				return false
			}
			fv.SetUint(n)
			i = j
		}
		if i = skipSpace(data, i); i == len(data) {
			return false
		}
		if data[i] == '}' {
			break
		}
		if data[i] != ',' {
			return false // a literal running on ("truex", "12.5"), or a missing comma
		}
		i = skipSpace(data, i+1)
	}
	return skipSpace(data, i+1) == len(data) && seen == 1<<len(wt.order)-1
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string without escapes or control characters
// at data[i:] and returns its contents and the index after it.
func plainString(data []byte, i int) ([]byte, int, bool) {
	if i == len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// render writes v with status in format f. Nothing is written if v does
// not encode.
func render(w http.ResponseWriter, f format, status int, v any) error {
	var (
		body []byte
		err  error
	)
	if f == formatCBOR {
		body, err = cborx.Marshal(v)
	} else {
		body, err = marshalJSON(v)
	}
	if err != nil {
		return err
	}
	writeBody(w, f.mediaType(), status, body)
	return nil
}

// writeBody writes an answer of status with body, of media type mt.
//
// Constant header values are slices shared by every answer (jsonType and
// the others, and wrap's): nothing changes a header value in place, and
// an Add to a full slice copies it first.
func writeBody(w http.ResponseWriter, mt string, status int, body []byte) {
	h := w.Header()
	switch mt {
	case mediaJSON:
		h["Content-Type"] = jsonType
	case mediaCBOR:
		h["Content-Type"] = cborType
	case mediaProblem:
		h["Content-Type"] = problemType
	default:
		h.Set("Content-Type", mt)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client is gone
}

// marshalJSON is json.Marshal(v) followed by a newline, byte for byte:
// through appendFlat for a flat struct, else through encoding/json.
func marshalJSON(v any) ([]byte, error) {
	if body, ok := appendFlat(make([]byte, 0, 256), v); ok {
		return append(body, '\n'), nil
	}
	body, err := json.Marshal(v)
	return append(body, '\n'), err
}

// appendFlat appends what json.Marshal makes of v, a flat wire struct
// (strings, booleans, integers, B64 and times, no nesting), or returns
// false where it would have to do more: a string that needs an escape
// (json.Marshal also escapes <, > and &), a time json.Marshal refuses,
// any other kind of field. TestAppendFlatAgrees holds it to json.Marshal.
func appendFlat(b []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return nil, false
	}
	wt := wireTypeFor(rv.Type())
	if wt.fields == nil {
		return nil, false
	}
	b = append(b, '{')
	first := true
	for _, f := range wt.order {
		fv := rv.Field(f.index)
		var t time.Time
		switch {
		case f.kind == kindTime:
			t = fv.Interface().(time.Time)
			if f.omitZero && t.IsZero() {
				continue
			}
		case f.omitEmpty && fv.Len() == 0:
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.quoted...)
		switch f.kind {
		case kindString:
			s := fv.String()
			if !isPlainName(s) && s != "" {
				return nil, false
			}
			b = append(append(append(b, '"'), s...), '"')
		case kindBool:
			b = strconv.AppendBool(b, fv.Bool())
		case kindUint:
			b = strconv.AppendUint(b, fv.Uint(), 10)
		case kindInt:
			b = strconv.AppendInt(b, fv.Int(), 10)
		case kindB64:
			b = append(b, '"')
			b = base64.RawURLEncoding.AppendEncode(b, fv.Bytes())
			b = append(b, '"')
		case kindTime:
			n := len(b)
			b = t.AppendFormat(append(b, '"'), time.RFC3339Nano)
			if b[n+5] != '-' || b[len(b)-1] != 'Z' {
				// A year outside [0,9999] (json.Marshal's error), or a
				// zone other than UTC, whose offset it checks.
				return nil, false
			}
			b = append(b, '"')
		}
	}
	return append(b, '}'), true
}

// writeProblem writes the problem document of row, always as
// application/problem+json.
func writeProblem(w http.ResponseWriter, row *problemRow, detail string) {
	body, _ := marshalJSON(Problem{Title: row.title, Status: row.status, Code: row.code, Detail: detail})
	writeBody(w, mediaProblem, row.status, body)
}
