package storage

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// SweepTemp removes only temporary files older than the cutoff, anywhere
// under the root, and leaves finished files and young temporaries alone.
func TestSweepTemp(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	files := map[string]time.Time{
		"w200,h200,fcrop,q80/a.jpg":                  old,
		"w200,h200,fcrop,q80/" + TempPrefix + "dead": old,
		TempPrefix + "dead-at-root":                  old,
		"w10,h10,fcrop,q80/" + TempPrefix + "young":  time.Now(),
		"keep-" + TempPrefix:                         old,
	}
	for name, mtime := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := SweepTemp(context.Background(), l, time.Now().Add(-10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{TempPrefix + "dead-at-root", "w200,h200,fcrop,q80/" + TempPrefix + "dead"}
	if !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	left, _ := l.List(context.Background(), ".")
	slices.Sort(left)
	wantLeft := []string{"keep-" + TempPrefix, "w10,h10,fcrop,q80/" + TempPrefix + "young", "w200,h200,fcrop,q80/a.jpg"}
	if !slices.Equal(left, wantLeft) {
		t.Errorf("left %q, want %q", left, wantLeft)
	}
}
