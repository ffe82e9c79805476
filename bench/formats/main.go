// Command formats compares the thumbnail formats for bench/formats.sh. It
// makes the resized pixels of each source at each preset of a fresh v8
// install once (generator.Render to PNG), encodes them as JPEG, WebP and
// AVIF with generator.Encode, and measures each output against those pixels
// with ssim.Color (red, green and blue, composited over black and over
// white; the worse of the two). It reports on the held-out set, which
// calibration never sees: its sources are generated differently (portrait
// photo-like images of other seeds, flat-colour graphics with sharp edges,
// half-transparent images) from the calibration set (v8's demo photos and
// landscape photo-like images). Formats are compared at q80 and at equal
// quality: WebP and AVIF at the lowest quality whose mean SSIM reaches
// JPEG q80's.
//
//	formats -demo DIR [-set heldout|calibration] [-photos N] [-q 80] [-n 5]
//	formats -demo DIR -calibrate    fit the AVIF quality map to JPEG's SSIM, on the calibration set
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/internal/ssim"
)

// presets are the system and user whitelist keys of a fresh v8 install
// (schema.sql).
var presets = []struct {
	key     string
	w, h    int
	contain bool
}{
	{"directus-small-crop", 64, 64, false},
	{"directus-small-contain", 64, 64, true},
	{"directus-medium-crop", 300, 300, false},
	{"directus-medium-contain", 300, 300, true},
	{"directus-large-crop", 800, 600, false},
	{"directus-large-contain", 800, 600, true},
	{"thumbnail", 200, 200, true},
}

type source struct {
	name, ext string
	data      []byte
}

// sample is one preset of one source: the resized pixels every format
// encodes.
type sample struct {
	source, preset string
	pixels         *image.NRGBA
}

