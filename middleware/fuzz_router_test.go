package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/whitelist"
)

// demoServer starts the whole router over the embedded demo project (SQLite,
// the shipped originals) on a real listener.
func demoServer(t testing.TB) *httptest.Server {
	t.Helper()
	root := fixture.RepoRoot()
	seed, err := os.ReadFile(filepath.Join(root, "uploads", "demo", "seed.sql"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := hashes.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "demo.db"), fixture.Schema(t), string(seed))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	originals, err := storage.NewLocal(filepath.Join(root, "uploads", "demo", "originals"))
	if err != nil {
		t.Fatal(err)
	}
	thumbs, err := storage.CreateLocal(filepath.Join(t.TempDir(), "generated"))
	if err != nil {
		t.Fatal(err)
	}
	p := &middleware.Project{
		Name: "demo", Files: hashes.NewStore(db, nil), Originals: originals, Thumbs: thumbs,
		Thumbnails: middleware.Thumbnails{
			// Small limits keep each fuzz input cheap.
			Limits: whitelist.Options{MaxDimension: 400}, AutoOrient: true, MaxSourcePixels: 50_000_000,
		},
		CORS: middleware.DefaultCORS(),
	}
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{
		Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return srv
}

// escapeTarget percent-encodes every byte that may not appear as is in a
// request target, keeping '%' so that escapes (valid or not) reach the
// server as sent.
func escapeTarget(s string, extra string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@/%"+extra, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

var fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"}

// FuzzRouter drives the whole router with arbitrary methods, paths, queries
// and a few headers. Every answer must be complete, be either v8's JSON or
// an asset, and never be a 500.
func FuzzRouter(f *testing.F) {
	for _, s := range []struct {
		method           uint8
		path, query      string
		rng, inm, origin string
		auth             string
	}{
		{0, "/demo/assets/demo0photo0jpeg1", "key=thumbnail", "", "", "", ""},
		{0, "/demo/assets/demo0photo0jpeg1", "w=64&h=64&f=crop&q=80&format=png", "bytes=0-9", "", "https://a.test", ""},
		{1, "/demo/assets/demo0alpha0png01", "download", "bytes=-0", "\"x\"", "", ""},
		{0, "/demo/assets/%ff", "", "", "", "", ""},
		{0, "/demo/assets/%F0%9F%98%80", "key=thumbnail", "", "", "", ""},
		{0, "/demo/assets/\xe9t\xe9", "", "", "", "", ""},
		{0, "/server/assets/x", "", "", "", "", ""},
		{4, "/server/files/1", "", "", "", "", "Bearer x"},
		{2, "/server/files/1/rotate-hash", "", "", "", "", ""},
		{4, "/demo/files/+1", "", "", "", "", "Bearer admin"},
		{2, "/demo/files/1/rotate-hash", "access_token=x", "", "", "", ""},
		{6, "/demo/assets/x", "", "", "", "https://a.test", ""},
		{0, "/nosuch/assets/x", "", "", "", "", ""},
		{0, "/demo/assets/demo0document001", "w=10&h=10&f=contain&q=999", "", "", "", ""},
		{0, "/demo/assets/demo0photo0jpeg1", "w[]=1&h=2", "", "", "", ""},
		{0, "/readyz", "", "", "", "", ""},
	} {
		f.Add(s.method, s.path, s.query, s.rng, s.inm, s.origin, s.auth)
	}
	srv := demoServer(f)
	u, _ := url.Parse(srv.URL)
	f.Fuzz(func(t *testing.T, method uint8, path, query, rng, inm, origin, auth string) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		target := "/" + strings.TrimPrefix(escapeTarget(path, ""), "/")
		if _, err := url.ParseRequestURI(target); err != nil {
			// net/http refuses such a request line itself (400) before
			// any handler runs; so would any front server.
			return
		}
		req := &http.Request{Method: m, Header: http.Header{}, Host: u.Host,
			URL: &url.URL{Scheme: "http", Host: u.Host, Opaque: "//" + u.Host + target, RawQuery: escapeTarget(query, "?")}}
		for name, v := range map[string]string{"Range": rng, "If-None-Match": inm, "Origin": origin, "Authorization": auth} {
			v = strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f || r > 0x7e {
					return -1
				}
				return r
			}, v)
			if v != "" {
				req.Header.Set(name, v)
			}
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s?%s: %v", m, target, req.URL.RawQuery, err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%s %s: incomplete body: %v", m, target, err)
		}
		if res.StatusCode == 500 {
			t.Fatalf("%s %s?%s: 500 %s", m, target, req.URL.RawQuery, body)
		}
		if cl := res.Header.Get("Content-Length"); cl != "" && m != "HEAD" {
			if n, _ := strconv.Atoi(cl); n != len(body) {
				t.Fatalf("%s %s: Content-Length %s, got %d bytes", m, target, cl, len(body))
			}
		}
		if len(body) == 0 {
			return
		}
		ct := res.Header.Get("Content-Type")
		switch {
		case strings.HasPrefix(ct, "application/json"):
			var v map[string]json.RawMessage
			if err := json.Unmarshal(body, &v); err != nil || (v["error"] == nil && v["data"] == nil && v["status"] == nil) {
				t.Fatalf("%s %s: not v8 JSON: %s", m, target, body)
			}
		case strings.HasPrefix(ct, "image/"), ct == "application/pdf", ct == "text/html; charset=UTF-8" && string(body) == "pong":
		default:
			t.Fatalf("%s %s: %d with Content-Type %q: %.100q", m, target, res.StatusCode, ct, body)
		}
	})
}
