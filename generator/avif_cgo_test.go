//go:build cgo && !purego

package generator

import "testing"

// The map from quality to quantizer goes through its fitted points (their
// values are proven by TestAVIF's SSIM, not repeated here), interpolates
// between them, never rises, clamps outside 1..100, and spans AV1's range:
// quality 1 is quantizer 63 (worst), 100 is 0 (lossless).
func TestAVIFQuantizer(t *testing.T) {
	for i, p := range avifQuality {
		if got := avifQuantizer(p.q); got != p.quantizer {
			t.Errorf("fitted point q%d: %d, want %d", p.q, got, p.quantizer)
		}
		if i == 0 {
			continue
		}
		a := avifQuality[i-1]
		for q := a.q + 1; q < p.q; q++ {
			if got := avifQuantizer(q); got > a.quantizer || got < p.quantizer {
				t.Errorf("q%d between q%d and q%d: %d, outside %d..%d", q, a.q, p.q, got, p.quantizer, a.quantizer)
			}
		}
	}
	for q := 2; q <= 100; q++ {
		if avifQuantizer(q) > avifQuantizer(q-1) {
			t.Fatalf("quantizer rises from q%d to q%d", q-1, q)
		}
	}
	if avifQuantizer(1) != 63 || avifQuantizer(100) != 0 || avifQuantizer(-5) != 63 || avifQuantizer(120) != 0 {
		t.Errorf("ends: q1 %d, q100 %d, q-5 %d, q120 %d; want 63, 0, 63, 0",
			avifQuantizer(1), avifQuantizer(100), avifQuantizer(-5), avifQuantizer(120))
	}
}
