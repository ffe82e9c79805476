package generator

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/v8err"
)

func png16(w, h int) []byte {
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA64(x, y, color.NRGBA64{uint16(x * 37), uint16(y * 91), uint16(x * y), 0xffff})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func pngPaletted(w, h int) []byte {
	pal := color.Palette{}
	for i := range 256 {
		pal = append(pal, color.NRGBA{uint8(i), uint8(255 - i), uint8(i * 7), 255})
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 13)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func nrgba(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// peakHeapGrowth runs fn and returns the largest growth of the live heap
// seen while it ran, sampled every half millisecond.
func peakHeapGrowth(fn func()) int64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() int64 { metrics.Read(sample); return int64(sample[0].Value.Uint64()) }
	runtime.GC()
	base := read()
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if v := read() - base; v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(500 * time.Microsecond):
			}
		}
	}()
	fn()
	if v := read() - base; v > peak.Load() {
		peak.Store(v)
	}
	close(done)
	wg.Wait()
	return peak.Load()
}

// The estimate is an upper bound of the heap a generation grows by, for
// every kind of original.
func TestEstimateBoundsHeap(t *testing.T) {
	progressive, err := os.ReadFile(filepath.Join(fixture.RepoRoot(), "testdata", "progressive.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	photo := fixture.Photo(1200, 800, 3)
	cases := map[string]struct {
		src    []byte
		ext    string
		w, h   int
		contin bool
	}{
		"8-bit PNG":          {fixture.PNG(photo), "png", 200, 200, false},
		"16-bit PNG":         {png16(2400, 1600), "png", 200, 200, false},
		"palette PNG":        {pngPaletted(1600, 1200), "png", 300, 200, true},
		"interlaced PNG":     {fixture.InterlacedPNG(nrgba(photo)), "png", 200, 200, false},
		"progressive JPEG":   {progressive, "jpg", 200, 200, false},
		"baseline JPEG":      {fixture.JPEG(fixture.Photo(2400, 1600, 4), 90), "jpg", 800, 600, false},
		"GIF":                {fixture.AnimatedGIF(1200, 800), "gif", 200, 200, false},
		"large contain JPEG": {fixture.JPEG(photo, 90), "jpg", 1000, 1000, true},
	}
	if Native {
		var b bytes.Buffer
		if err := encodeWebP(&b, nrgba(photo), 80); err != nil {
			t.Fatal(err)
		}
		cases["WebP"] = struct {
			src    []byte
			ext    string
			w, h   int
			contin bool
		}{b.Bytes(), "webp", 200, 200, false}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			j := job("x."+c.ext, c.ext, c.w, c.h, c.contin, 80)
			h, _, err := readHeader(bytes.NewReader(c.src), int64(len(c.src)))
			if err != nil {
				t.Fatal(err)
			}
			est := Estimate(h, int64(len(c.src)), j)
			var rerr error
			peak := peakHeapGrowth(func() { rerr = Render(context.Background(), c.src, j, io.Discard) })
			if rerr != nil {
				t.Fatal(rerr)
			}
			t.Logf("estimate %.1f MiB, peak heap growth %.1f MiB", float64(est)/(1<<20), float64(peak)/(1<<20))
			if peak > est {
				t.Errorf("peak heap growth %d exceeds the estimate %d", peak, est)
			}
		})
	}
}

// countingReads counts the bytes read from the originals it opens.
type countingReads struct {
	storage.Store
	read atomic.Int64
}

type countedObject struct {
	storage.Object
	n *atomic.Int64
}

func (o countedObject) Read(p []byte) (int, error) {
	n, err := o.Object.Read(p)
	o.n.Add(int64(n))
	return n, err
}

func (c *countingReads) Open(ctx context.Context, name string) (storage.Object, storage.Info, error) {
	obj, info, err := c.Store.Open(ctx, name)
	if err != nil {
		return nil, info, err
	}
	return countedObject{obj, &c.read}, info, nil
}

// An original over max_source_bytes is refused without reading it; a large
// file that is no image after reading only its first 64 KiB.
func TestSourceRefusedFromItsHeader(t *testing.T) {
	junk := bytes.Repeat([]byte("not an image at all "), 512<<10) // 10 MiB
	r := newRoots(t, map[string][]byte{"junk.jpg": junk, "big.jpg": fixture.JPEG(fixture.Photo(400, 300, 1), 90)})
	checkRefusals(t, r.originals, r.thumbs)
}

