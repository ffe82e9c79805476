package generator

import (
	"fmt"
	"image"
	"testing"
)

// The verified table of spec §5.3 (Intervention 2.7.2 + GD).
func TestGeometryTable(t *testing.T) {
	cases := []struct {
		W, H, w, h int
		box        image.Rectangle // zero: not given in the table
		cw, ch     int
	}{
		{1800, 1200, 200, 200, image.Rect(300, 0, 1500, 1200), 200, 133},
		{100, 50, 200, 200, image.Rect(25, 0, 75, 50), 200, 100},
		{1200, 1800, 200, 200, image.Rect(0, 300, 1200, 1500), 133, 200},
		{1800, 1200, 800, 600, image.Rect(100, 0, 1700, 1200), 800, 533},
		{1800, 1200, 300, 300, image.Rectangle{}, 300, 200},
		{1800, 1200, 64, 64, image.Rectangle{}, 64, 43},
		{800, 838, 800, 600, image.Rect(0, 119, 800, 719), 573, 600},
		{1280, 853, 800, 600, image.Rect(72, 0, 1209, 853), 800, 533},
		{1000, 333, 200, 200, image.Rect(334, 0, 667, 333), 200, 67},
		{1001, 500, 200, 200, image.Rect(250, 0, 750, 500), 200, 100},
		{625, 351, 300, 300, image.Rect(137, 0, 488, 351), 300, 169},
		{3, 1000, 200, 200, image.Rect(0, 499, 3, 502), 1, 200},
		{1000, 3, 200, 200, image.Rect(499, 0, 502, 3), 200, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%dx%d to %dx%d", c.W, c.H, c.w, c.h), func(t *testing.T) {
			box := CropBox(c.W, c.H, c.w, c.h)
			if c.box != (image.Rectangle{}) && box != c.box {
				t.Errorf("crop box = %v, want %v", box, c.box)
			}
			if !box.In(image.Rect(0, 0, c.W, c.H)) || box.Empty() {
				t.Errorf("crop box %v outside the source", box)
			}
			if gw, gh := ContainSize(c.W, c.H, c.w, c.h); gw != c.cw || gh != c.ch {
				t.Errorf("contain = %dx%d, want %dx%d", gw, gh, c.cw, c.ch)
			}
		})
	}
}
