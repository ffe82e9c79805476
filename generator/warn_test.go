package generator

import (
	"bytes"
	"testing"

	"github.com/v8assets/v8assets/internal/fixture"
)

// libjpeg warns about stray bytes before the end marker but decodes the
// picture; such files (v8's GD accepted them) must keep working.
func TestJPEGWithStrayBytesDecodes(t *testing.T) {
	b := fixture.JPEG(fixture.Photo(400, 300, 2), 90)
	i := bytes.LastIndex(b, []byte{0xFF, 0xD9})
	stray := append(append(append([]byte{}, b[:i]...), 0x12, 0x34, 0x56), b[i:]...)
	img, err := decodeJPEG(stray, 100, 100, false)
	if err != nil {
		t.Fatalf("stray bytes refused: %v", err)
	}
	if img.Bounds().Dx() < 100 {
		t.Errorf("size %v", img.Bounds())
	}
	if _, err := decodeJPEG(b[:len(b)/2], 100, 100, false); err == nil {
		t.Error("truncated JPEG accepted")
	}
}

// Damaged entropy data in a complete file is decoded as libjpeg recovers it
// (v8's GD accepted such files) without a second, full-size decode; a file
// cut short is refused.
func TestJPEGDamagedButComplete(t *testing.T) {
	if !Native {
		t.Skip("image/jpeg refuses damaged entropy data")
	}
	b := fixture.JPEG(fixture.Photo(800, 600, 3), 90)
	damaged := append([]byte{}, b...)
	sos := bytes.LastIndex(damaged, []byte{0xFF, 0xDA})
	for i := sos + 400; i < sos+460; i++ {
		if damaged[i] != 0xFF && damaged[i-1] != 0xFF {
			damaged[i] ^= 0x5A
		}
	}
	if !jpegComplete(damaged) || jpegComplete(b[:len(b)*2/3]) {
		t.Fatal("jpegComplete misjudges")
	}
	img, err := decodeJPEG(damaged, 100, 100, false)
	if err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("damaged but complete: %v", err)
	}
	if _, err := decodeJPEG(b[:len(b)*2/3], 100, 100, false); err == nil {
		t.Error("truncated JPEG accepted")
	}
}
