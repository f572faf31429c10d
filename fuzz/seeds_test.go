package fuzz

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/attesta-go/attesta/attesta"
)

// corpus counts the seeds a target adds, so that the target can fail on an
// empty corpus.
type corpus struct {
	f *testing.F
	n int
}

func (c *corpus) add(args ...any) { c.f.Add(args...); c.n++ }

// done fails the target if no seed was added.
func (c *corpus) done() { requireSeeds(c.f, c.n) }

func requireSeeds(f *testing.F, n int) {
	f.Helper()
	if n == 0 {
		f.Fatal("empty seed corpus")
	}
}

// vectorDir holds the published test vectors: JSON files, at any depth
// (testvectors/*.json or testvectors/testdata/*.json).
const vectorDir = "../testvectors"

// vectorString is one string of a vector file, with where it was found.
type vectorString struct {
	where string // lower-case file name and the member names leading to it
	value string
}

// vectorStrings reads every string of every vector file once per process.
// A file that does not parse is skipped: the testvectors package's own
// tests judge the files, the fuzz targets only borrow inputs from them.
var vectorStrings = sync.OnceValue(func() []vectorString {
	var out []vectorString
	_ = filepath.WalkDir(vectorDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return nil
		}
		var walk func(where string, v any)
		walk = func(where string, v any) {
			switch v := v.(type) {
			case string:
				out = append(out, vectorString{where: where, value: v})
			case []any:
				for _, e := range v {
					walk(where, e)
				}
			case map[string]any:
				for k, e := range v {
					walk(where+"."+strings.ToLower(k), e)
				}
			}
		}
		walk(strings.ToLower(filepath.Base(path)), v)
		return nil
	})
	slices.SortFunc(out, func(a, b vectorString) int {
		return strings.Compare(a.where+"\x00"+a.value, b.where+"\x00"+b.value)
	})
	return out
})

// matches reports whether where names any of the words.
func matches(where string, words []string) bool {
	for _, w := range words {
		if strings.Contains(where, w) {
			return true
		}
	}
	return false
}

// vectorBytes returns the byte fields (lower-case hex strings, as the vector
// files write them) of the vector files whose name, or the name of a member
// on the way to the field, contains one of words. Nothing if no vector file
// exists yet.
func vectorBytes(words ...string) [][]byte {
	var out [][]byte
	for _, s := range vectorStrings() {
		if s.value == "" || len(s.value)%2 != 0 || !matches(s.where, words) {
			continue
		}
		b, err := hex.DecodeString(s.value)
		if err != nil || hex.EncodeToString(b) != s.value {
			continue
		}
		out = append(out, b)
	}
	return dedup(out)
}

// vectorText returns the strings that are not byte fields, chosen as
// vectorBytes chooses.
func vectorText(words ...string) []string {
	var out []string
	for _, s := range vectorStrings() {
		if !matches(s.where, words) {
			continue
		}
		if b, err := hex.DecodeString(s.value); err == nil && len(b) > 0 && hex.EncodeToString(b) == s.value {
			continue
		}
		out = append(out, s.value)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func dedup(bs [][]byte) [][]byte {
	slices.SortFunc(bs, bytes.Compare)
	return slices.CompactFunc(bs, bytes.Equal)
}

// httpVector is a request of the HTTP vectors (testvectors/http_*.json),
// as the HTTP targets send it.
type httpVector struct {
	route                      uint8
	auth                       uint8
	contentType, accept, query string
	body                       []byte
}

// httpVectors reads the requests of every vector file that has them, once
// per process. The file's application token is replaced in bodies by
// appPlaceholder; a request to a route the targets do not list is left
// out.
var httpVectors = sync.OnceValue(func() []httpVector {
	var out []httpVector
	_ = filepath.WalkDir(vectorDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var file struct {
			AppToken string `json:"app_token"`
			Vectors  []struct {
				Request *struct {
					Method  string            `json:"method"`
					Path    string            `json:"path"`
					Headers map[string]string `json:"headers"`
					Body    *string           `json:"body"`
					BodyHex *string           `json:"body_hex"`
				} `json:"request"`
			} `json:"vectors"`
		}
		if json.Unmarshal(data, &file) != nil {
			return nil
		}
		for _, v := range file.Vectors {
			r := v.Request
			if r == nil {
				continue
			}
			p, query, _ := strings.Cut(r.Path, "?")
			i := slices.IndexFunc(routes, func(rt route) bool { return rt.method == r.Method && rt.path == p })
			if i < 0 {
				continue
			}
			hv := httpVector{route: uint8(i), contentType: r.Headers["Content-Type"], accept: r.Headers["Accept"], query: query}
			switch authz := r.Headers["Authorization"]; {
			case authz == "":
				hv.auth = authNone
			case strings.HasPrefix(authz, "Bearer "+attesta.SessionPrefix):
				hv.auth = authSession
			case strings.HasPrefix(authz, "Bearer "+attesta.AppTokenPrefix):
				hv.auth = authApp
			default:
				hv.auth = authUnknown
			}
			switch {
			case r.BodyHex != nil:
				if hv.body, err = hex.DecodeString(*r.BodyHex); err != nil {
					continue
				}
			case r.Body != nil:
				hv.body = []byte(*r.Body)
			}
			if len(file.AppToken) == len(appPlaceholder) {
				hv.body = bytes.ReplaceAll(hv.body, []byte(file.AppToken), []byte(appPlaceholder))
			}
			out = append(out, hv)
		}
		return nil
	})
	return out
})
