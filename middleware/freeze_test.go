package middleware_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"sync"
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

// A frozen database stalls nothing: cached ids keep answering, an uncached
// one gets 503 "Database unavailable" within query_timeout + 1 s, /readyz is
// 503; after the thaw everything recovers without a restart; and once
// stale_if_error has passed while frozen, cached ids get the 503 too.
func TestFrozenDatabase(t *testing.T) {
	th := fixture.NewThumper(t)
	admin := fixture.AdminConfig(t)
	proxy := newFreezeProxy(t, admin.Net, admin.Addr)
	const queryTimeout = 500 * time.Millisecond
	cfg := admin.Clone()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", proxy.ln.Addr().String(), th.DBName
	cfg.Timeout, cfg.ReadTimeout, cfg.WriteTimeout = time.Second, queryTimeout, queryTimeout
	cfg.InterpolateParams = true
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(fixture.MaxOpenConns)
	defer db.Close()
	store := hashes.NewStore(db, nil)
	store.SetQueryTimeout(queryTimeout)
	const stale = 3 * time.Second
	var evMu sync.Mutex
	var events []string
	note := func(ev string) {
		evMu.Lock()
		events = append(events, time.Now().Format("05.000")+" "+ev)
		evMu.Unlock()
	}
	cache := hashes.NewCache(store, hashes.CacheOptions{Interval: 100 * time.Millisecond, StaleIfError: stale,
		Events: hashes.CacheEvents{Invalidate: func(r string) { note("drop " + r) }, Lookup: func(r string) { note("lookup " + r) }}})
	defer cache.Close()
	p := thumperProject(t, th)
	p.Files = cache
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{
		Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv, logs: &logBuffer{}}

	// The fixture's rows were just written: the probe drops the cache at
	// every turn while UPDATE_TIME is within two (whole) seconds of NOW(),
	// which is up to three seconds.
	time.Sleep(3200 * time.Millisecond)
	if res, _ := e.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Fatalf("warm: %d", res.StatusCode)
	}
	proxy.freeze(true)
	frozenAt := time.Now()
	time.Sleep(300 * time.Millisecond) // a few probes hang and fail
	start := time.Now()
	res, _ := e.do(t, "GET", avatar)
	if res.StatusCode != 200 || time.Since(start) > 200*time.Millisecond {
		evMu.Lock()
		t.Errorf("cached hit while frozen: %d after %v; frozen at %s; events %v", res.StatusCode, time.Since(start), frozenAt.Format("05.000"), events)
		evMu.Unlock()
	}
	start = time.Now()
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
	proxy.freeze(true)
	frozenAt = time.Now()
	for time.Since(frozenAt) < stale+500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
	}
	start = time.Now()
	res, body = e.do(t, "GET", avatar)
	wantV8Error(t, res, body, 503, nil, "Database unavailable")
	if d := time.Since(start); d > queryTimeout+time.Second {
		t.Errorf("after stale_if_error: answered after %v", d)
	}
	proxy.freeze(false)
	within("after stale_if_error", func() bool { res, _ := e.do(t, "GET", avatar); return res.StatusCode == 200 })
}
