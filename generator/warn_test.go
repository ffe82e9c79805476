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
