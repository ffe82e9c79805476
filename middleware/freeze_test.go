package middleware_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
)

// freezeProxy forwards TCP connections to MariaDB; while frozen it stops
// forwarding bytes without closing anything, like a database that hangs.
type freezeProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed when not frozen
}

func newFreezeProxy(t *testing.T, netw, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, thawed: make(chan struct{})}
	close(p.thawed)
	var conns []net.Conn
	var cmu sync.Mutex
	t.Cleanup(func() {
		p.freeze(false)
		ln.Close()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
	})
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			<-p.gate()
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		dst.Close()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				<-p.gate()
				d, err := net.Dial(netw, target)
				if err != nil {
					c.Close()
					return
				}
				cmu.Lock()
				conns = append(conns, c, d)
				cmu.Unlock()
				go pipe(d, c)
				go pipe(c, d)
			}()
		}
	}()
	return p
}

func (p *freezeProxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.thawed
}

func (p *freezeProxy) freeze(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.frozen {
		return
	}
	p.frozen = on
	if on {
		p.thawed = make(chan struct{})
	} else {
		close(p.thawed)
	}
}

// frozenDB opens the fixture's database through a freeze proxy, with the
// pool bounded like the fixtures'; driverTimeouts also sets the driver's
// read and write timeouts to queryTimeout (the server's DSN does).
func frozenDB(t *testing.T, th *fixture.Thumper, queryTimeout time.Duration, driverTimeouts bool) (*freezeProxy, *sqlx.DB) {
	t.Helper()
	admin := fixture.AdminConfig(t)
	proxy := newFreezeProxy(t, admin.Net, admin.Addr)
	cfg := admin.Clone()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", proxy.ln.Addr().String(), th.DBName
	cfg.Timeout, cfg.InterpolateParams = time.Second, true
	if driverTimeouts {
		cfg.ReadTimeout, cfg.WriteTimeout = queryTimeout, queryTimeout
	}
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(fixture.MaxOpenConns)
	t.Cleanup(func() { db.Close() })
	return proxy, db
}

// serveFiles serves the fixture project with lookups through files and a
// generator of its own.
func serveFiles(t *testing.T, th *fixture.Thumper, files middleware.Files) *env {
	t.Helper()
	p := thumperProject(t, th)
	p.Files = files
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{
		Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return &env{Thumper: th, srv: srv, logs: &logBuffer{}}
}

// A frozen database stalls nothing: cached ids keep answering, an uncached
// one gets 503 "Database unavailable" within query_timeout + 1 s, /readyz is
// 503; after the thaw everything recovers without a restart; and once
// stale_if_error has passed while frozen, cached ids get the 503 too.
func TestFrozenDatabase(t *testing.T) {
	th := fixture.NewThumper(t)
	const queryTimeout = 500 * time.Millisecond
	proxy, db := frozenDB(t, th, queryTimeout, true)
	var queries atomic.Int64
	store := hashes.NewStore(db, func(string, time.Duration) { queries.Add(1) })
	store.SetQueryTimeout(queryTimeout)
	const stale = 3 * time.Second
	var evMu sync.Mutex
	var events []string
	note := func(ev string) {
		evMu.Lock()
		events = append(events, time.Now().Format("05.000")+" "+ev)
		evMu.Unlock()
	}
	// seen waits until an event matching what has been noted since mark.
	seen := func(what string, mark int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			evMu.Lock()
			for _, ev := range events[mark:] {
				if strings.HasSuffix(ev, " "+what) {
					evMu.Unlock()
					return
				}
			}
			evMu.Unlock()
			if time.Now().After(deadline) {
				t.Fatalf("no %q event in 30 s", what)
			}
		}
	}
	mark := func() int { evMu.Lock(); defer evMu.Unlock(); return len(events) }
	cache := hashes.NewCache(store, hashes.CacheOptions{Interval: 100 * time.Millisecond, StaleIfError: stale,
		Events: hashes.CacheEvents{Invalidate: func(r string) { note("drop " + r) }, Lookup: func(r string) { note("lookup " + r) },
			Probe: func(_ time.Duration, err error) {
				if err != nil {
					note("probe failed")
				} else {
					note("probe ok")
				}
			}}})
	defer cache.Close()
	e := serveFiles(t, th, cache)

	// The fixture's rows were just written: entries are revalidated at
	// every probe while UPDATE_TIME is within two (whole) seconds of NOW().
	// Wait for the database's clock to leave that window, then for a probe
	// after it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var age int
		if err := th.DB.Get(&age, `SELECT TIMESTAMPDIFF(SECOND, UPDATE_TIME, NOW()) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'directus_files'`); err != nil {
			t.Fatal(err)
		}
		if age > 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("directus_files stays recently changed")
		}
	}
	// The first probe to end may have read the clock before, the second
	// then drops the cache once more (recent_end); from the third on the
	// signal is steady.
	for range 3 {
		seen("probe ok", mark())
	}
	if res, _ := e.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Fatalf("warm: %d", res.StatusCode)
	}
	proxy.freeze(true)
	seen("probe failed", mark())
	before := queries.Load()
	res, _ := e.do(t, "GET", avatar)
	if res.StatusCode != 200 || queries.Load() != before {
		evMu.Lock()
		t.Errorf("cached hit while frozen: %d after %d queries; events %v", res.StatusCode, queries.Load()-before, events)
		evMu.Unlock()
	}
	start := time.Now()
	res, body := e.do(t, "GET", "/thumper/assets/"+fixture.SmallHash)
	wantV8Error(t, res, body, 503, nil, "Database unavailable")
	if d := time.Since(start); d > queryTimeout+time.Second {
		t.Errorf("uncached id answered after %v", d)
	}
	if res.Header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	if status, body := readyStatus(t, e); status != 503 || body["projects"].(map[string]any)["thumper"] != "database" {
		t.Errorf("readyz while frozen: %d %v", status, body)
	}

	proxy.freeze(false)
	within := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: did not recover", what)
			}
		}
	}
	within("uncached id", func() bool {
		res, _ := e.do(t, "GET", "/thumper/assets/"+fixture.SmallHash)
		return res.StatusCode == 200
	})
	within("readyz", func() bool { status, _ := readyStatus(t, e); return status == 200 })

	e.do(t, "GET", avatar)
	cache.Sync(context.Background())
	m := mark()
	proxy.freeze(true)
	seen("drop stale_if_error", m)
	start = time.Now()
	res, body = e.do(t, "GET", avatar)
	wantV8Error(t, res, body, 503, nil, "Database unavailable")
	if d := time.Since(start); d > queryTimeout+time.Second {
		t.Errorf("after stale_if_error: answered after %v", d)
	}
	proxy.freeze(false)
	within("after stale_if_error", func() bool { res, _ := e.do(t, "GET", avatar); return res.StatusCode == 200 })
}
