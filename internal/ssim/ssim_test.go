package ssim

import (
	"image"
	"math"
	"testing"
)

func noise(w, h int, seed uint32, amp int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	s := seed
	for i := 0; i < len(img.Pix); i += 4 {
		s = s*1664525 + 1013904223
		v := uint8(128 + int(s>>24)%(2*amp+1) - amp)
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = v, v, v, 255
	}
	return img
}

func TestOf(t *testing.T) {
	base := noise(64, 48, 1, 60)
	flat := image.NewNRGBA(base.Bounds())
	for i := range flat.Pix {
		flat.Pix[i] = 128
		if i%4 == 3 {
			flat.Pix[i] = 255
		}
	}
	slight := image.NewNRGBA(base.Bounds())
	copy(slight.Pix, base.Pix)
	for i := 0; i < len(slight.Pix); i += 4 * 7 {
		slight.Pix[i] += 8
	}
	clear := image.NewNRGBA(base.Bounds()) // fully transparent: white over white
	white := image.NewNRGBA(base.Bounds())
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	tests := []struct {
		name   string
		a, b   image.Image
		lo, hi float64
	}{
		{"identical", base, base, 1, 1},
		{"one pixel in 7 redder", base, slight, 0.99, 0.9999},
		{"unrelated noise", base, noise(64, 48, 2, 60), -0.2, 0.2},
		{"structure against flat", base, flat, -0.1, 0.1},
		{"transparent is white", clear, white, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.a, tt.b)
			if math.Abs(got-Of(tt.b, tt.a)) > 1e-12 {
				t.Errorf("not symmetric: %v vs %v", got, Of(tt.b, tt.a))
			}
			if got < tt.lo-1e-12 || got > tt.hi+1e-12 {
				t.Errorf("SSIM = %.6f, want in [%v, %v]", got, tt.lo, tt.hi)
			}
		})
	}
	if v := Of(base, noise(63, 48, 1, 60)); !math.IsNaN(v) {
		t.Errorf("different sizes gave %v, want NaN", v)
	}
	if v := Of(image.NewGray(image.Rect(0, 0, 5, 5)), image.NewGray(image.Rect(0, 0, 5, 5))); !math.IsNaN(v) {
		t.Errorf("smaller than the window gave %v, want NaN", v)
	}
}

// Color sees what luma over white misses: a hue shift at equal luma, and
// alpha that differs only over black.
func TestColor(t *testing.T) {
	// Red and blue of two unrelated noises.
	base, other := noise(64, 48, 3, 60), noise(64, 48, 4, 60)
	for i := 0; i < len(base.Pix); i += 4 {
		base.Pix[i+1], base.Pix[i+2] = 128, other.Pix[i]
	}
	if got := Color(base, base); got != 1 {
		t.Errorf("identical: %v", got)
	}
	// Swap red and blue around their mean luma: luma nearly unchanged.
	swapped := image.NewNRGBA(base.Bounds())
	copy(swapped.Pix, base.Pix)
	for i := 0; i < len(swapped.Pix); i += 4 {
		swapped.Pix[i], swapped.Pix[i+2] = swapped.Pix[i+2], swapped.Pix[i]
	}
	if l, c := Of(base, swapped), Color(base, swapped); c >= l-0.05 {
		t.Errorf("red and blue swapped: luma SSIM %.4f, colour SSIM %.4f; colour should be far lower", l, c)
	}
	// White, opaque against white, transparent: equal over white only.
	white := image.NewNRGBA(base.Bounds())
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	clear := image.NewNRGBA(base.Bounds())
	if l, c := Of(white, clear), Color(white, clear); l != 1 || c > 0.1 {
		t.Errorf("opaque white against transparent: luma over white %.4f, colour (worst background) %.4f", l, c)
	}
}
