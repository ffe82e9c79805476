package generator

import (
	"image"
	"math"
)

// round is PHP's round(): half away from zero.
func round(f float64) int { return int(math.Round(f)) }

// CropBox returns the centred region of a W×H source that v8's crop
// (Intervention fit() with the centre anchor) resampled to exactly w×h
// (spec §5.3).
func CropBox(W, H, w, h int) image.Rectangle {
	ratio := float64(w) / float64(h)
	bw, bh := W, max(1, round(float64(W)/ratio))
	if bh > H {
		bw, bh = max(1, round(float64(H)*ratio)), H
	}
	x, y := W/2-bw/2, H/2-bh/2
	return image.Rect(x, y, x+bw, y+bh)
}

// ContainSize returns the size v8's contain (Intervention resize() with the
// aspect-ratio constraint) produced for a W×H source in a w×h box, keeping
// Intervention's exact sequence of float operations and roundings (§5.3).
func ContainSize(W, H, w, h int) (int, int) {
	r0 := float64(W) / float64(H)
	a1 := max(1, round(float64(h)*r0))
	hA := max(1, round(float64(w)/(float64(a1)/float64(h))))
	b1 := max(1, round(float64(w)/r0))
	wB := max(1, round(float64(h)*(float64(w)/float64(b1))))
	if wB <= w {
		return wB, h
	}
	return w, hA
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// placement returns, for a W×H picture, the part of it job's thumbnail
// shows (the centred crop box, or the whole picture for contain) and the
// thumbnail's size.
func placement(W, H int, job Job) (box image.Rectangle, tw, th int) {
	if job.Contain {
		tw, th = ContainSize(W, H, job.Width, job.Height)
		return image.Rect(0, 0, W, H), tw, th
	}
	return CropBox(W, H, job.Width, job.Height), job.Width, job.Height
}
