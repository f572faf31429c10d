package transport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bodyTypes are the wire types the handlers decode request bodies into.
var bodyTypes = []reflect.Type{
	reflect.TypeFor[AuthKeyRequestBody](),
	reflect.TypeFor[AuthKeyTokenBody](),
	reflect.TypeFor[IdentifierBody](),
	reflect.TypeFor[ConfirmIdentifierBody](),
	reflect.TypeFor[PutRegistryBody](),
	reflect.TypeFor[AdminCreateAppBody](),
}

// bodySeeds are well-formed bodies of bodyTypes, by index, in the forms
// decodeFlat takes and in some it leaves to the reference.
var bodySeeds = []struct {
	typ  int
	body string
}{
	{0, `{"key":"gwFDAQABWQEA2atPN1vRu3iSqSOOsYk7Ymsp","app_token":"ata_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`},
	{0, " {\n\t\"app_token\" : \"ata_x\" ,\r\n \"key\":\"AAEC\" } \n"},
	{0, `{"key":"","app_token":""}`},
	{0, `{"key":"AAEC","app_token":"ata_\u0041"}`},
	{0, `{"key":null,"app_token":"x"}`},
	{0, `{"key":"AAEC","app_token":null}`},
	{1, `{"token":"AQIDBAUGBwgJCgsMDQ4PEA"}`},
	{2, `{"kind":"nickname","value":"Alice  Example"}`},
	{2, `{"kind":"email","value":"ålice@exämple.org"}`},
	{3, `{"kind":"email","value":"a@b.example","code":"123456"}`},
	{4, `{"registry":"AAEC","version":0}`},
	{4, `{"version":18446744073709551615,"registry":"AAEC"}`},
	{4, `{"version":18446744073709551616,"registry":"AAEC"}`},
	{4, `{"version":1e3,"registry":"AAEC"}`},
	{4, `{"version":-1,"registry":"AAEC"}`},
	{4, `{"version":01,"registry":"AAEC"}`},
	{4, `{"version":1.0,"registry":"AAEC"}`},
	{4, `{"version":"1","registry":"AAEC"}`},
	{5, `{"name":"my-app"}`},
}

// decodeBoth decodes body into a fresh value of bodyTypes[typ] with
// decodeJSON and with the reference decodeJSONStrict, and fails t unless
// both give the same error and the same value. It reports whether
// decodeFlat took the body.
func decodeBoth(t *testing.T, typ int, body []byte) bool {
	t.Helper()
	rt := bodyTypes[typ%len(bodyTypes)]
	got, want := reflect.New(rt), reflect.New(rt)
	gotErr := decodeJSON(body, got.Interface())
	var wantErr error
	flat := false
	if bytes.Equal(body, bytes.ToValidUTF8(body, nil)) {
		wantErr = decodeJSONStrict(body, want.Interface())
		flat = decodeFlat(body, reflect.New(rt).Interface())
	} else {
		wantErr = badRequest("the body is not valid UTF-8")
	}
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("%s %q: decodeJSON says %v, the reference %v", rt.Name(), body, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()) {
		t.Fatalf("%s %q: decodeJSON gives %+v, the reference %+v", rt.Name(), body, got.Interface(), want.Interface())
	}
	if flat && wantErr != nil {
		t.Fatalf("%s %q: decodeFlat took a body the reference refuses (%v)", rt.Name(), body, wantErr)
	}
	return flat
}

