package middleware_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
)

var methods = []string{http.MethodGet, http.MethodHead}

// wantAvatar checks a 200 answer carrying the fixture's avatar original
// (spec §12 case 1) for GET or HEAD.
func wantAvatar(t *testing.T, e *env, res *http.Response, body []byte, disposition string) {
	t.Helper()
	orig := fixture.AvatarJPEG()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, body %s", res.StatusCode, body)
	}
	h := res.Header
	if got := h.Get("Content-Type"); got != "image/jpeg" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("Content-Disposition"); got != disposition {
		t.Errorf("Content-Disposition = %q, want %q", got, disposition)
	}
	if got := h.Get("Content-Length"); got != itoa(len(orig)) {
		t.Errorf("Content-Length = %q, want %d", got, len(orig))
	}
	st, err := os.Stat(filepath.Join(e.Root, fixture.AvatarDisk))
	if err != nil {
		t.Fatal(err)
	}
	lm, err := http.ParseTime(h.Get("Last-Modified"))
	if err != nil || !lm.Equal(st.ModTime().Truncate(time.Second)) {
		t.Errorf("Last-Modified = %q (%v), want %v", h.Get("Last-Modified"), err, st.ModTime())
	}
	if got := h.Get("Cache-Control"); got != "" {
		t.Errorf("Cache-Control = %q, want none", got)
	}
	if h.Get("Etag") == "" || !strings.HasPrefix(h.Get("Etag"), `"`) {
		t.Errorf("ETag = %q, want a strong validator", h.Get("Etag"))
	}
	if h.Get("Accept-Ranges") != "bytes" {
		t.Errorf("Accept-Ranges = %q", h.Get("Accept-Ranges"))
	}
	switch res.Request.Method {
	case http.MethodGet:
		if !bytes.Equal(body, orig) {
			t.Errorf("body differs from the original (%d bytes, want %d)", len(body), len(orig))
		}
	case http.MethodHead:
		if len(body) != 0 {
			t.Errorf("HEAD body has %d bytes", len(body))
		}
	}
	entries, err := os.ReadDir(e.ThumbRoot)
	if err != nil || len(entries) != 0 {
		t.Errorf("generated root has %d entries (%v), want none", len(entries), err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

const avatarInline = `inline; filename="avatar.jpg"; filename*=UTF-8''avatar.jpg`

func TestOriginals(t *testing.T) {
	e := newEnv(t)
	cases := map[string]struct {
		path        string
		disposition string
	}{
		"case 1: by private hash":               {"/thumper/assets/" + fixture.AvatarHash, avatarInline},
		"case 6: hash in another case":          {"/thumper/assets/PNW7S9LQY68048G0", avatarInline},
		"trailing space ignored like MySQL":     {"/thumper/assets/" + fixture.AvatarHash + "%20", avatarInline},
		"case 13: ?format does not thumbnail":   {"/thumper/assets/" + fixture.AvatarHash + "?format=png", avatarInline},
		"case 13: ?width does not thumbnail":    {"/thumper/assets/" + fixture.AvatarHash + "?width=200", avatarInline},
		"case 13: W is not w":                   {"/thumper/assets/" + fixture.AvatarHash + "?W=200&download", strings.Replace(avatarInline, "inline", "attachment", 1)},
		"Q15: ?download makes it an attachment": {"/thumper/assets/" + fixture.AvatarHash + "?download", strings.Replace(avatarInline, "inline", "attachment", 1)},
	}
	for name, c := range cases {
		for _, m := range methods {
			t.Run(name+"/"+m, func(t *testing.T) {
				res, body := e.do(t, m, c.path)
				wantAvatar(t, e, res, body, c.disposition)
			})
		}
	}
}

func TestLookupErrors(t *testing.T) {
	e := newEnv(t)
	cases := map[string]struct {
		method, path string
		header       []string
		status       int
		code         any
		message      string
		acao         string
	}{
		"case 3: unknown hash":                 {"GET", "/thumper/assets/doesnotexist", nil, 404, 203, "Item not found", "*"},
		"case 4: unknown hash with Origin":     {"GET", "/thumper/assets/doesnotexist", []string{"Origin", "https://evil.test"}, 404, 203, "Item not found", "https://evil.test"},
		"case 5: unknown project":              {"GET", "/nosuchproj/assets/" + fixture.AvatarHash, nil, 401, 3, "Unauthorized request", "*"},
		"case 5: unknown project, any path":    {"POST", "/nosuchproj/whatever", nil, 401, 3, "Unauthorized request", "*"},
		"case 7: v9 SEO suffix":                {"GET", "/thumper/assets/" + fixture.AvatarHash + "/avatar.jpg", nil, 404, 1, "Not Found", "*"},
		"trailing slash":                       {"GET", "/thumper/assets/" + fixture.AvatarHash + "/", nil, 404, 1, "Not Found", "*"},
		"no id":                                {"GET", "/thumper/assets/", nil, 404, 1, "Not Found", "*"},
		"route is case-sensitive":              {"GET", "/thumper/Assets/" + fixture.AvatarHash, nil, 404, 1, "Not Found", "*"},
		"other path":                           {"GET", "/thumper/items/things", nil, 404, 1, "Not Found", "*"},
		"case 8: POST":                         {"POST", "/thumper/assets/" + fixture.AvatarHash, nil, 405, 6, "Method Not Allowed", "*"},
		"DELETE":                               {"DELETE", "/thumper/assets/" + fixture.AvatarHash, nil, 405, 6, "Method Not Allowed", "*"},
		"blank id is never a hash":             {"GET", "/thumper/assets/+", nil, 404, 203, "Item not found", "*"},
		"encoded traversal is just an id":      {"GET", "/thumper/assets/..%2F..%2Fetc%2Fpasswd", nil, 404, 203, "Item not found", "*"},
		"dot-dot segment is not cleaned":       {"GET", "/thumper/assets/../assets/" + fixture.AvatarHash, nil, 404, 1, "Not Found", "*"},
		"case 12: original missing on disk":    {"GET", "/thumper/assets/" + fixture.MissingHash, nil, 500, nil, "File not found at path: missing.jpg", "*"},
		"case 14 negative: download name mode": {"GET", "/thumper/assets/avatar.jpg", nil, 404, 203, "Item not found", "*"},
	}
	for name, c := range cases {
		for _, m := range []string{c.method, http.MethodHead} {
			if m == http.MethodHead && c.method != http.MethodGet {
				continue
			}
			t.Run(name+"/"+m, func(t *testing.T) {
				res, body := e.do(t, m, c.path, c.header...)
				wantV8Error(t, res, body, c.status, c.code, c.message)
				if got := res.Header.Get("Access-Control-Allow-Origin"); got != c.acao {
					t.Errorf("ACAO = %q, want %q", got, c.acao)
				}
				if got := res.Header.Get("Vary"); got != "Origin" {
					t.Errorf("Vary = %q, want Origin", got)
				}
				if c.status == 405 && res.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
					t.Errorf("Allow = %q", res.Header.Get("Allow"))
				}
				if res.Header.Get("Content-Disposition") != "" {
					t.Errorf("error carries Content-Disposition %q", res.Header.Get("Content-Disposition"))
				}
			})
		}
	}
	if logs := e.logs.String(); !strings.Contains(logs, "original missing on disk") || !strings.Contains(logs, `"file_id":4`) {
		t.Errorf("no error log line for the missing original:\n%s", logs)
	}
}

func TestNoTypeIsBare404(t *testing.T) {
	e := newEnv(t)
	for _, m := range methods {
		t.Run(m, func(t *testing.T) {
			res, body := e.do(t, m, "/thumper/assets/"+fixture.NoTypeHash)
			if res.StatusCode != 404 || len(body) != 0 {
				t.Fatalf("status %d body %q, want bare 404", res.StatusCode, body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=UTF-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cl := res.Header.Get("Content-Length"); cl != "0" {
				t.Errorf("Content-Length = %q", cl)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	e := newEnv(t)
	t.Run("case 9: preflight", func(t *testing.T) {
		res, body := e.do(t, "OPTIONS", "/thumper/assets/"+fixture.AvatarHash, "Origin", "https://app.test")
		if res.StatusCode != 200 || len(body) != 0 {
			t.Fatalf("status %d body %q", res.StatusCode, body)
		}
		h := res.Header
		want := map[string]string{
			"Access-Control-Allow-Origin":      "https://app.test",
			"Access-Control-Allow-Methods":     "GET,POST,PUT,PATCH,DELETE,HEAD",
			"Access-Control-Allow-Credentials": "true",
			"Content-Type":                     "text/html; charset=UTF-8",
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, h.Get(k), v)
			}
		}
		if got := strings.Join(h.Values("Access-Control-Allow-Headers"), "|"); got != "X-Directus-Project|Content-Type|Authorization" {
			t.Errorf("Allow-Headers = %q", got)
		}
		if h.Get("Access-Control-Max-Age") != "" {
			t.Errorf("Max-Age sent without being configured")
		}
	})
	t.Run("case 10: actual request echoes the Origin", func(t *testing.T) {
		res, _ := e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash, "Origin", "https://app.test")
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "https://app.test" {
			t.Errorf("ACAO = %q", got)
		}
		res, _ = e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("ACAO without Origin = %q, want *", got)
		}
	})
}

func TestCORSConfigured(t *testing.T) {
	e := newEnv(t, func(p *middleware.Project) {
		p.CORS.Origin = []string{"https://app.test"}
		p.CORS.ExposedHeaders = []string{"Content-Length", "Etag"}
		p.CORS.MaxAge = 600
		p.CORS.Credentials = true
		p.CORS.Headers = []string{"Range", "If-None-Match", "content-type"}
	})
	res, _ := e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash, "Origin", "https://evil.test")
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unlisted origin got ACAO %q", got)
	}
	// Q17: errors follow the same policy, no blind echo.
	res, _ = e.do(t, "GET", "/thumper/assets/nope", "Origin", "https://evil.test")
	if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("error echoed unlisted origin: ACAO %q", got)
	}
	res, _ = e.do(t, "GET", "/thumper/assets/nope", "Origin", "https://app.test")
	h := res.Header
	if h.Get("Access-Control-Allow-Origin") != "https://app.test" || h.Get("Access-Control-Expose-Headers") != "Content-Length,Etag" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("headers = %v", h)
	}
	res, _ = e.do(t, "OPTIONS", "/thumper/anything", "Origin", "https://app.test")
	if res.Header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("Max-Age = %q", res.Header.Get("Access-Control-Max-Age"))
	}
	// cors.headers adds to v8's fixed list (Q18), without duplicates.
	if got := strings.Join(res.Header.Values("Access-Control-Allow-Headers"), ","); got != "X-Directus-Project,Content-Type,Authorization,Range,If-None-Match" {
		t.Errorf("Allow-Headers = %q", got)
	}
}

