//go:build cgo && !purego

package generator

import "testing"

func TestAVIFQuantizer(t *testing.T) {
	tests := []struct {
		name         string
		q, quantizer int
	}{
		{"below range", -5, 63},
		{"worst", 1, 63},
		{"fitted point", 80, 22},
		{"between points", 75, 25},
		{"best", 100, 0},
		{"above range", 120, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := avifQuantizer(tt.q); got != tt.quantizer {
				t.Errorf("avifQuantizer(%d) = %d, want %d", tt.q, got, tt.quantizer)
			}
		})
	}
	for q := 2; q <= 100; q++ {
		if avifQuantizer(q) > avifQuantizer(q-1) {
			t.Fatalf("quantizer rises from q%d to q%d", q-1, q)
		}
	}
}