// TestDecodeFlatAgrees checks decodeJSON, with its fast path, against the
// reference decoder on well-formed bodies and on every one-byte change of
// them: the same answer and the same value, and the fast path taking only
// bodies the reference accepts.
func TestDecodeFlatAgrees(t *testing.T) {
	specials := []byte("\"\\ ,:{}[]0x1-.eE\n\tnul\x00\x7f\xc3")
	took := 0
	for _, s := range bodySeeds {
		body := []byte(s.body)
		if decodeBoth(t, s.typ, body) {
			took++
		}
		for i := range len(body) + 1 {
			mutate := func(m []byte) { decodeBoth(t, s.typ, m) }
			if i < len(body) {
				mutate(append(bytes.Clone(body[:i]), body[i+1:]...))                    // deleted
				mutate(append(bytes.Clone(body[:i+1]), body[i:]...))                    // doubled
				mutate(append(append(bytes.Clone(body[:i]), body[:i]...), body[i:]...)) // prefix repeated
			}
			for _, c := range specials {
				if i < len(body) {
					m := bytes.Clone(body)
					m[i] = c
					mutate(m) // replaced
				}
				mutate(append(append(bytes.Clone(body[:i]), c), body[i:]...)) // inserted
			}
		}
	}
	assert.GreaterOrEqual(t, took, 8, "the fast path took too few of the well-formed bodies")
}

// FuzzDecodeJSON holds decodeJSON, with its fast path, to the reference
// decoder on any body (see decodeBoth).
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(uint8(s.typ), []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) { decodeBoth(t, int(typ), body) })
}

// responseTypes are the flat wire types the handlers answer with, and one
// that is not flat.
var responseTypes = []reflect.Type{
	reflect.TypeFor[AuthKeyRequestResponse](),
	reflect.TypeFor[AuthKeyTokenResponse](),
	reflect.TypeFor[PutRegistryResponse](),
	reflect.TypeFor[RegistryResponse](),
	reflect.TypeFor[AddIdentifierResponse](),
	reflect.TypeFor[Problem](),
	reflect.TypeFor[healthResponse](),
	reflect.TypeFor[AdminApp](),
	reflect.TypeFor[AdminCreateAppResponse](),
	reflect.TypeFor[PartyKey](),
	reflect.TypeFor[PartyIdentifier](),
	reflect.TypeFor[PartyResponse](),
}

// TestAppendFlatAgrees holds marshalJSON to json.Marshal and a newline,
// byte for byte, on random values of every response type: strings that
// need escapes and strings that do not, empty ones, zero and non-zero
// times in UTC and elsewhere, years json.Marshal refuses.
func TestAppendFlatAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "a", "ats_AbC-_09", "Too many requests", `q"uote`, `back\slash`, "<b>&amp;", "tab\there", "\x00", "é", "\u2028", "\xff"}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -90), time.Local}
	flat := 0
	for _, rt := range responseTypes {
		for range 300 {
			v := reflect.New(rt).Elem()
			fill(rng, v, strs, zones)
			want, wantErr := json.Marshal(v.Interface())
			got, gotErr := marshalJSON(v.Interface())
			if wantErr != nil {
				require.Error(t, gotErr, "%s %+v", rt.Name(), v.Interface())
				continue
			}
			require.NoError(t, gotErr)
			require.Equal(t, string(want)+"\n", string(got), "%s %+v", rt.Name(), v.Interface())
			if _, ok := appendFlat(nil, v.Interface()); ok {
				flat++
			}
		}
	}
	assert.Greater(t, flat, 1000, "appendFlat took too few values")
	_, ok := appendFlat(nil, PartyResponse{})
	assert.False(t, ok, "a nested value is json.Marshal's")
}

// fill sets v's fields (recursively) to random values.
func fill(rng *rand.Rand, v reflect.Value, strs []string, zones []*time.Location) {
	switch {
	case v.Type() == timeType:
		if rng.IntN(4) == 0 {
			return // the zero time
		}
		years := []int{1970, 2026, 0, 9999, 10000, -1}
		t := time.Date(years[rng.IntN(len(years))], time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), rng.IntN(3)*rng.IntN(1e9), zones[rng.IntN(len(zones))])
		v.Set(reflect.ValueOf(t))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(strs[rng.IntN(len(strs))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(rng.Uint64()) >> (64 - v.Type().Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(rng.Uint64() >> (64 - v.Type().Bits()))
	case reflect.Slice:
		n := rng.IntN(4)
		if v.Type() == b64Type {
			n = rng.IntN(300)
		}
		if n == 0 && rng.IntN(2) == 0 {
			return // nil
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(rng, s.Index(i), strs, zones)
		}
		v.Set(s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(rng, v.Field(i), strs, zones)
			}
		}
	}
}
