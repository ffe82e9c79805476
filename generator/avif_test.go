package generator

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/internal/ssim"
	"github.com/v8assets/v8assets/v8err"
)

// readThumb decodes the generated file of j with the registered decoders
// (AVIF's among them in the cgo build).
func readThumb(t *testing.T, r roots, j Job) (image.Image, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.thumbs.String(), j.Path))
	if err != nil {
		t.Fatal(err)
	}
	img, kind, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", j.Path, err)
	}
	return img, kind
}

func TestAVIF(t *testing.T) {
	photo := fixture.Photo(600, 400, 21)
	r := newRoots(t, map[string][]byte{
		"photo.jpg": fixture.JPEG(photo, 92),
		"alpha.png": fixture.PNG(fixture.HalfTransparent(200, 100)),
	})
	g := New(Options{})
	ctx := context.Background()
	j := job("photo.jpg", "avif", 300, 300, false, 80)
	_, err := g.Thumbnail(ctx, r.originals, r.thumbs, j)
	if !Native {
		var e *v8err.Error
		if !errors.As(err, &e) || e.Message != "Avif format is not supported." || e.Code != v8err.Unprocessable {
			t.Fatalf("pure build: err = %v", err)
		}
		if CanEncode("avif") || CanEncode("webp") {
			t.Error("the pure build claims to encode AVIF or WebP")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, kind := readThumb(t, r, j)
	if kind != "avif" || got.Bounds().Size() != image.Pt(300, 300) {
		t.Fatalf("got %s %v, want a 300x300 avif", kind, got.Bounds())
	}

	// q80 looks like JPEG q80: SSIM against the same resized pixels (the
	// lossless PNG of the job) within 0.005 of the JPEG's.
	ref := job("photo.jpg", "png", 300, 300, false, 80)
	jpg := job("photo.jpg", "jpg", 300, 300, false, 80)
	for _, x := range []Job{ref, jpg} {
		if _, err := g.Thumbnail(ctx, r.originals, r.thumbs, x); err != nil {
			t.Fatal(err)
		}
	}
	pixels, _ := readThumb(t, r, ref)
	jpgImg, _ := readThumb(t, r, jpg)
	avifSSIM, jpegSSIM := ssim.Of(pixels, got), ssim.Of(pixels, jpgImg)
	if avifSSIM < jpegSSIM-0.005 {
		t.Errorf("AVIF q80 SSIM %.4f, JPEG q80 %.4f: more than 0.005 worse", avifSSIM, jpegSSIM)
	}

	// Alpha is kept.
	a := job("alpha.png", "avif", 200, 100, false, 80)
	if _, err := g.Thumbnail(ctx, r.originals, r.thumbs, a); err != nil {
		t.Fatal(err)
	}
	img, _ := readThumb(t, r, a)
	srcImg, _ := png.Decode(bytes.NewReader(fixture.PNG(fixture.HalfTransparent(200, 100))))
	var maxDiff float64
	for _, p := range []image.Point{{5, 5}, {195, 5}, {5, 95}, {195, 95}, {100, 50}} {
		_, _, _, want := srcImg.At(p.X, p.Y).RGBA()
		_, _, _, have := img.At(p.X, p.Y).RGBA()
		maxDiff = max(maxDiff, absDiff(want>>8, have>>8))
	}
	if maxDiff > 8 {
		t.Errorf("alpha differs by up to %.0f of 255 from the source", maxDiff)
	}
}

// TestAVIFOriginals: v8 could not read AVIF; here an AVIF original makes
// thumbnails in its own format and in the others, and a damaged one is v8's
// 422, not a crash.
func TestAVIFOriginals(t *testing.T) {
	if !Native {
		t.Skip("AVIF needs the cgo build")
	}
	photo := fixture.Photo(640, 480, 5)
	var src bytes.Buffer
	if err := Encode(&src, photo, "avif", 95); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(src.Bytes()[:len(src.Bytes())/2])
	r := newRoots(t, map[string][]byte{"photo.avif": src.Bytes(), "broken.avif": damaged, "photo.png": fixture.PNG(photo)})
	g := New(Options{})
	ctx := context.Background()
	tests := []struct {
		name   string
		job    Job
		kind   string
		w, h   int
		sameAs Job
	}{
		{"avif to avif", job("photo.avif", "avif", 200, 200, false, 80), "avif", 200, 200, job("photo.png", "png", 200, 200, false, 80)},
		{"avif to jpeg", job("photo.avif", "jpg", 160, 120, true, 80), "jpeg", 160, 120, job("photo.png", "png", 160, 120, true, 80)},
		{"avif to png", job("photo.avif", "png", 64, 64, false, 80), "png", 64, 64, job("photo.png", "png", 64, 64, false, 80)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, j := range []Job{tt.job, tt.sameAs} {
				if _, err := g.Thumbnail(ctx, r.originals, r.thumbs, j); err != nil {
					t.Fatal(err)
				}
			}
			got, kind := readThumb(t, r, tt.job)
			if kind != tt.kind || got.Bounds().Size() != image.Pt(tt.w, tt.h) {
				t.Fatalf("got %s %v, want %s %dx%d", kind, got.Bounds().Size(), tt.kind, tt.w, tt.h)
			}
			want, _ := readThumb(t, r, tt.sameAs)
			if s := ssim.Of(want, got); s < 0.9 {
				t.Errorf("SSIM %.3f against the same thumbnail of the PNG original", s)
			}
		})
	}
	_, err := g.Thumbnail(ctx, r.originals, r.thumbs, job("broken.avif", "jpg", 64, 64, false, 80))
	var e *v8err.Error
	if !errors.As(err, &e) || e.Code != v8err.Unprocessable {
		t.Fatalf("damaged AVIF: err = %v, want a 422", err)
	}
}

func TestAVIFSize(t *testing.T) {
	box := func(typ string, body ...[]byte) []byte {
		b := []byte{0, 0, 0, 0}
		b = append(b, typ...)
		for _, x := range body {
			b = append(b, x...)
		}
		b[3] = byte(len(b))
		return b
	}
	ispe := func(w, h byte) []byte { return box("ispe", []byte{0, 0, 0, 0, 0, 0, 0, w, 0, 0, 0, h}) }
	file := append(box("ftyp", []byte("avif")), box("meta", []byte{0, 0, 0, 0}, box("hdlr"), box("iprp", box("ipco", ispe(40, 30), ispe(160, 120))))...)
	tests := []struct {
		name string
		b    []byte
		w, h int
		eof  bool
	}{
		{"largest extent", file, 160, 120, false},
		{"cut in the meta box", file[:40], 0, 0, true},
		{"cut in a box header", file[:4], 0, 0, true},
		{"no meta", box("ftyp", []byte("avif")), 0, 0, false},
		{"no ispe", append(box("ftyp"), box("meta", []byte{0, 0, 0, 0}, box("iprp", box("ipco")))...), 0, 0, false},
		{"box smaller than its header", []byte{0, 0, 0, 3, 'm', 'e', 't', 'a'}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, err := avifSize(tt.b)
			if tt.w != 0 {
				if err != nil || w != tt.w || h != tt.h {
					t.Fatalf("avifSize = %d, %d, %v; want %dx%d", w, h, err, tt.w, tt.h)
				}
				return
			}
			if err == nil {
				t.Fatalf("avifSize = %d, %d, nil; want an error", w, h)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) != tt.eof {
				t.Errorf("err = %v; unexpected EOF: %v, want %v", err, errors.Is(err, io.ErrUnexpectedEOF), tt.eof)
			}
		})
	}
}

