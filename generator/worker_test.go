package generator

import (
	"bytes"
	"context"
	"errors"
	"image"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/v8err"
)

// workerEnv turns this test binary into a generation worker (Isolation's
// Command), as the hidden command does for v8assets.
const workerEnv = "V8ASSETS_GENERATOR_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		os.Exit(ServeWorker())
	}
	os.Exit(m.Run())
}

func isolation() *Isolation {
	return &Isolation{Command: []string{os.Args[0]}, Env: []string{workerEnv + "=1"}}
}

// isolated returns a generator running its renders in worker processes,
// shut down (its workers ended) when the test ends.
func isolated(t testing.TB, opts Options) *Generator {
	opts.Isolation = isolation()
	g := New(opts)
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	return g
}

// A job answers the same bytes, and the same errors, in a worker as in
// this process.
func TestIsolatedLikeInProcess(t *testing.T) {
	files := map[string][]byte{
		"a.jpg":    fixture.JPEG(fixture.Photo(640, 480, 3), 90),
		"b.png":    fixture.PNG(fixture.HalfTransparent(300, 200)),
		"c.gif":    fixture.AnimatedGIF(120, 90),
		"bad.jpg":  fixture.JPEG(fixture.Photo(640, 480, 3), 90)[:2000],
		"junk.png": append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 500)...),
	}
	jobs := map[string]Job{
		"jpeg crop":           job("a.jpg", "jpg", 200, 200, false, 80),
		"png contain":         job("b.png", "png", 100, 100, true, 90),
		"gif":                 job("c.gif", "gif", 50, 50, false, 80),
		"webp from jpeg":      job("a.jpg", "webp", 120, 80, false, 70),
		"avif from png":       job("b.png", "avif", 64, 64, false, 60),
		"truncated jpeg":      job("bad.jpg", "jpg", 100, 100, false, 80),
		"undecodable png":     job("junk.png", "png", 100, 100, false, 80),
		"non-image output":    job("a.jpg", "pdf", 100, 100, false, 80),
		"thumbnail too large": func() Job { j := job("a.jpg", "jpg", 300, 300, false, 80); j.MaxSourcePixels = 80_000; return j }(),
	}
	if !CanEncode("avif") {
		delete(jobs, "avif from png")
	}
	local, remote := newRoots(t, files), newRoots(t, files)
	inProcess, worker := New(Options{}), isolated(t, Options{Workers: 2})
	for name, j := range jobs {
		t.Run(name, func(t *testing.T) {
			_, want := inProcess.Thumbnail(context.Background(), local.originals, local.thumbs, j)
			_, got := worker.Thumbnail(context.Background(), remote.originals, remote.thumbs, j)
			if want != nil || got != nil {
				we, ge := v8err.As(want), v8err.As(got)
				if we == nil || ge == nil || we.Code != ge.Code || we.Message != ge.Message {
					t.Fatalf("in a worker: %v; in process: %v", got, want)
				}
				return
			}
			a, _ := os.ReadFile(filepath.Join(local.thumbs.String(), j.Path))
			b, _ := os.ReadFile(filepath.Join(remote.thumbs.String(), j.Path))
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("worker wrote %d bytes, in-process %d, not the same", len(b), len(a))
			}
		})
	}
}

// A job that takes far more memory than its estimate ends its worker at
// the ceiling, answers 422, and the next job gets a new worker.
func TestWorkerCeiling(t *testing.T) {
	// An 8-bit grey PNG goes through image/png whole: 9000×9000 is 81 MB
	// decoded, more than the 1 MiB claimed plus workerSlack.
	grey := fixture.PNG(image.NewGray(image.Rect(0, 0, 9000, 9000)))
	p := newPool(*isolation())
	defer p.shutdown()
	j := job("g.png", "png", 100, 100, false, 80)
	j.MaxSourcePixels = 100_000_000
	var out bytes.Buffer
	err := p.render(context.Background(), grey, j, 1<<20, &out)
	var e *v8err.Error
	if !errors.As(err, &e) || e.Code != v8err.Unprocessable || !errors.Is(err, errWorkerCrashed) {
		t.Fatalf("over the ceiling: %v", err)
	}
	t.Logf("refused: %v", err)
	out.Reset()
	if err := p.render(context.Background(), grey, j, 400<<20, &out); err != nil || out.Len() == 0 {
		t.Fatalf("with room: %v, %d bytes", err, out.Len())
	}
}

