package hashes_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
)

// within polls cond until it holds and returns how long that took, failing
// the test after limit.
func within(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not seen within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func find(c *hashes.Cache, id string) (hashes.File, error) {
	ctx := context.Background()
	settings, err := c.Settings(ctx)
	if err != nil {
		return hashes.File{}, err
	}
	return c.Find(ctx, settings, id)
}

// otherConnection opens a second handle on the fixture database, as the v8
// app or another instance would write through.
func otherConnection(t *testing.T, th *fixture.Thumper) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("mysql", fixture.DSN(t, th.DBName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// With the real MariaDB probe, changes made by SQL from another connection
// are seen within a second: a rotated hash, a whitelist edit, a new file
// whose hash was cached as unknown. Meanwhile hits make no queries.
func TestCacheSeesSQLChanges(t *testing.T) {
	th := fixture.NewThumper(t)
	var queries atomic.Int64
	store := hashes.NewStore(th.DB, func(string, time.Duration) { queries.Add(1) })
	c := hashes.NewCache(store, hashes.CacheOptions{Interval: 250 * time.Millisecond, StaleIfError: time.Minute})
	defer c.Close()
	other := otherConnection(t, th)

	if f, err := find(c, fixture.AvatarHash); err != nil || f.ID != 1 {
		t.Fatalf("find = %+v, %v", f, err)
	}
	// Once the tables have been quiet for the recent window (two whole
	// seconds of the database clock: up to three), hits are free.
	time.Sleep(3200 * time.Millisecond)
	find(c, fixture.AvatarHash)
	before := queries.Load()
	for range 100 {
		if _, err := find(c, fixture.AvatarHash); err != nil {
			t.Fatal(err)
		}
	}
	if n := queries.Load() - before; n != 0 {
		t.Errorf("100 hits made %d queries", n)
	}

	fixture.Exec(t, other, "UPDATE directus_files SET private_hash = 'sqlrotated000001' WHERE id = 1")
	d := within(t, time.Second, "rotation by SQL", func() bool {
		_, err := find(c, fixture.AvatarHash)
		return errors.Is(err, hashes.ErrNotFound)
	})
	t.Logf("rotation seen after %v", d)
	if f, err := find(c, "sqlrotated000001"); err != nil || f.ID != 1 {
		t.Errorf("new hash: %+v, %v", f, err)
	}

	fixture.Exec(t, other, `UPDATE directus_settings SET value = '[{"key":"tiny","width":8,"height":8,"fit":"crop","quality":50}]' WHERE `+"`key`"+` = 'asset_whitelist'`)
	within(t, time.Second, "whitelist edit by SQL", func() bool {
		s, err := c.Settings(context.Background())
		v, _ := s.Value(hashes.KeyWhitelist)
		return err == nil && v != "" && v[:10] == `[{"key":"t`
	})

	if _, err := find(c, "brandnew00000001"); !errors.Is(err, hashes.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	fixture.Exec(t, other, "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES (50, 'brandnew00000001', 'n.jpg', 'n.jpg', 'image/jpeg', 1, NOW())")
	within(t, time.Second, "new file after a cached 404", func() bool {
		f, err := find(c, "brandnew00000001")
		return err == nil && f.ID == 50
	})
}

// switchableProbe is a change signal a test controls.
type switchableProbe struct {
	mu  sync.Mutex
	sig hashes.Signal
	err error
}

func (p *switchableProbe) set(sig hashes.Signal, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sig, p.err = sig, err
}

func (p *switchableProbe) probe(context.Context) (hashes.Signal, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sig, p.err
}

// A steady signal is trusted (a change it does not report stays unseen);
// the signal turning NULL drops the cache; while it stays NULL entries live
// 4 × change_probe; a probe that cannot give a signal turns caching off.
func TestCacheSignalRules(t *testing.T) {
	th := fixture.NewThumper(t)
	var queries atomic.Int64
	store := hashes.NewStore(th.DB, func(string, time.Duration) { queries.Add(1) })
	p := &switchableProbe{sig: hashes.Signal{Files: "v1", Settings: "v1"}}
	// change_probe 1 h: only the test's own Syncs probe; its clock moves
	// only when the test says.
	const interval = time.Hour
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	reasons := map[string]int{}
	c := hashes.NewCache(store, hashes.CacheOptions{Interval: interval, StaleIfError: 100 * time.Hour, Probe: p.probe, Now: clock.Now,
		Events: hashes.CacheEvents{Invalidate: func(r string) { mu.Lock(); reasons[r]++; mu.Unlock() }}})
	defer c.Close()
	other := otherConnection(t, th)
	rotate := func(h string) {
		fixture.Exec(t, other, "UPDATE directus_files SET private_hash = '"+h+"' WHERE id = 2")
	}

	c.Sync(context.Background())
	if _, err := find(c, fixture.SmallHash); err != nil {
		t.Fatal(err)
	}
	rotate("unseen0000000001")
	for range 6 {
		clock.add(interval)
		c.Sync(context.Background())
	}
	if _, err := find(c, fixture.SmallHash); err != nil {
		t.Fatalf("a trusted entry was dropped without a signal: %v", err)
	}

	p.set(hashes.Signal{Null: true}, nil)
	c.Sync(context.Background())
	if _, err := find(c, fixture.SmallHash); !errors.Is(err, hashes.ErrNotFound) {
		t.Fatalf("signal going NULL did not drop the cache: %v", err)
	}
	mu.Lock()
	changed := reasons["changed"]
	mu.Unlock()
	if changed == 0 {
		t.Errorf("invalidations %v", reasons)
	}
	find(c, "unseen0000000001")
	rotate("nullsig000000001")
	clock.add(4*interval - time.Second)
	if _, err := find(c, "unseen0000000001"); err != nil {
		t.Errorf("a NULL-signal entry younger than 4 × change_probe was dropped: %v", err)
	}
	clock.add(time.Second)
	if _, err := find(c, "unseen0000000001"); !errors.Is(err, hashes.ErrNotFound) {
		t.Errorf("a NULL-signal entry still answers after 4 × change_probe: %v", err)
	}

	p.set(hashes.Signal{}, errors.New("Error 1142: SELECT command denied"))
	c.Sync(context.Background())
	before := queries.Load()
	for range 5 {
		find(c, "nullsig000000001")
	}
	if n := queries.Load() - before; n != 10 {
		t.Errorf("without a usable signal 5 lookups made %d queries, want 10", n)
	}
}

// A flood of distinct ids never grows the cache past its bound.
func TestCacheIsBounded(t *testing.T) {
	th := fixture.NewThumper(t)
	c := hashes.NewCache(hashes.NewStore(th.DB, nil), hashes.CacheOptions{Interval: time.Hour, Entries: 50})
	defer c.Close()
	for i := range 500 {
		find(c, fmt.Sprintf("random%010d", i))
	}
	if n := c.Len(); n != 50 {
		t.Errorf("cache holds %d entries, want 50", n)
	}
}

// Writes through the cache are visible to the very next lookup.
func TestCacheOwnWrites(t *testing.T) {
	th := fixture.NewThumper(t)
	// A steady signal: no probe ever drops the cache, so only the writes'
	// own invalidation can make the old hash go.
	steady := &switchableProbe{sig: hashes.Signal{Files: "v1", Settings: "v1"}}
	c := hashes.NewCache(hashes.NewStore(th.DB, nil), hashes.CacheOptions{Interval: time.Hour, Probe: steady.probe})
	defer c.Close()
	find(c, fixture.AvatarHash)
	rec, err := c.Rotate(context.Background(), 1, hashes.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := find(c, fixture.AvatarHash); !errors.Is(err, hashes.ErrNotFound) {
		t.Errorf("old hash after Rotate: %v", err)
	}
	if f, err := find(c, rec.PrivateHash.String); err != nil || f.ID != 1 {
		t.Errorf("new hash: %+v %v", f, err)
	}
	h := "ownwrite00000001"
	find(c, h)
	if _, err := c.Update(context.Background(), 1, hashes.Change{PrivateHash: &h}); err != nil {
		t.Fatal(err)
	}
	if f, err := find(c, h); err != nil || f.ID != 1 {
		t.Errorf("after Update: %+v %v", f, err)
	}
}

// A MySQL directus_files of more than 10,000 rows without an index on the
// lookup column is reported, until `v8assets index` adds one.
func TestMissingIndex(t *testing.T) {
	th := fixture.NewThumper(t)
	s := hashes.NewStore(th.DB, nil)
	ctx := context.Background()
	if col, _, err := s.MissingIndex(ctx, 10_000); err != nil || col != "" {
		t.Fatalf("small table: %q, %v", col, err)
	}
	fixture.Exec(t, th.DB,
		"INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) "+
			"SELECT 100 + seq, CONCAT('bulk', LPAD(seq, 12, '0')), 'x.jpg', 'x.jpg', 'image/jpeg', 1, NOW() FROM seq_1_to_12000",
		"ANALYZE TABLE directus_files")
	col, rows, err := s.MissingIndex(ctx, 10_000)
	if err != nil || col != "private_hash" || rows < 10_000 {
		t.Fatalf("large unindexed table: %q, %d rows, %v", col, rows, err)
	}
	if _, err := s.EnsureIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if col, _, err := s.MissingIndex(ctx, 10_000); err != nil || col != "" {
		t.Errorf("after index: %q, %v", col, err)
	}
}

// Two writes in one second of the database's clock, a lookup cached
// between them, and no successful probe until the second is long past
// (the link froze): the first probe after the recent window still drops
// what was cached, so the old hash stops answering.
func TestCacheSameSecondRotation(t *testing.T) {
	th := fixture.NewThumper(t)
	other := otherConnection(t, th)
	c := hashes.NewCache(hashes.NewStore(th.DB, nil), hashes.CacheOptions{Interval: time.Hour, StaleIfError: time.Minute})
	defer c.Close()
	updateTime := func() (v, now string) {
		t.Helper()
		if err := other.QueryRow(`SELECT UPDATE_TIME, NOW() FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'directus_files'`).Scan(&v, &now); err != nil {
			t.Fatal(err)
		}
		return v, now
	}
	for attempt := 0; ; attempt++ {
		if attempt == 20 {
			t.Fatal("no two writes in one second in 20 attempts")
		}
		hash := fmt.Sprintf("samesecond%06d", attempt)
		fixture.Exec(t, other, fmt.Sprintf("UPDATE directus_files SET title = 'w%d' WHERE id = 2", attempt))
		first, _ := updateTime()
		c.Sync(context.Background()) // sees the write, recent
		fixture.Exec(t, other, "UPDATE directus_files SET private_hash = '"+hash+"' WHERE id = 1")
		if _, err := find(c, hash); err != nil {
			t.Fatal(err)
		}
		fixture.Exec(t, other, "UPDATE directus_files SET private_hash = 'rotated000000001' WHERE id = 1")
		if second, _ := updateTime(); second != first {
			continue // the second turned between the writes: try again
		}
		// No probe until the database's clock is past the recent window.
		within(t, 10*time.Second, "the recent window to pass", func() bool {
			v, now := updateTime()
			a, _ := time.Parse(time.DateTime, v)
			b, _ := time.Parse(time.DateTime, now)
			return b.Sub(a) > 2*time.Second
		})
		c.Sync(context.Background())
		if _, err := find(c, hash); !errors.Is(err, hashes.ErrNotFound) {
			t.Fatalf("the hash rotated in the same second still answers after the window: %v", err)
		}
		return
	}
}

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// While the signal is NULL entries live 4 × change_probe; while probes
// fail because the database is unreachable they keep answering from
// memory past that, for stale_if_error, and then not at all.
func TestCacheNullSignalOutage(t *testing.T) {
	th := fixture.NewThumper(t)
	var queries atomic.Int64
	store := hashes.NewStore(th.DB, func(q string, _ time.Duration) {
		if q == "find" {
			queries.Add(1)
		}
	})
	p := &switchableProbe{sig: hashes.Signal{Null: true}}
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	// change_probe 10 s: NULL-signal entries live 40 s.
	c := hashes.NewCache(store, hashes.CacheOptions{Interval: 10 * time.Second, StaleIfError: time.Minute, Probe: p.probe, Now: clock.Now})
	defer c.Close()
	c.Sync(context.Background())
	lookups := func(what string, want int64) {
		t.Helper()
		before := queries.Load()
		if _, err := find(c, fixture.AvatarHash); err != nil {
			t.Fatal(err)
		}
		if n := queries.Load() - before; n != want {
			t.Errorf("%s: %d queries, want %d", what, n, want)
		}
	}
	lookups("first lookup", 1)
	lookups("cached, NULL signal", 0)
	clock.add(50 * time.Second)
	lookups("past 4 × change_probe", 1)
	c.Sync(context.Background())
	p.set(hashes.Signal{}, &net.OpError{Op: "dial", Err: errors.New("connection refused")})
	clock.add(45 * time.Second)
	c.Sync(context.Background())
	lookups("database unreachable, past 4 × change_probe, within stale_if_error", 0)
	clock.add(20 * time.Second)
	c.Sync(context.Background())
	lookups("unreachable past stale_if_error", 1)
}

// A lookup whose answer arrives after a rotation through the cache began
// is not cached: the next lookup of the old hash asks the database.
func TestCacheFindRacingRotation(t *testing.T) {
	th := fixture.NewThumper(t)
	hold, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var queries atomic.Int64
	store := hashes.NewStore(th.DB, func(q string, _ time.Duration) {
		if q != "find" {
			return
		}
		queries.Add(1)
		// The first lookup has its row and waits here, before the cache
		// stores it.
		once.Do(func() { close(held); <-hold })
	})
	steady := &switchableProbe{sig: hashes.Signal{Files: "v1", Settings: "v1"}}
	c := hashes.NewCache(store, hashes.CacheOptions{Interval: time.Hour, Probe: steady.probe})
	defer c.Close()
	settings, err := c.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Find(context.Background(), settings, fixture.AvatarHash)
		done <- err
	}()
	<-held
	if _, err := c.Rotate(context.Background(), 1, hashes.Actor{}); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	before := queries.Load()
	if _, err := c.Find(context.Background(), settings, fixture.AvatarHash); !errors.Is(err, hashes.ErrNotFound) {
		t.Errorf("the old hash, read before the rotation, answers after it: %v", err)
	}
	if queries.Load() == before {
		t.Error("the old hash was answered from memory")
	}
}
