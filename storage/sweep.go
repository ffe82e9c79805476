package storage

import (
	"context"
	"errors"
	"path"
	"strings"
	"time"
)

// SweepTemp removes the temporary files under s (names starting with
// TempPrefix) last modified before cutoff: what a process killed between
// writing and renaming left behind. Younger ones may belong to a write in
// progress and are kept. It returns the names it removed; a file that
// vanished meanwhile is not an error.
func SweepTemp(ctx context.Context, s Store, cutoff time.Time) ([]string, error) {
	names, err := s.List(ctx, ".")
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, name := range names {
		if !strings.HasPrefix(path.Base(name), TempPrefix) {
			continue
		}
		info, err := s.Stat(ctx, name)
		if errors.Is(err, ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, err
		}
		if !info.ModTime.Before(cutoff) {
			continue
		}
		if err := s.Remove(ctx, name); err != nil && !errors.Is(err, ErrNotExist) {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}
