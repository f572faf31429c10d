package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attesta-go/attesta/docs"
)

// TestOpenAPI holds docs/openapi.yaml to the handler, both ways, so that it
// cannot drift: its operations are exactly the routes of endpoints(), its
// problem codes exactly the codes of the problems table (with their status
// and title), each error answer lists codes of its status, and each body
// schema has exactly the members of its wire type. A new route, code or
// member fails here until the description has it.
//
// The file is YAML 1.2 written in its JSON-compatible subset, read here
// with encoding/json: no YAML dependency, and any YAML reader reads it.
func TestOpenAPI(t *testing.T) {
	raw := []byte(docs.OpenAPI())
	doc := decodeOpenAPI(t, raw)
	var tidy bytes.Buffer
	if err := json.Indent(&tidy, compactJSON(t, raw), "", "  "); err != nil {
		t.Fatal(err)
	}
	tidy.WriteByte('\n')
	if !bytes.Equal(tidy.Bytes(), raw) {
		t.Error("docs/openapi.yaml is not indented as json.Indent(doc, \"\", \"  \") writes it, with one final newline")
	}
	if doc.str(t, "openapi") != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.str(t, "openapi"))
	}

	t.Run("routes", func(t *testing.T) {
		// The public API and the administration API (paths under /admin/,
		// served on the administration socket only).
		want := map[string]bool{}
		for _, e := range slices.Concat((&Handler{}).endpoints(), (&Handler{}).adminEndpoints()) {
			want[e.method+" "+e.path] = true
		}
		got := map[string]bool{}
		for path, item := range doc.obj(t, "paths") {
			for method := range item.(map[string]any) {
				if httpMethods[method] {
					got[strings.ToUpper(method)+" "+path] = true
				}
			}
		}
		for r := range want {
			if !got[r] {
				t.Errorf("route %s is not in docs/openapi.yaml", r)
			}
		}
		for r := range got {
			if !want[r] {
				t.Errorf("docs/openapi.yaml describes %s, which the handler does not serve", r)
			}
		}
	})

	table := map[string]problemRow{}
	for _, row := range problems {
		table[row.code] = row
	}

	t.Run("problem codes", func(t *testing.T) {
		seen := map[string]bool{}
		for _, c := range doc.path(t, "components", "schemas", "ProblemCode").arr(t, "oneOf") {
			c := openAPIValue(c.(map[string]any))
			code := c.str(t, "const")
			row, ok := table[code]
			switch {
			case !ok:
				t.Errorf("ProblemCode %q is not a code of the problems table", code)
			case seen[code]:
				t.Errorf("ProblemCode %q twice", code)
			case c.str(t, "title") != row.title:
				t.Errorf("ProblemCode %q: title %q, the table's is %q", code, c.str(t, "title"), row.title)
			case c.num(t, "x-status") != row.status:
				t.Errorf("ProblemCode %q: status %d, the table's is %d", code, c.num(t, "x-status"), row.status)
			}
			seen[code] = true
		}
		for code := range table {
			if !seen[code] {
				t.Errorf("problem code %q is not in ProblemCode", code)
			}
		}
	})

	t.Run("answers", func(t *testing.T) {
		documented := map[string]bool{}
		// Each error answer lists codes of its status, and has the headers
		// of its status.
		checkResponse := func(where, status string, resp openAPIValue) {
			content, _ := resp["content"].(map[string]any)
			headers, _ := resp["headers"].(map[string]any)
			for _, h := range []string{"Cache-Control", "X-Content-Type-Options"} {
				if headers[h] == nil {
					t.Errorf("%s: no %s header", where, h)
				}
			}
			codes, isProblem := resp["x-problem-codes"].([]any)
			if isProblem != (content["application/problem+json"] != nil) || isProblem && len(content) != 1 {
				t.Errorf("%s: a problem answer is application/problem+json only, with x-problem-codes", where)
			}
			if !isProblem {
				if len(content) > 0 && content["application/yaml"] == nil && (content["application/json"] == nil || content["application/cbor"] == nil || len(content) != 2) {
					t.Errorf("%s: a body in JSON and CBOR", where)
				}
				if len(content) > 0 && headers["Content-Length"] == nil {
					t.Errorf("%s: no Content-Length", where)
				}
				if (content["application/json"] != nil) != (headers["Vary"] != nil) {
					t.Errorf("%s: Vary: Accept on exactly the answers whose format Accept chooses", where)
				}
				return
			}
			if headers["Vary"] != nil {
				t.Errorf("%s: a problem answer does not vary with Accept", where)
			}
			n, err := strconv.Atoi(status)
			for _, c := range codes {
				code, _ := c.(string)
				row, ok := table[code]
				documented[code] = true
				switch {
				case !ok:
					t.Errorf("%s: %q is not a problem code", where, code)
				case status == "":
					if row.status != table[codes[0].(string)].status {
						t.Errorf("%s: codes of different statuses", where)
					}
				case err != nil || row.status != n:
					t.Errorf("%s: %q is a %d, not a %s", where, code, row.status, status)
				}
				for code, header := range map[string]string{"unauthorized": "WWW-Authenticate", "rate_limited": "Retry-After", "method_not_allowed": "Allow"} {
					if c == code && headers[header] == nil {
						t.Errorf("%s: %s without %s", where, code, header)
					}
				}
			}
		}
		for name, resp := range doc.path(t, "components", "responses") {
			checkResponse("components/responses/"+name, "", doc.resolve(t, resp))
		}
		for path, item := range doc.obj(t, "paths") {
			for method, op := range item.(map[string]any) {
				if !httpMethods[method] {
					continue // servers, parameters, …
				}
				op := openAPIValue(op.(map[string]any))
				where := strings.ToUpper(method) + " " + path
				for status, resp := range op.obj(t, "responses") {
					resp := doc.resolve(t, resp)
					checkResponse(where+" "+status, status, resp)
					if status[0] == '2' {
						continue
					}
					for _, c := range resp["x-problem-codes"].([]any) {
						documented[c.(string)] = true
					}
				}
				if rb, ok := op["requestBody"]; ok {
					content := doc.resolve(t, rb).obj(t, "content")
					if content["application/json"] == nil || content["application/cbor"] == nil || len(content) != 2 {
						t.Errorf("%s: a request body in JSON and CBOR", where)
					}
				}
			}
		}
		for code := range table {
			if !documented[code] {
				t.Errorf("no answer of docs/openapi.yaml lists problem code %q", code)
			}
		}
	})

	t.Run("bodies", func(t *testing.T) {
		// Each schema has the members of its wire type, in JSON and CBOR.
		for name, v := range map[string]any{
			"AuthKeyRequest":           AuthKeyRequestBody{},
			"AuthKeyRequestCBOR":       AuthKeyRequestBody{},
			"AuthKeyRequestAnswer":     AuthKeyRequestResponse{},
			"AuthKeyRequestAnswerCBOR": AuthKeyRequestResponse{},
			"AuthKeyToken":             AuthKeyTokenBody{},
			"AuthKeyTokenCBOR":         AuthKeyTokenBody{},
			"AuthKeyTokenAnswer":       AuthKeyTokenResponse{},
			"AuthKeyTokenAnswerCBOR":   AuthKeyTokenResponse{},
			"Party":                    PartyResponse{},
			"PartyCBOR":                PartyResponse{},
			"Party/keys":               PartyKey{},
			"PartyCBOR/keys":           PartyKey{},
			"Party/identifiers":        PartyIdentifier{},
			"PartyCBOR/identifiers":    PartyIdentifier{},
			"Identifier":               IdentifierBody{},
			"AddIdentifierAnswer":      AddIdentifierResponse{},
			"ConfirmIdentifier":        ConfirmIdentifierBody{},
			"PutRegistry":              PutRegistryBody{},
			"PutRegistryCBOR":          PutRegistryBody{},
			"PutRegistryAnswer":        PutRegistryResponse{},
			"RegistryAnswer":           RegistryResponse{},
			"RegistryAnswerCBOR":       RegistryResponse{},
			"Health":                   healthResponse{},
			"Problem":                  Problem{},
			"AdminApp":                 AdminApp{},
			"AdminAppCBOR":             AdminApp{},
			"AdminCreateApp":           AdminCreateAppBody{},
			"AdminCreateAppAnswer":     AdminCreateAppResponse{},
			"RegisterInstance":         RegisterInstanceBody{},
			"RegisterInstanceCBOR":     RegisterInstanceBody{},
			"InstanceToken":            InstanceTokenResponse{},
			"ServiceKeyAnswer":         ServiceKeyResponse{},
			"ServiceKeyAnswerCBOR":     ServiceKeyResponse{},
			"AdminToken":               AdminTokenBody{},
			"AdminInstance":            AdminInstance{},
			"AdminEntitlement":         AdminEntitlement{},
			"AdminEntitlementCBOR":     AdminEntitlement{},
			"AdminSetServiceKey":       AdminSetServiceKeyBody{},
			"AdminSetServiceKeyCBOR":   AdminSetServiceKeyBody{},
			"AdminServiceKey":          AdminServiceKey{},
			"AdminServiceKeyCBOR":      AdminServiceKey{},
		} {
			schemaName, member, _ := strings.Cut(name, "/")
			s := doc.path(t, "components", "schemas", schemaName)
			if member != "" {
				s = openAPIValue(s.path(t, "properties", member).obj(t, "items"))
			}
			props, required := slices.Sorted(maps.Keys(s.obj(t, "properties"))), []string{}
			for _, r := range s.arr(t, "required") {
				required = append(required, r.(string))
			}
			slices.Sort(required)
			all, always := wireNames(v, strings.HasSuffix(schemaName, "CBOR"))
			if !slices.Equal(props, all) || !slices.Equal(required, always) {
				t.Errorf("schema %s: members %v, required %v; the wire type has %v, always %v", name, props, required, all, always)
			}
			if s["additionalProperties"] != false {
				t.Errorf("schema %s allows unknown members", name)
			}
		}
	})
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}

