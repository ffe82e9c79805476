package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
)

// readmeBlock returns the first fenced block of the given language after
// heading in README.md.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	if !ok {
		t.Fatalf("README.md has no %s block after %q", lang, heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated %s block after %q", lang, heading)
	}
	return block
}

// replaceOnce replaces old in s, which must occur exactly once: a recipe
// edited so that the test no longer knows where to point it fails here.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the README's nginx block has %q %d times, want once", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// nginxBinary returns the path of nginx; ./test.sh installs nginx-light.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("nginx not found: run ./test.sh once, or apt-get install nginx-light")
	return ""
}

// nginxConf wraps a server block in a main configuration that keeps every
// file nginx writes under dir.
func nginxConf(t *testing.T, dir, serverBlock string, daemon bool) string {
	t.Helper()
	params, err := os.ReadFile("/etc/nginx/fastcgi_params")
	if err != nil {
		t.Fatalf("fastcgi_params (from nginx-common): %v", err)
	}
	os.WriteFile(filepath.Join(dir, "fastcgi_params"), params, 0o644)
	var b strings.Builder
	if os.Geteuid() == 0 {
		// Workers would switch to nobody, who cannot reach the test's
		// private temporary directories.
		b.WriteString("user root;\n")
	}
	if !daemon {
		b.WriteString("daemon off;\n")
	}
	fmt.Fprintf(&b, "worker_processes 1;\npid %[1]s/nginx.pid;\nerror_log %[1]s/error.log warn;\nevents { worker_connections 256; }\nhttp {\n"+
		"access_log off;\nclient_body_temp_path %[1]s/body;\nproxy_temp_path %[1]s/proxy;\nfastcgi_temp_path %[1]s/fastcgi;\n"+
		"uwsgi_temp_path %[1]s/uwsgi;\nscgi_temp_path %[1]s/scgi;\n%[2]s\n}\n", dir, serverBlock)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNginx runs nginx in the foreground with the server block conf, its
// files under dir, until the test ends; it returns once probe answers, with
// the base URL of probe.
func startNginx(t *testing.T, nginx, dir, conf, probe string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", nginxConf(t, dir, conf, false))
	// SIGTERM makes the master stop its workers; SIGKILL would leave them.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(probe); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not come up:\n%s", errLog)
		}
	}
	u, _, _ := strings.Cut(strings.TrimPrefix(probe, "http://"), "/")
	return "http://" + u
}

// phpStub stands in for v8's PHP-FPM: a FastCGI responder that records
// the method and URI of every request it gets and answers "php".
type phpStub struct {
	mu   sync.Mutex
	seen []string
}

func (p *phpStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+r.URL.RequestURI())
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("php"))
}

func (p *phpStub) got(req string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seen {
		if s == req {
			return true
		}
	}
	return false
}

