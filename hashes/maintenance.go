package hashes

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// RotateAll gives every file with an id above afterID a new hash, in id
// order, batch files per transaction, each recorded as by's (see
// recordActivity). After each committed batch it calls
// progress with the running count and the batch's last id, so an
// interrupted run can resume with that id as afterID. It returns how many
// files were rotated. Nothing of the table is held in memory beyond one
// batch: each batch's new hashes are checked against the table in one
// query, and the (vanishingly rare) colliding ones drawn again.
func (s *Store) RotateAll(ctx context.Context, afterID int64, batch int, by Actor, progress func(done int, lastID int64)) (int, error) {
	done := 0
	for {
		var ids []int64
		if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM directus_files WHERE id > ? ORDER BY id LIMIT ?", afterID, batch); err != nil {
			return done, fmt.Errorf("list files: %w", err)
		}
		if len(ids) == 0 {
			return done, nil
		}
		hashes, err := s.freshHashes(ctx, len(ids))
		if err != nil {
			return done, err
		}
		err = s.inTx(ctx, func(tx *sqlx.Tx) error {
			for i, id := range ids {
				if _, err := tx.ExecContext(ctx, "UPDATE directus_files SET private_hash = ? WHERE id = ?", hashes[i], id); err != nil {
					return fmt.Errorf("update file %d: %w", id, err)
				}
				if err := recordActivity(ctx, tx, id, []field{{"private_hash", hashes[i]}}, by); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += len(ids)
		afterID = ids[len(ids)-1]
		if progress != nil {
			progress(done, afterID)
		}
	}
}

// CountFiles returns how many files have an id above afterID.
func (s *Store) CountFiles(ctx context.Context, afterID int64) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM directus_files WHERE id > ?", afterID); err != nil {
		return 0, fmt.Errorf("count files: %w", err)
	}
	return n, nil
}

// freshHashes returns n new hashes, distinct from each other and from every
// hash in the table (compared as lookups compare).
func (s *Store) freshHashes(ctx context.Context, n int) ([]string, error) {
	out := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for len(out) < n {
		var drawn []string
		for len(out)+len(drawn) < n {
			h, err := NewHash()
			if err != nil {
				return nil, err
			}
			if !seen[h] {
				seen[h] = true
				drawn = append(drawn, h)
			}
		}
		query, args, err := sqlx.In("SELECT LOWER(private_hash) FROM directus_files WHERE private_hash IN (?)", drawn)
		if err != nil {
			return nil, err
		}
		var taken []string
		if err := s.db.SelectContext(ctx, &taken, s.db.Rebind(query), args...); err != nil {
			return nil, fmt.Errorf("check new hashes: %w", err)
		}
		used := make(map[string]bool, len(taken))
		for _, h := range taken {
			used[h] = true
		}
		for _, h := range drawn {
			if !used[h] {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// lookupIndexes are the optional indexes of spec Q30: non-unique, because v8
// never made hashes or download names unique.
var lookupIndexes = []struct{ name, column string }{
	{"idx_files_private_hash", "private_hash"},
	{"idx_files_filename_download", "filename_download"},
}

// EnsureIndexes adds the optional lookup indexes on directus_files that are
// missing — an index on the column under any name counts — and returns one
// line per index saying what it did.
func (s *Store) EnsureIndexes(ctx context.Context) ([]string, error) {
	var report []string
	for _, ix := range lookupIndexes {
		existing, err := s.indexOn(ctx, ix.column)
		if err != nil {
			return report, err
		}
		if existing != "" {
			report = append(report, fmt.Sprintf("directus_files.%s: already indexed (%s), nothing to do", ix.column, existing))
			continue
		}
		if _, err := s.db.ExecContext(ctx, "CREATE INDEX "+ix.name+" ON directus_files ("+ix.column+")"); err != nil {
			return report, fmt.Errorf("create index %s: %w", ix.name, err)
		}
		report = append(report, fmt.Sprintf("directus_files.%s: created index %s", ix.column, ix.name))
	}
	return report, nil
}

// indexOn returns the name of an index whose first column is column, or "".
func (s *Store) indexOn(ctx context.Context, column string) (string, error) {
	var names []string
	var err error
	if strings.HasPrefix(s.db.DriverName(), "sqlite") {
		err = s.db.SelectContext(ctx, &names,
			"SELECT il.name FROM pragma_index_list('directus_files') il JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND ii.name = ?", column)
	} else {
		err = s.db.SelectContext(ctx, &names,
			"SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'directus_files' AND column_name = ? AND seq_in_index = 1", column)
	}
	if err != nil {
		return "", fmt.Errorf("list indexes: %w", err)
	}
	if len(names) == 0 {
		return "", nil
	}
	return names[0], nil
}

// MissingIndex returns the lookup column (see Settings.LookupColumn) when
// directus_files has more than minRows rows (the server's estimate) and no
// index on that column, with the estimate; else "". SQLite databases are
// never reported: the embedded one is a demo.
func (s *Store) MissingIndex(ctx context.Context, minRows int64) (string, int64, error) {
	if strings.HasPrefix(s.db.DriverName(), "sqlite") {
		return "", 0, nil
	}
	var rows sql.NullInt64
	if err := s.db.GetContext(ctx, &rows,
		"SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'directus_files'"); err != nil {
		return "", 0, fmt.Errorf("count files: %w", err)
	}
	if rows.Int64 <= minRows {
		return "", rows.Int64, nil
	}
	settings, err := s.Settings(ctx)
	if err != nil {
		return "", 0, err
	}
	column := settings.LookupColumn()
	name, err := s.indexOn(ctx, column)
	if err != nil || name != "" {
		return "", rows.Int64, err
	}
	return column, rows.Int64, nil
}

// HasFiles reports whether directus_files has at least one row.
func (s *Store) HasFiles(ctx context.Context) (bool, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM directus_files LIMIT 1"); err != nil {
		return false, fmt.Errorf("look for files: %w", err)
	}
	return len(ids) > 0, nil
}
