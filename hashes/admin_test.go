package hashes_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/v8assets/v8assets/hashes"
)

func TestNewHash(t *testing.T) {
	format := regexp.MustCompile(`^[1-9a-z][0-9a-z]{15}$`)
	seen := map[string]bool{}
	chars := map[rune]int{}
	firsts := map[byte]bool{}
	for range 5000 {
		h, err := hashes.NewHash()
		if err != nil {
			t.Fatal(err)
		}
		if !format.MatchString(h) || seen[h] {
			t.Fatalf("hash %q (seen before: %v)", h, seen[h])
		}
		seen[h] = true
		firsts[h[0]] = true
		for _, c := range h[1:] {
			chars[c]++
		}
	}
	if len(chars) != 36 || len(firsts) != 35 {
		t.Errorf("alphabet used: %d of 36 (first character %d of 35)", len(chars), len(firsts))
	}
	// 75000 draws over 36 symbols: each near 2083; a biased draw would skew.
	for c, n := range chars {
		if n < 1800 || n > 2400 {
			t.Errorf("%q drawn %d times", c, n)
		}
	}
}

// The same operations on the embedded database.
func TestSQLiteAdminOperations(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	h := "newhash"
	rec, err := s.Update(ctx, 1, hashes.Change{PrivateHash: &h})
	if err != nil || rec.PrivateHash.String != "newhash" {
		t.Fatalf("Update = %+v, %v", rec, err)
	}
	taken := "NEWHASH"
	if _, err := s.Update(ctx, 4, hashes.Change{PrivateHash: &taken}); !errors.Is(err, hashes.ErrHashTaken) {
		t.Errorf("case-insensitive duplicate: %v", err)
	}
	if _, err := s.Update(ctx, 99, hashes.Change{PrivateHash: &h}); !errors.Is(err, hashes.ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	var before []string
	s.DB().Select(&before, "SELECT COALESCE(private_hash, '') FROM directus_files ORDER BY id")
	var progress []int64
	n, err := s.RotateAll(ctx, 0, 3, hashes.Actor{}, func(done int, last int64) { progress = append(progress, last) })
	if err != nil || n != len(before) {
		t.Fatalf("RotateAll = %d, %v (want %d)", n, err, len(before))
	}
	var after []string
	s.DB().Select(&after, "SELECT private_hash FROM directus_files ORDER BY id")
	seen := map[string]bool{}
	for i, h := range after {
		if h == before[i] || seen[h] || !regexp.MustCompile(`^[1-9a-z][0-9a-z]{15}$`).MatchString(h) {
			t.Errorf("file %d: hash %q (was %q), seen before: %v", i+1, h, before[i], seen[h])
		}
		seen[h] = true
	}
	if len(progress) != (len(before)+2)/3 {
		t.Errorf("progress after batches %v", progress)
	}
	for run := range 2 {
		report, err := s.EnsureIndexes(ctx)
		want := "created index"
		if run == 1 {
			want = "already indexed"
		}
		if err != nil || len(report) != 2 || !strings.Contains(report[0], want) || !strings.Contains(report[1], want) {
			t.Errorf("run %d: %v %v", run, report, err)
		}
	}
	settings, _ := s.Settings(ctx)
	var got string
	s.DB().Get(&got, "SELECT private_hash FROM directus_files WHERE id = 1")
	if f, err := s.Find(ctx, settings, strings.ToUpper(got)); err != nil || f.ID != 1 {
		t.Errorf("indexed case-insensitive lookup: %+v %v", f, err)
	}
}
