package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

// wiringSite is a served project on the embedded database, built from a
// config.toml fragment: the §12-like files (a photo, an EXIF-rotated photo,
// a 1.2 MB original) in a fresh uploads folder.
type wiringSite struct {
	base, dir string
	logs      *syncBuffer
}

// startWiring serves a config made of the server and project fragments
// and returns the running site.
func startWiring(t *testing.T, server, project, seed string) *wiringSite {
	t.Helper()
	dir := t.TempDir()
	orig := filepath.Join(dir, "originals")
	os.MkdirAll(orig, 0o755)
	photo := fixture.JPEG(fixture.Photo(600, 400, 3), 90)
	os.WriteFile(filepath.Join(orig, "photo.jpg"), photo, 0o644)
	os.WriteFile(filepath.Join(orig, "rotated.jpg"), fixture.WithOrientation(fixture.JPEG(fixture.Photo(600, 400, 4), 90), 6), 0o644)
	os.WriteFile(filepath.Join(dir, "seed.sql"), []byte(`INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
  (1, 'photohash0000001', 'photo.jpg', 'photo.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00'),
  (2, 'rotatedhash00001', 'rotated.jpg', 'rotated.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00'),
  (3, 'bighash000000001', 'big.jpg', 'big.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00');
INSERT INTO directus_users (id, status, role, email, token) VALUES (1, 'active', 1, 'admin@example.com', 'admintoken');
`+seed), 0o644)
	addr := freeAddr(t)
	cfg := sqliteConfig(t, dir, fmt.Sprintf("listen = %q\n%s", addr, server), "site", project, true)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-config", cfg}, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(base + "/server/ping"); err == nil {
			res.Body.Close()
			return &wiringSite{base: base, dir: dir, logs: logs}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up:\n%s", logs.String())
		}
	}
}

