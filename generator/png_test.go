package generator

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"testing"

	"github.com/v8assets/v8assets/internal/fixture"
)

// PNG thumbnails made from the row-by-row decoder have the same size and
// type as those of the whole-image decoder, and nearly the same pixels,
// alpha included.
func TestStreamingPNGMatchesFullDecode(t *testing.T) {
	if !streamsPNG {
		t.Skip("the pure-Go build decodes PNG whole")
	}
	cases := map[string]struct {
		src     []byte
		w, h    int
		contain bool
		format  string
	}{
		"8-bit RGB crop":       {fixture.PNG(fixture.Photo(900, 600, 6)), 100, 100, false, "png"},
		"8-bit RGB to jpg":     {fixture.PNG(fixture.Photo(900, 600, 6)), 150, 150, false, "jpg"},
		"16-bit contain":       {png16(800, 600), 200, 200, true, "png"},
		"alpha crop":           {fixture.PNG(fixture.HalfTransparent(900, 600)), 100, 100, false, "png"},
		"odd sizes, no shrink": {fixture.PNG(fixture.Photo(401, 299, 7)), 300, 250, false, "png"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			j := job("x.png", c.format, c.w, c.h, c.contain, 80)
			var streamed, whole bytes.Buffer
			if err := render(context.Background(), c.src, j, &streamed, true); err != nil {
				t.Fatal(err)
			}
			if err := render(context.Background(), c.src, j, &whole, false); err != nil {
				t.Fatal(err)
			}
			a, fa, err := image.Decode(bytes.NewReader(streamed.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			b, fb, _ := image.Decode(bytes.NewReader(whole.Bytes()))
			if fa != fb || a.Bounds() != b.Bounds() {
				t.Fatalf("streamed %s %v, whole %s %v", fa, a.Bounds(), fb, b.Bounds())
			}
			d := meanAbsDiff(t, a, b)
			var alpha float64
			for y := 0; y < a.Bounds().Dy(); y++ {
				for x := 0; x < a.Bounds().Dx(); x++ {
					_, _, _, a1 := a.At(x, y).RGBA()
					_, _, _, a2 := b.At(x, y).RGBA()
					alpha += absDiff(a1, a2) / 257
				}
			}
			alpha /= float64(a.Bounds().Dx() * a.Bounds().Dy())
			t.Logf("mean abs diff %.2f (RGB), %.2f (alpha) of 255", d, alpha)
			if d > 3 || alpha > 3 {
				t.Errorf("streamed output differs: %.2f RGB, %.2f alpha", d, alpha)
			}
		})
	}
}

// A truncated PNG fails as before, with nothing decoded.
func TestStreamingPNGTruncated(t *testing.T) {
	src := fixture.PNG(fixture.Photo(600, 400, 2))
	err := Render(context.Background(), src[:len(src)/2], job("x.png", "png", 100, 100, false, 80), &bytes.Buffer{})
	if err == nil {
		t.Fatal("truncated PNG rendered")
	}
	if _, err := png.Decode(bytes.NewReader(src)); err != nil {
		t.Fatal(err)
	}
}

// A shrink factor past maxShrinkFactor is capped: 1100×1100 to 2×2 would
// be a factor of 550, whose premultiplied block sums overflow 32 bits.
func TestStreamingPNGLargeFactor(t *testing.T) {
	if !streamsPNG {
		t.Skip("the pure-Go build decodes PNG whole")
	}
	white := image.NewNRGBA(image.Rect(0, 0, 1100, 1100))
	for i := range white.Pix {
		white.Pix[i] = 0xff
	}
	img, err := decodePNGShrunk(fixture.PNG(white), 1100, 1100, 550)
	if err != nil {
		t.Fatal(err)
	}
	rgba := img.(*image.RGBA)
	for i, v := range rgba.Pix {
		if v != 0xff {
			t.Fatalf("byte %d of the shrunk white picture (%v) is %d", i, rgba.Bounds(), v)
		}
	}
}
