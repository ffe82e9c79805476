// Package hashes answers "which file does this id name?" for one v8 project:
// it reads directus_files and the directus_settings rows that govern asset
// lookups from the project's database. It knows nothing of HTTP or images.
package hashes

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/v8assets/v8assets/v8err"
)

// ErrNotFound is returned when no file row matches an id. A rotated, NULL or
// never-issued hash all produce this same error (v8's ItemNotFoundException).
var ErrNotFound = v8err.New(v8err.ItemNotFound, "Item not found")

// File is the part of a directus_files row that serving an asset needs.
type File struct {
	ID               int64
	FilenameDisk     string
	FilenameDownload string
	// Type is the mime type; empty when the column is NULL or ''.
	Type string
}

// Store reads one project's database. It is safe for concurrent use.
type Store struct {
	db           *sqlx.DB
	observe      func(query string, d time.Duration)
	queryTimeout time.Duration
}

// SetQueryTimeout bounds every query the store makes from now on; 0 leaves
// them to the caller's context. Call it before the store is shared.
func (s *Store) SetQueryTimeout(d time.Duration) { s.queryTimeout = d }

// deadline returns ctx bounded by the query timeout.
func (s *Store) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.queryTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.queryTimeout)
}

// unavailable turns an error of a database that did not answer (refused,
// cut, or past the query timeout) into a 503 "Database unavailable" whose
// cause is logged, never shown (spec Q40).
func unavailable(err error) error {
	if err != nil && Unreachable(err) {
		return v8err.Wrap(v8err.Unavailable, "Database unavailable", err)
	}
	return err
}

// NewStore returns a Store over db, which must hold v8's tables (schema.sql).
// observe, when not nil, is told the duration of each query the request
// path makes, named "settings", "find", "token" or "update".
func NewStore(db *sqlx.DB, observe func(query string, d time.Duration)) *Store {
	return &Store{db: db, observe: observe}
}

// timed starts timing a query; call the result when it is done.
func (s *Store) timed(query string) func() {
	if s.observe == nil {
		return func() {}
	}
	start := time.Now()
	return func() { s.observe(query, time.Since(start)) }
}

// DB returns the underlying handle.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping returns an error unless the database answers within the query
// timeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	return s.db.PingContext(ctx)
}

// Settings holds the directus_settings rows the asset route reads. A missing
// row and a NULL value are both reported as absent.
type Settings struct {
	values map[string]string
}

// The settings keys the asset route reads (spec §3.2).
const (
	KeyURLNaming       = "asset_url_naming"
	KeyCacheTTL        = "thumbnail_cache_ttl"
	KeyWhitelist       = "asset_whitelist"
	KeyWhitelistSystem = "asset_whitelist_system"
)

// Value returns the raw value of a settings row and whether it is present and
// not NULL.
func (s Settings) Value(key string) (string, bool) {
	v, ok := s.values[key]
	return v, ok
}

// LookupColumn returns the directus_files column asset ids are matched
// against: private_hash only when asset_url_naming is exactly "private_hash";
// anything else, including a missing row, selects filename_download (spec §2).
func (s Settings) LookupColumn() string {
	if v, _ := s.Value(KeyURLNaming); v == "private_hash" {
		return "private_hash"
	}
	return "filename_download"
}

// Settings reads the asset settings rows in one query. v8 read them on every
// request, so an edit in the v8 app takes effect on the next request.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	defer s.timed("settings")()
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	rows, err := s.db.QueryContext(ctx,
		"SELECT `key`, value FROM directus_settings WHERE `key` IN (?, ?, ?, ?) ORDER BY id",
		KeyURLNaming, KeyCacheTTL, KeyWhitelist, KeyWhitelistSystem)
	if err != nil {
		return Settings{}, unavailable(fmt.Errorf("read settings: %w", err))
	}
	defer rows.Close()
	values := make(map[string]string, 4)
	for rows.Next() {
		var key string
		var value sql.NullString
		if err := rows.Scan(&key, &value); err != nil {
			return Settings{}, unavailable(fmt.Errorf("read settings: %w", err))
		}
		if _, seen := values[key]; value.Valid && !seen {
			values[key] = value.String
		}
	}
	if err := rows.Err(); err != nil {
		return Settings{}, unavailable(fmt.Errorf("read settings: %w", err))
	}
	return Settings{values: values}, nil
}

// Find returns the file whose lookup column (see Settings.LookupColumn)
// equals id under the database's collation, lowest id first (spec Q28). It
// returns ErrNotFound when no row matches, and without a query for an id
// that no issued hash or download name can be (Storable).
func (s *Store) Find(ctx context.Context, settings Settings, id string) (File, error) {
	if !Storable(id) {
		return File{}, ErrNotFound
	}
	defer s.timed("find")()
	// The column name comes from a two-value switch, never from input.
	return s.file(ctx, "WHERE "+settings.LookupColumn()+" = ? ORDER BY id LIMIT 1", id)
}

// Storable reports whether id could be a value of v8's lookup columns: not
// blank once trailing spaces are ignored, valid UTF-8, and no character
// outside the Basic Multilingual Plane — MySQL's 3-byte utf8 columns can hold
// neither, and comparing such an id with them fails with error 1267 (spec
// Q42).
func Storable(id string) bool {
	if strings.TrimRight(id, " ") == "" || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r > 0xFFFF {
			return false
		}
	}
	return true
}

// fileRow is the part of a directus_files row a File holds.
type fileRow struct {
	ID               int64          `db:"id"`
	FilenameDisk     string         `db:"filename_disk"`
	FilenameDownload string         `db:"filename_download"`
	Type             sql.NullString `db:"type"`
}

const fileColumns = "SELECT id, filename_disk, filename_download, type FROM directus_files "

func (r fileRow) file() File {
	return File{ID: r.ID, FilenameDisk: r.FilenameDisk, FilenameDownload: r.FilenameDownload, Type: r.Type.String}
}

// file returns the first directus_files row matching where, or ErrNotFound.
func (s *Store) file(ctx context.Context, where string, arg any) (File, error) {
	var row fileRow
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	err := s.db.GetContext(ctx, &row, fileColumns+where, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return File{}, ErrNotFound
	}
	if err != nil {
		return File{}, unavailable(fmt.Errorf("find file: %w", err))
	}
	return row.file(), nil
}

// Files returns up to limit files with an id above afterID, in id order.
func (s *Store) Files(ctx context.Context, afterID int64, limit int) ([]File, error) {
	var rows []fileRow
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if err := s.db.SelectContext(ctx, &rows, fileColumns+"WHERE id > ? ORDER BY id LIMIT ?", afterID, limit); err != nil {
		return nil, unavailable(fmt.Errorf("list files: %w", err))
	}
	files := make([]File, len(rows))
	for i, r := range rows {
		files[i] = r.file()
	}
	return files, nil
}

// Short returns the first four characters of a hash followed by "…", the
// only form in which a hash may appear in logs at info level.
func Short(hash string) string {
	r := []rune(hash)
	if len(r) <= 4 {
		return string(r) + "…"
	}
	return string(r[:4]) + "…"
}

// FileByID returns the file with primary key id, or ErrNotFound.
func (s *Store) FileByID(ctx context.Context, id int64) (File, error) {
	return s.file(ctx, "WHERE id = ?", id)
}