func checkRefusals(t *testing.T, src, thumbs storage.Store) {
	t.Helper()
	originals := &countingReads{Store: src}
	g := New(Options{})
	j := job("big.jpg", "jpg", 50, 50, false, 80)
	j.MaxSourceBytes = 1000
	_, err := g.Thumbnail(context.Background(), originals, thumbs, j)
	var e *v8err.Error
	if !errors.As(err, &e) || e.Code != v8err.Unprocessable || !bytes.HasPrefix([]byte(e.Message), []byte("Image is too large: ")) ||
		!bytes.HasSuffix([]byte(e.Message), []byte(" bytes exceeds 1000.")) {
		t.Errorf("over max_source_bytes: %v", err)
	}
	if n := originals.read.Load(); n != 0 {
		t.Errorf("read %d bytes of an original refused by its size", n)
	}
	start := time.Now()
	_, err = g.Thumbnail(context.Background(), originals, thumbs, job("junk.jpg", "jpg", 50, 50, false, 80))
	if !errors.As(err, &e) || e.Message != "Unable to init from given binary data." {
		t.Errorf("junk: %v", err)
	}
	if n := originals.read.Load(); n > 64<<10 {
		t.Errorf("read %d bytes of a 10 MiB file that is no image", n)
	}
	t.Logf("junk refused after %v", time.Since(start))
}

// A generation whose estimate does not fit what is left of the budget waits
// and runs once the budget frees; one larger than the whole budget is
// refused at once.
func TestMemoryBudget(t *testing.T) {
	src := fixture.JPEG(fixture.Photo(800, 600, 5), 90)
	r := newRoots(t, map[string][]byte{"a.jpg": src})
	j := job("a.jpg", "jpg", 100, 100, false, 80)
	h, _, _ := readHeader(bytes.NewReader(src), int64(len(src)))
	est := Estimate(h, int64(len(src)), j)

	g := New(Options{MemoryBudget: est})
	// Something else holds half the budget.
	release, err := g.sched.admit(context.Background(), share{}, est/2)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
		done <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); g.Waiting() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the generation did not queue for memory")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("ran without its budget: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("after the budget freed: %v", err)
	}

	small := New(Options{MemoryBudget: est - 1})
	start := time.Now()
	_, err = small.Thumbnail(context.Background(), r.originals, r.thumbs, job("a.jpg", "jpg", 120, 120, false, 80))
	var e *v8err.Error
	if !errors.As(err, &e) || e.Code != v8err.Unprocessable || !bytes.Contains([]byte(e.Message), []byte("more than max_generation_memory")) {
		t.Fatalf("over the whole budget: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v", d)
	}
}

// The same refusals with the originals in S3 (a real versitygw).
func TestSourceRefusedFromItsHeaderS3(t *testing.T) {
	srv := fixture.NewS3(t)
	srv.Put(t, "originals/junk.jpg", bytes.Repeat([]byte("not an image at all "), 512<<10))
	srv.Put(t, "originals/big.jpg", fixture.JPEG(fixture.Photo(400, 300, 1), 90))
	originals, err := storage.NewS3(context.Background(), storage.S3Config{
		Key: srv.Key, Secret: srv.Secret, Bucket: srv.Bucket, Endpoint: srv.Endpoint, Root: "originals"})
	if err != nil {
		t.Fatal(err)
	}
	checkRefusals(t, originals, newRoots(t, nil).thumbs)
}

// Generations waiting for admission are queued, not in flight; callers
// that waited on another's generation are told it was shared.
func TestInFlightAndShared(t *testing.T) {
	src := fixture.JPEG(fixture.Photo(800, 600, 5), 90)
	r := newRoots(t, map[string][]byte{"a.jpg": src})
	j := job("a.jpg", "jpg", 100, 100, false, 80)
	h, _, _ := readHeader(bytes.NewReader(src), int64(len(src)))
	est := Estimate(h, int64(len(src)), j)
	g := New(Options{MemoryBudget: est})
	release, err := g.sched.admit(context.Background(), share{}, est)
	if err != nil {
		t.Fatal(err)
	}
	const callers = 5
	thumbs := &countingStore{Store: r.thumbs}
	results := make(chan Result, callers)
	for range callers {
		go func() {
			res, err := g.Thumbnail(context.Background(), r.originals, thumbs, j)
			if err != nil {
				t.Error(err)
			}
			results <- res
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); g.Waiting() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the generation did not queue")
		}
	}
	// In flight: only the hold above; the queued generation is running
	// (asked for) but not in flight.
	if g.InFlight() != 1 || g.Running() != 1 {
		t.Errorf("queued generation: in flight %d, running %d; want 1 and 1", g.InFlight(), g.Running())
	}
	// Every caller has found no file and waits for the one generation.
	waitFor(t, func() bool { return g.callers.Load() == callers })
	release()
	var generated, shared int
	for range callers {
		res := <-results
		if res.Generated {
			generated++
		}
		if res.Shared {
			shared++
		}
	}
	if generated != 1 || shared != callers-1 {
		t.Errorf("generated %d, shared %d; want 1 and %d", generated, shared, callers-1)
	}
}
