package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/v8err"
)

type roots struct {
	originals, thumbs *storage.Local
}

// newRoots writes files into a fresh originals root and returns it with an
// empty thumb root.
func newRoots(t testing.TB, files map[string][]byte) roots {
	t.Helper()
	dir := t.TempDir()
	o, g := filepath.Join(dir, "originals"), filepath.Join(dir, "generated")
	os.MkdirAll(o, 0o755)
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(o, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	originals, err := storage.NewLocal(o)
	if err != nil {
		t.Fatal(err)
	}
	thumbs, err := storage.CreateLocal(g)
	if err != nil {
		t.Fatal(err)
	}
	return roots{originals, thumbs}
}

func job(source, format string, w, h int, contain bool, q int) Job {
	fit := "crop"
	if contain {
		fit = "contain"
	}
	name := source
	if ext := filepath.Ext(source); ext != "."+format && !(ext == ".jpg" && format == "jpeg") {
		name = strings.TrimSuffix(source, ext) + "." + format
	}
	return Job{
		Source: source, Path: fmt.Sprintf("w%d,h%d,f%s,q%d/%s", w, h, fit, q, name),
		Width: w, Height: h, Contain: contain, Quality: q, Format: format,
		SourceExt: strings.TrimPrefix(filepath.Ext(source), "."), AutoOrient: true, MaxSourcePixels: 50_000_000,
	}
}

func decodeFile(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// meanAbsDiff returns the mean absolute difference of two same-sized
// images over R, G and B, in 0..255.
func meanAbsDiff(t testing.TB, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes differ: %v vs %v", a.Bounds(), b.Bounds())
	}
	var sum float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			sum += absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2)
		}
	}
	return sum / float64(3*ab.Dx()*ab.Dy()) / 257
}

func absDiff(a, b uint32) float64 {
	if a > b {
		return float64(a - b)
	}
	return float64(b - a)
}

// reference resamples box of src to w×h with a different resampler
// (x/image/draw's Catmull-Rom) than the generator's (nfnt Lanczos3).
func reference(src image.Image, box image.Rectangle, w, h int) image.Image {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, box.Add(src.Bounds().Min), xdraw.Src, nil)
	return dst
}

// Outputs must have v8's sizes and show the right part of the picture:
// compared with an independent resampler of the expected box, and shown to
// be far from a box shifted by a tenth of its size.
func TestRenderMatchesReference(t *testing.T) {
	photo := fixture.Photo(1800, 1200, 3)
	tall := fixture.Photo(1200, 1800, 4)
	odd := fixture.Photo(800, 838, 5)
	files := map[string][]byte{
		"photo.jpg": fixture.JPEG(photo, 95), "tall.jpg": fixture.JPEG(tall, 95), "odd.jpg": fixture.JPEG(odd, 95),
		"photo.png": fixture.PNG(photo),
	}
	srcs := map[string]image.Image{"photo.jpg": photo, "tall.jpg": tall, "odd.jpg": odd, "photo.png": photo}
	r := newRoots(t, files)
	g := New(Options{})
	cases := []struct {
		source  string
		w, h    int
		contain bool
	}{
		{"photo.jpg", 200, 200, false}, {"photo.jpg", 200, 200, true}, {"photo.jpg", 800, 600, false},
		{"photo.jpg", 64, 64, false}, {"tall.jpg", 200, 200, false}, {"tall.jpg", 300, 300, true},
		{"odd.jpg", 800, 600, false}, {"odd.jpg", 800, 600, true}, {"photo.png", 200, 200, false},
		{"photo.jpg", 2000, 1000, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %dx%d contain=%v", c.source, c.w, c.h, c.contain), func(t *testing.T) {
			format := strings.TrimPrefix(filepath.Ext(c.source), ".")
			j := job(c.source, format, c.w, c.h, c.contain, 90)
			res, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
			if err != nil || !res.Generated {
				t.Fatalf("Thumbnail: %+v %v", res, err)
			}
			out := decodeFile(t, filepath.Join(r.thumbs.String(), j.Path))
			src := srcs[c.source]
			W, H := src.Bounds().Dx(), src.Bounds().Dy()
			box, tw, th := CropBox(W, H, c.w, c.h), c.w, c.h
			if c.contain {
				box = src.Bounds()
				tw, th = ContainSize(W, H, c.w, c.h)
			}
			if got := out.Bounds().Size(); got != image.Pt(tw, th) {
				t.Fatalf("size = %v, want %dx%d", got, tw, th)
			}
			d := meanAbsDiff(t, out, reference(src, box, tw, th))
			if d > 6 {
				t.Errorf("mean abs diff vs reference = %.2f, want ≤ 6", d)
			}
			if !c.contain {
				shift := image.Pt(max(1, box.Dx()/10), max(1, box.Dy()/10))
				shifted := box.Sub(shift)
				if shifted.Min.X < 0 || shifted.Min.Y < 0 {
					shifted = box.Add(shift).Intersect(src.Bounds())
				}
				if wrong := meanAbsDiff(t, out, reference(src, shifted, tw, th)); wrong < 2*d+4 {
					t.Errorf("a shifted crop is as close (%.2f) as the right one (%.2f): the test cannot see offsets", wrong, d)
				}
			}
		})
	}
}