func main() {
	demo := flag.String("demo", "uploads/demo/originals", "directory of the demo originals (its .jpg files are used)")
	photos := flag.Int("photos", 4, "generated photo-like images to add to each set")
	set := flag.String("set", "heldout", "which sources to report on: heldout or calibration")
	q := flag.Int("q", 80, "quality")
	n := flag.Int("n", 5, "encodes per output for the median time")
	calibrate := flag.Bool("calibrate", false, "print, for JPEG qualities, the AVIF quality of equal mean SSIM (calibration set)")
	flag.Parse()

	if *calibrate {
		runCalibrate(samplesOf(calibrationSources(*demo, *photos)))
		return
	}
	var samples []sample
	switch *set {
	case "heldout":
		samples = samplesOf(heldOutSources(*photos))
	case "calibration":
		samples = samplesOf(calibrationSources(*demo, *photos))
	default:
		log.Fatalf("-set %q: heldout or calibration", *set)
	}
	var opaque, transparent []sample
	for _, s := range samples {
		if s.pixels.Opaque() {
			opaque = append(opaque, s)
		} else {
			transparent = append(transparent, s)
		}
	}
	fmt.Printf("set %s: %d opaque thumbnails (against JPEG), %d with transparency (against PNG, which v8 wrote for them)\n",
		*set, len(opaque), len(transparent))
	fmt.Printf("%-14s %-24s %-8s %-5s %8s %6s %7s %9s\n", "source", "preset", "size", "fmt", "bytes", "×base", "ssim", "encode_ms")
	totals, avif300 := rows(opaque, "jpg", *q, *n)
	alpha, _ := rows(transparent, "png", *q, *n)
	summary := func(what, base string, samples []sample, totals map[string]*total) {
		fmt.Printf("\n%s, %d thumbnails at q%d (bytes are totals; ssim is the output's minus %s's):\n", what, len(samples), *q, base)
		for _, f := range []string{base, "webp", "avif"} {
			t := totals[f]
			fmt.Printf("  %-5s %9d bytes  %.3f× %s  ssim mean %+.4f worst %+.4f  encode median %.2f ms\n",
				f, t.bytes, float64(t.bytes)/float64(totals[base].bytes), base, t.ssimSum/float64(len(samples)), t.worst, median(t.encodeMS))
		}
	}
	summary("opaque", "jpg", opaque, totals)
	if len(transparent) > 0 {
		summary("with transparency", "png", transparent, alpha)
	}
	want := meanSSIM(opaque, "jpg", *q)
	fmt.Printf("\nopaque, at equal quality: each format at the lowest quality whose mean SSIM reaches JPEG q%d's (%.4f):\n", *q, want)
	jpegTotal := totals["jpg"].bytes
	ratio := map[string]float64{}
	for _, f := range []string{"webp", "avif"} {
		fq := equalQuality(opaque, f, want)
		var b int64
		for _, s := range opaque {
			out, _ := encode(s.pixels, f, fq, 1)
			b += int64(len(out))
		}
		ratio[f] = float64(b) / float64(jpegTotal)
		fmt.Printf("  %-5s q%-3d %9d bytes  %.3f× JPEG  mean ssim %.4f\n", f, fq, b, ratio[f], meanSSIM(opaque, f, fq))
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Printf("targets: WebP ≤ 0.75× JPEG at equal SSIM: %.3f×: %s\n", ratio["webp"], verdict(ratio["webp"] <= 0.75))
	fmt.Printf("         AVIF ≤ 0.60× JPEG at equal SSIM: %.3f×: %s\n", ratio["avif"], verdict(ratio["avif"] <= 0.60))
	fmt.Printf("         AVIF encode of a 300×300 thumbnail ≤ 100 ms median: %.2f ms: %s\n", median(avif300), verdict(median(avif300) <= 100))
}

// total is what one format added up to over a set of samples.
type total struct {
	bytes    int64
	ssimSum  float64
	worst    float64
	encodeMS []float64
}

// rows encodes every sample in base, WebP and AVIF at q, prints a row for
// each, and returns the totals by format (SSIMs relative to base's) and the
// encode times of the 300×300 AVIFs.
func rows(samples []sample, base string, q, n int) (map[string]*total, []float64) {
	totals := map[string]*total{}
	var avif300 []float64
	for _, f := range []string{base, "webp", "avif"} {
		totals[f] = &total{worst: math.Inf(1)}
	}
	for _, s := range samples {
		var baseBytes int
		var baseSSIM float64
		for _, f := range []string{base, "webp", "avif"} {
			out, ms := encode(s.pixels, f, q, n)
			v := ssim.Color(s.pixels, decode(out))
			if f == base {
				baseBytes, baseSSIM = len(out), v
			}
			t := totals[f]
			t.bytes += int64(len(out))
			t.ssimSum += v - baseSSIM
			t.worst = min(t.worst, v-baseSSIM)
			t.encodeMS = append(t.encodeMS, ms)
			b := s.pixels.Bounds()
			if f == "avif" && b.Dx() == 300 && b.Dy() == 300 {
				avif300 = append(avif300, ms)
			}
			fmt.Printf("%-14s %-24s %-8s %-5s %8d %6.2f %7.4f %9.2f\n", s.source, s.preset,
				fmt.Sprintf("%dx%d", b.Dx(), b.Dy()), f, len(out), float64(len(out))/float64(baseBytes), v, ms)
		}
	}
	return totals, avif300
}

// calibrationSources are v8's demo photos and landscape photo-like images:
// what the AVIF quality map is fitted on.
func calibrationSources(demo string, photos int) []source {
	var sources []source
	names, err := filepath.Glob(filepath.Join(demo, "*.jpg"))
	if err != nil || len(names) == 0 {
		log.Fatalf("no .jpg in %s", demo)
	}
	slices.Sort(names)
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			log.Fatal(err)
		}
		sources = append(sources, source{strings.TrimSuffix(filepath.Base(name), ".jpg"), "jpg", b})
	}
	for i := range photos {
		sources = append(sources, source{fmt.Sprintf("photo-%d", i+1), "jpg", fixture.JPEG(fixture.Photo(1800, 1200, uint64(100+i)), 90)})
	}
	return sources
}

