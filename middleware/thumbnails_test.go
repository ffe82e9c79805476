package middleware_test

import (
	"bytes"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
)

const avatar = "/thumper/assets/" + fixture.AvatarHash

// wantThumb checks a 200 thumbnail answer and the file behind it, and
// returns the file's bytes.
func wantThumb(t *testing.T, e *env, res *http.Response, body []byte, contentType, file string, w, h int) []byte {
	t.Helper()
	if res.StatusCode != 200 {
		t.Fatalf("status %d body %s", res.StatusCode, body)
	}
	if got := res.Header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type = %q, want %q", got, contentType)
	}
	path := filepath.Join(e.ThumbRoot, file)
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("generated file: %v", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(onDisk))
	if err != nil || cfg.Width != w || cfg.Height != h {
		t.Fatalf("generated %s is %dx%d (%v), want %dx%d", file, cfg.Width, cfg.Height, err, w, h)
	}
	if res.Header.Get("Content-Length") != itoa(len(onDisk)) {
		t.Errorf("Content-Length = %q, file has %d bytes", res.Header.Get("Content-Length"), len(onDisk))
	}
	if res.Request.Method == http.MethodGet && !bytes.Equal(body, onDisk) {
		t.Errorf("body differs from the generated file")
	}
	st, _ := os.Stat(path)
	if lm, err := http.ParseTime(res.Header.Get("Last-Modified")); err != nil || !lm.Equal(st.ModTime().Truncate(time.Second)) {
		t.Errorf("Last-Modified = %q, want the generated file's mtime %v", res.Header.Get("Last-Modified"), st.ModTime())
	}
	return onDisk
}

const avatarContain = "w200,h200,fcontain,q80/" + fixture.AvatarDisk

