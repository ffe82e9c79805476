package generator

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/v8err"
)

// admission is one admitted waiter and its release.
type admission struct {
	name    string
	release func()
}

// queueUp asks s to admit each of names (one per share) in order, each
// once the previous one waits, and returns the channel admissions arrive on.
func queueUp(t *testing.T, s *scheduler, names []string, shares []share) chan admission {
	t.Helper()
	got := make(chan admission, len(names))
	for i, name := range names {
		before := s.waiting()
		go func() {
			release, err := s.admit(context.Background(), shares[i], 1)
			if err != nil {
				t.Error(err)
				return
			}
			got <- admission{name, release}
		}()
		waitFor(t, func() bool { return s.waiting() == before+1 || len(got) > 0 })
	}
	return got
}

// A slot freed while two projects wait goes to the one running fewer, and
// within a project to the format running fewer; equal ones go oldest first.
func TestSchedulerFairness(t *testing.T) {
	s := newScheduler(2, 100, 0)
	a1, _ := s.admit(context.Background(), share{"a", "avif"}, 1)
	a2, _ := s.admit(context.Background(), share{"a", "avif"}, 1)
	got := queueUp(t, s,
		[]string{"a avif 3", "a avif 4", "a jpg", "b jpg"},
		[]share{{"a", "avif"}, {"a", "avif"}, {"a", "jpg"}, {"b", "jpg"}})
	a1()
	first := <-got
	if first.name != "b jpg" {
		t.Fatalf("first after a's slot freed: %s, want b's", first.name)
	}
	// a and b run one each; b's ends, and of a's waiters the jpg goes
	// first: a runs an avif, no jpg.
	first.release()
	if second := <-got; second.name != "a jpg" {
		t.Fatalf("second: %s, want a's jpg before its third avif", second.name)
	}
	// a runs one jpg now, no avif.
	a2()
	if third := <-got; third.name != "a avif 3" {
		t.Fatalf("third: %s, want the older avif", third.name)
	}
}

// Memory waits are bounded like slot waits: past the queue, ErrBusy.
func TestSchedulerMemoryQueue(t *testing.T) {
	s := newScheduler(4, 1, 10)
	hold, _ := s.admit(context.Background(), share{}, 10)
	got := queueUp(t, s, []string{"waits"}, []share{{}})
	if _, err := s.admit(context.Background(), share{}, 5); !errors.Is(err, ErrBusy) {
		t.Fatalf("second memory waiter: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.admit(ctx, share{}, 20); !errors.Is(err, ErrBusy) && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	hold()
	(<-got).release()
	if s.waiting() != 0 || s.admitted() != 0 {
		t.Errorf("left: %d waiting, %d admitted", s.waiting(), s.admitted())
	}
}

// While project a floods the generator with AVIF encodes, project b's
// JPEG takes the first slot that frees: it finishes while almost all of
// a's are still to do.
func TestFairGeneration(t *testing.T) {
	if !CanEncode("avif") {
		t.Skip("the pure-Go build has no AVIF encoder")
	}
	files := map[string][]byte{"small.jpg": fixture.JPEG(fixture.Photo(64, 64, 1), 90)}
	const flood = 8
	for i := range flood {
		files[string(rune('a'+i))+".jpg"] = fixture.JPEG(fixture.Photo(900, 900, uint64(i)), 90)
	}
	r := newRoots(t, files)
	g := New(Options{Workers: 1})
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for i := range flood {
		name := string(rune('a'+i)) + ".jpg"
		j := job(name, "avif", 900, 900, false, 80)
		j.Tenant = "a"
		wg.Go(func() {
			if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, "a")
			mu.Unlock()
		})
	}
	waitFor(t, func() bool { return g.Waiting() == flood-1 })
	j := job("small.jpg", "jpg", 32, 32, false, 80)
	j.Tenant = "b"
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	done := len(order)
	mu.Unlock()
	wg.Wait()
	// The one running when b arrived may have finished; no other.
	if done > 1 {
		t.Errorf("b's JPEG finished after %d of a's %d AVIFs, want at most the one running", done, flood)
	}
}

// An original whose generation failed for what it is costs one
// generation: the next requests within failureTTL are refused from the
// memory of it, before its bytes are read again.
func TestFailureRemembered(t *testing.T) {
	// A valid header over broken picture data, larger than the header
	// prefix, so that a render shows in the bytes read.
	broken := fixture.PNG(fixture.Photo(400, 300, 1))
	broken = append(broken[:200], bytes.Repeat([]byte{0x55}, 300<<10)...)
	r := newRoots(t, map[string][]byte{"broken.png": broken, "ok.jpg": fixture.JPEG(fixture.Photo(100, 100, 1), 90)})
	originals := &countingReads{Store: r.originals}
	g := New(Options{})
	var first error
	for i, size := range []int{100, 100, 50} {
		before := originals.read.Load()
		_, err := g.Thumbnail(context.Background(), originals, r.thumbs, job("broken.png", "png", size, size, false, 80))
		e := v8err.As(err)
		if e == nil || e.Code != v8err.Unprocessable || e.Message != msgUndecodable {
			t.Fatalf("request %d: %v", i, err)
		}
		read := originals.read.Load() - before
		switch {
		case i == 0:
			first = err
			if read < int64(len(broken)) {
				t.Fatalf("first request read %d of %d bytes: no render", read, len(broken))
			}
		case read >= int64(len(broken)):
			t.Errorf("request %d (%dx%d) read the whole original again (%d bytes) after %v", i, size, size, read, first)
		}
	}
	// Other originals are not affected.
	if _, err := g.Thumbnail(context.Background(), originals, r.thumbs, job("ok.jpg", "jpg", 50, 50, false, 80)); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
	}
}
