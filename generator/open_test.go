package generator

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/storage"
)

// countingStore counts the calls that reach the filesystem.
type countingStore struct {
	storage.Store
	opens, stats atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, name string) (storage.Object, storage.Info, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, name)
}

func (c *countingStore) Stat(ctx context.Context, name string) (storage.Info, error) {
	c.stats.Add(1)
	return c.Store.Stat(ctx, name)
}

// A hit opens the thumbnail once and, within SourceStatTTL, does not touch
// the original; an original replaced in place is noticed once the TTL has
// passed (spec Q12).
func TestOpenHitCost(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(400, 300, 2), 90)})
	originals := &countingStore{Store: r.originals}
	thumbs := &countingStore{Store: r.thumbs}
	const ttl = 300 * time.Millisecond
	g := New(Options{SourceStatTTL: ttl})
	j := job("a.jpg", "jpg", 50, 50, false, 80)
	obj, res, err := g.Open(context.Background(), originals, thumbs, j)
	if err != nil || !res.Generated {
		t.Fatalf("cold: %+v %v", res, err)
	}
	first, _ := io.ReadAll(obj)
	obj.Close()

	originals.opens.Store(0)
	originals.stats.Store(0)
	thumbs.opens.Store(0)
	thumbs.stats.Store(0)
	for range 10 {
		obj, res, err := g.Open(context.Background(), originals, thumbs, j)
		if err != nil || res.Generated {
			t.Fatalf("hit: %+v %v", res, err)
		}
		b, _ := io.ReadAll(obj)
		obj.Close()
		if string(b) != string(first) || res.Info.Size != int64(len(first)) {
			t.Fatal("hit served other bytes")
		}
	}
	if o, s := thumbs.opens.Load(), thumbs.stats.Load(); o != 10 || s != 0 {
		t.Errorf("10 hits: %d opens and %d stats of the thumbnail, want 10 and 0", o, s)
	}
	if o, s := originals.opens.Load(), originals.stats.Load(); o+s != 0 {
		t.Errorf("10 hits within the TTL touched the original %d times", o+s)
	}

	// Replace the original with a newer file: regenerated after the TTL.
	newer := time.Now().Add(time.Hour)
	src := filepath.Join(r.originals.String(), "a.jpg")
	os.WriteFile(src, fixture.JPEG(fixture.Photo(400, 300, 7), 90), 0o644)
	os.Chtimes(src, newer, newer)
	time.Sleep(ttl)
	obj, res, err = g.Open(context.Background(), originals, thumbs, j)
	if err != nil || !res.Generated {
		t.Fatalf("replaced original after the TTL: %+v %v", res, err)
	}
	obj.Close()
}

// brokenStat is a thumb root whose files cannot be examined (permissions,
// an S3 5xx): Stat fails with something other than "does not exist".
type brokenStat struct{ storage.Store }

func (b brokenStat) Open(ctx context.Context, name string) (storage.Object, storage.Info, error) {
	return nil, storage.Info{}, storage.ErrNotExist
}

func (b brokenStat) Stat(context.Context, string) (storage.Info, error) {
	return storage.Info{}, os.ErrPermission
}

// Only "does not exist" makes a generation; any other failure to look at
// the existing file is an error, not a silent regeneration.
func TestStatErrorIsNotAbsence(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(100, 80, 2), 90)})
	g := New(Options{})
	_, err := g.Thumbnail(context.Background(), r.originals, brokenStat{r.thumbs}, job("a.jpg", "jpg", 20, 20, false, 80))
	if !errors.Is(err, os.ErrPermission) {
		t.Fatalf("err = %v, want the permission error", err)
	}
	if names, _ := r.thumbs.List(context.Background(), "."); len(names) != 0 {
		t.Errorf("generated anyway: %v", names)
	}
}
