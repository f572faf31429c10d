package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/attesta-go/attesta/internal/cborx"
)

// Media types.
const (
	mediaJSON    = "application/json"
	mediaCBOR    = "application/cbor"
	mediaProblem = "application/problem+json"
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
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, badRequest("the body could not be read")
	}
	return b, nil
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
// and leaves absent fields at zero, so a first pass over the tokens checks
// that the body is one object whose members are exactly v's fields, each
// once, spelled exactly, followed by nothing but white space.
func decodeJSON(data []byte, v any) error {
	// encoding/json would replace invalid UTF-8 with U+FFFD, so that two
	// different bodies meant the same: refuse it, as the CBOR decoder does.
	if !utf8.Valid(data) {
		return badRequest("the body is not valid UTF-8")
	}
	names := jsonNames(v)
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

// jsonNames lists the JSON member names of the struct v points to.
func jsonNames(v any) map[string]struct{} {
	t := reflect.TypeOf(v).Elem()
	names := make(map[string]struct{}, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "-" {
			if name == "" {
				name = f.Name
			}
			names[name] = struct{}{}
		}
	}
	return names
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
		body, err = json.Marshal(v)
		body = append(body, '\n')
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.mediaType())
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // a failed write means the client is gone
	return nil
}

// writeProblem writes the problem document of row, always as
// application/problem+json.
func writeProblem(w http.ResponseWriter, row *problemRow, detail string) {
	body, _ := json.Marshal(Problem{Title: row.title, Status: row.status, Code: row.code, Detail: detail})
	body = append(body, '\n')
	w.Header().Set("Content-Type", mediaProblem)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(row.status)
	_, _ = w.Write(body)
}
