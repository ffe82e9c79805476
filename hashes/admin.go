package hashes

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/v8assets/v8assets/v8err"
)

// Errors of the admin operations.
var (
	// ErrUnauthorized: no token, or no user holds it.
	ErrUnauthorized = v8err.New(v8err.Unauthorized, "Unauthorized request")
	// ErrHashTaken: another file already answers to the requested hash
	// (compared as lookups compare, so case-insensitively on MySQL).
	ErrHashTaken = v8err.New(v8err.InvalidRequest, "private_hash is already used by another file.")
	// ErrBusyRow: concurrent writers kept the row locked through every
	// retry.
	ErrBusyRow = v8err.New(v8err.InvalidRequest, "The file is being changed by another request; try again.")
)

// User is the directus_users row a static token belongs to.
type User struct {
	ID     int64
	Status string
	Role   sql.NullInt64
}

// Admin returns the user holding token when that user is active and has
// the Administrator role (role 1), as v8 decided for static tokens (spec §7).
// It returns ErrUnauthorized for an empty or unknown token, and a 403
// *v8err.Error naming the reason for a valid token of anyone else. The token
// is compared in constant time, and an unknown token costs the same
// comparison, so timing does not tell "no such token" from "wrong".
func (s *Store) Admin(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrUnauthorized
	}
	defer s.timed("token")()
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var row struct {
		ID     int64         `db:"id"`
		Status string        `db:"status"`
		Role   sql.NullInt64 `db:"role"`
		Token  string        `db:"token"`
	}
	err := s.db.GetContext(ctx, &row, "SELECT id, status, role, token FROM directus_users WHERE token = ? ORDER BY id LIMIT 1", token)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, unavailable(fmt.Errorf("find token: %w", err))
	}
	stored := row.Token
	if errors.Is(err, sql.ErrNoRows) {
		stored = strings.Repeat("\x00", len(token))
	}
	// The database matched under its collation; require the exact bytes.
	if subtle.ConstantTimeCompare([]byte(stored), []byte(token)) != 1 || errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrUnauthorized
	}
	u := User{ID: row.ID, Status: row.Status, Role: row.Role}
	switch {
	case u.Status != "active":
		return u, v8err.New(v8err.ForbiddenUpdate, fmt.Sprintf("Updating files is denied: the token's user is %s, not active.", u.Status))
	case !u.Role.Valid || u.Role.Int64 != 1:
		return u, v8err.New(v8err.ForbiddenUpdate, "Updating files is denied: the token's user is not an administrator.")
	}
	return u, nil
}

// Record is a file row as the admin endpoints answer with it.
type Record struct {
	ID               int64          `db:"id" json:"id"`
	PrivateHash      sql.NullString `db:"private_hash" json:"-"`
	FilenameDownload string         `db:"filename_download" json:"filename_download"`
	FilenameDisk     string         `db:"filename_disk" json:"filename_disk"`
	Type             sql.NullString `db:"type" json:"-"`
}

// Change lists the fields to set; nil leaves a field as it is.
type Change struct {
	PrivateHash      *string
	FilenameDownload *string
	// By is who asked, for the directus_activity row.
	By Actor
}

var hashPattern = regexp.MustCompile(`^[0-9A-Za-z_-]{1,16}$`)

// Validate returns a 422 *v8err.Error (code 4) describing the first invalid
// value of c, or nil.
func (c Change) Validate() error {
	if c.PrivateHash == nil && c.FilenameDownload == nil {
		return v8err.New(v8err.InvalidRequest, "Nothing to update: send private_hash and/or filename_download.")
	}
	if c.PrivateHash != nil && !hashPattern.MatchString(*c.PrivateHash) {
		return v8err.New(v8err.InvalidRequest, "private_hash must be 1 to 16 characters of 0-9, A-Z, a-z, '_' and '-'.")
	}
	if name := c.FilenameDownload; name != nil {
		switch n := utf8.RuneCountInString(*name); {
		case !utf8.ValidString(*name):
			return v8err.New(v8err.InvalidRequest, "filename_download must be valid UTF-8.")
		case n < 1 || n > 255:
			return v8err.New(v8err.InvalidRequest, "filename_download must be 1 to 255 characters.")
		case strings.ContainsRune(*name, '/'):
			return v8err.New(v8err.InvalidRequest, "filename_download must not contain '/'.")
		case strings.ContainsFunc(*name, unicode.IsControl):
			return v8err.New(v8err.InvalidRequest, "filename_download must not contain control characters.")
		case strings.ContainsFunc(*name, func(r rune) bool { return r > 0xFFFF }):
			// v8's utf8 (3-byte) columns cannot store them.
			return v8err.New(v8err.InvalidRequest, "filename_download must not contain characters outside the Basic Multilingual Plane (such as emoji).")
		}
	}
	return nil
}

