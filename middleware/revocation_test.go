package middleware_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
)

// heldWrites holds the write of one thumbnail until released: the
// generation that makes it keeps its slot meanwhile.
type heldWrites struct {
	storage.Store
	suffix  string
	release chan struct{}
}

func (h *heldWrites) Create(ctx context.Context, name string, data []byte, replace bool) (storage.Info, error) {
	if strings.HasSuffix(name, h.suffix) {
		<-h.release
	}
	return h.Store.Create(ctx, name, data, replace)
}

// A request that looked its hash up before a rotation and then waited for
// a generation slot answers like the rotated hash: 404, not the thumbnail.
func TestRotationWhileWaitingForGeneration(t *testing.T) {
	th := fixture.NewThumper(t)
	fixture.Exec(t, th.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES
		(7, 'blocker000000001', 'blocker.jpg', 'blocker.jpg', 'image/jpeg', 1, NOW())`)
	os.WriteFile(filepath.Join(th.Root, "blocker.jpg"), fixture.JPEG(fixture.Photo(200, 200, 1), 90), 0o644)
	p := thumperProject(t, th)
	cache := hashes.NewCache(hashes.NewStore(th.DB, nil), hashes.CacheOptions{Interval: 100 * time.Millisecond, StaleIfError: time.Minute})
	defer cache.Close()
	p.Files = cache
	held := &heldWrites{Store: p.Thumbs, suffix: "/blocker.jpg", release: make(chan struct{})}
	p.Thumbs = held
	gen := generator.New(generator.Options{Workers: 1})
	srv := httptest.NewServer(middleware.New([]*middleware.Project{p}, middleware.Options{Generator: gen, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	e := &env{Thumper: th, srv: srv, logs: &logBuffer{}}

	var wg sync.WaitGroup
	wg.Go(func() {
		if res, body := e.do(t, "GET", "/thumper/assets/blocker000000001?key=thumbnail"); res.StatusCode != 200 {
			t.Errorf("blocker: %d %s", res.StatusCode, body)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); gen.InFlight() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the blocking generation did not start")
		}
	}
	type answer struct {
		res  *http.Response
		body []byte
	}
	got := make(chan answer, 1)
	go func() {
		res, body := e.do(t, "GET", avatar+"?key=directus-small-crop")
		got <- answer{res, body}
	}()
	for deadline := time.Now().Add(30 * time.Second); gen.Waiting() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the avatar's generation did not queue")
		}
	}
	res, body := e.send(t, "POST", "/thumper/files/1/rotate-hash", "", "Authorization", adminAuth)
	wantData(t, res, body)
	close(held.release)
	a := <-got
	wg.Wait()
	wantV8Error(t, a.res, a.body, 404, 203, "Item not found")
}

// A write, then the database freezes while its change is still recent:
// the entries the cache held are kept for revalidation, so cached ids keep
// answering within stale_if_error instead of 503.
func TestFreezeRightAfterAWrite(t *testing.T) {
	th := fixture.NewThumper(t)
	const queryTimeout = 500 * time.Millisecond
	proxy, db := frozenDB(t, th, queryTimeout, false)
	store := hashes.NewStore(db, nil)
	store.SetQueryTimeout(queryTimeout)
	var mu sync.Mutex
	recent := 0
	cache := hashes.NewCache(store, hashes.CacheOptions{Interval: 100 * time.Millisecond, StaleIfError: time.Minute,
		Events: hashes.CacheEvents{Invalidate: func(r string) {
			if r == "recent" {
				mu.Lock()
				recent++
				mu.Unlock()
			}
		}}})
	defer cache.Close()
	e := serveFiles(t, th, cache)

	if res, _ := e.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Fatalf("warm: %d", res.StatusCode)
	}
	// Another file changes; the probe reports the change as recent.
	fixture.Exec(t, th.DB, "UPDATE directus_files SET title = 'changed' WHERE id = 2")
	mu.Lock()
	before := recent
	mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		seen := recent > before
		mu.Unlock()
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no probe reported the write as recent")
		}
	}
	proxy.freeze(true)
	defer proxy.freeze(false)
	for i := range 3 {
		if res, body := e.do(t, "GET", avatar); res.StatusCode != 200 {
			t.Fatalf("request %d while frozen right after a write: %d %s", i, res.StatusCode, body)
		}
	}
}

// Without any read or write timeout in the DSN, the query timeout alone
// bounds a frozen database: more requests than the pool has connections
// each get 503 within query_timeout + 1 s (the ones waiting for a
// connection too), and so does a change probe.
func TestQueryDeadlineAlone(t *testing.T) {
	th := fixture.NewThumper(t)
	const queryTimeout = 500 * time.Millisecond
	proxy, db := frozenDB(t, th, queryTimeout, false)
	const conns = 2
	db.SetMaxOpenConns(conns)
	store := hashes.NewStore(db, nil)
	store.SetQueryTimeout(queryTimeout)
	e := serveFiles(t, th, store)
	srv := e.srv
	if res, _ := e.do(t, "GET", avatar); res.StatusCode != 200 {
		t.Fatalf("warm: %d", res.StatusCode)
	}
	proxy.freeze(true)
	defer proxy.freeze(false)
	var wg sync.WaitGroup
	for range 3 * conns {
		wg.Go(func() {
			// A hung request fails here rather than at the test's
			// timeout.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+avatar, nil)
			start := time.Now()
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Errorf("frozen: %v after %v", err, time.Since(start))
				return
			}
			res.Body.Close()
			if d := time.Since(start); res.StatusCode != 503 || d > queryTimeout+time.Second {
				t.Errorf("frozen: %d after %v", res.StatusCode, d)
			}
		})
	}
	wg.Wait()
	cache := hashes.NewCache(store, hashes.CacheOptions{Interval: time.Hour, StaleIfError: time.Minute})
	defer cache.Close()
	synced := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		cache.Sync(context.Background())
		synced <- time.Since(start)
	}()
	select {
	case d := <-synced:
		if d > queryTimeout+time.Second {
			t.Errorf("a probe of the frozen database took %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Error("a probe of the frozen database hangs")
	}
	proxy.freeze(false) // before the cache's Close waits for its probe
}
