package testvectors_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attesta-go/attesta/transport"
)

const protocolDoc = "../docs/PROTOCOL.md"

// fence is a fenced code block of docs/PROTOCOL.md.
type fence struct {
	line   int    // of the opening fence, from 1
	end    int    // of the closing fence
	info   string // the language, "json", "http", …
	vector string // the vector= attribute, "" if none
	body   string
}

var fenceAttr = regexp.MustCompile(`^([a-z]*)(?:\s+vector=(\S+))?\s*$`)

func readFences(t *testing.T, data []byte) []fence {
	var (
		out  []fence
		cur  *fence
		body []string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur == nil {
			if rest, ok := strings.CutPrefix(line, "```"); ok {
				m := fenceAttr.FindStringSubmatch(rest)
				if m == nil {
					t.Fatalf("PROTOCOL.md:%d: fence info %q", n, rest)
				}
				cur, body = &fence{line: n, info: m[1], vector: m[2]}, nil
			}
			continue
		}
		if line == "```" {
			cur.end, cur.body = n, strings.Join(body, "\n")
			out = append(out, *cur)
			cur = nil
			continue
		}
		body = append(body, line)
	}
	if cur != nil {
		t.Fatalf("PROTOCOL.md:%d: unclosed fence", cur.line)
	}
	return out
}