// The README's nginx recipe, taken from README.md so the docs cannot rot,
// passes `nginx -t` as printed; run in a real nginx in front of v8assets
// and a FastCGI stand-in for PHP, it passes asset answers through
// unchanged, sends rotations to v8assets and every other /files request to
// PHP.
func TestREADMENginxRecipe(t *testing.T) {
	nginx := nginxBinary(t)
	block := readmeBlock(t, "### Put it behind nginx", "nginx")

	printed := t.TempDir()
	out, err := exec.Command(nginx, "-t", "-p", printed, "-e", filepath.Join(printed, "error.log"),
		"-c", nginxConf(t, printed, block, true)).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t on the README's block as printed: %v\n%s", err, out)
	}

	th := fixture.NewThumper(t)
	addr := freeAddr(t)
	direct := startServe(t, mysqlConfig(t, th, addr), addr)

	dir := t.TempDir()
	sock := filepath.Join(dir, "php.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	php := &phpStub{}
	go fcgi.Serve(ln, php)
	t.Cleanup(func() { ln.Close() })

	front := freeAddr(t)
	conf := replaceOnce(t, block, "server 127.0.0.1:8080;", "server "+addr+";")
	conf = replaceOnce(t, conf, "listen 80;", "listen "+front+";")
	conf = replaceOnce(t, conf, "root /var/www/directus/public;", "root "+dir+";")
	conf = replaceOnce(t, conf, "unix:/run/php/php7.3-fpm.sock", "unix:"+sock)
	proxied := startNginx(t, nginx, dir, conf, "http://"+front+"/server/ping")

	do := func(base, method, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		return res, body.Bytes()
	}
	// Generate the thumbnail directly first: both answers below are then
	// hits of the same file.
	do(direct, "GET", "/thumper/assets/PNW7S9LQY68048G0?key=thumbnail")
	res, orig := do(direct, "GET", "/thumper/assets/PNW7S9LQY68048G0")
	etag := res.Header.Get("Etag")
	if len(orig) == 0 || etag == "" {
		t.Fatalf("direct original: %d bytes, ETag %q", len(orig), etag)
	}
	same := []string{"Content-Type", "Content-Length", "Content-Range", "Content-Disposition", "Cache-Control",
		"Etag", "Last-Modified", "Accept-Ranges", "Vary", "Access-Control-Allow-Origin"}
	for name, c := range map[string]struct {
		method, path string
		header       []string
	}{
		"original":           {"GET", "/thumper/assets/PNW7S9LQY68048G0", nil},
		"HEAD":               {"HEAD", "/thumper/assets/PNW7S9LQY68048G0", nil},
		"download":           {"GET", "/thumper/assets/PNW7S9LQY68048G0?download", nil},
		"thumbnail":          {"GET", "/thumper/assets/PNW7S9LQY68048G0?key=thumbnail", nil},
		"range":              {"GET", "/thumper/assets/PNW7S9LQY68048G0", []string{"Range", "bytes=10-99"}},
		"unsatisfiable":      {"GET", "/thumper/assets/PNW7S9LQY68048G0", []string{"Range", "bytes=99999999-"}},
		"not modified":       {"GET", "/thumper/assets/PNW7S9LQY68048G0", []string{"If-None-Match", etag}},
		"unknown id":         {"GET", "/thumper/assets/doesnotexist", nil},
		"unknown key":        {"GET", "/thumper/assets/PNW7S9LQY68048G0?key=nope", nil},
		"unknown project":    {"GET", "/nope/assets/PNW7S9LQY68048G0", nil},
		"cross-origin asset": {"GET", "/thumper/assets/PNW7S9LQY68048G0", []string{"Origin", "https://app.example.com"}},
	} {
		want, wantBody := do(direct, c.method, c.path, c.header...)
		got, gotBody := do(proxied, c.method, c.path, c.header...)
		if got.StatusCode != want.StatusCode || !bytes.Equal(gotBody, wantBody) {
			t.Errorf("%s: through nginx %d (%d bytes), direct %d (%d bytes)", name, got.StatusCode, len(gotBody), want.StatusCode, len(wantBody))
		}
		for _, h := range same {
			if got.Header.Get(h) != want.Header.Get(h) {
				t.Errorf("%s: %s through nginx %q, direct %q", name, h, got.Header.Get(h), want.Header.Get(h))
			}
		}
	}

	// Rotation reaches v8assets (which asks for a token); PHP never sees it.
	res, body := do(proxied, "POST", "/thumper/files/1/rotate-hash")
	if res.StatusCode != http.StatusUnauthorized || !bytes.HasPrefix(body, []byte(`{"error":`)) || php.got("POST /thumper/files/1/rotate-hash") {
		t.Errorf("rotate-hash through nginx: %d %s", res.StatusCode, body)
	}
	// Everything else about a file is v8's PHP API.
	for _, method := range []string{"GET", "DELETE", "OPTIONS", "PATCH"} {
		res, body := do(proxied, method, "/thumper/files/1", "Origin", "https://app.example.com")
		if res.StatusCode != http.StatusOK || string(body) != "php" || !php.got(method+" /thumper/files/1") {
			t.Errorf("%s /thumper/files/1 through nginx: %d %q, not PHP's answer", method, res.StatusCode, body)
		}
	}
}

