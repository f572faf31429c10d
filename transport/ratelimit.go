package transport

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/attesta-go/attesta/attesta"
)

// Limit shapes a token bucket: Burst requests at once, then one more every
// Every. The zero Limit stands for the default of the field that holds it.
// It is attesta.Limit: the in-memory buckets here and the durable budgets
// of the Service are shaped alike.
type Limit = attesta.Limit

// limiter is a token bucket per key (a client address, a party, a login),
// for one endpoint.
//
// Memory is bounded: at most max keys are tracked. When a new key arrives
// at a full table, a few entries are sampled (Go's map iteration starts at
// a random place) and the one that has been idle longest — the fullest
// bucket once refilled — is dropped. An evicted key starts again with a
// full burst, so churning the table through many keys can only give an
// attacker's own keys, or idle ones, a fresh burst: a drained bucket is the
// last to go. It costs O(1) per request.
type limiter[K comparable] struct {
	rate  float64 // tokens per second
	burst float64
	max   int

	mu      sync.Mutex
	buckets map[K]bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// evictionSample is how many entries are looked at to choose one to evict.
const evictionSample = 8

func newLimiter[K comparable](rate float64, burst, max int) *limiter[K] {
	return &limiter[K]{rate: rate, burst: float64(burst), max: max, buckets: make(map[K]bucket)}
}

// newLimiterOf returns a limiter shaped by l.
func newLimiterOf[K comparable](l Limit, max int) *limiter[K] {
	return newLimiter[K](float64(time.Second)/float64(l.Every), l.Burst, max)
}

// allow takes a token from key's bucket. If there is none it returns
// false and how long until there is one.
func (l *limiter[K]) allow(key K, now time.Time) (bool, time.Duration) {
	return l.allowN(key, 1, now)
}

// allowN takes n tokens from key's bucket (at most its burst), or none.
func (l *limiter[K]) allowN(key K, n int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cost := min(float64(n), l.burst)
	b, ok := l.buckets[key]
	if ok {
		b.tokens = l.refill(b, now)
	} else {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens >= cost {
		b.tokens -= cost
		l.buckets[key] = b
		return true, 0
	}
	l.buckets[key] = b
	wait := time.Duration(math.Ceil((cost - b.tokens) / l.rate * float64(time.Second)))
	return false, wait
}

// charge takes n more tokens from key's bucket whatever it holds, into
// debt if need be: work already done is paid for by the waits that
// follow. (Only a request that found a token can charge, so the debt is
// bounded by what one request costs.)
func (l *limiter[K]) charge(key K, n int, now time.Time) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b.tokens = l.burst
	} else {
		b.tokens = l.refill(b, now)
	}
	b.tokens -= float64(n)
	b.last = now
	l.buckets[key] = b
}

// has reports whether key's bucket holds a token, taking none, and if not
// how long until it does.
func (l *limiter[K]) has(key K, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return true, 0
	}
	if t := l.refill(b, now); t < 1 {
		return false, time.Duration(math.Ceil((1 - t) / l.rate * float64(time.Second)))
	}
	return true, 0
}

func (l *limiter[K]) refill(b bucket, now time.Time) float64 {
	elapsed := now.Sub(b.last).Seconds()
	if elapsed <= 0 {
		return b.tokens
	}
	return min(l.burst, b.tokens+elapsed*l.rate)
}

// evict drops the fullest of a few sampled buckets.
func (l *limiter[K]) evict(now time.Time) {
	var (
		victim K
		best   = -1.0
		n      = 0
	)
	for a, b := range l.buckets {
		if t := l.refill(b, now); t > best {
			victim, best = a, t
		}
		if n++; n == evictionSample {
			break
		}
	}
	delete(l.buckets, victim)
}

// clientAddr is the address a request is limited under: the IP address of
// r.RemoteAddr, unless that peer is one of the trusted proxies; then the
// X-Forwarded-For entries (every header, in order) are read from the
// right, the end the proxies append to, past every entry that is itself a
// trusted proxy, and the first other address is the client's. Entries
// left of it are the client's own words and are never read. An entry that
// does not parse stops the walk at the proxy before it. An IPv6 address
// counts as its /64: one host commonly holds a whole /64, so limiting
// single IPv6 addresses would limit nothing.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host) // unparsable: the zero Addr, one shared bucket
	a = a.Unmap().WithZone("")
	if isTrusted(a, trusted) {
		var hops []string
		for _, v := range r.Header.Values("X-Forwarded-For") {
			hops = append(hops, strings.Split(v, ",")...)
		}
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			a = hop.Unmap().WithZone("")
			if !isTrusted(a, trusted) {
				break
			}
		}
	}
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