func TestThumbnailsFreshWhitelist(t *testing.T) {
	e := newEnv(t)
	t.Run("case 17: key=thumbnail", func(t *testing.T) {
		res, body := e.do(t, "GET", avatar+"?key=thumbnail")
		wantThumb(t, e, res, body, "image/jpeg", avatarContain, 200, 133)
		if got := res.Header.Get("Content-Disposition"); got != avatarInline {
			t.Errorf("Content-Disposition = %q", got)
		}
	})
	t.Run("case 18: reuse, then a planted file is served as is", func(t *testing.T) {
		path := filepath.Join(e.ThumbRoot, avatarContain)
		before, _ := os.Stat(path)
		first, _ := os.ReadFile(path)
		res, body := e.do(t, "GET", avatar+"?key=thumbnail")
		if res.StatusCode != 200 || !bytes.Equal(body, first) {
			t.Fatalf("repeat: status %d", res.StatusCode)
		}
		if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
			t.Errorf("file rewritten on reuse")
		}
		planted := fixture.JPEG(fixture.Photo(10, 10, 3), 80)
		os.WriteFile(path, planted, 0o644)
		res, body = e.do(t, "GET", avatar+"?key=thumbnail")
		if res.StatusCode != 200 || !bytes.Equal(body, planted) {
			t.Fatalf("planted 10x10 not served: status %d, %d bytes", res.StatusCode, len(body))
		}
		os.Remove(path)
	})
	cases := map[string]struct {
		query, file string
		w, h        int
	}{
		"case 19: params of the whitelist":      {"?w=200&h=200&f=contain&q=80", avatarContain, 200, 133},
		"case 19 / Q5: 0200 uses the canonical": {"?w=0200&h=200&f=contain&q=80", avatarContain, 200, 133},
		"case 20: directus-small-crop":          {"?key=directus-small-crop", "w64,h64,fcrop,q80/" + fixture.AvatarDisk, 64, 64},
		"case 21: directus-medium-contain":      {"?key=directus-medium-contain", "w300,h300,fcontain,q80/" + fixture.AvatarDisk, 300, 200},
		"case 22: directus-large-crop":          {"?key=directus-large-crop", "w800,h600,fcrop,q80/" + fixture.AvatarDisk, 800, 600},
		"case 22: directus-large-contain":       {"?key=directus-large-contain", "w800,h600,fcontain,q80/" + fixture.AvatarDisk, 800, 533},
		"case 24: key wins over params":         {"?key=thumbnail&w=10&h=10&f=crop&q=1", avatarContain, 200, 133},
		"case 25: format dropped in key mode":   {"?key=thumbnail&format=webp", avatarContain, 200, 133},
		"case 28: last duplicate wins":          {"?w=100&w=200&h=200&f=contain&q=80", avatarContain, 200, 133},
	}
	for name, c := range cases {
		for _, m := range methods {
			t.Run(name+"/"+m, func(t *testing.T) {
				res, body := e.do(t, m, avatar+c.query)
				wantThumb(t, e, res, body, "image/jpeg", c.file, c.w, c.h)
			})
		}
	}
	errCases := map[string]struct {
		path, msg string
	}{
		"case 23: crop not whitelisted": {avatar + "?w=200&h=200&f=crop&q=80", "The params don't match the asset whitelist."},
		"case 24: key=card":             {avatar + "?key=card", "Key doesn't exist."},
		"case 24: key=":                 {avatar + "?key=", "Key doesn't exist."},
		"case 26: only w": {avatar + "?w=200",
			"h: This value should not be blank. This value should be of type numeric. q: This value should not be blank. This value should be of type numeric. f: This value should not be blank."},
		"case 27: w=abc":             {avatar + "?w=abc&h=200&f=crop&q=80", "w: This value should be of type numeric."},
		"case 27: trailing space":    {avatar + "?w=200%20&h=200&f=contain&q=80", "w: This value should be of type numeric."},
		"case 30: mp4":               {"/thumper/assets/" + fixture.VideoHash + "?key=thumbnail", "Invalid file extension."},
		"case 31: missing original":  {"/thumper/assets/" + fixture.MissingHash + "?key=thumbnail", "missing.jpg does not exist."},
		"case 32: pdf":               {"/thumper/assets/" + fixture.PDFHash + "?key=thumbnail", "Encoding format (pdf) is not supported."},
		"case 33: format=bmp":        {avatar + "?w=200&h=200&f=contain&q=80&format=bmp", "Invalid file format."},
		"array parameter":            {avatar + "?w[]=200&h=200&f=contain&q=80", "w: This value should be of type numeric."},
		"case 42: f escaping (on)":   {avatar + "?w=1&h=1&f=/../../../x&q=80", "The params don't match the asset whitelist."},
		"NULL-type row still checks": {"/thumper/assets/" + fixture.NoTypeHash + "?key=card", "Key doesn't exist."},
	}
	for name, c := range errCases {
		for _, m := range methods {
			t.Run(name+"/"+m, func(t *testing.T) {
				res, body := e.do(t, m, c.path)
				wantV8Error(t, res, body, 422, 12, c.msg)
			})
		}
	}
	t.Run("case 29: lookup before validation", func(t *testing.T) {
		res, body := e.do(t, "GET", "/thumper/assets/doesnotexist?w=abc")
		wantV8Error(t, res, body, 404, 203, "Item not found")
	})
	if _, err := os.Stat(filepath.Join(e.ThumbRoot, "w200,h200,fcrop,q80")); !os.IsNotExist(err) {
		t.Errorf("case 23: a refused size created its directory")
	}
}

