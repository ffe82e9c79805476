package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	_ "image/png"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
)

// Paths under /server other than /server/ping are v8's unknown route (spec
// Q43), for every method, and never reach a project handler.
func TestServerSegmentIsReserved(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/server/assets/" + fixture.AvatarHash},
		{"HEAD", "/server/assets/x"},
		{"PATCH", "/server/files/1"},
		{"POST", "/server/files/1/rotate-hash"},
		{"GET", "/server/info"},
		{"GET", "/server"},
		{"DELETE", "/server/ping/x"},
	} {
		res, body := e.do(t, c.method, c.path, "Authorization", adminAuth)
		wantV8Error(t, res, body, 404, 1, "Not Found")
	}
	res, body := e.do(t, "GET", "/server/ping")
	if res.StatusCode != 200 || string(body) != "pong" {
		t.Errorf("ping: %d %q", res.StatusCode, body)
	}
	if strings.Contains(e.logs.String(), "panic") {
		t.Errorf("logs: %s", e.logs.String())
	}
}

// A handler that panics answers v8's 500 JSON, and a flood of the same
// panic logs one line, not one stack per request.
func TestPanicBecomes500(t *testing.T) {
	e := newEnv(t)
	broken := &middleware.Project{Name: "broken"} // no database: every lookup panics
	logs := &logBuffer{}
	srv := httptest.NewServer(middleware.New([]*middleware.Project{broken}, middleware.Options{
		Generator: generator.New(generator.Options{}), Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	defer srv.Close()
	b := &env{Thumper: e.Thumper, srv: srv, logs: logs}
	for range 20 {
		res, body := b.do(t, "GET", "/broken/assets/abc")
		wantV8Error(t, res, body, 500, nil, "Internal Server Error")
	}
	if n := strings.Count(logs.String(), `"msg":"handler panicked"`); n != 1 {
		t.Errorf("%d panic lines in:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "goroutine ") {
		t.Error("a stack trace reached the log")
	}
}

// Ids that MySQL's utf8 columns cannot hold are 404 code 203 without any
// query (spec Q42); before, they were 500 "Illegal mix of collations".
func TestUnstorableIDs(t *testing.T) {
	var queries atomic.Int64
	e := newEnv(t, func(p *middleware.Project) {
		p.Files = hashes.NewStore(p.Files.(*hashes.Store).DB(), func(string, time.Duration) { queries.Add(1) })
	})
	for _, id := range []string{"%ff", "%e9", "%F0%9F%98%80", "pnw7s9lqy68048g0%F0%9F%98%80", "ab%ED%A0%80", "%C3%28", "+%20%ff"} {
		for _, m := range methods {
			res, body := e.do(t, m, "/thumper/assets/"+id+"?key=thumbnail")
			wantV8Error(t, res, body, 404, 203, "Item not found")
		}
	}
	if n := queries.Load(); n != 0 {
		t.Errorf("%d queries for ids no row can hold", n)
	}
	if strings.Contains(e.logs.String(), `"level":"ERROR"`) {
		t.Errorf("error logged: %s", e.logs.String())
	}
	// A BMP character still reaches the database and is simply not found.
	res, body := e.do(t, "GET", "/thumper/assets/%C3%A9t%C3%A9")
	wantV8Error(t, res, body, 404, 203, "Item not found")
	if queries.Load() == 0 {
		t.Error("a storable id was not looked up")
	}
}

// One original's conversion can never become another original's thumbnail:
// coll.jpg converted to png lands in a directory of its own, not on
// coll.png's thumbnail path (spec Q2).
func TestConversionCannotPoisonAnotherThumbnail(t *testing.T) {
	e := newEnv(t)
	fixture.Exec(t, e.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
		(7, 'colljpg000000001', 'coll.jpg', 'coll.jpg', 'image/jpeg', 1, NOW()),
		(8, 'collpng000000001', 'coll.png', 'coll.png', 'image/png', 1, NOW())`)
	red := image.NewRGBA(image.Rect(0, 0, 300, 300))
	blue := image.NewRGBA(image.Rect(0, 0, 300, 300))
	for i := 0; i < len(red.Pix); i += 4 {
		copy(red.Pix[i:], []byte{255, 0, 0, 255})
		copy(blue.Pix[i:], []byte{0, 0, 255, 255})
	}
	os.WriteFile(filepath.Join(e.Root, "coll.jpg"), fixture.JPEG(red, 90), 0o644)
	os.WriteFile(filepath.Join(e.Root, "coll.png"), fixture.PNG(blue), 0o644)

	res, body := e.do(t, "GET", "/thumper/assets/colljpg000000001?w=200&h=200&f=contain&q=80&format=png")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("conversion: %d %s", res.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(e.ThumbRoot, "w200,h200,fcontain,q80,png", "coll.jpg")); err != nil {
		t.Errorf("conversion not in its own directory: %v", err)
	}
	res, body = e.do(t, "GET", "/thumper/assets/collpng000000001?key=thumbnail")
	if res.StatusCode != 200 {
		t.Fatalf("thumbnail: %d %s", res.StatusCode, body)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, b, _ := img.At(100, 100).RGBA(); r > b {
		t.Errorf("coll.png's thumbnail shows coll.jpg's pixels (r=%d b=%d)", r>>8, b>>8)
	}
}

// Two admins setting one hash on two files at once: one wins, the other
// gets 422; deadlocks are retried, never a 500.
func TestConcurrentSameHashPatches(t *testing.T) {
	e := newEnv(t)
	for round := range 60 {
		hash := "samehash" + strconv.Itoa(10000000+round)
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("PATCH", e.srv.URL+"/thumper/files/"+strconv.Itoa(i+1), strings.NewReader(`{"private_hash":"`+hash+`"}`))
				req.Header.Set("Authorization", adminAuth)
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				statuses[i] = res.StatusCode
			}()
		}
		wg.Wait()
		if !(statuses[0] == 200 && statuses[1] == 422 || statuses[0] == 422 && statuses[1] == 200) {
			t.Fatalf("round %d: statuses %v\n%s", round, statuses, e.logs.String())
		}
	}
}

// A thumb root deleted under a running server is recreated on the next
// write.
func TestDeletedThumbRootIsRecreated(t *testing.T) {
	e := newEnv(t)
	if err := os.RemoveAll(e.ThumbRoot); err != nil {
		t.Fatal(err)
	}
	res, body := e.do(t, "GET", avatar+"?key=thumbnail")
	wantThumb(t, e, res, body, "image/jpeg", "w200,h200,fcontain,q80/"+fixture.AvatarDisk, 200, 133)
}

// /readyz fails when the thumb root's filesystem is below min_free_space;
// the public body names the project and component only, the private one
// says why.
func TestReadinessMinFreeSpace(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		min  int64
		want int
	}{{0, 200}, {1, 200}, {1 << 60, 503}} {
		s := middleware.New([]*middleware.Project{thumperProject(t, e.Thumper)}, middleware.Options{
			Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler), MinFreeSpace: c.min})
		pub := httptest.NewServer(s)
		priv := httptest.NewServer(s.ReadyDetails())
		res, body := (&env{srv: pub}).do(t, "GET", "/readyz")
		if res.StatusCode != c.want {
			t.Errorf("min %d: status %d %s", c.min, res.StatusCode, body)
		}
		if c.want == 503 {
			if string(body) != `{"projects":{"thumper":"thumbs"},"status":"unavailable"}` {
				t.Errorf("public body %s", body)
			}
			res, body = (&env{srv: priv}).do(t, "GET", "/readyz")
			var got struct{ Projects map[string]string }
			json.Unmarshal(body, &got)
			if res.StatusCode != 503 || !strings.Contains(got.Projects["thumper"], "below min_free_space") || !strings.Contains(got.Projects["thumper"], e.ThumbRoot) {
				t.Errorf("private body %d %s", res.StatusCode, body)
			}
		}
		pub.Close()
		priv.Close()
	}
}

// The public readiness body never shows a driver error, a user name or a
// path.
func TestReadinessHidesDetails(t *testing.T) {
	e := newEnv(t)
	os.Rename(e.Root, e.Root+".moved")
	defer os.Rename(e.Root+".moved", e.Root)
	res, body := e.do(t, "GET", "/readyz")
	if res.StatusCode != 503 || string(body) != `{"projects":{"thumper":"originals"},"status":"unavailable"}` {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}

// After admin_auth_failures wrong tokens in a minute a client gets 429 with
// Retry-After, even with the right token; other clients are not affected.
// Behind a trusted proxy the client is the right-most untrusted
// X-Forwarded-For address.
func TestAdminAuthBrake(t *testing.T) {
	th := fixture.NewThumper(t)
	start := func(opts middleware.Options) *env {
		opts.Generator, opts.Logger = generator.New(generator.Options{}), slog.New(slog.DiscardHandler)
		srv := httptest.NewServer(middleware.New([]*middleware.Project{thumperProject(t, th)}, opts))
		t.Cleanup(srv.Close)
		return &env{Thumper: th, srv: srv}
	}
	rotate := func(e *env, token string, header ...string) (*http.Response, []byte) {
		return e.do(t, "POST", "/thumper/files/2/rotate-hash", append([]string{"Authorization", "Bearer " + token}, header...)...)
	}

	e := start(middleware.Options{AdminAuthFailures: 3})
	for range 3 {
		res, body := rotate(e, "wrong")
		wantV8Error(t, res, body, 401, 3, "Unauthorized request")
	}
	res, body := rotate(e, fixture.AdminToken)
	wantV8Error(t, res, body, 429, nil, "Too many failed authentications. Try again later.")
	if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	// Without trusted proxies, X-Forwarded-For is the client's own word.
	res, _ = rotate(e, fixture.AdminToken, "X-Forwarded-For", "203.0.113.9")
	if res.StatusCode != 429 {
		t.Errorf("forged X-Forwarded-For escaped the brake: %d", res.StatusCode)
	}

	p := start(middleware.Options{AdminAuthFailures: 2, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for range 2 {
		rotate(p, "wrong", "X-Forwarded-For", "198.51.100.7, 127.0.0.1")
	}
	res, _ = rotate(p, fixture.AdminToken, "X-Forwarded-For", "198.51.100.7")
	if res.StatusCode != 429 {
		t.Errorf("client behind the proxy not braked: %d", res.StatusCode)
	}
	res, body = rotate(p, fixture.AdminToken, "X-Forwarded-For", "198.51.100.7, 198.51.100.8")
	if res.StatusCode != 200 {
		t.Errorf("another client behind the proxy: %d %s", res.StatusCode, body)
	}
}

// Smaller defects: an empty suffix range, invalid UTF-8 in a PATCH, and
// non-canonical admin ids.
func TestSmallerDefects(t *testing.T) {
	e := newEnv(t)
	orig := fixture.AvatarJPEG()
	res, _ := e.do(t, "GET", avatar, "Range", "bytes=-0")
	if res.StatusCode != 416 || res.Header.Get("Content-Range") != "bytes */"+strconv.Itoa(len(orig)) {
		t.Errorf("bytes=-0: %d %q", res.StatusCode, res.Header.Get("Content-Range"))
	}
	res, body := e.do(t, "GET", avatar, "Range", "bytes=-000, 0-9")
	if res.StatusCode != 206 || !bytes.Equal(body, orig[:10]) {
		t.Errorf("bytes=-000, 0-9: %d, %d bytes", res.StatusCode, len(body))
	}
	// Another range unit is ignored (RFC 9110 §14.2); a refused range has
	// no plain-text body, only its Content-Range.
	if res, body := e.do(t, "GET", avatar, "Range", "items=0-9"); res.StatusCode != 200 || !bytes.Equal(body, orig) {
		t.Errorf("items=0-9: %d, %d bytes", res.StatusCode, len(body))
	}
	if res, body := e.do(t, "GET", avatar, "Range", "bytes=x-y"); res.StatusCode != 416 || len(body) != 0 || res.Header.Get("Content-Type") != "" {
		t.Errorf("bytes=x-y: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), body)
	}

	res, body = e.send(t, "PATCH", "/thumper/files/1", "{\"filename_download\":\"a\xffb.jpg\"}", "Authorization", adminAuth)
	wantV8Error(t, res, body, 422, 4, "filename_download must be valid UTF-8.")

	for _, id := range []string{"+1", "01", "1e0", "%201", "0x1"} {
		res, body = e.send(t, "PATCH", "/thumper/files/"+id, `{"filename_download":"x.jpg"}`, "Authorization", adminAuth)
		wantV8Error(t, res, body, 404, 203, "Item not found")
	}
	var name string
	if err := e.DB.Get(&name, "SELECT filename_download FROM directus_files WHERE id = 1"); err != nil || name != "avatar.jpg" {
		t.Errorf("file 1 renamed to %q (%v)", name, err)
	}
}

// A filename_disk with "dir/.." in it names the file Flysystem's
// normalisation made of it: v8 served it and its thumbnails, so do we
// (the thumbnail lands under the normalised name too).
func TestFilenameDiskNormalised(t *testing.T) {
	e := newEnv(t)
	fixture.Exec(t, e.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
		(7, 'dotdot0000000001', 'sub/../ok.jpg', 'ok.jpg', 'image/jpeg', 1, NOW())`)
	src := fixture.JPEG(fixture.Photo(300, 200, 1), 90)
	os.WriteFile(filepath.Join(e.Root, "ok.jpg"), src, 0o644)
	res, body := e.do(t, "GET", "/thumper/assets/dotdot0000000001")
	if res.StatusCode != 200 || !bytes.Equal(body, src) {
		t.Fatalf("original: %d %s", res.StatusCode, body)
	}
	res, body = e.do(t, "GET", "/thumper/assets/dotdot0000000001?key=thumbnail")
	if res.StatusCode != 200 {
		t.Fatalf("thumbnail: %d %s", res.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(e.ThumbRoot, "w200,h200,fcontain,q80", "ok.jpg")); err != nil {
		t.Errorf("thumbnail not under the normalised name: %v", err)
	}
}

// panickingStore opens files whose reads panic with value once read bytes
// have gone out.
type panickingStore struct {
	storage.Store
	value any
}

func (p panickingStore) Open(ctx context.Context, name string) (storage.Object, storage.Info, error) {
	obj, info, err := p.Store.Open(ctx, name)
	if err != nil {
		return obj, info, err
	}
	return &panickingObject{Object: obj, value: p.value}, info, nil
}

type panickingObject struct {
	storage.Object
	value any
	read  int64
}

func (o *panickingObject) Read(b []byte) (int, error) {
	if o.read > 100<<10 {
		panic(o.value)
	}
	n, err := o.Object.Read(b)
	o.read += int64(n)
	return n, err
}

// A panic once the headers and part of the body are out cannot become
// v8's JSON: the response is cut short (the client sees a truncated body,
// never JSON glued to an image), and it is logged. http.ErrAbortHandler,
// a handler's way of asking for exactly that, passes through unlogged.
func TestPanicMidBody(t *testing.T) {
	for _, c := range []struct {
		name   string
		value  any
		logged bool
	}{{"a panic", "boom", true}, {"http.ErrAbortHandler", http.ErrAbortHandler, false}} {
		t.Run(c.name, func(t *testing.T) {
			th := fixture.NewThumper(t)
			big := fixture.JPEG(fixture.Photo(1200, 900, 3), 95)
			if len(big) < 200<<10 {
				t.Fatalf("the original is only %d bytes", len(big))
			}
			os.WriteFile(filepath.Join(th.Root, "big.jpg"), big, 0o644)
			fixture.Exec(t, th.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
				(7, 'bigoriginal00001', 'big.jpg', 'big.jpg', 'image/jpeg', 1, NOW())`)
			p := thumperProject(t, th)
			p.Originals = panickingStore{Store: p.Originals, value: c.value}
			logs := &logBuffer{}
			srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{
				Generator: generator.New(generator.Options{}), Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			defer srv.Close()
			res, err := http.Get(srv.URL + "/thumper/assets/bigoriginal00001")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || err == nil || len(body) >= len(big) {
				t.Errorf("status %d, %d of %d bytes, read error %v: want 200 cut short", res.StatusCode, len(body), len(big), err)
			}
			if bytes.Contains(body, []byte(`{"error"`)) {
				t.Error("v8's JSON written into the image's body")
			}
			if got := strings.Contains(logs.String(), `"msg":"handler panicked"`); got != c.logged {
				t.Errorf("logged %v, want %v:\n%s", got, c.logged, logs.String())
			}
		})
	}
}