// heldOutSources are made otherwise than the calibration set: portrait
// photo-like images of other seeds and sizes, flat-colour graphics with
// sharp edges, and half-transparent images (PNG, so alpha counts).
func heldOutSources(photos int) []source {
	var sources []source
	for i := range photos {
		sources = append(sources, source{fmt.Sprintf("portrait-%d", i+1), "jpg", fixture.JPEG(fixture.Photo(1000, 1500, uint64(900+i)), 92)})
	}
	sources = append(sources,
		source{"graphic", "png", fixture.PNG(graphic(1600, 1000))},
		source{"transparent", "png", fixture.PNG(fixture.HalfTransparent(1200, 900))})
	return sources
}

// graphic draws flat-colour rectangles and thin lines: what logos, charts
// and screenshots look like, and what photo-tuned encoders blur.
func graphic(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	colors := [][3]uint8{{230, 57, 70}, {241, 250, 238}, {168, 218, 220}, {69, 123, 157}, {29, 53, 87}, {255, 183, 3}}
	for y := range h {
		for x := range w {
			c := colors[(x/(w/6)+y/(h/4))%len(colors)]
			if x%97 < 3 || y%61 < 2 {
				c = [3]uint8{20, 20, 20}
			}
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c[0], c[1], c[2], 255
		}
	}
	return img
}

// samplesOf makes every preset of every source, resized by the generator's
// fast rendering.
func samplesOf(sources []source) []sample {
	var samples []sample
	for _, src := range sources {
		for _, p := range presets {
			var buf bytes.Buffer
			job := generator.Job{Width: p.w, Height: p.h, Contain: p.contain, Quality: 80, Format: "png",
				SourceExt: src.ext, AutoOrient: true, MaxSourcePixels: 1 << 40, Rendering: generator.RenderFast}
			if err := generator.Render(context.Background(), src.data, job, &buf); err != nil {
				log.Fatalf("%s %s: %v", src.name, p.key, err)
			}
			img, err := png.Decode(&buf)
			if err != nil {
				log.Fatal(err)
			}
			n := image.NewNRGBA(img.Bounds())
			draw.Draw(n, n.Bounds(), img, image.Point{}, draw.Src)
			samples = append(samples, sample{src.name, p.key, n})
		}
	}
	return samples
}

// encode returns img in format at quality q and the median milliseconds of n
// encodes.
func encode(img image.Image, format string, q, n int) ([]byte, float64) {
	var out bytes.Buffer
	var ms []float64
	for range max(n, 1) {
		out.Reset()
		start := time.Now()
		if err := generator.Encode(&out, img, format, q); err != nil {
			log.Fatalf("%s: %v", format, err)
		}
		ms = append(ms, float64(time.Since(start).Microseconds())/1000)
	}
	return bytes.Clone(out.Bytes()), median(ms)
}

func decode(b []byte) image.Image {
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		log.Fatal(err)
	}
	return img
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// meanSSIM returns the mean SSIM of the samples encoded as format at q.
func meanSSIM(samples []sample, format string, q int) float64 {
	var sum float64
	for _, s := range samples {
		out, _ := encode(s.pixels, format, q, 1)
		sum += ssim.Color(s.pixels, decode(out))
	}
	return sum / float64(len(samples))
}

// equalQuality returns the lowest quality at which format's mean SSIM over
// the samples reaches want (100 if none does). Mean SSIM rises with the
// quality, so a binary search finds it.
func equalQuality(samples []sample, format string, want float64) int {
	lo, hi := 1, 100
	for lo < hi {
		mid := (lo + hi) / 2
		if meanSSIM(samples, format, mid) >= want {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// runCalibrate prints, for each JPEG quality, the lowest AVIF quality (under
// the generator's current map) whose mean SSIM reaches JPEG's.
func runCalibrate(samples []sample) {
	fmt.Println("jpeg_q  jpeg_ssim  avif_q  avif_ssim")
	for _, q := range []int{30, 40, 50, 60, 70, 80, 85, 90, 95} {
		want := meanSSIM(samples, "jpg", q)
		aq := equalQuality(samples, "avif", want)
		fmt.Printf("%6d  %9.4f  %6d  %9.4f\n", q, want, aq, meanSSIM(samples, "avif", aq))
	}
}
