package generator

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/v8assets/v8assets/internal/fixture"
)

// rmse returns the root mean square difference of two same-sized images
// over R, G and B, on a 0..1 scale.
func rmse(a, b image.Image) float64 {
	var sum float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1) - float64(r2), float64(g1) - float64(g2), float64(b1) - float64(b2)} {
				sum += (d / 65535) * (d / 65535)
			}
		}
	}
	return math.Sqrt(sum / float64(3*ab.Dx()*ab.Dy()))
}

// v8Demo renders every thumbnail of testdata/v8demo (originals and the
// thumbnails v8 itself generated from them, from directus/v8-archive's
// demo-data/uploads/thumper) with the given rendering and returns the mean
// and worst RMSE against v8's files.
func v8Demo(t *testing.T, rendering string) (mean, worst float64, worstName string) {
	t.Helper()
	root := filepath.Join(fixture.RepoRoot(), "testdata", "v8demo")
	dirs, err := os.ReadDir(filepath.Join(root, "generated"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		var w, h int
		if _, err := fmt.Sscanf(d.Name(), "w%d,h%d,fcrop,q80", &w, &h); err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		files, _ := os.ReadDir(filepath.Join(root, "generated", d.Name()))
		for _, f := range files {
			src, err := os.ReadFile(filepath.Join(root, "originals", f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			want := decodeFile(t, filepath.Join(root, "generated", d.Name(), f.Name()))
			j := Job{Width: w, Height: h, Quality: 80, Format: "jpg", SourceExt: "jpg", MaxSourcePixels: 50_000_000, Rendering: rendering}
			var out bytes.Buffer
			if err := Render(context.Background(), src, j, &out); err != nil {
				t.Fatal(err)
			}
			got, _, err := image.Decode(&out)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds().Size() != want.Bounds().Size() {
				t.Fatalf("%s/%s: %v, v8 wrote %v", d.Name(), f.Name(), got.Bounds().Size(), want.Bounds().Size())
			}
			e := rmse(got, want)
			mean += e
			n++
			if e > worst {
				worst, worstName = e, d.Name()+"/"+f.Name()
			}
		}
	}
	if n == 0 {
		t.Fatal("no v8 thumbnails found")
	}
	return mean / float64(n), worst, worstName
}

// rendering = "v8" reproduces the thumbnails v8 wrote: mean RMSE at most
// 0.01 over v8's own demo thumbnails.
func TestV8RenderingMatchesV8(t *testing.T) {
	mean, worst, name := v8Demo(t, RenderV8)
	t.Logf("v8 rendering: mean RMSE %.4f, worst %.4f (%s)", mean, worst, name)
	if mean > 0.01 {
		t.Errorf("mean RMSE %.4f against v8's thumbnails, want <= 0.01", mean)
	}
	fast, fastWorst, _ := v8Demo(t, RenderFast)
	t.Logf("fast rendering: mean RMSE %.4f, worst %.4f", fast, fastWorst)
}
