package transport_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/transport"
)

// TestConnectionCaps is finding 6 of issue 14: idle keep-alive connections
// beyond the caps are refused at once, and /healthz on a connection that
// is already open still answers.
func TestConnectionCaps(t *testing.T) {
	e := newEnv(t, attesta.Config{}, generous)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lim, err := transport.LimitListener(ln, transport.ListenerLimits{Total: 5, PerAddress: 3})
	require.NoError(t, err)
	srv := &http.Server{Handler: e.h}
	go srv.Serve(lim)
	t.Cleanup(func() { srv.Close() })

	health := func(c net.Conn, r *bufio.Reader) error {
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		return err
	}
	type conn struct {
		c net.Conn
		r *bufio.Reader
	}
	dial := func() conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return conn{c, bufio.NewReader(c)}
	}
	var open []conn
	for range 3 {
		c := dial()
		require.NoError(t, health(c.c, c.r), "within the caps") // kept alive, idle after
		open = append(open, c)
	}
	over := dial()
	assert.Error(t, health(over.c, over.r), "a fourth connection from one address is refused")
	assert.NoError(t, health(open[0].c, open[0].r), "an open connection still answers")
	assert.EqualValues(t, 1, lim.Refused())
	assert.Equal(t, 3, lim.Open())

	// Closing one makes room; a trusted peer (a proxy) counts only
	// against the total.
	open[2].c.Close()
	// The server sees the close when its read ends; the bound is only a
	// backstop, not a timing claim.
	require.Eventually(t, func() bool { return lim.Open() == 2 }, time.Minute, time.Millisecond)
	again := dial()
	assert.NoError(t, health(again.c, again.r))

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lim2, err := transport.LimitListener(ln2, transport.ListenerLimits{Total: 4, PerAddress: 1, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	require.NoError(t, err)
	srv2 := &http.Server{Handler: e.h}
	go srv2.Serve(lim2)
	t.Cleanup(func() { srv2.Close() })
	var conns []net.Conn
	for i := range 5 {
		c, err := net.Dial("tcp", ln2.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
		err = health(c, bufio.NewReader(c))
		if i < 4 {
			assert.NoError(t, err, "a proxy is not held to PerAddress")
		} else {
			assert.Error(t, err, "but to Total")
		}
	}
	_, err = transport.LimitListener(ln2, transport.ListenerLimits{})
	assert.Error(t, err)
}
