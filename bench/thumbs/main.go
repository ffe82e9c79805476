// Command thumbs times v8assets' thumbnail pipeline for bench/thumbs.sh.
//
//	thumbs -fixtures DIR                  write the benchmark originals into DIR
//	thumbs -photo 3000x2000 -o FILE       write one photo-like JPEG (q90)
//	thumbs -gradient 7000x7000 -depth 16 -o FILE
//	                                      write a smooth RGB gradient PNG (8 or 16 bits)
//	thumbs -src F -w W -h H -fit crop|contain -n N
//	                                      print the median milliseconds of N runs
//	thumbs -src F -w W -h H -fit crop -once
//	                                      run once and print the peak RSS in KiB
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
)

func main() {
	fixtures := flag.String("fixtures", "", "write the benchmark originals into this directory")
	src := flag.String("src", "", "original to convert")
	w := flag.Int("w", 200, "width")
	h := flag.Int("h", 200, "height")
	fit := flag.String("fit", "crop", "crop or contain")
	n := flag.Int("n", 20, "runs")
	once := flag.Bool("once", false, "run once and print the peak RSS in KiB")
	photo := flag.String("photo", "", "write one photo-like JPEG of this size (WxH) to -o")
	outPath := flag.String("o", "", "output file of -photo and -gradient")
	gradient := flag.String("gradient", "", "write a gradient PNG of this size (WxH) to -o")
	depth := flag.Int("depth", 8, "bits per sample of -gradient: 8 or 16")
	rendering := flag.String("rendering", generator.RenderFast, "fast or v8")
	flag.Parse()

	if *gradient != "" {
		var gw, gh int
		if _, err := fmt.Sscanf(*gradient, "%dx%d", &gw, &gh); err != nil {
			log.Fatalf("-gradient %q: %v", *gradient, err)
		}
		img := gradientImage(gw, gh, *depth)
		f, err := os.Create(*outPath)
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
		return
	}

	if *photo != "" {
		var pw, ph int
		if _, err := fmt.Sscanf(*photo, "%dx%d", &pw, &ph); err != nil {
			log.Fatalf("-photo %q: %v", *photo, err)
		}
		if err := os.WriteFile(*outPath, fixture.JPEG(fixture.Photo(pw, ph, 31), 90), 0o644); err != nil {
			log.Fatal(err)
		}
		return
	}

	if *fixtures != "" {
		files := map[string][]byte{
			"1800x1200.jpg": fixture.JPEG(fixture.Photo(1800, 1200, 21), 90),
			"6000x4000.jpg": fixture.JPEG(fixture.Photo(6000, 4000, 22), 90),
			"1800x1200.png": fixture.PNG(fixture.HalfTransparent(1800, 1200)),
			"7000x7000.png": encodePNG(gradientImage(7000, 7000, 16)),
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(*fixtures, name), b, 0o644); err != nil {
				log.Fatal(err)
			}
		}
		return
	}
	b, err := os.ReadFile(*src)
	if err != nil {
		log.Fatal(err)
	}
	ext := strings.TrimPrefix(filepath.Ext(*src), ".")
	job := generator.Job{Width: *w, Height: *h, Contain: *fit == "contain", Quality: 80, Format: ext,
		SourceExt: ext, AutoOrient: true, MaxSourcePixels: 50_000_000, Rendering: *rendering}
	if *once {
		if err := generator.Render(context.Background(), b, job, io.Discard); err != nil {
			log.Fatal(err)
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Println(ru.Maxrss)
		return
	}
	times := make([]time.Duration, 0, *n)
	for range *n {
		var out bytes.Buffer
		// The file is read inside the timed part, as the other contenders
		// read theirs.
		start := time.Now()
		src, err := os.ReadFile(*src)
		if err != nil {
			log.Fatal(err)
		}
		if err := generator.Render(context.Background(), src, job, &out); err != nil {
			log.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	fmt.Printf("%.2f\n", float64(times[len(times)/2].Microseconds())/1000)
}

// gradientImage returns a smooth RGB gradient of w×h at 8 or 16 bits per
// sample: large when decoded, small as a PNG.
func gradientImage(w, h, depth int) image.Image {
	if depth == 16 {
		g := image.NewRGBA64(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetRGBA64(x, y, color.RGBA64{uint16(x * 65535 / w), uint16(y * 65535 / h), 0x8000, 0xffff})
			}
		}
		return g
	}
	g := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			g.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 0x80, 0xff})
		}
	}
	return g
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		log.Fatal(err)
	}
	return b.Bytes()
}
