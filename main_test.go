package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs `v8assets serve -config path` until the test ends and
// returns its base URL once it answers /server/ping.
func startServe(t *testing.T, path, addr string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-config", path}, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d:\n%s", code, logs.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, logs.String())
		default:
		}
		if res, err := http.Get(base + "/server/ping"); err == nil {
			res.Body.Close()
			return base
		}
	}
	t.Fatalf("serve did not come up:\n%s", logs.String())
	return ""
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// The shipped config.toml serves the embedded demo with no MySQL at all.
func TestServeShippedDemo(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "demo.db")
	addr := freeAddr(t)
	t.Setenv("V8ASSETS_PROJECTS_DEMO_DATABASE_PATH", dbPath)
	t.Setenv("V8ASSETS_PROJECTS_DEMO_STORAGE_THUMB_ROOT", filepath.Join(filepath.Dir(dbPath), "generated"))
	t.Setenv("V8ASSETS_SERVER_LISTEN", addr)
	base := startServe(t, "config.toml", addr)

	res, body := get(t, base+"/demo/assets/demo0photo0jpeg1")
	want, _ := os.ReadFile("uploads/demo/originals/photo.jpg")
	if res.StatusCode != 200 || !bytes.Equal(body, want) || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("demo photo: status %d type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="Sunset over the bay.jpg"`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	res, _ = get(t, base+"/demo/assets/DEMO0DOCUMENT001")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("case-insensitive demo lookup: status %d", res.StatusCode)
	}
	res, body = get(t, base+"/demo/assets/demo0photo0jpeg1?key=thumbnail")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("demo thumbnail: status %d %s", res.StatusCode, body)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dbPath), "generated", "w200,h200,fcontain,q80", "photo.jpg")); err != nil {
		t.Errorf("demo thumbnail not written to the configured thumb root: %v", err)
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("demo database not created: %v", err)
	}
}

// mysqlConfig writes a config.toml for the §12 fixture project the way an
// operator would, reaching the fixture's MariaDB like the fixtures do.
func mysqlConfig(t *testing.T, th *fixture.Thumper, addr string) string {
	t.Helper()
	admin := fixture.AdminConfig(t)
	conn := fmt.Sprintf("socket = %q", admin.Addr)
	if admin.Net == "tcp" {
		host, port, _ := net.SplitHostPort(admin.Addr)
		conn = fmt.Sprintf("host = %q\nport = %s", host, port)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte(fmt.Sprintf(`
[server]
listen = %q
[projects.thumper.database]
type = "mysql"
name = %q
username = %q
password = %q
%s
[projects.thumper.storage]
root = %q
thumb_root = %q
`, addr, th.DBName, admin.User, admin.Passwd, conn, th.Root, th.ThumbRoot)), 0o644)
	return path
}