// TestProtocolExamples: every example in docs/PROTOCOL.md is taken from
// the vector files. A fenced block with info json, http or hex must name
// its source with vector=FILE#ID (the vector with that id, as in the
// file), vector=FILE#ID/PATH (a member of it: a string as is but for a
// final newline, anything else as indented JSON) or vector=FILE#/PATH (a member of the file's top
// level); http renders an exchange as the HTTP messages, with a CBOR body
// in diagnostic notation. Only cddl and text blocks may stand alone. Every
// vector file is cited at least once.
//
// With -update it writes the examples into the document instead (go
// generate does, after the files).
func TestProtocolExamples(t *testing.T) {
	data, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	cited := map[string]bool{}
	fences := readFences(t, data)
	for i := len(fences) - 1; i >= 0; i-- {
		f := fences[i]
		where := fmt.Sprintf("PROTOCOL.md:%d", f.line)
		if f.vector == "" {
			if f.info != "cddl" && f.info != "text" {
				t.Errorf("%s: a %q block without vector=: examples come from the vector files", where, f.info)
			}
			continue
		}
		file, ref, ok := strings.Cut(f.vector, "#")
		if !ok {
			t.Errorf("%s: vector=%s has no #", where, f.vector)
			continue
		}
		cited[file] = true
		want, err := renderRef(file, ref, f.info)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if *update {
			lines = slices.Concat(lines[:f.line], strings.Split(want, "\n"), lines[f.end-1:])
		} else if f.body != want {
			t.Errorf("%s: the example differs from %s (go generate ./testvectors rewrites it); it should read:\n%s", where, f.vector, want)
		}
	}
	if *update {
		if err := os.WriteFile(protocolDoc, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, vf := range vectorFiles {
		if !cited[vf.name] {
			t.Errorf("PROTOCOL.md cites no example from %s", vf.name)
		}
	}
}

// renderRef renders what a vector= attribute names.
func renderRef(file, ref, info string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var root json.RawMessage = data
	id, path, _ := strings.Cut(ref, "/")
	v := root
	if id != "" {
		var doc struct {
			Vectors []json.RawMessage `json:"vectors"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return "", err
		}
		v = nil
		for _, raw := range doc.Vectors {
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				return "", err
			}
			if head.ID == id {
				v = raw
			}
		}
		if v == nil {
			return "", fmt.Errorf("%s has no vector %q", file, id)
		}
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" {
			continue
		}
		if v, err = member(v, seg); err != nil {
			return "", fmt.Errorf("%s#%s: %v", file, ref, err)
		}
	}
	if info == "http" {
		var ex httpExchange
		if err := json.Unmarshal(v, &ex); err != nil {
			return "", err
		}
		return renderExchange(ex), nil
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return strings.TrimSuffix(s, "\n"), nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, v, "", "  "); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func member(v json.RawMessage, seg string) (json.RawMessage, error) {
	if i, err := strconv.Atoi(seg); err == nil {
		var a []json.RawMessage
		if err := json.Unmarshal(v, &a); err != nil || i < 0 || i >= len(a) {
			return nil, fmt.Errorf("no element %d", i)
		}
		return a[i], nil
	}
	var o map[string]json.RawMessage
	if err := json.Unmarshal(v, &o); err != nil {
		return nil, err
	}
	m, ok := o[seg]
	if !ok {
		return nil, fmt.Errorf("no member %q", seg)
	}
	return m, nil
}

// renderExchange writes an exchange as an HTTP/1.1 request and answer,
// headers sorted by name, a CBOR body in diagnostic notation.
func renderExchange(ex httpExchange) string {
	var b strings.Builder
	message := func(start string, m httpMessage) {
		b.WriteString(start + "\n")
		names := make([]string, 0, len(m.Headers))
		for k := range m.Headers {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(&b, "%s: %s\n", k, m.Headers[k])
		}
		switch {
		case m.BodyHex != nil:
			b.WriteString("\n" + m.BodyDiag + "\n")
		case m.Body != "":
			b.WriteString("\n" + strings.TrimSuffix(m.Body, "\n") + "\n")
		}
	}
	message(ex.Request.Method+" "+ex.Request.Path+" HTTP/1.1", ex.Request)
	b.WriteString("\n")
	message(fmt.Sprintf("HTTP/1.1 %d %s", ex.Response.Status, http.StatusText(ex.Response.Status)), ex.Response)
	return strings.TrimSuffix(b.String(), "\n")
}

// errorRow matches a row of PROTOCOL.md's error table:
// | status | `code` | title | `sentinel`, … |
var errorRow = regexp.MustCompile("^\\| (\\d{3}) \\| `([a-z_]+)` \\| ([^|]+) \\| ([^|]+) \\|$")

// TestProtocolErrors: the error table of docs/PROTOCOL.md agrees with the
// library (each code stands for the sentinels its row names) and with
// every problem answer in the vectors (status and title), and names every
// problem code the vectors use.
func TestProtocolErrors(t *testing.T) {
	data, err := os.ReadFile(protocolDoc)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		status int
		title  string
	}
	rows := map[string]row{}
	for line := range strings.SplitSeq(string(data), "\n") {
		m := errorRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		status, _ := strconv.Atoi(m[1])
		code, title := m[2], strings.TrimSpace(m[3])
		if r, ok := rows[code]; ok && (r.status != status || r.title != title) {
			t.Errorf("code %s has two rows that differ", code)
		}
		rows[code] = row{status, title}
		for _, name := range regexp.MustCompile("`([a-zA-Z.]+)`").FindAllStringSubmatch(m[4], -1) {
			s, ok := sentinels[name[1]]
			if !ok {
				t.Errorf("error table: unknown error %s", name[1])
				continue
			}
			if !errors.Is(&transport.Problem{Code: code}, s) {
				t.Errorf("error table: code %s does not stand for %s", code, name[1])
			}
		}
	}
	if len(rows) < 30 {
		t.Fatalf("the error table has %d codes", len(rows))
	}
	for _, name := range []string{"http_connect.json", "http_password_login.json"} {
		var f httpFile
		loadFile(t, name, &f)
		for _, ex := range f.Vectors {
			if ex.Response.Status < 400 {
				continue
			}
			var p transport.Problem
			if err := json.Unmarshal([]byte(ex.Response.Body), &p); err != nil {
				t.Fatal(err)
			}
			if r, ok := rows[p.Code]; !ok || r.status != p.Status || r.title != p.Title {
				t.Errorf("%s#%s: %d %s %q is not in the error table", name, ex.ID, p.Status, p.Code, p.Title)
			}
		}
	}
	codes := map[string]bool{}
	var packed packedKeysFile
	loadFile(t, "packed_keys.json", &packed)
	for _, v := range packed.Vectors {
		codes[v.ProblemCode] = true
	}
	var ids identifiersFile
	loadFile(t, "identifiers.json", &ids)
	for _, v := range ids.Vectors {
		codes[v.ProblemCode] = true
	}
	var reg registryFile
	loadFile(t, "registry.json", &reg)
	for _, v := range reg.Vectors {
		codes[v.PutProblemCode] = true
	}
	delete(codes, "")
	for c := range codes {
		if _, ok := rows[c]; !ok {
			t.Errorf("problem code %s of the vectors is not in the error table", c)
		}
	}
}