// Update applies c to file id in one conditional UPDATE — the hash is set
// only if no other file answers to it — records it in directus_activity and
// directus_revisions in the same transaction, as v8 did (see
// recordActivity), and returns the row as written. It
// returns ErrNotFound when there is no such file and ErrHashTaken when the
// hash is in use; c must be valid (Change.Validate).
func (s *Store) Update(ctx context.Context, id int64, c Change) (Record, error) {
	defer s.timed("update")()
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	var rec Record
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		rec, err = update(ctx, tx, id, c)
		return err
	})
	if retryable(err) {
		// Every attempt lost a deadlock or a lock wait: other writers are
		// racing for this row or hash. For a hash that is what "taken"
		// means to the client; a rename is simply refused.
		if c.PrivateHash != nil {
			return Record{}, ErrHashTaken
		}
		return Record{}, ErrBusyRow
	}
	return rec, unavailable(err)
}

func update(ctx context.Context, tx *sqlx.Tx, id int64, c Change) (Record, error) {
	var sets []string
	var args []any
	if c.PrivateHash != nil {
		sets, args = append(sets, "private_hash = ?"), append(args, *c.PrivateHash)
	}
	if c.FilenameDownload != nil {
		sets, args = append(sets, "filename_download = ?"), append(args, *c.FilenameDownload)
	}
	query := "UPDATE directus_files SET " + strings.Join(sets, ", ") + " WHERE id = ?"
	args = append(args, id)
	if c.PrivateHash != nil {
		// The derived table makes MySQL materialise the subquery, which it
		// must before reading the table it updates.
		query += " AND NOT EXISTS (SELECT 1 FROM (SELECT id FROM directus_files WHERE private_hash = ? AND id <> ? LIMIT 1) AS taken)"
		args = append(args, *c.PrivateHash, id)
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return Record{}, fmt.Errorf("update file %d: %w", id, err)
	}
	affected, err := res.RowsAffected()
	if err != nil {
		return Record{}, err
	}
	var rec Record
	err = tx.GetContext(ctx, &rec, "SELECT id, private_hash, filename_download, filename_disk, type FROM directus_files WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("read file %d: %w", id, err)
	}
	// MySQL counts only rows whose values changed: zero rows with the values
	// already in place is a success, zero rows otherwise means the hash was
	// taken.
	if affected == 0 && c.PrivateHash != nil && rec.PrivateHash.String != *c.PrivateHash {
		return Record{}, ErrHashTaken
	}
	var delta []field
	if c.PrivateHash != nil {
		delta = append(delta, field{"private_hash", *c.PrivateHash})
	}
	if c.FilenameDownload != nil {
		delta = append(delta, field{"filename_download", *c.FilenameDownload})
	}
	return rec, recordActivity(ctx, tx, id, delta, c.By)
}

// Rotate gives file id a new hash from NewHash, retrying on the (vanishingly
// rare) collision, records it as by's, and returns the row as written.
// Errors as for Update.
func (s *Store) Rotate(ctx context.Context, id int64, by Actor) (Record, error) {
	for range 5 {
		h, err := NewHash()
		if err != nil {
			return Record{}, err
		}
		rec, err := s.Update(ctx, id, Change{PrivateHash: &h, By: by})
		if !errors.Is(err, ErrHashTaken) {
			return rec, err
		}
	}
	return Record{}, errors.New("rotate: five random hashes in a row were taken")
}

const (
	hashAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	hashLength   = 16
)

// NewHash returns 16 characters of [0-9a-z] from crypto/rand, the first not
// '0' (v8's format, spec Q29), drawn without modulo bias: about 82 bits.
func NewHash() (string, error) {
	out := make([]byte, 0, hashLength)
	var buf [32]byte
	for len(out) < hashLength {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("new hash: %w", err)
		}
		for _, b := range buf {
			if len(out) == hashLength {
				break
			}
			if len(out) == 0 {
				// 1-9a-z: 35 symbols; 245 = 7×35.
				if b < 245 {
					out = append(out, hashAlphabet[1+int(b)%35])
				}
				continue
			}
			if b < 252 { // 252 = 7×36
				out = append(out, hashAlphabet[int(b)%36])
			}
		}
	}
	return string(out), nil
}

// txAttempts is how often inTx runs a transaction that failed with a
// transient conflict (retryable) before giving up.
const txAttempts = 5

// inTx runs fn in a transaction and commits it. A transaction that fails
// with a deadlock, a lock wait timeout or SQLite's busy/locked is rolled back
// and run again, up to txAttempts times, after a short random pause; the
// last error is returned.
func (s *Store) inTx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	var err error
	for attempt := range txAttempts {
		if attempt > 0 {
			pause := time.Duration(1+mrand.IntN(10*attempt)) * time.Millisecond
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pause):
			}
		}
		if err = s.tx(ctx, fn); !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports whether err is a conflict that running the whole
// transaction again can resolve: MySQL's deadlock (1213) or lock wait timeout
// (1205), SQLite's SQLITE_BUSY or SQLITE_LOCKED (any extended code).
func retryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == 5 || code == 6
	}
	return false
}

func (s *Store) tx(ctx context.Context, fn func(*sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