func TestUpscaleSmallPNGKeepsAlpha(t *testing.T) {
	r := newRoots(t, map[string][]byte{"small.png": fixture.PNG(fixture.HalfTransparent(100, 50))})
	g := New(Options{})
	for _, c := range []struct {
		contain bool
		w, h    int
	}{{false, 200, 200}, {true, 200, 100}} {
		j := job("small.png", "png", 200, 200, c.contain, 80)
		if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
			t.Fatal(err)
		}
		out := decodeFile(t, filepath.Join(r.thumbs.String(), j.Path))
		if out.Bounds().Dx() != c.w || out.Bounds().Dy() != c.h {
			t.Errorf("contain=%v: size %v", c.contain, out.Bounds())
		}
		if _, _, _, a := out.At(2, 2).RGBA(); a != 0 {
			t.Errorf("contain=%v: pixel (2,2) alpha = %d, want transparent", c.contain, a)
		}
		if _, _, _, a := out.At(c.w-3, c.h/2).RGBA(); a != 0xffff {
			t.Errorf("contain=%v: right side alpha = %d, want opaque", c.contain, a)
		}
	}
}

// An orientation-6 photo (stored rotated) comes out upright; with
// auto_orient off it comes out as v8 made it.
func TestEXIFOrientation(t *testing.T) {
	upright := fixture.Photo(600, 400, 11)
	stored := fixture.WithOrientation(fixture.JPEG(fixture.Rotate90CCW(upright), 95), 6)
	r := newRoots(t, map[string][]byte{"phone.jpg": stored})
	g := New(Options{})

	j := job("phone.jpg", "jpg", 300, 300, true, 90)
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
		t.Fatal(err)
	}
	out := decodeFile(t, filepath.Join(r.thumbs.String(), j.Path))
	if out.Bounds().Size() != image.Pt(300, 200) {
		t.Fatalf("size = %v, want upright 300x200", out.Bounds().Size())
	}
	if d := meanAbsDiff(t, out, reference(upright, upright.Bounds(), 300, 200)); d > 6 {
		t.Errorf("not upright: diff %.2f", d)
	}

	j = job("phone.jpg", "jpg", 300, 300, true, 91)
	j.AutoOrient = false
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
		t.Fatal(err)
	}
	if out := decodeFile(t, filepath.Join(r.thumbs.String(), j.Path)); out.Bounds().Size() != image.Pt(200, 300) {
		t.Errorf("auto_orient=false size = %v, want v8's 200x300", out.Bounds().Size())
	}
}

func TestJPEGOrientationParser(t *testing.T) {
	base := fixture.JPEG(fixture.Photo(16, 16, 1), 80)
	for o := 1; o <= 8; o++ {
		if got := jpegOrientation(fixture.WithOrientation(base, o)); got != o {
			t.Errorf("orientation %d read as %d", o, got)
		}
	}
	for name, b := range map[string][]byte{"no exif": base, "empty": nil, "png": fixture.PNG(fixture.HalfTransparent(4, 4)), "cut": fixture.WithOrientation(base, 6)[:12]} {
		if got := jpegOrientation(b); got != 1 {
			t.Errorf("%s: orientation %d, want 1", name, got)
		}
	}
}

