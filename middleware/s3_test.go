package middleware_test

import (
	"bytes"
	"context"
	"image"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
)

// newS3Env serves the §12 fixture with its originals and generated files in
// a real S3 server (versitygw) under v8's default key prefixes.
func newS3Env(t *testing.T) (*env, *fixture.S3Server) {
	t.Helper()
	th := fixture.NewThumper(t)
	srv := fixture.NewS3(t)
	srv.PutDir(t, th.Root, "uploads/thumper/originals/")
	store := func(root string) storage.Store {
		s, err := storage.NewS3(context.Background(), storage.S3Config{
			Key: srv.Key, Secret: srv.Secret, Bucket: srv.Bucket, Endpoint: srv.Endpoint, Root: root,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	p := thumperProject(t, th)
	p.Originals, p.Thumbs = store("uploads/thumper/originals"), store("uploads/thumper/generated")
	logs := &logBuffer{}
	hs := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{
		Generator: generator.New(generator.Options{}), Logger: slog.New(slog.NewJSONHandler(logs, nil))}))
	t.Cleanup(hs.Close)
	return &env{Thumper: th, srv: hs, logs: logs}, srv
}

func TestS3Originals(t *testing.T) {
	e, _ := newS3Env(t)
	orig := fixture.AvatarJPEG()
	for _, m := range methods {
		res, body := e.do(t, m, avatar)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" || res.Header.Get("Content-Disposition") != avatarInline ||
			res.Header.Get("Content-Length") != strconv.Itoa(len(orig)) || (m == "GET" && !bytes.Equal(body, orig)) {
			t.Fatalf("%s: status %d headers %v", m, res.StatusCode, res.Header)
		}
	}
	res, body := e.do(t, "GET", avatar, "Range", "bytes=1000-1999")
	if res.StatusCode != 206 || !bytes.Equal(body, orig[1000:2000]) || res.Header.Get("Content-Range") != "bytes 1000-1999/"+strconv.Itoa(len(orig)) {
		t.Fatalf("range: %d %q", res.StatusCode, res.Header.Get("Content-Range"))
	}
	res, body = e.do(t, "GET", avatar, "Range", "bytes=0-9,-10")
	if res.StatusCode != 206 || !bytes.Contains(body, orig[:10]) || !bytes.Contains(body, orig[len(orig)-10:]) {
		t.Fatalf("multi-range: %d", res.StatusCode)
	}
	res, _ = e.do(t, "GET", avatar, "Range", "bytes=99999999-")
	if res.StatusCode != 416 {
		t.Fatalf("416: %d", res.StatusCode)
	}
	first, _ := e.do(t, "GET", avatar)
	if res, _ := e.do(t, "GET", avatar, "If-None-Match", first.Header.Get("Etag")); res.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", res.StatusCode)
	}
	if res, _ := e.do(t, "GET", avatar, "If-Modified-Since", first.Header.Get("Last-Modified")); res.StatusCode != 304 {
		t.Errorf("If-Modified-Since: %d", res.StatusCode)
	}
	res, body = e.do(t, "GET", "/thumper/assets/"+fixture.MissingHash)
	wantV8Error(t, res, body, 500, nil, "File not found at path: missing.jpg")
	fixture.Exec(t, e.DB, "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES (20, 'escape0000000001', '../generated/x.jpg', 'x.jpg', 'image/jpeg', 1, NOW())")
	res, body = e.do(t, "GET", "/thumper/assets/escape0000000001")
	wantV8Error(t, res, body, 404, 203, "Item not found")
	if res, _ := e.do(t, "GET", "/readyz"); res.StatusCode != 200 {
		t.Errorf("readyz with S3 storage: %d", res.StatusCode)
	}
}

func TestS3Thumbnails(t *testing.T) {
	e, srv := newS3Env(t)
	key := "uploads/thumper/generated/" + avatarContain
	res, body := e.do(t, "GET", avatar+"?key=thumbnail")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("status %d %s", res.StatusCode, body)
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(body)); err != nil || cfg.Width != 200 || cfg.Height != 133 {
		t.Fatalf("thumbnail %v %v", cfg, err)
	}
	if stored := srv.Get(t, key); !bytes.Equal(stored, body) {
		t.Fatalf("stored object differs from the response")
	}
	etag := res.Header.Get("Etag")
	// Reuse: same bytes, same validator, no new write.
	res, again := e.do(t, "GET", avatar+"?key=thumbnail")
	if !bytes.Equal(again, body) || res.Header.Get("Etag") != etag {
		t.Errorf("reuse changed the thumbnail")
	}
	if res, _ := e.do(t, "GET", avatar+"?key=thumbnail", "If-None-Match", etag); res.StatusCode != 304 {
		t.Errorf("304 on a thumbnail: %d", res.StatusCode)
	}
	if res, part := e.do(t, "GET", avatar+"?key=thumbnail", "Range", "bytes=0-99"); res.StatusCode != 206 || !bytes.Equal(part, body[:100]) {
		t.Errorf("range on a thumbnail: %d", res.StatusCode)
	}
	// A thumbnail v8 wrote is served as is.
	planted := fixture.JPEG(fixture.Photo(64, 64, 9), 70)
	srv.Put(t, "uploads/thumper/generated/w64,h64,fcrop,q80/"+fixture.AvatarDisk, planted)
	if res, b := e.do(t, "GET", avatar+"?key=directus-small-crop"); res.StatusCode != 200 || !bytes.Equal(b, planted) {
		t.Errorf("planted object not served as is: %d", res.StatusCode)
	}
	// Rotation: the old hash is gone at once, the new one reuses the object.
	res, b := e.send(t, "POST", "/thumper/files/1/rotate-hash", "", "Authorization", adminAuth)
	d := wantData(t, res, b)
	if res, b := e.do(t, "GET", avatar+"?key=thumbnail"); res.StatusCode != 404 {
		t.Errorf("old hash after rotation: %d %s", res.StatusCode, b)
	}
	if res, b := e.do(t, "GET", "/thumper/assets/"+*d.PrivateHash+"?key=thumbnail"); res.StatusCode != 200 || !bytes.Equal(b, body) || res.Header.Get("Etag") != etag {
		t.Errorf("new hash: %d", res.StatusCode)
	}
	if keys := srv.Keys(t, "uploads/thumper/generated/"); len(keys) != 2 {
		t.Errorf("generated objects %v", keys)
	}
}
