package hashes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
)

// collation is the SQLite collation given to every text column of an embedded
// database, so that lookups match the way MySQL's utf8_general_ci did for v8:
// case-insensitively and ignoring trailing spaces (spec §2). Unlike MySQL it
// does not fold accents.
const collation = "V8CI"

func init() {
	sqlite.MustRegisterCollationUtf8(collation, func(a, b string) int {
		return strings.Compare(foldV8(a), foldV8(b))
	})
}

func foldV8(s string) string {
	return strings.ToLower(strings.TrimRight(s, " "))
}

// Statements splits a SQL script into statements at semicolons that end a
// line, dropping comment-only lines. It is meant for the scripts shipped with
// v8assets (schema.sql, seeds), not for arbitrary SQL.
func Statements(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

var sqliteRewrites = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\)\s*ENGINE=[^;]*;`), ");"},
	{regexp.MustCompile("UNIQUE KEY `[^`]+` \\("), "UNIQUE ("},
	{regexp.MustCompile(" CHARACTER SET \\w+"), ""},
	// Column definitions only: an indented backquoted name, then the type.
	{regexp.MustCompile("(?m)^(\\s+`[^`]+` )(tiny)?int\\(\\d+\\)( unsigned)?"), "${1}INTEGER"},
	{regexp.MustCompile("(?m)^(\\s+`[^`]+` INTEGER NOT NULL) AUTO_INCREMENT"), "$1"},
	{regexp.MustCompile("(?m)^(\\s+`[^`]+` )(varchar\\(\\d+\\)|text)"), "$1$2 COLLATE " + collation},
}

// SQLiteSchema adapts v8's MySQL DDL (schema.sql) to SQLite: table options
// dropped, integer types made INTEGER (so `id` is the rowid and still
// auto-increments), and every text column given the V8CI collation.
func SQLiteSchema(mysqlDDL string) string {
	for _, r := range sqliteRewrites {
		mysqlDDL = r.re.ReplaceAllString(mysqlDDL, r.with)
	}
	return mysqlDDL
}

// OpenSQLite opens the embedded database at path. When the file does not
// exist it is built from schema (MySQL DDL, adapted by SQLiteSchema) and then
// seed, in a temporary file renamed into place only on success, so a failed
// creation leaves nothing behind.
func OpenSQLite(ctx context.Context, path, schema, seed string) (*sqlx.DB, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createSQLite(ctx, path, schema, seed); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db, err := sqlx.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Keep the connections: opening one (a file open, the pragmas) on every
	// burst would cost more than the lookups themselves. WAL readers do not
	// block each other, so the bound is generous: a request must not wait
	// for a connection behind the change probe's and a CLI's.
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(16)
	return db, nil
}

// sqliteDSN opens the embedded database in WAL mode, so readers (serve)
// never block a writer (a CLI rotation) and the other way round, with a busy
// timeout for two writers at once.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
}

func createSQLite(ctx context.Context, path, schema, seed string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create sqlite %s: %w", path, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	db, err := sqlx.Open("sqlite", sqliteDSN(tmp.Name()))
	if err != nil {
		return fmt.Errorf("create sqlite %s: %w", path, err)
	}
	stmts := append(Statements(SQLiteSchema(schema)), Statements(seed)...)
	err = execAll(ctx, db, stmts)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create sqlite %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func execAll(ctx context.Context, db *sqlx.DB, stmts []string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			tx.Rollback()
			return fmt.Errorf("%.60s…: %w", s, err)
		}
	}
	return tx.Commit()
}
