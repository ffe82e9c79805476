package middleware

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// defaultAuthFailures is the admin_auth_failures default.
const defaultAuthFailures = 10

// failureLimiter counts failed authentications per client address in fixed
// windows: once a client has max failures in a window, it is refused until
// the window ends.
type failureLimiter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	counts map[netip.Addr]*failureWindow
}

type failureWindow struct {
	start time.Time
	n     int
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	if max <= 0 {
		max = defaultAuthFailures
	}
	return &failureLimiter{max: max, window: window, counts: map[netip.Addr]*failureWindow{}}
}

// blocked returns how long addr must wait before it may try again, or 0.
func (l *failureLimiter) blocked(addr netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.counts[addr]
	if !ok || now.Sub(w.start) >= l.window {
		return 0
	}
	if w.n < l.max {
		return 0
	}
	return w.start.Add(l.window).Sub(now)
}

// fail records a failed authentication by addr.
func (l *failureLimiter) fail(addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.counts[addr]
	if !ok || now.Sub(w.start) >= l.window {
		if len(l.counts) >= 100_000 {
			l.expire(now)
		}
		w = &failureWindow{start: now}
		l.counts[addr] = w
	}
	w.n++
}

// expire drops every finished window, so a spray from many addresses cannot
// grow the map past what one window holds.
func (l *failureLimiter) expire(now time.Time) {
	for addr, w := range l.counts {
		if now.Sub(w.start) >= l.window {
			delete(l.counts, addr)
		}
	}
}

// clientAddr returns the address a request is counted under: the TCP peer,
// unless the peer is a trusted proxy, in which case the right-most address of
// X-Forwarded-For that is not itself a trusted proxy (everything left of it
// could be forged by the client). With every forwarded address trusted, the
// left-most one is the client.
func clientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// Garbage in the header: stop at the last address we trust.
			return client
		}
		client = addr.Unmap()
		if !isTrusted(client, trusted) {
			return client
		}
	}
	return client
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