// wireNames lists the member names of a wire struct in JSON (or CBOR), and
// those always present (not omitempty or omitzero).
func wireNames(v any, cbor bool) (all, always []string) {
	tag := "json"
	if cbor {
		tag = "cbor"
	}
	for f := range reflect.TypeOf(v).Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get(tag), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}

// openAPIValue is a JSON object of the description.
type openAPIValue map[string]any

func decodeOpenAPI(t *testing.T, raw []byte) openAPIValue {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("docs/openapi.yaml is not JSON-compatible YAML: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatal("docs/openapi.yaml: data after the document")
	}
	return doc
}

func compactJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (v openAPIValue) obj(t *testing.T, key string) openAPIValue {
	t.Helper()
	o, ok := v[key].(map[string]any)
	if !ok {
		t.Fatalf("docs/openapi.yaml: %q is not an object", key)
	}
	return o
}

func (v openAPIValue) path(t *testing.T, keys ...string) openAPIValue {
	t.Helper()
	for _, k := range keys {
		v = v.obj(t, k)
	}
	return v
}

func (v openAPIValue) arr(t *testing.T, key string) []any {
	t.Helper()
	a, ok := v[key].([]any)
	if !ok {
		t.Fatalf("docs/openapi.yaml: %q is not an array", key)
	}
	return a
}

