package middleware

import (
	"net/http"
	"testing"
)

func TestAccepts(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   bool
	}{
		{"listed", []string{"image/avif,image/webp,*/*"}, true},
		{"second header line", []string{"text/html", "image/avif"}, true},
		{"absent", nil, false},
		{"only */*", []string{"*/*"}, false},
		{"only image/*", []string{"image/*;q=1"}, false},
		{"q=0", []string{"image/avif;q=0"}, false},
		{"q=0.000", []string{"image/avif; q=0.000"}, false},
		{"q=0.", []string{"image/avif;q=0."}, false},
		{"q=0.001", []string{"image/avif;q=0.001"}, true},
		{"q=1.000", []string{"image/avif;q=1.000"}, true},
		{"Q upper case", []string{"image/avif;Q=0"}, false},
		{"spaces", []string{" image/avif ; q=0.5 , */*"}, true},
		{"other parameters", []string{"image/avif;level=2;q=0.4"}, true},
		{"type case", []string{"Image/AVIF"}, true},
		{"malformed q skipped", []string{"image/avif;q=high"}, false},
		{"q above 1 skipped", []string{"image/avif;q=1.5"}, false},
		{"q with four decimals skipped", []string{"image/avif;q=0.1234"}, false},
		{"malformed q beside a good one", []string{"image/avif;q=x, image/avif;q=0.3"}, true},
		{"prefix is not the type", []string{"image/avifx, image/avi"}, false},
		{"q=0 beside q>0", []string{"image/avif;q=0, image/avif"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accepts(tt.accept, "image/avif"); got != tt.want {
				t.Errorf("accepts(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}

func TestAddVary(t *testing.T) {
	tests := []struct {
		name   string
		before []string
		want   []string
	}{
		{"none", nil, []string{"Accept"}},
		{"CORS's Origin", []string{"Origin"}, []string{"Origin, Accept"}},
		{"two lines", []string{"Origin", "Cookie"}, []string{"Origin, Cookie, Accept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.before {
				h.Add("Vary", v)
			}
			addVary(h, "Accept")
			if got := h.Values("Vary"); len(got) != len(tt.want) || got[0] != tt.want[0] {
				t.Errorf("Vary = %q, want %q", got, tt.want)
			}
		})
	}
}
