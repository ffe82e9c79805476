// Package ssim measures how alike two images look with the structural
// similarity index (Wang, Bovik, Sheikh and Simoncelli, 2004), as the
// benchmarks and tests of the thumbnail encoders use it. It lives apart from
// generator because only measurements need it.
package ssim

import (
	"image"
	"image/color"
	"math"
)

// Of returns the mean SSIM of a and b's luma (BT.601), with the reference
// implementation's 11×11 Gaussian window (σ 1.5) and constants K1 0.01, K2
// 0.03 for 8-bit samples. Pixels are composited over white first, so
// transparency compares as a viewer sees it. It returns 1 for identical
// images and less for worse likeness; images of different sizes, or smaller
// than the window, give NaN.
func Of(a, b image.Image) float64 {
	w, h, ok := comparable(a, b)
	if !ok {
		return math.NaN()
	}
	return planes(luma(a), luma(b), w, h)
}

// Color returns the lower of two SSIMs of a and b: with both composited
// over black, and over white; each is the mean of the SSIMs of the red,
// green and blue planes. Errors in chroma and in alpha, which luma over
// white alone does not see, lower it. NaN as for Of.
func Color(a, b image.Image) float64 {
	w, h, ok := comparable(a, b)
	if !ok {
		return math.NaN()
	}
	worst := math.Inf(1)
	for _, bg := range []float64{0, 255} {
		var sum float64
		for c := range 3 {
			sum += planes(channel(a, c, bg), channel(b, c, bg), w, h)
		}
		worst = min(worst, sum/3)
	}
	return worst
}

func comparable(a, b image.Image) (w, h int, ok bool) {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Dx() != bb.Dx() || ab.Dy() != bb.Dy() || ab.Dx() < window || ab.Dy() < window {
		return 0, 0, false
	}
	return ab.Dx(), ab.Dy(), true
}

// planes returns the mean SSIM of two w×h planes of samples.
func planes(x, y []float64, w, h int) float64 {
	xx, yy, xy := make([]float64, w*h), make([]float64, w*h), make([]float64, w*h)
	for i := range x {
		xx[i], yy[i], xy[i] = x[i]*x[i], y[i]*y[i], x[i]*y[i]
	}
	mx, my := blur(x, w, h), blur(y, w, h)
	sxx, syy, sxy := blur(xx, w, h), blur(yy, w, h), blur(xy, w, h)
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	for i := range mx {
		ux, uy := mx[i], my[i]
		vx, vy, cxy := sxx[i]-ux*ux, syy[i]-uy*uy, sxy[i]-ux*uy
		sum += (2*ux*uy + c1) * (2*cxy + c2) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
	}
	return sum / float64(len(mx))
}

const window = 11

// kernel is the normalised 11-tap Gaussian of σ 1.5.
var kernel = func() [window]float64 {
	var k [window]float64
	var sum float64
	for i := range k {
		d := float64(i - window/2)
		k[i] = math.Exp(-d * d / (2 * 1.5 * 1.5))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// blur filters p (w×h) with the window in both directions and returns the
// (w-10)×(h-10) valid part.
func blur(p []float64, w, h int) []float64 {
	ow, oh := w-window+1, h-window+1
	rows := make([]float64, ow*h)
	for y := range h {
		for x := range ow {
			var s float64
			for k, c := range kernel {
				s += c * p[y*w+x+k]
			}
			rows[y*ow+x] = s
		}
	}
	out := make([]float64, ow*oh)
	for y := range oh {
		for x := range ow {
			var s float64
			for k, c := range kernel {
				s += c * rows[(y+k)*ow+x]
			}
			out[y*ow+x] = s
		}
	}
	return out
}

// channel returns colour c (0 red, 1 green, 2 blue) of img composited
// over a background of value bg.
func channel(img image.Image, c int, bg float64) []float64 {
	return samples(img, func(p color.NRGBA, a float64) float64 {
		return float64([3]uint8{p.R, p.G, p.B}[c])*a + bg*(1-a)
	})
}

// luma returns img's BT.601 luma composited over white.
func luma(img image.Image) []float64 {
	return samples(img, func(p color.NRGBA, a float64) float64 {
		over := func(v uint8) float64 { return float64(v)*a + 255*(1-a) }
		return 0.299*over(p.R) + 0.587*over(p.G) + 0.114*over(p.B)
	})
}

// samples returns f of every pixel of img in row order, given the pixel
// and its alpha in 0..1.
func samples(img image.Image, f func(p color.NRGBA, alpha float64) float64) []float64 {
	b := img.Bounds()
	out := make([]float64, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			out = append(out, f(p, float64(p.A)/255))
		}
	}
	return out
}