// The README's proxy_cache recipe for auto_format, taken from README.md,
// passes `nginx -t`; run in a real nginx in front of a v8assets whose
// project negotiates AVIF and WebP, it answers every browser with the
// format v8assets gives that browser directly, shares one cache entry
// between Accept headers of one class, and never hands a cached format to a
// client that did not ask for it.
func TestREADMENginxCacheRecipe(t *testing.T) {
	if !generator.CanEncode("avif") {
		t.Skip("the pure-Go build encodes neither AVIF nor WebP")
	}
	nginx := nginxBinary(t)
	block := readmeBlock(t, "### Cache negotiated thumbnails in nginx", "nginx")

	printed := t.TempDir()
	asPrinted := replaceOnce(t, block, "/var/cache/nginx/v8assets", filepath.Join(printed, "cache"))
	out, err := exec.Command(nginx, "-t", "-p", printed, "-e", filepath.Join(printed, "error.log"),
		"-c", nginxConf(t, printed, asPrinted, true)).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t on the README's block: %v\n%s", err, out)
	}

	th := fixture.NewThumper(t)
	addr := freeAddr(t)
	cfg := mysqlConfig(t, th, addr)
	body, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(body, "\n[projects.thumper]\nauto_format = [\"avif\", \"webp\"]\ncache_ttl = 3600\n"...), 0o644)
	direct := startServe(t, cfg, addr)

	dir := t.TempDir()
	front := freeAddr(t)
	conf := replaceOnce(t, block, "/var/cache/nginx/v8assets", filepath.Join(dir, "cache"))
	conf = replaceOnce(t, conf, "server 127.0.0.1:8080;", "server "+addr+";")
	conf = replaceOnce(t, conf, "listen 80;", "listen "+front+";")
	proxied := startNginx(t, nginx, dir, conf, "http://"+front+"/thumper/assets/nope")
	get := func(base, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/thumper/assets/"+fixture.AvatarHash+"?key=directus-medium-crop", nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		return res, b.Bytes()
	}
	// In order: each line's cache status follows from the ones before it.
	for _, c := range []struct {
		name, accept, contentType, cache string
	}{
		{"Chromium, first", acceptChromium, "image/avif", "MISS"},
		{"Chromium, again", acceptChromium, "image/avif", "HIT"},
		{"Safari after Chromium", acceptSafari, "image/webp", "MISS"},
		{"no Accept after both", "", "image/jpeg", "MISS"},
		{"*/*", "*/*", "image/jpeg", "HIT"},
		{"image/*", "image/*", "image/jpeg", "HIT"},
		{"webp;q=0", "image/webp;q=0", "image/jpeg", "HIT"},
		{"avif;q=0 with webp", "image/avif;q=0.0, image/webp", "image/webp", "HIT"},
		{"Firefox, another AVIF string", "image/avif,image/webp,*/*", "image/avif", "HIT"},
		{"AVIF with parameters", "image/avif;level=1;q=0.9", "image/avif", "HIT"},
		{"a type that only starts like AVIF", "image/avifx", "image/jpeg", "HIT"},
		{"Safari, again", acceptSafari, "image/webp", "HIT"},
	} {
		want, wantBody := get(direct, c.accept)
		got, gotBody := get(proxied, c.accept)
		if got.StatusCode != http.StatusOK || got.Header.Get("Content-Type") != c.contentType ||
			want.Header.Get("Content-Type") != c.contentType || !bytes.Equal(gotBody, wantBody) {
			t.Errorf("%s: through nginx %d %s (%d bytes), direct %s (%d bytes), want %s",
				c.name, got.StatusCode, got.Header.Get("Content-Type"), len(gotBody), want.Header.Get("Content-Type"), len(wantBody), c.contentType)
		}
		if s := got.Header.Get("X-Cache-Status"); s != c.cache {
			t.Errorf("%s: X-Cache-Status %q, want %q", c.name, s, c.cache)
		}
		if v := got.Header.Get("Vary"); !strings.Contains(v, "Accept") {
			t.Errorf("%s: Vary %q lost", c.name, v)
		}
	}
}
