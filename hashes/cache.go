package hashes

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Signal is what one change probe read from a database: an opaque version
// of directus_files and one of directus_settings. A version that differs
// from the previous probe's means the table changed.
type Signal struct {
	Files, Settings string
	// Recent is true while a table changed within the last two seconds of
	// the database's own clock: versions with one-second resolution cannot
	// tell two writes in that second apart, so what the cache holds must be
	// revalidated at every probe meanwhile, and once more at the first
	// probe after (however long the gap: a write later in the same second
	// shows in no version).
	Recent bool
	// Null is true when a table has no version (no write since the
	// database started, or an engine that keeps none): not a signal, so
	// entries then live only a short time-to-live.
	Null bool
}

// Probe reads a database's change signal.
type Probe func(ctx context.Context) (Signal, error)

// CacheEvents receives what the cache does, for metrics; nil fields are
// skipped.
type CacheEvents struct {
	// Lookup: "hit", "miss", "negative" (a cached "no such file") or
	// "stale" (an entry awaiting revalidation served because the database
	// is unreachable).
	Lookup func(result string)
	// Probe: one change probe's duration and error.
	Probe func(d time.Duration, err error)
	// Invalidate: the cache was dropped, or (for "recent") marked to be
	// revalidated, and why ("changed", "recent", "recent_end",
	// "own_write", "stale_if_error", "recovered", "no_signal").
	Invalidate func(reason string)
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Interval is the time between change probes (change_probe).
	Interval time.Duration
	// StaleIfError is how long after the last successful probe cached
	// entries keep answering while probes fail because the database is
	// unreachable; 0: not at all.
	StaleIfError time.Duration
	// Entries bounds the file entries kept (least recently used go first).
	Entries int
	// Probe reads the change signal; nil reads the store's database:
	// UPDATE_TIME from information_schema on MySQL/MariaDB, PRAGMA
	// data_version on SQLite.
	Probe Probe
	// Now is the clock of entries and of stale_if_error; nil is time.Now
	// (tests move a clock of their own).
	Now func() time.Time
	// Project names the project in log lines.
	Project string
	Logger  *slog.Logger
	Events  CacheEvents
}

type cacheMode int

const (
	// modeTTL: no signal yet, or a NULL one: entries live 4 × Interval.
	modeTTL cacheMode = iota
	// modeTrust: entries live until the probe sees a change.
	modeTrust
	// modeOff: the probe cannot give a usable signal; nothing is cached.
	modeOff
	// modeDown: the database has been unreachable for longer than
	// StaleIfError; nothing is cached until a probe succeeds.
	modeDown
)

// Cache answers Settings and Find from memory, dropping what it holds when
// its change probe says the database changed, so that a change made by
// anyone is seen within Interval plus one probe's duration (4 × Interval
// while the signal is NULL). Writes made through it drop the cache before
// they return. Every other Store method passes through. It is safe for
// concurrent use; Close stops its probe.
type Cache struct {
	*Store
	opts CacheOptions

	mu  sync.Mutex
	gen uint64
	// validFrom: entries whose lookup began earlier await revalidation
	// (a recent change); they answer only while the database is
	// unreachable, within StaleIfError.
	validFrom time.Time
	mode      cacheMode
	failing   bool
	lastOK    time.Time
	last      Signal
	haveLast  bool
	warned    bool
	settings  *settingsEntry
	entries   map[string]*list.Element
	lru       *list.List

	probeMu    sync.Mutex // one probe at a time (the loop and Sync)
	closeProbe func()     // releases the store probe's connection
	stop       context.CancelFunc
	done       chan struct{}
}

type settingsEntry struct {
	settings Settings
	at       time.Time
}

type fileEntry struct {
	key   string
	file  File
	found bool
	at    time.Time
}

