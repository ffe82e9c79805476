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
	"strings"
	"testing"

	_ "golang.org/x/image/webp"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/whitelist"
)

// Accept headers as browsers send them for <img>.
const (
	acceptChromium = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
	acceptSafari   = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
)

// decodeKind returns the registered decoder's name for b (avif comes from
// the generator in the cgo build), or "" when nothing decodes it.
func decodeKind(t *testing.T, b []byte) string {
	t.Helper()
	_, kind, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return ""
	}
	return kind
}

func autoFormatEnv(t *testing.T, formats ...string) *env {
	e := newEnv(t, func(p *middleware.Project) { p.Thumbnails.AutoFormats = formats })
	fixture.Exec(t, e.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on)
		VALUES (7, 'animatedgif00001', 'anim.gif', 'anim.gif', 'image/gif', 1, NOW())`)
	if err := os.WriteFile(filepath.Join(e.Root, "anim.gif"), fixture.AnimatedGIF(120, 80), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAutoFormat is issue #15's end-to-end case list: which Accept gets
// which format, explicit format winning, both variants on disk and served
// to the right clients, and Vary.
func TestAutoFormat(t *testing.T) {
	if !generator.CanEncode("avif") {
		t.Skip("the pure-Go build encodes neither AVIF nor WebP")
	}
	e := autoFormatEnv(t, "avif", "webp")
	const crop = "?w=300&h=300&f=crop&q=80"
	tests := []struct {
		name, path, accept string
		contentType, kind  string
		dir                string // the generated directory it comes from
	}{
		{"Chromium gets AVIF", avatar + crop, acceptChromium, "image/avif", "avif", "w300,h300,fcrop,q80,avif"},
		{"Safari without AVIF gets WebP", avatar + crop, acceptSafari, "image/webp", "webp", "w300,h300,fcrop,q80,webp"},
		{"*/* alone gets JPEG", avatar + crop, "*/*", "image/jpeg", "jpeg", "w300,h300,fcrop,q80"},
		{"image/* alone gets JPEG", avatar + crop, "image/*", "image/jpeg", "jpeg", "w300,h300,fcrop,q80"},
		{"no Accept gets JPEG", avatar + crop, "", "image/jpeg", "jpeg", "w300,h300,fcrop,q80"},
		{"webp;q=0 gets JPEG", avatar + crop, "image/webp;q=0", "image/jpeg", "jpeg", "w300,h300,fcrop,q80"},
		{"avif;q=0 falls to WebP", avatar + crop, "image/avif;q=0, image/webp;q=0.5", "image/webp", "webp", "w300,h300,fcrop,q80,webp"},
		{"media types ignore case", avatar + crop, "IMAGE/AVIF", "image/avif", "avif", "w300,h300,fcrop,q80,avif"},
		{"explicit format=png wins", avatar + crop + "&format=png", acceptChromium, "image/png", "png", "w300,h300,fcrop,q80,png"},
		{"key mode ignores format, as v8", avatar + "?key=thumbnail&format=png", acceptChromium, "image/avif", "avif", "w200,h200,fcontain,q80,avif"},
		{"PNG with alpha gets AVIF", "/thumper/assets/" + fixture.SmallHash + crop, acceptChromium, "image/avif", "avif", "w300,h300,fcrop,q80,avif"},
		{"GIF keeps GIF", "/thumper/assets/animatedgif00001" + crop, acceptChromium, "image/gif", "gif", "w300,h300,fcrop,q80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.accept != "" {
				header = []string{"Accept", tt.accept}
			}
			for _, round := range []string{"made", "reused"} {
				res, body := e.do(t, "GET", tt.path, header...)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d: %s", round, res.StatusCode, body)
				}
				if ct := res.Header.Get("Content-Type"); ct != tt.contentType {
					t.Errorf("%s: Content-Type %q, want %q", round, ct, tt.contentType)
				}
				if kind := decodeKind(t, body); kind != tt.kind {
					t.Errorf("%s: body decodes as %q, want %q", round, kind, tt.kind)
				}
				if v := res.Header.Values("Vary"); len(v) != 1 || !strings.Contains(v[0], "Accept") {
					t.Errorf("%s: Vary %q, want one header naming Accept", round, v)
				}
				name := fixture.AvatarDisk
				switch {
				case strings.Contains(tt.path, fixture.SmallHash):
					name = "small.png"
				case strings.Contains(tt.path, "animatedgif"):
					name = "anim.gif"
				}
				onDisk, err := os.ReadFile(filepath.Join(e.ThumbRoot, tt.dir, name))
				if err != nil || !bytes.Equal(onDisk, body) {
					t.Errorf("%s: the body is not %s/%s (%v)", round, tt.dir, name, err)
				}
			}
		})
	}
	// Both variants of one thumbnail coexist, each still served to its
	// clients after the other was made.
	for accept, want := range map[string]string{acceptChromium: "image/avif", acceptSafari: "image/webp", "": "image/jpeg"} {
		res, _ := e.do(t, "GET", avatar+crop, "Accept", accept)
		if ct := res.Header.Get("Content-Type"); ct != want {
			t.Errorf("again with Accept %q: %s, want %s", accept, ct, want)
		}
	}
	// Originals are never converted, and do not vary.
	res, body := e.do(t, "GET", avatar, "Accept", acceptChromium)
	if ct := res.Header.Get("Content-Type"); ct != "image/jpeg" || !bytes.Equal(body, fixture.AvatarJPEG()) {
		t.Errorf("original: %s, %d bytes", ct, len(body))
	}
	if v := res.Header.Get("Vary"); strings.Contains(v, "Accept") {
		t.Errorf("original: Vary %q", v)
	}
	// CORS's Vary: Origin and Accept in one header.
	res, _ = e.do(t, "GET", avatar+crop, "Accept", acceptChromium, "Origin", "https://site.example")
	if v := res.Header.Values("Vary"); len(v) != 1 || v[0] != "Origin, Accept" {
		t.Errorf("with Origin: Vary %q, want [\"Origin, Accept\"]", v)
	}
	// Errors of the thumbnail URL vary too: a cache must not keep one for
	// every client.
	res, _ = e.do(t, "GET", avatar+"?w=300&h=300&f=crop&q=80&format=bmp", "Accept", acceptChromium)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.Header.Get("Vary"), "Accept") {
		t.Errorf("error: %d, Vary %q", res.StatusCode, res.Header.Get("Vary"))
	}
}

// TestAutoFormatOff: with auto_format = [] (the default) Accept changes
// nothing: the same bytes and headers as v8's output for every client, and
// no Vary: Accept.
func TestAutoFormatOff(t *testing.T) {
	e := autoFormatEnv(t)
	type answer struct {
		status int
		header http.Header
		body   []byte
	}
	var first *answer
	for _, accept := range []string{"", acceptChromium, acceptSafari, "image/avif"} {
		for _, path := range []string{avatar + "?w=300&h=300&f=crop&q=80", avatar + "?key=thumbnail", avatar} {
			res, body := e.do(t, "GET", path, "Accept", accept)
			h := res.Header.Clone()
			h.Del("Date")
			h.Del("X-Request-Id")
			if strings.Contains(h.Get("Vary"), "Accept") {
				t.Errorf("%s with Accept %q: Vary %q", path, accept, h.Get("Vary"))
			}
			if path != avatar+"?w=300&h=300&f=crop&q=80" {
				continue
			}
			a := &answer{res.StatusCode, h, body}
			if first == nil {
				first = a
				if ct := h.Get("Content-Type"); ct != "image/jpeg" || decodeKind(t, body) != "jpeg" {
					t.Fatalf("not v8's JPEG: %s", ct)
				}
				continue
			}
			if a.status != first.status || !bytes.Equal(a.body, first.body) || !equalHeaders(a.header, first.header) {
				t.Errorf("Accept %q changed the answer:\n%v\nvs\n%v", accept, a.header, first.header)
			}
		}
	}
	entries, err := os.ReadDir(e.ThumbRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if strings.HasSuffix(d.Name(), ",avif") || strings.HasSuffix(d.Name(), ",webp") {
			t.Errorf("a converted variant was made: %s", d.Name())
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

// A thumbnail larger than AV1's level 6 is negotiated to the next format
// the client names (libaom would write an AVIF only libaom reads).
func TestNegotiateAVIFSize(t *testing.T) {
	if !generator.CanEncode("avif") {
		t.Skip("the pure-Go build encodes neither AVIF nor WebP")
	}
	th := middleware.Thumbnails{AutoFormats: []string{"avif", "webp"}}
	accept := []string{"image/avif,image/webp,*/*;q=0.8"}
	req := whitelist.Request{Key: whitelist.Param{Value: "big", Present: true}}
	for _, c := range []struct {
		w, h int
		want string
	}{{8192, 4352, "avif"}, {6000, 6000, "webp"}, {16385, 100, "webp"}} {
		spec := whitelist.Spec{Width: c.w, Height: c.h, Format: "jpg", SourceExt: "jpg"}
		if got := th.Negotiate(req, spec, accept); got != c.want {
			t.Errorf("%dx%d: %q, want %q", c.w, c.h, got, c.want)
		}
	}
}
