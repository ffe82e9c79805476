package generator

import (
	"image"
	"image/color"
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
			got := gdResample(c.src, c.x0, 0, c.w, 1, c.dw, 1)
			for x, want := range c.want {
				if g := got.NRGBAAt(x, 0); g != want {
					t.Errorf("pixel %d = %v, want %v", x, g, want)
				}
			}
		})
	}
}
