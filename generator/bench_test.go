package generator

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/nfnt/resize"

	"github.com/v8assets/v8assets/internal/fixture"
)

var (
	benchOnce sync.Once
	benchSrc  map[string][]byte
)

func benchSources() map[string][]byte {
	benchOnce.Do(func() {
		benchSrc = map[string][]byte{
			"1800x1200.jpg": fixture.JPEG(fixture.Photo(1800, 1200, 21), 90),
			"6000x4000.jpg": fixture.JPEG(fixture.Photo(6000, 4000, 22), 90),
			"1800x1200.png": fixture.PNG(fixture.HalfTransparent(1800, 1200)),
		}
	})
	return benchSrc
}

// Run with `go test -bench . -benchmem ./generator` (libjpeg-turbo path) and
// again with `-tags purego` (image/jpeg path). bench/thumbs.sh compares the
// same conversions with vipsthumbnail and PHP-GD.
func BenchmarkRender(b *testing.B) {
	cases := []struct {
		src     string
		w, h    int
		contain bool
		format  string
	}{
		{"1800x1200.jpg", 200, 200, false, "jpg"},
		{"1800x1200.jpg", 200, 200, true, "jpg"},
		{"6000x4000.jpg", 200, 200, false, "jpg"},
		{"6000x4000.jpg", 800, 600, false, "jpg"},
		{"1800x1200.png", 200, 200, false, "png"},
	}
	for _, rendering := range []string{RenderFast, RenderV8} {
		for _, c := range cases {
			fit := "crop"
			if c.contain {
				fit = "contain"
			}
			b.Run(fmt.Sprintf("%s/%s_to_%dx%d_%s", rendering, c.src, c.w, c.h, fit), func(b *testing.B) {
				src := benchSources()[c.src]
				j := Job{Width: c.w, Height: c.h, Contain: c.contain, Quality: 80, Format: c.format,
					SourceExt: c.format, AutoOrient: true, MaxSourcePixels: 50_000_000, Rendering: rendering}
				b.ReportAllocs()
				for b.Loop() {
					if err := Render(context.Background(), src, j, io.Discard); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// GIF output: mapping onto the source palette versus gif.Encode's default
// (Plan9 palette with Floyd–Steinberg) at 800×600.
func BenchmarkEncodeGIF(b *testing.B) {
	src, _ := gif.Decode(bytes.NewReader(fixture.AnimatedGIF(1600, 1200)))
	img := resize.Resize(800, 600, src, resize.Lanczos3)
	b.Run("source_palette", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := gif.Encode(io.Discard, toPaletted(img, src.(*image.Paletted)), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib_default", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := gif.Encode(io.Discard, img, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// PNG output at 800×600: the level we use versus zlib's default.
func BenchmarkEncodePNG(b *testing.B) {
	img := resize.Resize(800, 600, fixture.Photo(1600, 1200, 5), resize.Lanczos3)
	for name, level := range map[string]png.CompressionLevel{"best_speed": png.BestSpeed, "default": png.DefaultCompression} {
		b.Run(name, func(b *testing.B) {
			enc := png.Encoder{CompressionLevel: level}
			var size int
			b.ReportAllocs()
			for b.Loop() {
				var buf bytes.Buffer
				if err := enc.Encode(&buf, img); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size), "bytes/op-output")
		})
	}
}

// BenchmarkIsolation makes cold 1800×1200 → 200×200 crops (a new output
// each time, written to disk) in this process and in a worker, alternating
// one for one so both see the same machine, and reports each one's time
// and their ratio (bench/isolation.sh runs it).
func BenchmarkIsolation(b *testing.B) {
	r := newRoots(b, map[string][]byte{"a.jpg": benchSources()["1800x1200.jpg"]})
	inProcess := New(Options{Workers: 1})
	worker := New(Options{Workers: 1, Isolation: isolation()})
	defer worker.Shutdown(context.Background())
	var n int
	var spent [2]time.Duration
	run := func(g *Generator, k int) {
		n++
		j := job("a.jpg", "jpg", 200, 200, false, 80)
		j.Path = fmt.Sprintf("w200,h200,fcrop,q80/%d.jpg", n)
		start := time.Now()
		if _, err := g.Thumbnail(context.Background(), r.originals, r.thumbs, j); err != nil {
			b.Fatal(err)
		}
		spent[k] += time.Since(start)
	}
	run(worker, 1) // start the worker outside the measurement
	spent[1] = 0
	iterations := 0
	for b.Loop() {
		run(inProcess, 0)
		run(worker, 1)
		iterations++
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(iterations), "in-process-ns/op")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(iterations), "worker-ns/op")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "worker/in-process")
}
