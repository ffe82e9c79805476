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

// maxTracked bounds the addresses the failure limiter tracks one by one.
const maxTracked = 100_000

// failureLimiter counts failed authentications per client address in fixed
// windows: once a client has max failures in a window, it is refused until
// the window ends. Every operation costs O(1), amortised, however many
// addresses spray it: windows expire from a queue in the order they began,
// and once maxTracked addresses have open windows, further addresses share
// one overflow window (so a spray of fresh addresses is braked as one
// client instead of growing the table).
type failureLimiter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	counts map[netip.Addr]*failureWindow
	// order holds the open windows oldest first, from head on.
	order    []tracked
	head     int
	overflow failureWindow
}

type failureWindow struct {
	start time.Time
	n     int
}

type tracked struct {
	addr netip.Addr
	w    *failureWindow
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	if max <= 0 {
		max = defaultAuthFailures
	}
	return &failureLimiter{max: max, window: window, counts: map[netip.Addr]*failureWindow{}}
}

func (l *failureLimiter) open(w *failureWindow, now time.Time) bool {
	return w != nil && now.Sub(w.start) < l.window
}

// windowOf returns addr's open window, or nil; for an address not tracked
// while the table is full, the overflow window.
func (l *failureLimiter) windowOf(addr netip.Addr, now time.Time) *failureWindow {
	l.expire(now)
	if w, ok := l.counts[addr]; ok {
		return w
	}
	if len(l.counts) >= maxTracked {
		return &l.overflow
	}
	return nil
}

// blocked returns how long addr must wait before it may try again, or 0.
func (l *failureLimiter) blocked(addr netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windowOf(addr, now)
	if !l.open(w, now) || w.n < l.max {
		return 0
	}
	return w.start.Add(l.window).Sub(now)
}

// fail records a failed authentication by addr.
func (l *failureLimiter) fail(addr netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windowOf(addr, now)
	switch {
	case w == &l.overflow && !l.open(w, now):
		l.overflow = failureWindow{start: now}
	case w == nil:
		w = &failureWindow{start: now}
		l.counts[addr] = w
		l.order = append(l.order, tracked{addr, w})
	}
	w.n++
}

// expire closes the windows that have ended, oldest first; each window is
// queued once and closed once.
func (l *failureLimiter) expire(now time.Time) {
	for l.head < len(l.order) && !l.open(l.order[l.head].w, now) {
		delete(l.counts, l.order[l.head].addr)
		l.order[l.head] = tracked{}
		l.head++
	}
	if l.head > len(l.order)/2 {
		l.order = append(l.order[:0], l.order[l.head:]...)
		l.head = 0
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