// serve against a real MariaDB database, configured the way an operator
// would configure it.
func TestServeMySQL(t *testing.T) {
	th := fixture.NewThumper(t)
	addr := freeAddr(t)
	base := startServe(t, mysqlConfig(t, th, addr), addr)

	res, body := get(t, base+"/thumper/assets/PNW7S9LQY68048G0")
	if res.StatusCode != 200 || !bytes.Equal(body, fixture.AvatarJPEG()) {
		t.Fatalf("status %d", res.StatusCode)
	}
	res, body = get(t, base+"/thumper/assets/doesnotexist")
	if res.StatusCode != 404 || string(body) != `{"error":{"code":203,"message":"Item not found"}}` {
		t.Fatalf("status %d body %s", res.StatusCode, body)
	}
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

var generatedHash = regexp.MustCompile(`^[1-9a-z][0-9a-z]{15}$`)

func TestRotateHashCommand(t *testing.T) {
	th := fixture.NewThumper(t)
	cfg := mysqlConfig(t, th, "127.0.0.1:0")
	hashOf := func(id int) string {
		var h string
		if err := th.DB.Get(&h, "SELECT private_hash FROM directus_files WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
		return h
	}

	code, out, errOut := runCLI(t, "rotate-hash", "-config", cfg, "-project", "thumper", "-file", "1")
	if code != 0 || !generatedHash.MatchString(strings.TrimSpace(out)) || hashOf(1) != strings.TrimSpace(out) {
		t.Fatalf("-file 1: exit %d out %q err %q (stored %q)", code, out, errOut, hashOf(1))
	}

	before := map[int]string{}
	for id := 1; id <= 6; id++ {
		before[id] = hashOf(id)
	}
	code, out, errOut = runCLI(t, "rotate-hash", "-config", cfg, "-project", "thumper", "-all", "-batch", "4")
	if code != 0 || out != "rotated 6 files\n" || strings.Count(errOut, "resume with -from") != 2 {
		t.Fatalf("-all: exit %d out %q err %q", code, out, errOut)
	}
	seen := map[string]bool{}
	for id := 1; id <= 6; id++ {
		h := hashOf(id)
		if h == before[id] || !generatedHash.MatchString(h) || seen[h] {
			t.Errorf("file %d: %q (was %q)", id, h, before[id])
		}
		seen[h] = true
	}
	code, out, _ = runCLI(t, "rotate-hash", "-config", cfg, "-project", "thumper", "-all", "-from", "4")
	if code != 0 || out != "rotated 2 files\n" || hashOf(4) == "" {
		t.Errorf("resume: exit %d out %q", code, out)
	}
	code, out, errOut = runCLI(t, "rotate-hash", "-config", cfg, "-project", "thumper", "-all", "-from", "5")
	if code != 0 || out != "rotated 1 file\n" || !strings.Contains(errOut, "rotated 1 file, up to id 6") {
		t.Errorf("one file: exit %d out %q err %q", code, out, errOut)
	}
	// Every rotation is in v8's activity history, for no user, saying it
	// came from the command line: 1 + 6 + 2 + 1.
	var acts []struct {
		ActionBy int64          `db:"action_by"`
		Item     string         `db:"item"`
		Comment  sql.NullString `db:"comment"`
		Delta    string         `db:"delta"`
	}
	if err := th.DB.Select(&acts, `SELECT a.action_by, a.item, a.comment, r.delta FROM directus_activity a
		JOIN directus_revisions r ON r.activity = a.id WHERE a.action = 'update' AND a.collection = 'directus_files' ORDER BY a.id`); err != nil {
		t.Fatal(err)
	}
	if len(acts) != 10 || acts[9].Item != "6" || acts[9].Delta != `{"private_hash":"`+hashOf(6)+`"}` {
		t.Fatalf("activity rows: %+v", acts)
	}
	for _, a := range acts {
		if a.ActionBy != 0 || !strings.Contains(a.Comment.String, "command line") {
			t.Errorf("activity %+v", a)
		}
	}

	for name, c := range map[string]struct {
		args []string
		code int
	}{
		"neither -file nor -all": {[]string{"-project", "thumper"}, 2},
		"both":                   {[]string{"-project", "thumper", "-file", "1", "-all"}, 2},
		"unknown project":        {[]string{"-project", "nope", "-file", "1"}, 2},
		"missing file":           {[]string{"-project", "thumper", "-file", "999"}, 1},
	} {
		if code, _, errOut := runCLI(t, append([]string{"rotate-hash", "-config", cfg}, c.args...)...); code != c.code || errOut == "" {
			t.Errorf("%s: exit %d (%q), want %d", name, code, errOut, c.code)
		}
	}
}

func TestIndexCommand(t *testing.T) {
	th := fixture.NewThumper(t)
	cfg := mysqlConfig(t, th, "127.0.0.1:0")
	code, out, errOut := runCLI(t, "index", "-config", cfg, "-project", "thumper")
	if code != 0 || strings.Count(out, "created index") != 2 {
		t.Fatalf("first run: exit %d out %q err %q", code, out, errOut)
	}
	var n int
	th.DB.Get(&n, "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'directus_files' AND index_name IN ('idx_files_private_hash', 'idx_files_filename_download') AND non_unique = 1")
	if n != 2 {
		t.Errorf("%d non-unique indexes, want 2", n)
	}
	code, out, _ = runCLI(t, "index", "-config", cfg, "-project", "thumper")
	if code != 0 || strings.Count(out, "already indexed") != 2 || strings.Contains(out, "created") {
		t.Errorf("second run is not a no-op: exit %d out %q", code, out)
	}
}
