package transport

import (
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limit shapes a token bucket: Burst requests at once, then one more every
// Every. The zero Limit stands for the default of the field that holds it.
type Limit struct {
	Burst int
	Every time.Duration
}

// check fills in the default and refuses a negative or half-set Limit.
func (l *Limit) check(def Limit) error {
	if *l == (Limit{}) {
		*l = def
	}
	if l.Burst <= 0 || l.Every <= 0 {
		return errors.New("transport: a HandlerConfig Limit needs a positive Burst and Every")
	}
	return nil
}

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
	l.mu.Lock()
	defer l.mu.Unlock()
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
	if b.tokens >= 1 {
		b.tokens--
		l.buckets[key] = b
		return true, 0
	}
	l.buckets[key] = b
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return false, wait
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
// r.RemoteAddr, or with trustForwardedFor the last address of the last
// X-Forwarded-For header (the one the trusted proxy in front appended), if
// it parses. An IPv6 address counts as its /64: one host commonly holds a
// whole /64, so limiting single IPv6 addresses would limit nothing.
func clientAddr(r *http.Request, trustForwardedFor bool) netip.Addr {
	var a netip.Addr
	if trustForwardedFor {
		if vs := r.Header.Values("X-Forwarded-For"); len(vs) > 0 {
			last := vs[len(vs)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			a, _ = netip.ParseAddr(strings.TrimSpace(last))
		}
	}
	if !a.IsValid() {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		a, _ = netip.ParseAddr(host) // unparsable: the zero Addr, one shared bucket
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a
}