func TestThumbnailsWhitelistDisabled(t *testing.T) {
	e := newEnv(t)
	empty := "[]"
	e.SetSetting(t, "asset_whitelist", &empty)
	ok := map[string]struct {
		path, contentType, file string
		w, h                    int
	}{
		"case 34: any crop":              {avatar + "?w=200&h=200&f=crop&q=80", "image/jpeg", "w200,h200,fcrop,q80/" + fixture.AvatarDisk, 200, 200},
		"case 35: system key":            {avatar + "?key=directus-small-crop", "image/jpeg", "w64,h64,fcrop,q80/" + fixture.AvatarDisk, 64, 64},
		"case 36: png crop upscaled":     {"/thumper/assets/" + fixture.SmallHash + "?w=200&h=200&f=crop&q=80", "image/png", "w200,h200,fcrop,q80/small.png", 200, 200},
		"case 36: png contain upscaled":  {"/thumper/assets/" + fixture.SmallHash + "?w=200&h=200&f=contain&q=80", "image/png", "w200,h200,fcontain,q80/small.png", 200, 100},
		"case 37 / Q6: f=foo is a crop":  {avatar + "?w=200&h=200&f=foo&q=80", "image/jpeg", "w200,h200,fcrop,q80/" + fixture.AvatarDisk, 200, 200},
		"case 38: q=0":                   {avatar + "?w=200&h=200&f=crop&q=0", "image/jpeg", "w200,h200,fcrop,q0/" + fixture.AvatarDisk, 200, 200},
		"case 41 / Q2: format=png works": {avatar + "?w=200&h=200&f=crop&q=80&format=png", "image/png", "w200,h200,fcrop,q80,png/a88c3b72-ac58-5436-a4ec-b2858531333a.jpg", 200, 200},
		"format=gif":                     {avatar + "?w=120&h=80&f=crop&q=80&format=gif", "image/gif", "w120,h80,fcrop,q80,gif/a88c3b72-ac58-5436-a4ec-b2858531333a.jpg", 120, 80},
	}
	for name, c := range ok {
		t.Run(name, func(t *testing.T) {
			res, body := e.do(t, "GET", c.path)
			onDisk := wantThumb(t, e, res, body, c.contentType, c.file, c.w, c.h)
			if name == "case 36: png crop upscaled" {
				img, _, _ := image.Decode(bytes.NewReader(onDisk))
				if _, _, _, a := img.At(2, 2).RGBA(); a != 0 {
					t.Errorf("pixel (2,2) alpha %d, want transparent", a)
				}
			}
		})
	}
	errs := map[string]struct{ path, msg string }{
		"case 35: user key gone": {avatar + "?key=thumbnail", "Key doesn't exist."},
		"case 39: q=101":         {avatar + "?w=200&h=200&f=crop&q=101", "Quality must range from 0 to 100."},
		"case 39: q=-1":          {avatar + "?w=200&h=200&f=crop&q=-1", "Quality must range from 0 to 100."},
		"case 40: w=200.5":       {avatar + "?w=200.5&h=200&f=crop&q=80", "fit() accepts only integer values as argument 1."},
		"case 42: f escaping":    {avatar + "?w=1&h=1&f=/../../../x&q=80", "Invalid fit."},
		"Q7: w=0":                {avatar + "?w=0&h=200&f=crop&q=80", "w must be between 1 and 6000."},
		"Q7: h too large":        {avatar + "?w=10&h=6001&f=crop&q=80", "h must be between 1 and 6000."},
	}
	for name, c := range errs {
		t.Run(name, func(t *testing.T) {
			res, body := e.do(t, "GET", c.path)
			wantV8Error(t, res, body, 422, 12, c.msg)
		})
	}
	for _, dir := range []string{"w200,h200,fcrop,q101", "w200,h200,fcrop,q-1"} {
		if entries, _ := os.ReadDir(filepath.Join(e.ThumbRoot, dir)); len(entries) != 0 {
			t.Errorf("%s holds %d files after a refused quality", dir, len(entries))
		}
	}
	// case 42: nothing anywhere outside G.
	entries, _ := os.ReadDir(filepath.Dir(e.ThumbRoot))
	if len(entries) != 2 {
		t.Errorf("uploads/thumper holds %d entries, want originals and generated", len(entries))
	}
}

