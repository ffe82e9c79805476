package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/whitelist"
)

// logBuffer collects log output safely across the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type env struct {
	*fixture.Thumper
	srv   *httptest.Server
	logs  *logBuffer
	cache *hashes.Cache
}

// sync makes the lookup cache, if any, see the database's latest writes at
// once instead of at its next change probe.
func (e *env) sync(t testing.TB) {
	t.Helper()
	if e.cache != nil {
		e.cache.Sync(context.Background())
	}
}

// SetSetting writes a directus_settings row (as Thumper.SetSetting) and
// syncs the lookup cache.
func (e *env) SetSetting(t testing.TB, key string, value *string) {
	t.Helper()
	e.Thumper.SetSetting(t, key, value)
	e.sync(t)
}

// DeleteSetting removes a directus_settings row and syncs the lookup cache.
func (e *env) DeleteSetting(t testing.TB, key string) {
	t.Helper()
	e.Thumper.DeleteSetting(t, key)
	e.sync(t)
}

func thumperProject(t testing.TB, th *fixture.Thumper) *middleware.Project {
	t.Helper()
	originals, err := storage.NewLocal(th.Root)
	if err != nil {
		t.Fatal(err)
	}
	thumbs, err := storage.NewLocal(th.ThumbRoot)
	if err != nil {
		t.Fatal(err)
	}
	return &middleware.Project{
		Name:      "thumper",
		Files:     hashes.NewStore(th.DB, nil),
		Originals: originals,
		Thumbs:    thumbs,
		Thumbnails: middleware.Thumbnails{
			Limits:          whitelist.Options{MaxDimension: 6000},
			AutoOrient:      true,
			MaxSourcePixels: 50_000_000,
		},
		CORS: middleware.DefaultCORS(),
	}
}

// newEnv starts a real HTTP server for the §12 fixture project; edit lets a
// test change the project before the server starts. Lookups go through the
// lookup cache with the default change probe, as serve's do.
func newEnv(t *testing.T, edit ...func(*middleware.Project)) *env {
	t.Helper()
	th := fixture.NewThumper(t)
	p := thumperProject(t, th)
	for _, e := range edit {
		e(p)
	}
	var cache *hashes.Cache
	if store, ok := p.Files.(*hashes.Store); ok {
		cache = hashes.NewCache(store, hashes.CacheOptions{Interval: 250 * time.Millisecond, StaleIfError: time.Minute})
		t.Cleanup(cache.Close)
		p.Files = cache
	}
	logs := &logBuffer{}
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{Generator: generator.New(generator.Options{}), Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	t.Cleanup(srv.Close)
	return &env{Thumper: th, srv: srv, logs: logs, cache: cache}
}

// do sends a request without a body, with optional header pairs, and
// returns the response with its body read.
func (e *env) do(t *testing.T, method, path string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return e.send(t, method, path, "", header...)
}

// send issues a request with a body and header pairs.
func (e *env) send(t *testing.T, method, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// wantV8Error checks a v8 JSON error: status, Content-Type and the parsed
// body. code nil means "code":null.
func wantV8Error(t *testing.T, res *http.Response, body []byte, status int, code any, message string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if res.Request.Method == http.MethodHead {
		return
	}
	var got struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	if n, ok := code.(int); ok {
		code = float64(n)
	}
	if got.Error["code"] != code || got.Error["message"] != message || len(got.Error) != 2 {
		t.Errorf("error = %v, want code %v message %q", got.Error, code, message)
	}
	if strings.Contains(string(body), "\n") {
		t.Errorf("body has a newline: %q", body)
	}
}