// generation_timeout holds inside one long C call: the worker is killed at
// the deadline, nothing is written, and the next job runs.
func TestWorkerTimeout(t *testing.T) {
	if !CanEncode("avif") {
		t.Skip("the pure-Go build has no AVIF encoder")
	}
	r := newRoots(t, map[string][]byte{"big.jpg": fixture.JPEG(fixture.Photo(3000, 3000, 4), 90), "a.jpg": fixture.JPEG(fixture.Photo(200, 200, 4), 90)})
	const timeout = 300 * time.Millisecond
	g := isolated(t, Options{Timeout: timeout})
	j := job("big.jpg", "avif", 3000, 3000, false, 80)
	start := time.Now()
	_, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v after %v, want ErrTimeout", err, took)
	}
	if took > timeout+time.Second {
		t.Errorf("answered after %v, timeout %v", took, timeout)
	}
	assertNoFiles(t, r.thumbs.String())
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("a.jpg", "jpg", 50, 50, false, 80)); err != nil {
		t.Fatalf("next job: %v", err)
	}
}

// A worker killed mid-generation (SIGKILL) answers its request 422 and
// leaves nothing behind; the next request succeeds.
func TestWorkerKilled(t *testing.T) {
	if !CanEncode("avif") {
		t.Skip("the pure-Go build has no AVIF encoder")
	}
	r := newRoots(t, map[string][]byte{"big.jpg": fixture.JPEG(fixture.Photo(3000, 3000, 4), 90), "a.jpg": fixture.JPEG(fixture.Photo(200, 200, 4), 90)})
	g := isolated(t, Options{})
	done := make(chan error, 1)
	go func() {
		_, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("big.jpg", "avif", 3000, 3000, false, 80))
		done <- err
	}()
	// The worker is mid-generation once it has spent CPU time on the job.
	var pid int
	for deadline := time.Now().Add(30 * time.Second); pid == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no worker got busy")
		}
		for _, c := range children(t) {
			if cpuTicks(c) > 20 {
				pid = c
			}
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var e *v8err.Error
	if !errors.As(err, &e) || e.Code != v8err.Unprocessable {
		t.Fatalf("killed worker: %v, want 422", err)
	}
	assertNoFiles(t, r.thumbs.String())
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("a.jpg", "jpg", 50, 50, false, 80)); err != nil {
		t.Fatalf("next job: %v", err)
	}
}

// Workers end with Shutdown; a retired worker's place is taken by a new one.
func TestWorkerRecycling(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(200, 200, 4), 90)})
	g := New(Options{Workers: 1, Isolation: &Isolation{Command: isolation().Command, Env: isolation().Env, MaxJobs: 2}})
	pids := map[int]bool{}
	for i := range 5 {
		if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("a.jpg", "jpg", 10+i, 10, false, 80)); err != nil {
			t.Fatal(err)
		}
		for _, c := range children(t) {
			pids[c] = true
		}
	}
	// Jobs 1-2, 3-4 and 5 ran in three workers.
	if len(pids) != 3 {
		t.Errorf("%d workers ran 5 jobs at 2 jobs each, want 3", len(pids))
	}
	g.Shutdown(context.Background())
	for deadline := time.Now().Add(10 * time.Second); len(children(t)) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("workers left after Shutdown: %v", children(t))
		}
	}
}

// children returns the live child processes of this test binary.
func children(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := procStat(pid)
		if len(f) > 3 && f[1] != "Z" && f[2] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// procStat returns the fields of /proc/pid/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return append([]string{""}, strings.Fields(string(b[i+1:]))...)
}

// cpuTicks returns the user and system clock ticks pid has used.
func cpuTicks(pid int) int {
	f := procStat(pid)
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.Atoi(f[12])
	s, _ := strconv.Atoi(f[13])
	return u + s
}

// assertNoFiles fails when any file, temporary ones included, is under dir.
func assertNoFiles(t testing.TB, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("left behind: %s", path)
		}
		return nil
	})
}

// A worker whose data size grew past RecycleGrowth is retired after its
// job, so what a large job made the allocators keep goes back to the
// system; small jobs keep their worker.
func TestWorkerRecyclesAfterGrowth(t *testing.T) {
	grey := fixture.PNG(image.NewGray(image.Rect(0, 0, 3000, 3000)))
	r := newRoots(t, map[string][]byte{"big.png": grey, "a.jpg": fixture.JPEG(fixture.Photo(100, 100, 4), 90)})
	g := New(Options{Workers: 1, Isolation: &Isolation{Command: isolation().Command, Env: isolation().Env, RecycleGrowth: 4 << 20}})
	defer g.Shutdown(context.Background())
	workers := func() map[int]bool {
		pids := map[int]bool{}
		for _, c := range children(t) {
			pids[c] = true
		}
		return pids
	}
	run := func(j Job) map[int]bool {
		t.Helper()
		if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
			t.Fatal(err)
		}
		return workers()
	}
	first := run(job("a.jpg", "jpg", 10, 10, false, 80))
	if same := run(job("a.jpg", "jpg", 11, 11, false, 80)); !maps.Equal(first, same) {
		t.Errorf("a small job retired its worker: %v, then %v", first, same)
	}
	run(job("big.png", "png", 3000, 3000, false, 80))
	waitFor(t, func() bool {
		for pid := range workers() {
			if first[pid] {
				return false
			}
		}
		return true
	})
}
