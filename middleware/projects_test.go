package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
)

// Two projects in one process: each resolves ids in its own database, reads
// its own root and applies its own CORS.
func TestTwoProjects(t *testing.T) {
	th := fixture.NewThumper(t)
	thumper := thumperProject(t, th)

	db, _ := fixture.NewDatabase(t)
	fixture.Exec(t, db, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on)
		VALUES (1, 'otherhash0000001', 'logo.png', 'logo.png', 'image/png', 1, NOW()),
		       (2, 'pnw7s9lqy68048g0', 'a88c3b72-ac58-5436-a4ec-b2858531333a.jpg', 'same-name.jpg', 'image/jpeg', 1, NOW())`)
	root := t.TempDir()
	logo := fixture.PNG(fixture.HalfTransparent(20, 10))
	os.WriteFile(filepath.Join(root, "logo.png"), logo, 0o644)
	otherJPEG := fixture.JPEG(fixture.Photo(40, 30, 9), 80)
	os.WriteFile(filepath.Join(root, fixture.AvatarDisk), otherJPEG, 0o644)
	originals, err := storage.NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	other := &middleware.Project{
		Name: "other-site_2", Files: hashes.NewStore(db, nil), Originals: originals,
		CORS: middleware.CORS{Enabled: true, Origin: []string{"https://other.test"}},
	}
	srv := httptest.NewServer(middleware.New([]*middleware.Project{thumper, other}, middleware.Options{Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv, logs: &logBuffer{}}

	res, body := e.do(t, "GET", "/other-site_2/assets/otherhash0000001", "Origin", "https://app.test")
	if res.StatusCode != 200 || !bytes.Equal(body, logo) || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other project: status %d, %d bytes, ACAO %q", res.StatusCode, len(body), res.Header.Get("Access-Control-Allow-Origin"))
	}
	res, body = e.do(t, "GET", "/thumper/assets/otherhash0000001")
	wantV8Error(t, res, body, 404, 203, "Item not found")

	// The same hash names different files in the two projects.
	res, body = e.do(t, "GET", "/other-site_2/assets/"+fixture.AvatarHash)
	if res.StatusCode != 200 || !bytes.Equal(body, otherJPEG) || res.Header.Get("Content-Disposition") != `inline; filename="same-name.jpg"; filename*=UTF-8''same-name.jpg` {
		t.Fatalf("other project avatar: status %d, %q", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	res, body = e.do(t, "GET", "/thumper/assets/"+fixture.AvatarHash, "Origin", "https://app.test")
	if res.StatusCode != 200 || !bytes.Equal(body, fixture.AvatarJPEG()) || res.Header.Get("Access-Control-Allow-Origin") != "https://app.test" {
		t.Fatalf("thumper avatar: status %d", res.StatusCode)
	}
	// Project names are case-sensitive, like v8's config file names.
	res, body = e.do(t, "GET", "/Thumper/assets/"+fixture.AvatarHash)
	wantV8Error(t, res, body, 401, 3, "Unauthorized request")
}