func (s *wiringSite) do(t *testing.T, method, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// Every documented key that changes what a client sees is read from
// config.toml and wired into the server: each row serves a config with the
// key set and observes its effect over HTTP. (change_probe, rendering,
// min_free_space, metrics_listen and max_generations' neighbours have their
// own end-to-end tests: TestServeFreshness, TestServeRenderingKey,
// TestServeSweepsStaleTempFiles.)
func TestConfigKeysReachTheServer(t *testing.T) {
	const emptyWhitelist = "UPDATE directus_settings SET value = '[]' WHERE `key` = 'asset_whitelist';\n"
	const photo = "/site/assets/photohash0000001"
	maintenance := filepath.Join(t.TempDir(), "maintenance")
	os.WriteFile(maintenance, nil, 0o644)
	cases := map[string]struct {
		server, project string
		check           func(t *testing.T, s *wiringSite)
		seed            string
	}{
		"generation_timeout": {"generation_timeout = \"1ns\"", "", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo+"?key=thumbnail"); res.StatusCode != 503 || !strings.Contains(body, "Server too busy") {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		}, ""},
		"maintenance_file": {fmt.Sprintf("maintenance_file = %q", maintenance), "", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo); res.StatusCode != 503 || !strings.Contains(body, `"code":21`) {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		}, ""},
		"log_format text, log_level debug": {"log_format = \"text\"\nlog_level = \"debug\"", "", func(t *testing.T, s *wiringSite) {
			s.do(t, "GET", "/healthz")
			if l := s.logs.String(); !strings.Contains(l, "level=DEBUG msg=request") || strings.Contains(l, `"msg":`) {
				t.Errorf("logs:\n%s", l)
			}
		}, ""},
		"admin_auth_failures": {"admin_auth_failures = 1", "", func(t *testing.T, s *wiringSite) {
			s.do(t, "POST", "/site/files/1/rotate-hash", "Authorization", "Bearer wrong")
			if res, _ := s.do(t, "POST", "/site/files/1/rotate-hash", "Authorization", "Bearer admintoken"); res.StatusCode != 429 {
				t.Errorf("after one failure: %d", res.StatusCode)
			}
		}, ""},
		"trusted_proxies": {"admin_auth_failures = 1\ntrusted_proxies = [\"127.0.0.0/8\"]", "", func(t *testing.T, s *wiringSite) {
			s.do(t, "POST", "/site/files/1/rotate-hash", "Authorization", "Bearer wrong", "X-Forwarded-For", "198.51.100.1")
			if res, _ := s.do(t, "POST", "/site/files/1/rotate-hash", "Authorization", "Bearer admintoken", "X-Forwarded-For", "198.51.100.2"); res.StatusCode != 200 {
				t.Errorf("another client behind the proxy: %d", res.StatusCode)
			}
		}, ""},
		"max_generation_memory": {"max_generation_memory = \"16MiB\"", "", func(t *testing.T, s *wiringSite) {
			os.WriteFile(filepath.Join(s.dir, "originals", "big.jpg"), fixture.JPEG(fixture.Photo(3000, 2000, 5), 80), 0o644)
			if res, body := s.do(t, "GET", "/site/assets/bighash000000001?key=directus-large-crop"); res.StatusCode != 422 || !strings.Contains(body, "max_generation_memory (16 MiB)") {
				t.Errorf("%d %s", res.StatusCode, body)
			}
			if res, body := s.do(t, "GET", photo+"?key=directus-small-crop"); res.StatusCode != 200 {
				t.Errorf("a small original: %d %s", res.StatusCode, body)
			}
		}, ""},
		"cache_ttl": {"", "cache_ttl = 3600", func(t *testing.T, s *wiringSite) {
			if res, _ := s.do(t, "GET", photo); res.Header.Get("Cache-Control") != "max-age=3600, public" {
				t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
			}
		}, ""},
		"require_whitelist": {"", "require_whitelist = true", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo+"?w=123&h=45&f=crop&q=80"); res.StatusCode != 422 || !strings.Contains(body, "whitelist") {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		}, emptyWhitelist},
		"require_whitelist default": {"", "", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo+"?w=123&h=45&f=crop&q=80"); res.StatusCode != 200 {
				t.Errorf("an empty whitelist allows any size (Q9): %d %s", res.StatusCode, body)
			}
		}, emptyWhitelist},
		"max_dimension": {"", "max_dimension = 100", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo+"?w=200&h=200&f=contain&q=80"); res.StatusCode != 422 || !strings.Contains(body, "w must be between 1 and 100.") {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		}, ""},
		"max_source_pixels": {"", "max_source_pixels = 1000", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo+"?key=thumbnail"); res.StatusCode != 422 || !strings.Contains(body, "exceeds 1000 pixels") {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		}, ""},
		"max_source_bytes": {"", "max_source_bytes = \"1000\"", func(t *testing.T, s *wiringSite) {
			if res, body := s.do(t, "GET", photo+"?key=thumbnail"); res.StatusCode != 422 || !strings.Contains(body, "bytes exceeds 1000.") {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		}, ""},
		"auto_orient false": {"", "auto_orient = false", func(t *testing.T, s *wiringSite) {
			// Stored 600×400 with orientation 6: upright it is 400×600.
			res, body := s.do(t, "GET", "/site/assets/rotatedhash00001?key=directus-large-contain")
			img, _, err := image.DecodeConfig(bytes.NewReader([]byte(body)))
			if res.StatusCode != 200 || err != nil || img.Width != 800 {
				t.Errorf("%d %v %+v: want the stored landscape", res.StatusCode, err, img)
			}
		}, ""},
		"auto_orient default": {"", "", func(t *testing.T, s *wiringSite) {
			res, body := s.do(t, "GET", "/site/assets/rotatedhash00001?key=directus-large-contain")
			img, _, err := image.DecodeConfig(bytes.NewReader([]byte(body)))
			if res.StatusCode != 200 || err != nil || img.Width != 400 {
				t.Errorf("%d %v %+v: want the upright portrait", res.StatusCode, err, img)
			}
		}, ""},
		"cors": {"", "[projects.site.cors]\nenabled = true\norigin = [\"https://app.test\"]\nmethods = [\"GET\"]\nheaders = [\"Range\"]\nexposed_headers = [\"Etag\"]\nmax_age = 600\ncredentials = true", func(t *testing.T, s *wiringSite) {
			res, _ := s.do(t, "OPTIONS", photo, "Origin", "https://app.test")
			h := res.Header
			if h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Allow-Methods") != "GET" ||
				!strings.Contains(strings.Join(h.Values("Access-Control-Allow-Headers"), ","), "Range") {
				t.Errorf("preflight %v", h)
			}
			res, _ = s.do(t, "GET", photo, "Origin", "https://app.test")
			h = res.Header
			if h.Get("Access-Control-Allow-Origin") != "https://app.test" || h.Get("Access-Control-Expose-Headers") != "Etag" || h.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("response %v", h)
			}
			if res, _ := s.do(t, "GET", photo, "Origin", "https://evil.test"); res.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("unlisted origin allowed")
			}
		}, ""},
		"cors disabled": {"", "[projects.site.cors]\nenabled = false", func(t *testing.T, s *wiringSite) {
			if res, _ := s.do(t, "OPTIONS", photo, "Origin", "https://app.test"); res.StatusCode != 405 {
				t.Errorf("preflight with CORS off: %d", res.StatusCode)
			}
		}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) { c.check(t, startWiring(t, c.server, c.project, c.seed)) })
	}
}
