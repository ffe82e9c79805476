//go:build !cgo || purego

package generator

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"io"
)

// Native reports whether this build uses the C codecs; this one is pure Go.
const Native = false

// decodeJPEG decodes the whole JPEG with image/jpeg, which cannot scale
// while decoding; minW and minH are ignored.
func decodeJPEG(b []byte, _, _ int, _ bool) (image.Image, error) {
	return jpeg.Decode(bytes.NewReader(b))
}

// encodeJPEG writes img as a baseline 4:2:0 JPEG at quality q; image/jpeg
// has one DCT, so accurate changes nothing.
func encodeJPEG(w io.Writer, img *image.RGBA, q int, _ bool) error {
	return jpeg.Encode(w, img, &jpeg.Options{Quality: q})
}

// encodeWebP fails: there is no WebP encoder in the pure-Go build.
func encodeWebP(io.Writer, *image.NRGBA, int) error {
	return errWebPUnsupported
}

// encodeAVIF fails: there is no AVIF encoder in the pure-Go build.
func encodeAVIF(io.Writer, *image.NRGBA, int) error {
	return errAVIFUnsupported
}

// streamsPNG reports whether this build decodes PNG row by row; the pure-Go
// build decodes it whole with image/png.
const streamsPNG = false

// decodePNGShrunk is never called in the pure-Go build.
func decodePNGShrunk([]byte, int, int, int) (image.Image, error) {
	return nil, errors.New("png streaming needs the cgo build")
}
