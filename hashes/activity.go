package hashes

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// Actor is who made a change, as v8 recorded it in directus_activity.
type Actor struct {
	// User is the directus_users id of the token's owner; 0 for the
	// command line, which acts for no user (the column's default).
	User int64
	// IP is the client's address as v8 wrote it: "localhost" for 127.0.0.1
	// and ::1, else the address; empty for the command line.
	IP string
	// UserAgent is the request's User-Agent header.
	UserAgent string
	// Comment, when set, goes into the activity row's comment (the command
	// line says there that it made the change).
	Comment string
}

// ActivityIP returns the address as v8's get_request_host wrote it into
// directus_activity.ip.
func ActivityIP(addr string) string {
	if addr == "127.0.0.1" || addr == "::1" {
		return "localhost"
	}
	return addr
}

// field is one changed column and its new value.
type field struct{ name, value string }

// recordActivity writes, in tx, the rows v8 wrote for an update of a
// directus_files item: a directus_activity row (action "update", the actor,
// UTC time) and a directus_revisions row whose data is the whole row after
// the update and whose delta is the changed fields, both JSON as PHP's
// json_encode wrote them. A database without v8's activity tables (one made
// from an older schema.sql) is left as it is.
func recordActivity(ctx context.Context, tx *sqlx.Tx, id int64, delta []field, by Actor) error {
	var n int
	if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM directus_activity WHERE 1 = 0"); err != nil {
		if missingTable(err) {
			return nil
		}
		return fmt.Errorf("record activity: %w", err)
	}
	data, err := rowJSON(ctx, tx, id)
	if err != nil {
		return err
	}
	var comment sql.NullString
	if by.Comment != "" {
		comment = sql.NullString{String: by.Comment, Valid: true}
	}
	item := strconv.FormatInt(id, 10)
	res, err := tx.ExecContext(ctx, `INSERT INTO directus_activity (action, action_by, action_on, ip, user_agent, collection, item, comment)
		VALUES ('update', ?, ?, ?, ?, 'directus_files', ?, ?)`,
		by.User, time.Now().UTC().Format(time.DateTime), columnText(by.IP, 50), columnText(by.UserAgent, 255), item, comment)
	if err != nil {
		return fmt.Errorf("record activity of file %d: %w", id, err)
	}
	activity, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("record activity of file %d: %w", id, err)
	}
	var d strings.Builder
	d.WriteByte('{')
	for i, f := range delta {
		if i > 0 {
			d.WriteByte(',')
		}
		phpString(&d, f.name)
		d.WriteByte(':')
		phpString(&d, f.value)
	}
	d.WriteByte('}')
	if _, err := tx.ExecContext(ctx, `INSERT INTO directus_revisions (activity, collection, item, data, delta, parent_collection, parent_item, parent_changed)
		VALUES (?, 'directus_files', ?, ?, ?, NULL, NULL, NULL)`, activity, item, data, d.String()); err != nil {
		return fmt.Errorf("record revision of file %d: %w", id, err)
	}
	return nil
}

// missingTable reports whether err says a table does not exist (MySQL
// 1146, SQLite "no such table").
func missingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Error 1146") || strings.Contains(msg, "no such table")
}

// rowJSON returns file id's whole row as a JSON object in column order:
// integer columns as numbers, NULL as null, everything else as strings.
func rowJSON(ctx context.Context, tx *sqlx.Tx, id int64) (string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT * FROM directus_files WHERE id = ?", id)
	if err != nil {
		return "", fmt.Errorf("read file %d: %w", id, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return "", err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", err
		}
		return "", ErrNotFound
	}
	values := make([]sql.NullString, len(types))
	ptrs := make([]any, len(types))
	for i := range values {
		ptrs[i] = &values[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", fmt.Errorf("read file %d: %w", id, err)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range types {
		if i > 0 {
			b.WriteByte(',')
		}
		phpString(&b, t.Name())
		b.WriteByte(':')
		v := values[i]
		_, numErr := strconv.ParseInt(v.String, 10, 64)
		switch {
		case !v.Valid:
			b.WriteString("null")
		case strings.Contains(strings.ToUpper(t.DatabaseTypeName()), "INT") && numErr == nil:
			b.WriteString(v.String)
		default:
			phpString(&b, v.String)
		}
	}
	b.WriteByte('}')
	return b.String(), rows.Err()
}

// phpString writes s as PHP's json_encode does by default: '/' escaped,
// every character outside ASCII as \uXXXX (UTF-16), controls as \b \f \n
// \r \t or \u00XX.
func phpString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '/':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x80:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// columnText returns what of a client's string s a utf8 (MySQL's 3-byte
// utf8mb3) varchar(n) column of v8's takes: invalid bytes and characters
// beyond the Basic Multilingual Plane (emoji) become U+FFFD, and it is cut
// to n characters. Strict mode would refuse the insert otherwise, and
// with it the admin's rotation.
func columnText(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			break
		}
		if r > 0xFFFF {
			r = utf8.RuneError
		}
		b.WriteRune(r) // an invalid byte ranges as RuneError
		n--
	}
	return b.String()
}