func TestOrientTransforms(t *testing.T) {
	// A 3×2 image with distinct pixels; each orientation must map the
	// stored top-left pixel to where EXIF says it belongs.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Set(i%3, i/3, color.RGBA{uint8(i * 40), 0, 0, 255})
	}
	want := map[int]image.Point{1: {0, 0}, 2: {2, 0}, 3: {2, 1}, 4: {0, 1}, 5: {0, 0}, 6: {1, 0}, 7: {1, 2}, 8: {0, 2}}
	for o, p := range want {
		out := orient(src, o)
		if r, _, _, _ := out.At(p.X, p.Y).RGBA(); r != 0 {
			t.Errorf("orientation %d: top-left pixel not at %v", o, p)
		}
		if swapsAxes(o) != (out.Bounds().Dx() == 2) {
			t.Errorf("orientation %d: bounds %v", o, out.Bounds())
		}
	}
}

// v8 encoded q=0 at Intervention's default, 90 (spec Q4): compare the
// first luminance quantiser with libjpeg's table scaled for 90 and 80.
func TestQualityZeroEncodesAt90(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(400, 300, 2), 95)})
	g := New(Options{})
	dqt := map[int]byte{}
	for _, q := range []int{0, 80, 90} {
		j := job("a.jpg", "jpg", 100, 100, false, q)
		if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(r.thumbs.String(), j.Path))
		i := bytes.Index(b, []byte{0xFF, 0xDB})
		dqt[q] = b[i+5]
	}
	if dqt[0] != dqt[90] || dqt[90] != 3 || dqt[80] != 6 {
		t.Errorf("first quantiser by quality = %v, want q0 = q90 = 3, q80 = 6", dqt)
	}
}

func TestFailuresLeaveNothing(t *testing.T) {
	photo := fixture.JPEG(fixture.Photo(400, 300, 2), 90)
	cmyk, err := os.ReadFile(filepath.Join(fixture.RepoRoot(), "testdata", "cmyk.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	r := newRoots(t, map[string][]byte{
		"truncated.jpg": photo[:len(photo)/2],
		"corrupt.jpg":   append([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 4}, bytes.Repeat([]byte{7}, 500)...),
		"text.png":      []byte("not an image at all"),
		"empty.gif":     {},
		"bomb.png":      fixture.PNGBomb(30000, 30000),
		"doc.pdf":       fixture.PDF(),
		"scan.tiff":     []byte("II*\x00"),
		"ok.jpg":        photo,
		"cmyk.jpg":      cmyk,
	})
	g := New(Options{})
	cases := map[string]struct {
		job Job
		msg string
	}{
		"truncated JPEG":   {job("truncated.jpg", "jpg", 100, 100, false, 80), "Unable to init from given binary data."},
		"corrupt JPEG":     {job("corrupt.jpg", "jpg", 100, 100, false, 80), "Unable to init from given binary data."},
		"not an image":     {job("text.png", "png", 100, 100, false, 80), "Unable to init from given binary data."},
		"empty file":       {job("empty.gif", "gif", 100, 100, false, 80), "Unable to init from given binary data."},
		"pixel bomb":       {job("bomb.png", "png", 100, 100, false, 80), "Image is too large: 30000x30000 exceeds 50000000 pixels."},
		"pdf (Q22)":        {job("doc.pdf", "pdf", 200, 200, true, 80), "Encoding format (pdf) is not supported."},
		"pdf as jpg":       {job("doc.pdf", "jpg", 200, 200, true, 80), "Image source not readable"},
		"tiff (Q22)":       {job("scan.tiff", "tiff", 200, 200, true, 80), "TIFF format is not supported by Gd Driver."},
		"quality 101":      {job("ok.jpg", "jpg", 100, 100, false, 101), "Quality must range from 0 to 100."},
		"quality -1":       {job("ok.jpg", "jpg", 100, 100, false, -1), "Quality must range from 0 to 100."},
		"missing original": {job("gone.jpg", "jpg", 100, 100, false, 80), "gone.jpg does not exist."},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, c.job)
			var e *v8err.Error
			if !errors.As(err, &e) || e.Code != v8err.Unprocessable || e.Message != c.msg {
				t.Fatalf("err = %v, want 422 %q", err, c.msg)
			}
		})
	}
	t.Run("CMYK JPEG decodes", func(t *testing.T) {
		j := job("cmyk.jpg", "jpg", 60, 40, false, 80)
		if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
			t.Fatal(err)
		}
		out := decodeFile(t, filepath.Join(r.thumbs.String(), j.Path))
		if out.Bounds().Size() != image.Pt(60, 40) {
			t.Fatalf("size %v", out.Bounds())
		}
		if rr, _, bb, _ := out.At(30, 2).RGBA(); rr < bb {
			t.Errorf("top of the red→blue gradient is not red: r=%d b=%d", rr>>8, bb>>8)
		}
	})
	// Only the CMYK thumbnail may exist; no temporary file anywhere.
	var files []string
	filepath.Walk(r.thumbs.String(), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 || !strings.HasSuffix(files[0], "cmyk.jpg") {
		t.Errorf("files left in the thumb root: %v", files)
	}
}