// The estimate of an AVIF original covers what decoding it takes in Go's
// heap (the NRGBA picture libavif fills), with JPEG output so that the
// AVIF encoder's share does not hide it.
func TestEstimateBoundsAVIFDecode(t *testing.T) {
	if !Native {
		t.Skip("AVIF needs the cgo build")
	}
	var src bytes.Buffer
	if err := Encode(&src, fixture.Photo(1600, 1200, 9), "avif", 90); err != nil {
		t.Fatal(err)
	}
	j := job("x.avif", "jpg", 200, 200, false, 80)
	h, _, err := readHeader(bytes.NewReader(src.Bytes()), int64(src.Len()))
	if err != nil {
		t.Fatal(err)
	}
	est := Estimate(h, int64(src.Len()), j)
	var rerr error
	peak := peakHeapGrowth(func() { rerr = Render(context.Background(), src.Bytes(), j, io.Discard) })
	if rerr != nil {
		t.Fatal(rerr)
	}
	t.Logf("estimate %.1f MiB, peak heap growth %.1f MiB", float64(est)/(1<<20), float64(peak)/(1<<20))
	if peak > est {
		t.Errorf("peak heap growth %d exceeds the estimate %d", peak, est)
	}
}

// An AVIF thumbnail past AV1's level 6 is refused before anything is
// decoded or encoded: Debian 12's libaom writes such files broken.
func TestAVIFLevelLimit(t *testing.T) {
	if !CanEncode("avif") {
		t.Skip("AVIF needs the cgo build")
	}
	for _, c := range []struct {
		w, h int
		ok   bool
	}{{8192, 4352, true}, {4352, 8192, true}, {8200, 4800, false}, {16385, 10, false}, {10, 8705, false}} {
		if got := CanEncodeAt("avif", c.w, c.h); got != c.ok {
			t.Errorf("CanEncodeAt(avif, %d, %d) = %v", c.w, c.h, got)
		}
	}
	src := fixture.JPEG(fixture.Photo(100, 100, 1), 90)
	j := job("a.jpg", "avif", 8200, 4800, false, 80)
	j.MaxSourcePixels = 100_000_000
	var out bytes.Buffer
	err := Render(context.Background(), src, j, &out)
	if e := v8err.As(err); e == nil || e.Message != "Thumbnail is too large for AVIF: 8200x4800 exceeds 35651584 pixels." {
		t.Fatalf("8200x4800 AVIF: %v", err)
	}
	if !CanEncodeAt("jpg", 8200, 4800) {
		t.Error("the limit is AVIF's only")
	}
}