func TestCORSDisabled(t *testing.T) {
	e := newEnv(t, func(p *middleware.Project) { p.CORS.Enabled = false })
	res, body := e.do(t, "OPTIONS", "/thumper/assets/"+fixture.AvatarHash, "Origin", "https://app.test")
	wantV8Error(t, res, body, 405, 6, "Method Not Allowed")
	res, _ = e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash, "Origin", "https://app.test")
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Vary") != "" {
		t.Errorf("CORS headers with CORS disabled: %v", res.Header)
	}
}

func TestDownloadNaming(t *testing.T) {
	for name, setup := range map[string]func(e *env){
		"case 14: asset_url_naming=filename_download": func(e *env) {
			v := "filename_download"
			e.SetSetting(t, "asset_url_naming", &v)
		},
		"case 15: asset_url_naming row deleted": func(e *env) { e.DeleteSetting(t, "asset_url_naming") },
		"asset_url_naming NULL":                 func(e *env) { e.SetSetting(t, "asset_url_naming", nil) },
		"asset_url_naming in another case": func(e *env) {
			v := "PRIVATE_HASH"
			e.SetSetting(t, "asset_url_naming", &v)
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			setup(e)
			for _, m := range methods {
				res, body := e.do(t, m, "/thumper/assets/avatar.jpg")
				wantAvatar(t, e, res, body, avatarInline)
				res, body = e.do(t, m, "/thumper/assets/"+fixture.AvatarHash)
				wantV8Error(t, res, body, 404, 203, "Item not found")
				for _, p := range []string{"/thumper/assets/Report%202020.pdf", "/thumper/assets/Report+2020.pdf", "/thumper/assets/report%202020.PDF"} {
					res, body = e.do(t, m, p)
					if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" {
						t.Fatalf("%s %s: status %d type %q", m, p, res.StatusCode, res.Header.Get("Content-Type"))
					}
					want := `inline; filename="Report 2020.pdf"; filename*=UTF-8''Report%202020.pdf`
					if got := res.Header.Get("Content-Disposition"); got != want {
						t.Errorf("Content-Disposition = %q, want %q", got, want)
					}
					if m == http.MethodGet && !bytes.Equal(body, fixture.PDF()) {
						t.Errorf("pdf body differs")
					}
				}
			}
		})
	}
}

