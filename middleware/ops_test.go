package middleware_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/metrics"
	"github.com/v8assets/v8assets/middleware"
)

// switchProxy forwards TCP connections to MariaDB while up; while down it
// refuses them and cuts the ones it carries, like a database that died.
type switchProxy struct {
	ln           net.Listener
	target, netw string
	mu           sync.Mutex
	up           bool
	conns        []net.Conn
}

func newSwitchProxy(t *testing.T, netw, target string) *switchProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target, netw: netw, up: true}
	t.Cleanup(func() { ln.Close(); p.set(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			up := p.up
			p.mu.Unlock()
			if !up {
				c.Close()
				continue
			}
			d, err := net.Dial(p.netw, p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
	return p
}

func (p *switchProxy) set(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

func readyStatus(t *testing.T, e *env) (int, map[string]any) {
	t.Helper()
	res, body := e.do(t, "GET", "/readyz")
	var got map[string]any
	json.Unmarshal(body, &got)
	return res.StatusCode, got
}

// /readyz turns 503 naming the project when its database stops answering,
// and 200 again when it is back.
func TestReadinessFollowsTheDatabase(t *testing.T) {
	th := fixture.NewThumper(t)
	admin := fixture.AdminConfig(t)
	proxy := newSwitchProxy(t, admin.Net, admin.Addr)
	cfg := admin.Clone()
	cfg.Net, cfg.Addr, cfg.DBName, cfg.Timeout = "tcp", proxy.ln.Addr().String(), th.DBName, time.Second
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := thumperProject(t, th)
	p.Files = hashes.NewStore(db, nil)
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv, logs: &logBuffer{}}

	if status, body := readyStatus(t, e); status != 200 || body["status"] != "ok" {
		t.Fatalf("ready: %d %v", status, body)
	}
	proxy.set(false)
	status, body := readyStatus(t, e)
	projects, _ := body["projects"].(map[string]any)
	if status != 503 || body["status"] != "unavailable" || projects["thumper"] != "database" {
		t.Fatalf("database down: %d %v", status, body)
	}
	if res, _ := e.do(t, "GET", "/healthz"); res.StatusCode != 200 {
		t.Errorf("healthz follows the database: %d", res.StatusCode)
	}
	proxy.set(true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if status, _ := readyStatus(t, e); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReadinessChecksRootsAndDrain(t *testing.T) {
	e := newEnv(t)
	if status, _ := readyStatus(t, e); status != 200 {
		t.Fatalf("status %d", status)
	}
	os.Rename(e.Root, e.Root+".moved")
	status, body := readyStatus(t, e)
	if projects, _ := body["projects"].(map[string]any); status != 503 || projects["thumper"] != "originals" {
		t.Errorf("missing root: %d %v", status, body)
	}
	os.Rename(e.Root+".moved", e.Root)
	os.Rename(e.ThumbRoot, e.ThumbRoot+".moved")
	os.WriteFile(e.ThumbRoot, []byte("not a directory"), 0o644)
	status, body = readyStatus(t, e)
	if projects, _ := body["projects"].(map[string]any); status != 503 || projects["thumper"] != "thumbs" {
		t.Errorf("unusable thumb root: %d %v", status, body)
	}
	os.Remove(e.ThumbRoot)
	os.Rename(e.ThumbRoot+".moved", e.ThumbRoot)
	if status, _ := readyStatus(t, e); status != 200 {
		t.Fatalf("roots back: %d", status)
	}

	// Draining (SIGTERM) turns readiness off while requests still work.
	p := thumperProject(t, e.Thumper)
	s := middleware.New([]*middleware.Project{p}, middleware.Options{Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(s)
	defer srv.Close()
	d := &env{Thumper: e.Thumper, srv: srv, logs: &logBuffer{}}
	s.Drain()
	if status, body := readyStatus(t, d); status != 503 || body["status"] != "shutting down" {
		t.Errorf("draining: %d %v", status, body)
	}
	if res, _ := d.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Errorf("asset while draining: %d", res.StatusCode)
	}
}

func TestMaintenanceMode(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	th := fixture.NewThumper(t)
	p := thumperProject(t, th)
	logs := &logBuffer{}
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{
		Generator: generator.New(generator.Options{}), Logger: slog.New(slog.NewJSONHandler(logs, nil)), MaintenanceFile: flag}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv, logs: logs}
	msg := "This API instance is currently down for maintenance. Please try again later."

	if res, _ := e.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Fatalf("before: %d", res.StatusCode)
	}
	os.WriteFile(flag, nil, 0o644)
	for _, path := range []string{avatar, avatar + "?key=thumbnail", "/nosuchproject/assets/x", "/server/ping"} {
		res, body := e.do(t, "GET", path)
		wantV8Error(t, res, body, 503, 21, msg)
	}
	res, body := e.send(t, "PATCH", "/thumper/files/1", `{"filename_download":"x"}`, "Authorization", adminAuth)
	wantV8Error(t, res, body, 503, 21, msg)
	for _, path := range []string{"/healthz", "/readyz"} {
		if res, _ := e.do(t, "GET", path); res.StatusCode != 200 {
			t.Errorf("%s during maintenance: %d", path, res.StatusCode)
		}
	}
	os.Remove(flag)
	if res, _ := e.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Fatalf("after: %d", res.StatusCode)
	}
}

// After a few requests the metrics hold the counters, labelled by route
// template and project, and no label value carries a hash.
func TestMetrics(t *testing.T) {
	th := fixture.NewThumper(t)
	p := thumperProject(t, th)
	gen := generator.New(generator.Options{})
	m := metrics.New(func() float64 { return float64(gen.Waiting()) }, func() float64 { return float64(gen.InFlight()) })
	p.Files = hashes.NewStore(th.DB, func(q string, d time.Duration) { m.Query("thumper", q, d) })
	logs := &logBuffer{}
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{Generator: gen, Metrics: m, Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv, logs: logs}
	for _, path := range []string{avatar, avatar, avatar + "?key=thumbnail", avatar + "?key=thumbnail", "/thumper/assets/nope",
		"/evil-" + fixture.AvatarHash + "/assets/x", avatar + "?key=card", "/healthz"} {
		e.do(t, "GET", path)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`v8assets_requests_total{project="thumper",route="/{project}/assets/{id:[^/]+}",status="200"} 4`,
		`v8assets_requests_total{project="thumper",route="/{project}/assets/{id:[^/]+}",status="404"} 1`,
		`v8assets_requests_total{project="unknown",route="unknown project",status="401"} 1`,
		`v8assets_thumbnails_total{format="jpeg",project="thumper",result="generated"} 1`,
		`v8assets_thumbnails_total{format="jpeg",project="thumper",result="hit"} 1`,
		`v8assets_thumbnail_generation_seconds_count{project="thumper"} 1`,
		`v8assets_errors_total{code="203",project="thumper"} 1`,
		`v8assets_errors_total{code="12",project="thumper"} 1`,
		// Six lookups, and the generated thumbnail's look again before it
		// is sent.
		`v8assets_db_query_duration_seconds_count{project="thumper",query="find"} 7`,
		`v8assets_response_bytes_total{project="thumper",route="/{project}/assets/{id:[^/]+}"}`,
		`v8assets_request_duration_seconds_count{project="thumper",route="/{project}/assets/{id:[^/]+}"} 6`,
		`v8assets_request_duration_seconds_count{project="unknown",route="unknown project"} 1`,
		"v8assets_generation_queue_depth 0",
		"v8assets_generations_in_flight 0",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, secret := range []string{fixture.AvatarHash, strings.ToUpper(fixture.AvatarHash)[:8], "nope"} {
		if strings.Contains(out, secret) {
			t.Errorf("metrics carry %q", secret)
		}
	}
	// One access line per request, the health check only at debug level.
	l := logs.String()
	if n := strings.Count(l, `"msg":"request"`); n != 7 {
		t.Errorf("%d access lines, want 7:\n%s", n, l)
	}
	if strings.Contains(l, fixture.AvatarHash) || !strings.Contains(l, `"asset":"pnw7…"`) || !strings.Contains(l, `"cache":"generated"`) ||
		!strings.Contains(l, `"request_id":`) || !strings.Contains(l, `"duration_ms":`) {
		t.Errorf("access lines:\n%s", l)
	}
}

// A generation abandoned at its deadline answers 503 and counts as a
// timeout rejection.
func TestRejectionMetric(t *testing.T) {
	th := fixture.NewThumper(t)
	p := thumperProject(t, th)
	gen := generator.New(generator.Options{Timeout: time.Nanosecond})
	m := metrics.New(func() float64 { return float64(gen.Waiting()) }, func() float64 { return float64(gen.InFlight()) })
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{Generator: gen, Metrics: m, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv}
	res, body := e.do(t, "GET", avatar+"?key=thumbnail")
	wantV8Error(t, res, body, 503, nil, "Server too busy")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`v8assets_generation_rejections_total{reason="timeout"} 1`, `v8assets_errors_total{code="null",project="thumper"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