func (v openAPIValue) str(t *testing.T, key string) string {
	t.Helper()
	s, ok := v[key].(string)
	if !ok {
		t.Fatalf("docs/openapi.yaml: %q is not a string", key)
	}
	return s
}

func (v openAPIValue) num(t *testing.T, key string) int {
	t.Helper()
	n, ok := v[key].(float64)
	if !ok || n != float64(int(n)) {
		t.Fatalf("docs/openapi.yaml: %q is not an integer", key)
	}
	return int(n)
}

// resolve follows a local $ref ("#/components/…") to its object.
func (v openAPIValue) resolve(t *testing.T, x any) openAPIValue {
	t.Helper()
	o, ok := x.(map[string]any)
	if !ok {
		t.Fatalf("docs/openapi.yaml: %v is not an object", x)
	}
	ref, ok := o["$ref"].(string)
	if !ok {
		return o
	}
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		t.Fatalf("docs/openapi.yaml: $ref %q is not local", ref)
	}
	return v.path(t, strings.Split(rest, "/")...)
}

// TestOpenAPIRefs: every $ref of the description names something in it.
func TestOpenAPIRefs(t *testing.T) {
	doc := decodeOpenAPI(t, []byte(docs.OpenAPI()))
	var walk func(where string, x any)
	walk = func(where string, x any) {
		switch x := x.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				node := any(map[string]any(doc))
				for _, k := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := node.(map[string]any)
					node = m[k]
				}
				if node == nil || !strings.HasPrefix(ref, "#/") {
					t.Errorf("%s: $ref %q names nothing", where, ref)
				}
			}
			for k, v := range x {
				walk(where+"/"+k, v)
			}
		case []any:
			for i, v := range x {
				walk(fmt.Sprintf("%s/%d", where, i), v)
			}
		}
	}
	walk("#", map[string]any(doc))
}