// The bomb is refused from its header: no pixel buffer is ever allocated.
func TestBombIsCheap(t *testing.T) {
	r := newRoots(t, map[string][]byte{"bomb.png": fixture.PNGBomb(30000, 30000)})
	g := New(Options{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("bomb.png", "png", 200, 200, false, 80))
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("bomb accepted")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("refusing the bomb allocated %d bytes", alloc)
	}
	if elapsed > 5*time.Second {
		t.Errorf("refusing the bomb took %v", elapsed)
	}
}

func TestGIFAndWebP(t *testing.T) {
	r := newRoots(t, map[string][]byte{"anim.gif": fixture.AnimatedGIF(120, 80), "photo.jpg": fixture.JPEG(fixture.Photo(300, 200, 8), 90)})
	g := New(Options{})
	j := job("anim.gif", "gif", 60, 40, false, 80)
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(r.thumbs.String(), j.Path))
	all, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Image) != 1 || all.Image[0].Bounds().Size() != image.Pt(60, 40) {
		t.Fatalf("frames %d size %v, want one 60x40 frame", len(all.Image), all.Image[0].Bounds())
	}
	frame := all.Image[0]
	if _, _, _, a := frame.At(2, 2).RGBA(); a != 0 {
		t.Errorf("transparent corner lost")
	}
	src, _ := gif.Decode(bytes.NewReader(fixture.AnimatedGIF(120, 80)))
	for _, c := range frame.Palette {
		found := false
		for _, s := range src.(*image.Paletted).Palette {
			if c == s {
				found = true
			}
		}
		if !found {
			t.Fatalf("output colour %v is not in the source palette", c)
		}
	}

	j = job("photo.jpg", "webp", 100, 100, false, 80)
	_, err = g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
	if !Native {
		var e *v8err.Error
		if !errors.As(err, &e) || e.Message != "Webp format is not supported." {
			t.Fatalf("pure build: err = %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(r.thumbs.String(), j.Path))
	defer f.Close()
	img, err := webp.Decode(f)
	if err != nil || img.Bounds().Size() != image.Pt(100, 100) {
		t.Fatalf("webp output: %v %v", err, img)
	}
}

func TestScaledJPEGDecode(t *testing.T) {
	b := fixture.JPEG(fixture.Photo(1600, 1200, 6), 85)
	cases := map[[2]int]image.Point{{200, 200}: {400, 300}, {200, 100}: {200, 150}, {1000, 10}: {1600, 1200}, {401, 1}: {800, 600}}
	for min, want := range cases {
		img, err := decodeJPEG(b, min[0], min[1], false)
		if err != nil {
			t.Fatal(err)
		}
		if !Native {
			want = image.Pt(1600, 1200)
		}
		if got := img.Bounds().Size(); got != want {
			t.Errorf("decodeJPEG(min %v) = %v, want %v", min, got, want)
		}
	}
}

// Reuse (spec §5.2, Q12): an existing file is served as is, an empty one or
// one older than its original is made again.
func TestReuse(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(400, 300, 2), 90)})
	g := New(Options{})
	j := job("a.jpg", "jpg", 50, 50, false, 80)
	path := filepath.Join(r.thumbs.String(), j.Path)
	os.MkdirAll(filepath.Dir(path), 0o755)
	planted := fixture.JPEG(fixture.Photo(10, 10, 1), 80)
	os.WriteFile(path, planted, 0o644)

	res, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
	if err != nil || res.Generated {
		t.Fatalf("planted file not reused: %+v %v", res, err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, planted) {
		t.Fatal("planted file changed")
	}
	os.WriteFile(path, nil, 0o644)
	if res, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil || !res.Generated {
		t.Fatalf("empty file not regenerated: %+v %v", res, err)
	}
	os.WriteFile(path, planted, 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	if res, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil || !res.Generated {
		t.Fatalf("stale file not regenerated: %+v %v", res, err)
	}
	if out := decodeFile(t, path); out.Bounds().Dx() != 50 {
		t.Errorf("regenerated size %v", out.Bounds())
	}
}

// 100 identical cold requests: one generation, one write, 100 successes.
func TestConcurrentIdenticalRequests(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(1800, 1200, 2), 90)})
	g := New(Options{})
	j := job("a.jpg", "jpg", 200, 200, false, 80)
	var wg sync.WaitGroup
	var mu sync.Mutex
	generated, failures := 0, 0
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures++
			}
			if res.Generated {
				generated++
			}
		}()
	}
	wg.Wait()
	if failures != 0 || generated != 1 {
		t.Fatalf("failures %d, generations %d; want 0 and 1", failures, generated)
	}
	entries, _ := os.ReadDir(filepath.Dir(filepath.Join(r.thumbs.String(), j.Path)))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the one thumbnail", len(entries))
	}
}

