package hashes_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
)

const seed = `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
 (1, 'pnw7s9lqy68048g0', 'a.jpg', 'Avatar.JPG', 'image/jpeg', 1, '2020-01-01 00:00:00'),
 (2, 'dupe000000000001', 'b.jpg', 'Report 2020.pdf', NULL, 1, '2020-01-01 00:00:00'),
 (3, 'DUPE000000000001', 'c.jpg', 'c.jpg', '', 1, '2020-01-01 00:00:00'),
 (4, NULL, 'd.jpg', 'd.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00');`

func openSQLite(t *testing.T) *hashes.Store {
	t.Helper()
	db, err := hashes.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "demo.db"), fixture.Schema(t), seed)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return hashes.NewStore(db, nil)
}

// The embedded database must answer lookups as MySQL's utf8_general_ci did.
func TestSQLiteLookups(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	settings, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if settings.LookupColumn() != "private_hash" {
		t.Fatalf("fresh-install naming = %q", settings.LookupColumn())
	}
	if v, ok := settings.Value(hashes.KeyWhitelist); !ok || !strings.Contains(v, `"key":"thumbnail"`) {
		t.Errorf("asset_whitelist = %q, %v", v, ok)
	}
	if _, ok := settings.Value(hashes.KeyCacheTTL); ok {
		t.Errorf("fresh install has thumbnail_cache_ttl")
	}
	cases := map[string]struct {
		id     string
		wantID int64
	}{
		"exact":                  {"pnw7s9lqy68048g0", 1},
		"upper case":             {"PNW7S9LQY68048G0", 1},
		"trailing spaces":        {"pnw7s9lqy68048g0  ", 1},
		"duplicates: lowest id":  {"dupe000000000001", 2},
		"duplicates, other case": {"DUPE000000000001", 2},
		"unknown":                {"nope", 0},
		"leading space matters":  {" pnw7s9lqy68048g0", 0},
		"blank":                  {" ", 0},
		"prefix is not a match":  {"pnw7s9", 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := s.Find(ctx, settings, c.id)
			if c.wantID == 0 {
				if !errors.Is(err, hashes.ErrNotFound) {
					t.Fatalf("Find(%q) = %+v, %v; want ErrNotFound", c.id, f, err)
				}
				return
			}
			if err != nil || f.ID != c.wantID {
				t.Fatalf("Find(%q) = %+v, %v; want id %d", c.id, f, err, c.wantID)
			}
		})
	}
	f, err := s.Find(ctx, settings, "dupe000000000001")
	if err != nil || f.Type != "" || f.FilenameDisk != "b.jpg" || f.FilenameDownload != "Report 2020.pdf" {
		t.Errorf("NULL type row = %+v, %v", f, err)
	}

	if _, err := s.DB().Exec("UPDATE directus_settings SET value = 'filename_download' WHERE `key` = 'asset_url_naming'"); err != nil {
		t.Fatal(err)
	}
	settings, _ = s.Settings(ctx)
	for id, want := range map[string]int64{"avatar.jpg": 1, "report 2020.PDF": 2, "pnw7s9lqy68048g0": 0} {
		f, err := s.Find(ctx, settings, id)
		if (want == 0) != errors.Is(err, hashes.ErrNotFound) || f.ID != want {
			t.Errorf("filename_download mode Find(%q) = %+v, %v; want id %d", id, f, err, want)
		}
	}
}

// The same lookups against MariaDB, for comparison with the embedded path.
func TestMySQLLookups(t *testing.T) {
	db, _ := fixture.NewDatabase(t)
	fixture.Exec(t, db, strings.TrimSuffix(seed, ";"))
	s := hashes.NewStore(db, nil)
	ctx := context.Background()
	settings, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]int64{"PNW7S9LQY68048G0": 1, "pnw7s9lqy68048g0 ": 1, "DUPE000000000001": 2, "nope": 0, " ": 0} {
		f, err := s.Find(ctx, settings, id)
		if (want == 0) != errors.Is(err, hashes.ErrNotFound) || f.ID != want {
			t.Errorf("Find(%q) = %+v, %v; want id %d", id, f, err, want)
		}
	}
}

// SQLiteSchema must keep every table and column of schema.sql.
func TestSQLiteSchemaMatchesMySQL(t *testing.T) {
	mysqlDB, name := fixture.NewDatabase(t)
	var mysqlCols []string
	if err := mysqlDB.Select(&mysqlCols, "SELECT CONCAT(table_name, '.', column_name) FROM information_schema.columns WHERE table_schema = ? ORDER BY 1", name); err != nil {
		t.Fatal(err)
	}
	s := openSQLite(t)
	var sqliteCols []string
	if err := s.DB().Select(&sqliteCols, "SELECT m.name || '.' || p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1"); err != nil {
		t.Fatal(err)
	}
	slices.Sort(mysqlCols)
	slices.Sort(sqliteCols)
	if !slices.Equal(mysqlCols, sqliteCols) || len(mysqlCols) < 40 {
		t.Fatalf("columns differ:\nmysql  %v\nsqlite %v", mysqlCols, sqliteCols)
	}
	var n int
	if err := s.DB().Get(&n, "SELECT COUNT(*) FROM directus_settings"); err != nil || n != 23 {
		t.Errorf("settings rows = %d, %v; want 23", n, err)
	}
	if _, err := s.DB().Exec("INSERT INTO directus_files (filename_disk, filename_download, uploaded_by, uploaded_on) VALUES ('e.jpg', 'e.jpg', 1, '2020-01-01')"); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Get(&n, "SELECT MAX(id) FROM directus_files"); err != nil || n != 5 {
		t.Errorf("auto-increment id = %d, %v; want 5", n, err)
	}
}

func TestSQLiteFailedCreationLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "demo.db")
	_, err := hashes.OpenSQLite(context.Background(), path, fixture.Schema(t), "INSERT INTO no_such_table VALUES (1);")
	if err == nil {
		t.Fatal("bad seed accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestSQLiteExistingFileIsKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.db")
	db, err := hashes.OpenSQLite(context.Background(), path, fixture.Schema(t), seed)
	if err != nil {
		t.Fatal(err)
	}
	db.MustExec("DELETE FROM directus_files WHERE id = 1")
	db.Close()
	db, err = hashes.OpenSQLite(context.Background(), path, fixture.Schema(t), seed)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.Get(&n, "SELECT COUNT(*) FROM directus_files"); err != nil || n != 3 {
		t.Fatalf("rows = %d, %v; the existing database was rebuilt", n, err)
	}
}

func TestShort(t *testing.T) {
	for in, want := range map[string]string{"pnw7s9lqy68048g0": "pnw7…", "abc": "abc…", "": "…"} {
		if got := hashes.Short(in); got != want {
			t.Errorf("Short(%q) = %q, want %q", in, got, want)
		}
	}
}

// The embedded database runs in WAL mode with a busy timeout, so that serve's
// readers and a CLI writer never lock each other out.
func TestSQLiteJournalMode(t *testing.T) {
	s := openSQLite(t)
	var mode string
	var timeout int
	if err := s.DB().Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := s.DB().Get(&timeout, "PRAGMA busy_timeout"); err != nil || timeout < 1000 {
		t.Errorf("busy_timeout = %d, %v", timeout, err)
	}
}
