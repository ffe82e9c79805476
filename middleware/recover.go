package middleware

import (
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/v8assets/v8assets/v8err"
)

// panicLogInterval is how often one identical panic (same value, same
// place) is logged; the others in between are only counted, so an attacker
// who found a crashing URL cannot flood the log.
const panicLogInterval = time.Minute

// panicLog remembers when each distinct panic was last logged.
type panicLog struct {
	mu         sync.Mutex
	last       map[string]time.Time
	suppressed map[string]int
}

// allow reports whether the panic named key should be logged now, and how
// many identical ones were suppressed since it last was.
func (l *panicLog) allow(key string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.suppressed = map[string]time.Time{}, map[string]int{}
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < panicLogInterval {
		l.suppressed[key]++
		return false, 0
	}
	if len(l.last) > 1000 { // distinct panics are few; never let the map grow
		clear(l.last)
		clear(l.suppressed)
	}
	n := l.suppressed[key]
	l.last[key], l.suppressed[key] = now, 0
	return true, n
}

// recoverPanic turns a panic in a handler into v8's 500 JSON error and one
// log line naming where it happened. http.ErrAbortHandler is passed on: it is
// how a handler asks net/http to drop the connection.
func (s *Server) recoverPanic(w *recorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	where := panicSite()
	key := fmt.Sprint(v) + " at " + where
	if ok, suppressed := s.panics.allow(key, time.Now()); ok {
		s.log.ErrorContext(r.Context(), "handler panicked", "route", infoOf(r).route, "panic", fmt.Sprint(v),
			"at", where, "suppressed_since_last", suppressed)
	}
	s.metrics.Panic()
	if w.wrote {
		// Headers are out: the only honest thing left is to cut the
		// response short.
		panic(http.ErrAbortHandler)
	}
	s.writeError(w, r, v8err.New(v8err.Internal, "Internal Server Error"))
}

// panicSite returns file:line of the innermost frame of this module that
// panicked, skipping the runtime's and this file's frames.
func panicSite() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function != "" && !isRuntime(f.Function) {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return "unknown"
		}
	}
}

func isRuntime(fn string) bool {
	return len(fn) >= 8 && fn[:8] == "runtime."
}
