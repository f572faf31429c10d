package transport

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/internal/cborx"
)

func TestB64(t *testing.T) {
	for n := range 40 {
		b := B64(bytes.Repeat([]byte{byte(n*37 + 1)}, n))
		enc, err := json.Marshal(b)
		require.NoError(t, err)
		assert.Equal(t, `"`+base64.RawURLEncoding.EncodeToString(b)+`"`, string(enc))
		var back B64
		require.NoError(t, json.Unmarshal(enc, &back))
		assert.Equal(t, []byte(b), []byte(back))
	}
	enc, err := json.Marshal(B64(nil))
	require.NoError(t, err)
	assert.Equal(t, `""`, string(enc))

	for _, bad := range []string{
		`null`, `5`, `"`, `"AA=="`, `"AB"`, `"A"`, `"+/8"`, `"AA\nAA"`, `"AA AA"`, `"\u0041A"`,
		`"AA` + "\r\n" + `AA"`, `true`, `["AA"]`,
	} {
		var b B64
		assert.ErrorIs(t, b.UnmarshalJSON([]byte(bad)), errB64, bad)
		assert.Nil(t, b, bad)
	}

	// In CBOR a B64 is a byte string.
	c, err := cborx.Marshal(B64{1, 2})
	require.NoError(t, err)
	assert.Equal(t, []byte{0x42, 1, 2}, c)
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a := netip.MustParseAddr("192.0.2.1")
	l := newLimiter[netip.Addr](2, 3, 100)
	for range 3 {
		ok, _ := l.allow(a, t0)
		assert.True(t, ok)
	}
	ok, wait := l.allow(a, t0)
	assert.False(t, ok)
	assert.Equal(t, 500*time.Millisecond, wait)
	ok, _ = l.allow(netip.MustParseAddr("192.0.2.2"), t0)
	assert.True(t, ok, "another address has its own bucket")
	ok, _ = l.allow(a, t0.Add(500*time.Millisecond))
	assert.True(t, ok, "refilled at 2/s")
	ok, _ = l.allow(a, t0.Add(500*time.Millisecond))
	assert.False(t, ok)
	// A refused request costs nothing: the bucket refills all the same.
	for range 3 {
		ok, _ = l.allow(a, t0.Add(time.Hour))
		assert.True(t, ok, "refilled to the burst, no more")
	}
	ok, _ = l.allow(a, t0.Add(time.Hour))
	assert.False(t, ok)
	// A clock that steps back refills nothing.
	ok, _ = l.allow(a, t0)
	assert.False(t, ok)
}

func TestLimiterBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := newLimiter[netip.Addr](1, 2, 8)
	// Seven busy addresses, drained now, and one idle for an hour.
	idle := netip.MustParseAddr("198.51.100.1")
	l.allow(idle, t0.Add(-time.Hour))
	busy := make([]netip.Addr, 7)
	for i := range busy {
		busy[i] = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		l.allow(busy[i], t0)
		l.allow(busy[i], t0)
	}
	require.Len(t, l.buckets, 8)
	ok, _ := l.allow(netip.MustParseAddr("203.0.113.1"), t0)
	assert.True(t, ok)
	assert.Len(t, l.buckets, 8)
	assert.NotContains(t, l.buckets, idle, "the idlest bucket is evicted")
	for _, a := range busy {
		ok, _ := l.allow(a, t0)
		assert.False(t, ok, "busy buckets keep their state")
	}
	// A flood of new addresses never grows the table.
	for i := range 10_000 {
		l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), t0)
	}
	assert.Len(t, l.buckets, 8)
}

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/28"), netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:1234", nil, "192.0.2.1"},
		{"198.51.100.9:1234", []string{"203.0.113.5"}, "198.51.100.9"}, // not a proxy: header ignored
		{"192.0.2.1:1234", []string{"203.0.113.5"}, "203.0.113.5"},
		{"192.0.2.1:1234", []string{"198.51.100.1, 203.0.113.5 "}, "203.0.113.5"},
		{"192.0.2.1:1234", []string{"203.0.113.9", "198.51.100.1,203.0.113.5"}, "203.0.113.5"},
		{"192.0.2.1:1234", []string{"203.0.113.5, 10.1.2.3"}, "203.0.113.5"}, // past a second proxy
		{"192.0.2.1:1234", []string{"10.9.9.9, 10.1.2.3"}, "10.9.9.9"},       // all proxies: the left-most
		{"192.0.2.1:1234", []string{"203.0.113.5, bogus"}, "192.0.2.1"},      // broken hop: the proxy itself
		{"192.0.2.1:1234", []string{"bogus, 203.0.113.5"}, "203.0.113.5"},    // the client's own words are not read
		{"192.0.2.1:1234", []string{"[2001:db8::1]:443"}, "192.0.2.1"},       // not an address
		{"[2001:db8:a:b:c:d:e:f]:443", nil, "2001:db8:a:b::"},
		{"[fe80::1%eth0]:443", nil, "fe80::"},
		{"[::ffff:192.0.2.7]:443", nil, "192.0.2.7"},
		{"192.0.2.1:1234", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"192.0.2.1:1234", []string{"2001:db8:1:2::77"}, "2001:db8:1:2::"},
		{"192.0.2.3", nil, "192.0.2.3"},
		{"@", nil, "invalid IP"},
	}
	for _, tc := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		assert.Equal(t, tc.want, clientAddr(r, proxies).String(), "%s %q", tc.remote, tc.xff)
		assert.NotEqual(t, "203.0.113.5", clientAddr(r, nil).String(), "no trusted proxy: the header is never read")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"7":                             7 * time.Second,
		"-1":                            0,
		"+5":                            0,
		"1.5":                           0,
		"99999999999999999999":          time.Duration(1<<63 - 1),
		"9223372037":                    time.Duration(1<<63 - 1),
		"9223372036":                    9223372036 * time.Second,
		"Thu, 02 Jan 2025 03:05:05 GMT": time.Minute,
		"Thu, 02 Jan 2025 03:00:00 GMT": 0,
		"soon":                          0,
	} {
		assert.Equal(t, want, parseRetryAfter(v, now), v)
	}
}

func TestResponseFormatDefaults(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	assert.Equal(t, formatJSON, responseFormat(r, formatJSON))
	assert.Equal(t, formatCBOR, responseFormat(r, formatCBOR))
	r.Header.Set("Accept", "application/cbor;q=1.5")
	assert.Equal(t, formatJSON, responseFormat(r, formatJSON), "q out of range is ignored")
}
