package hashes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
)

// BenchmarkFind measures one private_hash lookup on a 100,000-row
// directus_files in MariaDB, without and then with `v8assets index`'s
// index (spec Q30). Run: go test -run '^$' -bench Find ./hashes
func BenchmarkFind(b *testing.B) {
	db, _ := fixture.NewDatabase(b)
	const rows = 100_000
	for start := 0; start < rows; start += 1000 {
		var values []string
		for i := start; i < start+1000; i++ {
			values = append(values, fmt.Sprintf("('h%015d', 'f%d.jpg', 'f%d.jpg', 'image/jpeg', 1, NOW())", i, i, i))
		}
		fixture.Exec(b, db, "INSERT INTO directus_files (private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES "+strings.Join(values, ","))
	}
	s := hashes.NewStore(db, nil)
	ctx := context.Background()
	settings, err := s.Settings(ctx)
	if err != nil {
		b.Fatal(err)
	}
	lookup := func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i + 7919) % rows
			if _, err := s.Find(ctx, settings, fmt.Sprintf("h%015d", i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("no_index", lookup)
	if _, err := s.EnsureIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("indexed", lookup)
}