// NewCache returns a Cache over s and starts its change probe, which runs
// until Close.
func NewCache(s *Store, opts CacheOptions) *Cache {
	if opts.Entries <= 0 {
		opts.Entries = 100_000
	}
	closeProbe := func() {}
	if opts.Probe == nil {
		p := s.newProbe()
		opts.Probe, closeProbe = p.read, p.reset
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{Store: s, opts: opts, lastOK: opts.Now(), entries: map[string]*list.Element{}, lru: list.New(),
		closeProbe: closeProbe, stop: cancel, done: make(chan struct{})}
	go c.loop(ctx)
	return c
}

// Close stops the change probe and releases its connection.
func (c *Cache) Close() {
	c.stop()
	<-c.done
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	c.closeProbe()
}

func (c *Cache) loop(ctx context.Context) {
	defer close(c.done)
	tick := time.NewTicker(c.opts.Interval)
	defer tick.Stop()
	for {
		c.Sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Sync runs one change probe now and applies what it read.
func (c *Cache) Sync(ctx context.Context) {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	start := time.Now()
	pctx, cancel := c.deadline(ctx)
	sig, err := c.opts.Probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if f := c.opts.Events.Probe; f != nil {
		f(time.Since(start), err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil && Unreachable(err):
		c.failing = true
		if c.mode != modeDown && c.since(c.lastOK) >= c.opts.StaleIfError {
			c.mode = modeDown
			c.dropLocked("stale_if_error")
		}
		return
	case err != nil:
		if !c.warned {
			c.opts.Logger.Warn("the change probe gives no usable signal: lookups are not cached for this project",
				"project", c.opts.Project, "err", err)
			c.warned = true
		}
		if c.mode != modeOff {
			c.mode = modeOff
			c.dropLocked("no_signal")
		}
		return
	}
	c.lastOK, c.failing = c.opts.Now(), false
	switch {
	case c.mode == modeDown || c.mode == modeOff:
		c.dropLocked("recovered")
	case c.haveLast && (sig.Files != c.last.Files || sig.Settings != c.last.Settings):
		c.dropLocked("changed")
	case sig.Recent:
		c.validFrom = c.opts.Now()
		c.notify("recent")
	case c.haveLast && c.last.Recent:
		c.dropLocked("recent_end")
	}
	c.mode = modeTrust
	if sig.Null {
		c.mode = modeTTL
	}
	c.last, c.haveLast = sig, true
}

// Invalidate drops everything the cache holds; reason labels the metric.
func (c *Cache) Invalidate(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(reason)
}

func (c *Cache) dropLocked(reason string) {
	c.gen++
	c.settings = nil
	clear(c.entries)
	c.lru.Init()
	c.notify(reason)
}

func (c *Cache) since(t time.Time) time.Duration { return c.opts.Now().Sub(t) }

func (c *Cache) notify(reason string) {
	if f := c.opts.Events.Invalidate; f != nil {
		f(reason)
	}
}

// freshLocked reports whether an entry whose lookup began at "at" may
// answer now without asking the database, under the lock.
func (c *Cache) freshLocked(at time.Time) bool {
	if at.Before(c.validFrom) {
		return false
	}
	switch c.mode {
	case modeTrust:
		return true
	case modeTTL:
		// While probes fail, the stale-if-error rule bounds entries instead.
		return c.failing || c.since(at) < 4*c.opts.Interval
	}
	return false
}

func (c *Cache) event(result string) {
	if f := c.opts.Events.Lookup; f != nil {
		f(result)
	}
}

// Settings returns the asset settings, from memory when they are fresh.
func (c *Cache) Settings(ctx context.Context) (Settings, error) {
	c.mu.Lock()
	e := c.settings
	if e != nil && (c.freshLocked(e.at) || c.staleUsableLocked(e.at)) {
		c.mu.Unlock()
		return e.settings, nil
	}
	gen, start := c.gen, c.opts.Now()
	c.mu.Unlock()
	settings, err := c.Store.Settings(ctx)
	if err != nil {
		if e != nil && c.fallBack(err, e.at) {
			return e.settings, nil
		}
		return settings, err
	}
	c.mu.Lock()
	if gen == c.gen && c.mode != modeOff && c.mode != modeDown {
		c.settings = &settingsEntry{settings: settings, at: start}
	}
	c.mu.Unlock()
	return settings, nil
}

// staleUsableLocked reports whether an entry awaiting revalidation may
// answer without asking, because the database is already known to be
// unreachable (within StaleIfError: past it, the probe drops everything).
func (c *Cache) staleUsableLocked(at time.Time) bool {
	return at.Before(c.validFrom) && c.failing && (c.mode == modeTrust || c.mode == modeTTL)
}

// fallBack reports whether an entry awaiting revalidation, whose lookup
// began at "at", answers instead of err: err says the database did not
// answer, and the last successful probe is younger than StaleIfError. The
// cache then counts the database as unreachable until a probe succeeds.
func (c *Cache) fallBack(err error, at time.Time) bool {
	if !Unreachable(err) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !at.Before(c.validFrom) || c.since(c.lastOK) >= c.opts.StaleIfError || (c.mode != modeTrust && c.mode != modeTTL) {
		return false
	}
	c.failing = true
	return true
}

// Find returns the file id names (see Store.Find), from memory when the
// answer — a file or "no such file" — is fresh.
func (c *Cache) Find(ctx context.Context, settings Settings, id string) (File, error) {
	if !Storable(id) {
		return File{}, ErrNotFound
	}
	key := settings.LookupColumn() + "\x00" + id
	c.mu.Lock()
	var kept *fileEntry
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*fileEntry)
		stale := c.staleUsableLocked(e.at)
		if c.freshLocked(e.at) || stale {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return c.answer(e, stale)
		}
		kept = e
	}
	gen, start := c.gen, c.opts.Now()
	c.mu.Unlock()
	c.event("miss")
	file, err := c.Store.Find(ctx, settings, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		if kept != nil && c.fallBack(err, kept.at) {
			return c.answer(kept, true)
		}
		return file, err
	}
	c.mu.Lock()
	if gen == c.gen && c.mode != modeOff && c.mode != modeDown {
		c.putLocked(&fileEntry{key: key, file: file, found: err == nil, at: start})
	}
	c.mu.Unlock()
	return file, err
}

// answer returns what entry e says, counting it as a hit, a negative hit
// or a stale answer.
func (c *Cache) answer(e *fileEntry, stale bool) (File, error) {
	switch {
	case stale:
		c.event("stale")
	case !e.found:
		c.event("negative")
	default:
		c.event("hit")
	}
	if !e.found {
		return File{}, ErrNotFound
	}
	return e.file, nil
}

func (c *Cache) putLocked(e *fileEntry) {
	if el, ok := c.entries[e.key]; ok {
		el.Value = e
		c.lru.MoveToFront(el)
		return
	}
	c.entries[e.key] = c.lru.PushFront(e)
	for c.lru.Len() > c.opts.Entries {
		oldest := c.lru.Back()
		delete(c.entries, oldest.Value.(*fileEntry).key)
		c.lru.Remove(oldest)
	}
}

// Len returns how many file entries the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Update is Store.Update, then drops the cache before returning.
func (c *Cache) Update(ctx context.Context, id int64, ch Change) (Record, error) {
	rec, err := c.Store.Update(ctx, id, ch)
	c.Invalidate("own_write")
	return rec, err
}

// Rotate is Store.Rotate, then drops the cache before returning.
func (c *Cache) Rotate(ctx context.Context, id int64, by Actor) (Record, error) {
	rec, err := c.Store.Rotate(ctx, id, by)
	c.Invalidate("own_write")
	return rec, err
}

// Unreachable reports whether err means the database did not answer —
// refused, cut or timed out — rather than answered with an error.
func Unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// newProbe returns the change probe of the store's database.
func (s *Store) newProbe() *dbProbe {
	return &dbProbe{store: s, sqliteDB: strings.HasPrefix(s.db.DriverName(), "sqlite")}
}

// dbProbe keeps one connection for the probe: SQLite's data_version only
// changes for writes by other connections than the one asking, and MySQL 8
// needs a session variable set once.
type dbProbe struct {
	store    *Store
	sqliteDB bool
	conn     *sql.Conn
}

// read reads the signal.
func (p *dbProbe) read(ctx context.Context) (Signal, error) {
	if p.sqliteDB {
		return p.sqlite(ctx)
	}
	return p.mysql(ctx)
}

func (p *dbProbe) connection(ctx context.Context, setup string) (*sql.Conn, error) {
	if p.conn != nil {
		return p.conn, nil
	}
	conn, err := p.store.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if setup != "" {
		if _, err := conn.ExecContext(ctx, setup); err != nil {
			var me *mysql.MySQLError
			// 1193: unknown variable — MariaDB, which keeps no such cache.
			if !errors.As(err, &me) || me.Number != 1193 {
				conn.Close()
				return nil, err
			}
		}
	}
	p.conn = conn
	return conn, nil
}

func (p *dbProbe) reset() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

const mysqlProbe = `SELECT
 (SELECT UPDATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'directus_files'),
 (SELECT UPDATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'directus_settings'),
 NOW()`

// recentWindow is how long after a change the tables count as changing.
const recentWindow = 2 * time.Second

func (p *dbProbe) mysql(ctx context.Context) (Signal, error) {
	// MySQL 8 otherwise caches information_schema statistics for a day.
	conn, err := p.connection(ctx, "SET SESSION information_schema_stats_expiry = 0")
	if err != nil {
		return Signal{}, err
	}
	var files, settings sql.NullString
	var now string
	if err := conn.QueryRowContext(ctx, mysqlProbe).Scan(&files, &settings, &now); err != nil {
		p.reset()
		return Signal{}, fmt.Errorf("change probe: %w", err)
	}
	sig := Signal{Files: files.String, Settings: settings.String, Null: !files.Valid || !settings.Valid}
	const layout = "2006-01-02 15:04:05"
	clock, err := time.Parse(layout, now)
	if err != nil {
		return Signal{}, fmt.Errorf("change probe: NOW() = %q: %w", now, err)
	}
	for _, v := range []sql.NullString{files, settings} {
		if !v.Valid {
			continue
		}
		t, err := time.Parse(layout, v.String)
		if err != nil {
			return Signal{}, fmt.Errorf("change probe: UPDATE_TIME = %q: %w", v.String, err)
		}
		if clock.Sub(t) <= recentWindow {
			sig.Recent = true
		}
	}
	return sig, nil
}

func (p *dbProbe) sqlite(ctx context.Context) (Signal, error) {
	conn, err := p.connection(ctx, "")
	if err != nil {
		return Signal{}, err
	}
	var version string
	if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&version); err != nil {
		p.reset()
		return Signal{}, fmt.Errorf("change probe: %w", err)
	}
	return Signal{Files: version, Settings: version}, nil
}