func TestNamingIsReadPerRequest(t *testing.T) {
	e := newEnv(t)
	if res, _ := e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash); res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	v := "filename_download"
	e.SetSetting(t, "asset_url_naming", &v)
	if res, _ := e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash); res.StatusCode != 404 {
		t.Fatalf("after switching to filename_download: status %d, want 404", res.StatusCode)
	}
}

func TestCacheControl(t *testing.T) {
	cases := map[string]struct {
		value    *string
		fallback int
		want     string
	}{
		"case 16: 86400":                  {ptr("86400"), 0, "max-age=86400, public"},
		"case 16: '0' sends none":         {ptr("0"), 0, ""},
		"empty sends none":                {ptr(""), 0, ""},
		"row wins over config":            {ptr("60"), 3600, "max-age=60, public"},
		"'0' row wins over config":        {ptr("0"), 3600, ""},
		"no row: config cache_ttl":        {nil, 3600, "max-age=3600, public"},
		"no row, no config: none (v8)":    {nil, 0, ""},
		"value inserted verbatim like v8": {ptr("1e3"), 0, "max-age=1e3, public"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(p *middleware.Project) { p.CacheTTL = c.fallback })
			if c.value != nil {
				e.SetSetting(t, "thumbnail_cache_ttl", c.value)
			}
			for _, m := range methods {
				res, _ := e.do(t, m, "/thumper/assets/"+fixture.AvatarHash)
				if got := res.Header.Get("Cache-Control"); got != c.want {
					t.Errorf("%s: Cache-Control = %q, want %q", m, got, c.want)
				}
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestRangeAndConditional(t *testing.T) {
	e := newEnv(t)
	path := "/thumper/assets/" + fixture.AvatarHash
	orig := fixture.AvatarJPEG()
	first, _ := e.do(t, "GET", path)
	etag, lastMod := first.Header.Get("Etag"), first.Header.Get("Last-Modified")

	t.Run("206 for a satisfiable range", func(t *testing.T) {
		res, body := e.do(t, "GET", path, "Range", "bytes=100-199")
		if res.StatusCode != 206 || !bytes.Equal(body, orig[100:200]) {
			t.Fatalf("status %d, %d bytes", res.StatusCode, len(body))
		}
		if got := res.Header.Get("Content-Range"); got != "bytes 100-199/"+itoa(len(orig)) {
			t.Errorf("Content-Range = %q", got)
		}
		if res.Header.Get("Content-Disposition") != avatarInline || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("headers lost on 206: %v", res.Header)
		}
	})
	t.Run("suffix range", func(t *testing.T) {
		res, body := e.do(t, "GET", path, "Range", "bytes=-10")
		if res.StatusCode != 206 || !bytes.Equal(body, orig[len(orig)-10:]) {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("a few parts are multipart", func(t *testing.T) {
		res, _ := e.do(t, "GET", path, "Range", "bytes=0-0"+strings.Repeat(",2-2", 15))
		if res.StatusCode != 206 || !strings.HasPrefix(res.Header.Get("Content-Type"), "multipart/byteranges") {
			t.Fatalf("16 parts: status %d, %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
	t.Run("thousands of parts get the whole file", func(t *testing.T) {
		res, body := e.do(t, "GET", path, "Range", "bytes=0-0"+strings.Repeat(",2-2", 50_000))
		if res.StatusCode != 200 || !bytes.Equal(body, orig) || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("50,001 parts: status %d, %d bytes, %s", res.StatusCode, len(body), res.Header.Get("Content-Type"))
		}
	})
	t.Run("416 past the end", func(t *testing.T) {
		res, _ := e.do(t, "GET", path, "Range", "bytes=99999999-")
		if res.StatusCode != 416 {
			t.Fatalf("status %d", res.StatusCode)
		}
		if got := res.Header.Get("Content-Range"); got != "bytes */"+itoa(len(orig)) {
			t.Errorf("Content-Range = %q", got)
		}
	})
	t.Run("304 for If-None-Match", func(t *testing.T) {
		for _, m := range methods {
			res, body := e.do(t, m, path, "If-None-Match", etag)
			if res.StatusCode != 304 || len(body) != 0 {
				t.Fatalf("%s: status %d", m, res.StatusCode)
			}
			if res.Header.Get("Etag") != etag {
				t.Errorf("304 lost ETag")
			}
		}
	})
	t.Run("200 for a different ETag", func(t *testing.T) {
		res, _ := e.do(t, "GET", path, "If-None-Match", `"other"`)
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("304 for If-Modified-Since", func(t *testing.T) {
		res, _ := e.do(t, "GET", path, "If-Modified-Since", lastMod)
		if res.StatusCode != 304 {
			t.Fatalf("status %d", res.StatusCode)
		}
		older := first.Header.Get("Last-Modified")
		tm, _ := http.ParseTime(older)
		res, _ = e.do(t, "GET", path, "If-Modified-Since", tm.Add(-time.Hour).Format(http.TimeFormat))
		if res.StatusCode != 200 {
			t.Fatalf("older date: status %d", res.StatusCode)
		}
	})
	t.Run("If-Range with a stale ETag sends the whole file", func(t *testing.T) {
		res, body := e.do(t, "GET", path, "Range", "bytes=0-9", "If-Range", `"stale"`)
		if res.StatusCode != 200 || len(body) != len(orig) {
			t.Fatalf("status %d, %d bytes", res.StatusCode, len(body))
		}
	})
	t.Run("ETag changes when the original is replaced", func(t *testing.T) {
		p := filepath.Join(e.Root, fixture.AvatarDisk)
		if err := os.WriteFile(p, orig[:len(orig)-1], 0o644); err != nil {
			t.Fatal(err)
		}
		res, _ := e.do(t, "GET", path, "If-None-Match", etag)
		if res.StatusCode != 200 || res.Header.Get("Etag") == etag {
			t.Fatalf("status %d etag %q after replacement", res.StatusCode, res.Header.Get("Etag"))
		}
	})
}

func TestStorageRootCannotBeEscaped(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(filepath.Dir(e.Root), "secret.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(e.Root, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{
		"dotdot00000000001": "../secret.txt",
		"absolute00000001":  outside,
		"etcpasswd0000001":  "/etc/passwd",
		"symlink000000001":  "link.jpg",
		"deepdotdot000001":  "a/../../secret.txt",
	}
	id := 100
	for hash, disk := range rows {
		id++
		fixture.Exec(t, e.DB, "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES ("+
			itoa(id)+", '"+hash[:16]+"', '"+disk+"', 'x.jpg', 'image/jpeg', 1, NOW())")
	}
	for hash, disk := range rows {
		t.Run(disk, func(t *testing.T) {
			for _, m := range methods {
				res, body := e.do(t, m, "/thumper/assets/"+hash[:16])
				wantV8Error(t, res, body, 404, 203, "Item not found")
				if bytes.Contains(body, []byte("secret")) || bytes.Contains(body, []byte("root:")) {
					t.Fatalf("leaked bytes: %q", body)
				}
			}
		})
	}
	if logs := e.logs.String(); strings.Count(logs, "filename_disk escapes the originals root") < len(rows) {
		t.Errorf("want an error log per escape attempt:\n%s", logs)
	}
	for hash := range rows {
		if strings.Contains(e.logs.String(), hash[:16]) {
			t.Errorf("a full hash reached the log: %s", hash[:16])
		}
	}
}

func TestPing(t *testing.T) {
	e := newEnv(t)
	res, body := e.do(t, "GET", "/server/ping")
	if res.StatusCode != 200 || string(body) != "pong" {
		t.Fatalf("status %d body %q", res.StatusCode, body)
	}
}