func TestBusyAndTimeout(t *testing.T) {
	r := newRoots(t, map[string][]byte{"a.jpg": fixture.JPEG(fixture.Photo(400, 300, 2), 90)})
	g := New(Options{Workers: 1, Queue: 1})
	release, err := g.sched.admit(context.Background(), share{}, 0) // the only slot is taken
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("a.jpg", "jpg", 10, 10, false, 80))
		waiting <- err
	}()
	for g.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, job("a.jpg", "jpg", 20, 20, false, 80)); !errors.Is(err, ErrBusy) {
		t.Fatalf("queue full: err = %v, want ErrBusy", err)
	}
	release() // free the slot: the queued generation runs
	if err := <-waiting; err != nil {
		t.Fatalf("queued generation: %v", err)
	}

	slow := New(Options{Timeout: time.Nanosecond})
	j := job("a.jpg", "jpg", 30, 30, false, 80)
	if _, err := slow.Thumbnail(context.Background(), r.originals, r.thumbs, j); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if _, err := os.Stat(filepath.Join(r.thumbs.String(), j.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("timed-out generation left a file: %v", err)
	}
}

// Purge reports its progress: the total once listed, then each removal.
func TestPurgeProgress(t *testing.T) {
	r := newRoots(t, nil)
	for _, name := range []string{"w1,h1,fcrop,q1/a.jpg", "w1,h1,fcrop,q1/b.jpg", "w2,h2,fcrop,q1/a.jpg", "notavariant/a.jpg"} {
		if _, err := r.thumbs.Create(context.Background(), name, []byte("x"), false); err != nil {
			t.Fatal(err)
		}
	}
	var calls []string
	names, err := Purge(context.Background(), r.thumbs, PurgeFilter{}, false, func(removed, total int) {
		calls = append(calls, fmt.Sprintf("%d/%d", removed, total))
	})
	if err != nil || len(names) != 3 || strings.Join(calls, " ") != "0/3 1/3 2/3 3/3" {
		t.Errorf("names %v err %v progress %v", names, err, calls)
	}
}
