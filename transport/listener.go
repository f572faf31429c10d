package transport

import (
	"errors"
	"net"
	"net/netip"
	"sync"
)

// ListenerLimits bound the connections a server holds open: each one is a
// file descriptor, and a process out of descriptors answers nobody, not
// even its health check.
type ListenerLimits struct {
	// Total is the most connections open at once. Required.
	Total int
	// PerAddress is the most connections open at once from one client
	// address (an IPv6 client counts as its /64). Required.
	PerAddress int
	// Trusted are peers (reverse proxies) that carry many clients'
	// connections: only Total bounds them.
	Trusted []netip.Prefix
}

// LimitListener returns a listener that accepts at most l.Total
// connections at once, and at most l.PerAddress from one client address.
// A connection over a limit is closed as soon as it is accepted, so the
// client sees it refused at once, while the connections already open,
// which are under the limits, are served as before. (Unlike
// golang.org/x/net/netutil.LimitListener, which stops accepting when full
// and lets new connections wait in the kernel's backlog, this one keeps
// accepting and refusing, and counts per address.)
//
// Refused counts the connections refused so far, for metrics and logs.
func LimitListener(ln net.Listener, l ListenerLimits) (*LimitedListener, error) {
	if l.Total <= 0 || l.PerAddress <= 0 {
		return nil, errors.New("transport: ListenerLimits needs a positive Total and PerAddress")
	}
	return &LimitedListener{Listener: ln, limits: l, perAddr: make(map[netip.Addr]int)}, nil
}

// LimitedListener is the listener LimitListener returns.
type LimitedListener struct {
	net.Listener
	limits ListenerLimits

	mu      sync.Mutex
	total   int
	perAddr map[netip.Addr]int
	refused uint64
}

// Accept returns the next connection within the limits, closing the ones
// over them.
func (l *LimitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := connAddr(c)
		if l.take(addr) {
			return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
		}
		c.Close()
	}
}

// Open reports the connections open now.
func (l *LimitedListener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Refused reports the connections refused since the listener was made.
func (l *LimitedListener) Refused() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

func (l *LimitedListener) take(a netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	perAddr := !isTrusted(a, l.limits.Trusted)
	if l.total >= l.limits.Total || perAddr && l.perAddr[a] >= l.limits.PerAddress {
		l.refused++
		return false
	}
	l.total++
	if perAddr {
		l.perAddr[a]++
	}
	return true
}

func (l *LimitedListener) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n, ok := l.perAddr[a]; ok {
		if n <= 1 {
			delete(l.perAddr, a)
		} else {
			l.perAddr[a] = n - 1
		}
	}
}

// connAddr is the address a connection counts under: its peer's IP, an
// IPv6 one as its /64, as clientAddr counts requests.
func connAddr(c net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{} // not IP (a Unix socket): one shared count
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a
}

// limitedConn gives its place back once, when it is closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
