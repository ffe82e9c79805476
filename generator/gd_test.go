package generator

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func row(px ...color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, len(px), 1))
	for x, c := range px {
		img.SetRGBA(x, 0, c)
	}
	return img
}

// gdResample's arithmetic on cases worked out by hand from libgd's rule:
// area weights over the exact interval, opacity-weighted colour, truncation.
func TestGDResample(t *testing.T) {
	grey := func(v uint8) color.RGBA { return color.RGBA{v, v, v, 255} }
	cases := map[string]struct {
		src   *image.RGBA
		x0, w float64
		dw    int
		want  []color.NRGBA
	}{
		"mean truncates":     {row(grey(0), grey(255)), 0, 2, 1, []color.NRGBA{{127, 127, 127, 255}}},
		"fractional borders": {row(grey(0), grey(90), grey(180)), 0, 3, 2, []color.NRGBA{{30, 30, 30, 255}, {150, 150, 150, 255}}},
		"fractional box":     {row(grey(0), grey(100), grey(200), grey(50)), 0.5, 2, 1, []color.NRGBA{{100, 100, 100, 255}}},
		"transparent pixel has no colour weight": {row(color.RGBA{0, 0, 0, 0}, color.RGBA{200, 100, 50, 255}), 0, 2, 1,
			[]color.NRGBA{{200, 100, 50, 126}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := gdResample(c.src, c.x0, 0, c.w, 1, c.dw, 1, false)
			for x, want := range c.want {
				if g := got.NRGBAAt(x, 0); g != want {
					t.Errorf("pixel %d = %v, want %v", x, g, want)
				}
			}
		})
	}
}

// The opaque path (columns first, float32) against a direct float64 area
// average over the exact box, on noise: equal, or off by one where float32
// rounding meets truncation.
func TestGDResampleOpaque2D(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 37, 23))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			src.Pix[i] = 255
		}
	}
	x0, y0, w, h, dw, dh := 1.3, 2.7, 30.2, 17.9, 7, 5
	got := gdResample(src, x0, y0, w, h, dw, dh, true)
	overlap := func(a, b float64, p int) float64 {
		return max(0, min(b, float64(p+1))-max(a, float64(p)))
	}
	exact := 0
	for j := range dh {
		ya, yb := y0+float64(j)*h/float64(dh), y0+float64(j+1)*h/float64(dh)
		for i := range dw {
			xa, xb := x0+float64(i)*w/float64(dw), x0+float64(i+1)*w/float64(dw)
			var sum [3]float64
			var total float64
			for y := range 23 {
				for x := range 37 {
					wt := overlap(xa, xb, x) * overlap(ya, yb, y)
					total += wt
					for c := range 3 {
						sum[c] += wt * float64(src.Pix[y*src.Stride+x*4+c])
					}
				}
			}
			g := got.NRGBAAt(i, j)
			for c, v := range []uint8{g.R, g.G, g.B} {
				want := int(sum[c] / total)
				switch d := int(v) - want; {
				case d == 0:
					exact++
				case d < -1 || d > 1:
					t.Errorf("pixel %d,%d channel %d = %d, want %d", i, j, c, v, want)
				}
			}
			if g.A != 255 {
				t.Errorf("pixel %d,%d alpha %d", i, j, g.A)
			}
		}
	}
	if exact < dw*dh*3*9/10 {
		t.Errorf("only %d of %d channels exact", exact, dw*dh*3)
	}
}