func TestThumbnailHTTPSemantics(t *testing.T) {
	e := newEnv(t)
	url := avatar + "?key=thumbnail"
	t.Run("HEAD generates (Q34)", func(t *testing.T) {
		res, body := e.do(t, "HEAD", url)
		wantThumb(t, e, res, body, "image/jpeg", avatarContain, 200, 133)
	})
	full, _ := os.ReadFile(filepath.Join(e.ThumbRoot, avatarContain))
	res, _ := e.do(t, "GET", url)
	etag := res.Header.Get("Etag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, body := e.do(t, "GET", url, "Range", "bytes=10-19")
	if res.StatusCode != 206 || !bytes.Equal(body, full[10:20]) {
		t.Errorf("range: status %d", res.StatusCode)
	}
	res, _ = e.do(t, "GET", url, "If-None-Match", etag)
	if res.StatusCode != 304 {
		t.Errorf("If-None-Match: status %d", res.StatusCode)
	}
	res, _ = e.do(t, "GET", url, "Range", "bytes=999999-")
	if res.StatusCode != 416 {
		t.Errorf("past the end: status %d", res.StatusCode)
	}
	res, _ = e.do(t, "GET", url+"&download")
	if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="avatar.jpg"; filename*=UTF-8''avatar.jpg` {
		t.Errorf("download disposition %q", got)
	}
	v := "86400"
	e.SetSetting(t, "thumbnail_cache_ttl", &v)
	res, _ = e.do(t, "GET", url)
	if got := res.Header.Get("Cache-Control"); got != "max-age=86400, public" {
		t.Errorf("case 16 on a thumbnail: Cache-Control %q", got)
	}
}

// Thumbnails that v8 itself wrote into thumb_root are served byte for byte.
func TestV8WrittenThumbnailsServedAsIs(t *testing.T) {
	e := newEnv(t)
	v8made := append(fixture.JPEG(fixture.Photo(200, 133, 77), 80), []byte("CREATOR: gd-jpeg v1.0")...)
	for _, dir := range []string{"w200,h200,fcontain,q80", "w64,h64,fcrop,q80"} {
		p := filepath.Join(e.ThumbRoot, dir, fixture.AvatarDisk)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, v8made, 0o644)
	}
	for _, q := range []string{"?key=thumbnail", "?key=directus-small-crop", "?w=200&h=200&f=contain&q=80"} {
		res, body := e.do(t, "GET", avatar+q)
		if res.StatusCode != 200 || !bytes.Equal(body, v8made) {
			t.Errorf("%s: status %d, v8's file not served as is", q, res.StatusCode)
		}
	}
}

// 100 identical cold requests over HTTP: all 200 with identical bytes, one
// file, no temporary file left.
func TestConcurrentColdThumbnail(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	bodies := make([][]byte, 100)
	statuses := make([]int, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.srv.Client().Get(e.srv.URL + avatar + "?key=directus-large-crop")
			if err != nil {
				return
			}
			defer res.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(res.Body)
			statuses[i], bodies[i] = res.StatusCode, buf.Bytes()
		}()
	}
	wg.Wait()
	for i := range 100 {
		if statuses[i] != 200 || !bytes.Equal(bodies[i], bodies[0]) {
			t.Fatalf("request %d: status %d, %d bytes (first had %d)", i, statuses[i], len(bodies[i]), len(bodies[0]))
		}
	}
	entries, _ := os.ReadDir(filepath.Join(e.ThumbRoot, "w800,h600,fcrop,q80"))
	if len(entries) != 1 {
		t.Errorf("directory holds %v", entries)
	}
}

func TestRequireWhitelistAndLimits(t *testing.T) {
	e := newEnv(t, func(p *middleware.Project) {
		p.Thumbnails.Limits.RequireWhitelist = true
		p.Thumbnails.Limits.MaxDimension = 500
		p.Thumbnails.MaxSourcePixels = 1_000_000
	})
	malformed := "[{broken"
	e.SetSetting(t, "asset_whitelist", &malformed)
	res, body := e.do(t, "GET", avatar+"?w=200&h=200&f=crop&q=80")
	wantV8Error(t, res, body, 422, 12, "The params don't match the asset whitelist.")
	res, body = e.do(t, "GET", avatar+"?key=directus-small-crop")
	wantV8Error(t, res, body, 422, 12, "Image is too large: 1800x1200 exceeds 1000000 pixels.")
	res, body = e.do(t, "GET", avatar+"?key=directus-large-crop")
	wantV8Error(t, res, body, 422, 12, "w must be between 1 and 500.")
	if n := bytes.Count([]byte(e.logs.String()), []byte("a whitelist setting is malformed")); n != 1 {
		t.Errorf("malformed whitelist warned %d times, want once per settings change", n)
	}
}
