//go:build cgo && !purego

package generator

/*
#cgo LDFLAGS: -lturbojpeg -lwebp
#include <stdlib.h>
#include <turbojpeg.h>
#include <webp/encode.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"io"
	"unsafe"
)

// Native reports whether this build decodes JPEG with libjpeg-turbo's DCT
// scaling and encodes JPEG and WebP with the C libraries.
const Native = true

// decodeJPEG decodes a JPEG at the largest reduction among 1/2, 1/4 and 1/8
// whose result is still at least minW×minH, using libjpeg-turbo's DCT-domain
// scaling: a 6000×4000 photo wanted at 200×200 is decoded at 750×500 and
// never exists at full size in memory, warnings or not. CMYK and YCCK
// JPEGs are scaled the same way and converted to RGB.
// With accurate the IDCT and chroma upsampling are libjpeg's exact ones.
func decodeJPEG(b []byte, minW, minH int, accurate bool) (image.Image, error) {
	if len(b) == 0 {
		return nil, errors.New("empty JPEG")
	}
	h := C.tjInitDecompress()
	if h == nil {
		return nil, errors.New("tjInitDecompress failed")
	}
	defer C.tjDestroy(h)
	src := (*C.uchar)(unsafe.Pointer(&b[0]))
	var w0, h0, subsamp, colorspace C.int
	if C.tjDecompressHeader3(h, src, C.ulong(len(b)), &w0, &h0, &subsamp, &colorspace) != 0 {
		return nil, fmt.Errorf("jpeg header: %s", C.GoString(C.tjGetErrorStr2(h)))
	}
	cmyk := colorspace == C.TJCS_CMYK || colorspace == C.TJCS_YCCK
	W, H := int(w0), int(h0)
	denom := 1
	for _, d := range []int{8, 4, 2} {
		if ceilDiv(W, d) >= minW && ceilDiv(H, d) >= minH {
			denom = d
			break
		}
	}
	sw, sh := ceilDiv(W, denom), ceilDiv(H, denom)
	img := image.NewRGBA(image.Rect(0, 0, sw, sh))
	// Fast IDCT and chroma upsampling: their loss is invisible once the
	// picture is resampled down to a thumbnail, and they save ~10%.
	flags := C.int(C.TJFLAG_FASTDCT | C.TJFLAG_FASTUPSAMPLE)
	if accurate {
		flags = 0
	}
	// A progressive file of thousands of empty scans costs a full pass
	// over the picture each: past libjpeg-turbo's limit (500) it is an
	// error, not a minute of CPU.
	flags |= C.TJFLAG_LIMITSCANS
	format := C.int(C.TJPF_RGBA)
	if cmyk {
		format = C.TJPF_CMYK
	}
	rc := C.tjDecompress2(h, src, C.ulong(len(b)), (*C.uchar)(unsafe.Pointer(&img.Pix[0])),
		C.int(sw), C.int(img.Stride), C.int(sh), format, flags)
	if rc != 0 {
		if C.tjGetErrorCode(h) == C.TJERR_FATAL {
			return nil, fmt.Errorf("jpeg: %s", C.GoString(C.tjGetErrorStr2(h)))
		}
		// A warning still leaves a decoded image: stray bytes before a
		// marker or damaged entropy data that libjpeg papered over, as
		// v8's GD accepted them — or a truncated file whose missing part
		// libjpeg invented, which is refused. Truncation is told from the
		// bytes, not by decoding again: entropy-coded data escapes every
		// 0xFF, so an end-of-image marker after the last start-of-scan
		// exists only in a complete file.
		if !jpegComplete(b) {
			return nil, errors.New("jpeg: premature end of data")
		}
	}
	if cmyk {
		cmykToRGBA(img.Pix)
	}
	return img, nil
}

// cmykToRGBA turns libjpeg's CMYK samples, stored inverted as Adobe
// writes them (255: no ink), into opaque RGBA in place, with the formula
// of image/jpeg and color.CMYKToRGB.
func cmykToRGBA(pix []byte) {
	for i := 0; i+3 < len(pix); i += 4 {
		k := uint32(pix[i+3]) * 0x101
		for c := range 3 {
			pix[i+c] = uint8(uint32(pix[i+c]) * 0x101 * k / 0xffff >> 8)
		}
		pix[i+3] = 0xff
	}
}

// encodeJPEG writes img as a baseline 4:2:0 JPEG at quality q, with
// libjpeg's accurate integer DCT when accurate is set (what GD's imagejpeg
// used).
func encodeJPEG(w io.Writer, img *image.RGBA, q int, accurate bool) error {
	h := C.tjInitCompress()
	if h == nil {
		return errors.New("tjInitCompress failed")
	}
	defer C.tjDestroy(h)
	var out *C.uchar
	var size C.ulong
	b := img.Bounds()
	rc := C.tjCompress2(h, (*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(b.Dx()), C.int(img.Stride), C.int(b.Dy()),
		C.TJPF_RGBA, &out, &size, C.TJSAMP_420, C.int(q), encodeFlags(accurate))
	if out != nil {
		defer C.tjFree(out)
	}
	if rc != 0 {
		return fmt.Errorf("jpeg encode: %s", C.GoString(C.tjGetErrorStr2(h)))
	}
	_, err := w.Write(C.GoBytes(unsafe.Pointer(out), C.int(size)))
	return err
}

func encodeFlags(accurate bool) C.int {
	if accurate {
		return C.TJFLAG_ACCURATEDCT
	}
	return 0
}

// encodeWebP writes img as a lossy WebP at quality q, keeping alpha.
func encodeWebP(w io.Writer, img *image.NRGBA, q int) error {
	var out *C.uint8_t
	b := img.Bounds()
	size := C.WebPEncodeRGBA((*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), C.int(b.Dx()), C.int(b.Dy()),
		C.int(img.Stride), C.float(q), &out)
	if out != nil {
		defer C.WebPFree(unsafe.Pointer(out))
	}
	if size == 0 {
		return errors.New("webp encode failed")
	}
	_, err := w.Write(C.GoBytes(unsafe.Pointer(out), C.int(size)))
	return err
}
