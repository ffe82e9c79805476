package generator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// jpegFrame is what a JPEG's frame header (SOFn) says.
type jpegFrame struct {
	width, height int
	components    int
	// progressive is set for SOF2, SOF6, SOF10 and SOF14: the decoder
	// keeps every coefficient of the picture until the last scan.
	progressive bool
	// samples is the number of coefficients of one picture: the blocks of
	// every component at its own sampling, 64 each.
	samples int64
}

// parseJPEGFrame reads the frame header of the JPEG whose first bytes are
// b, skipping whatever segments come before it (EXIF, ICC profiles).
// Unlike image/jpeg it knows every coding, arithmetic included, which
// libjpeg-turbo decodes. A frame header past the end of b is
// io.ErrUnexpectedEOF.
func parseJPEGFrame(b []byte) (jpegFrame, error) {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 {
		return jpegFrame{}, errors.New("jpeg: missing SOI marker")
	}
	for i := 2; ; {
		if i >= len(b) {
			return jpegFrame{}, io.ErrUnexpectedEOF
		}
		if b[i] != 0xFF {
			return jpegFrame{}, fmt.Errorf("jpeg: no marker at byte %d", i)
		}
		// Any number of 0xFF may pad a marker.
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) {
			return jpegFrame{}, io.ErrUnexpectedEOF
		}
		m := b[i]
		i++
		switch {
		case m == 0x01 || m >= 0xD0 && m <= 0xD8:
			continue // no length
		case m == 0xD9 || m == 0xDA:
			return jpegFrame{}, errors.New("jpeg: no frame header before the scan")
		}
		if i+2 > len(b) {
			return jpegFrame{}, io.ErrUnexpectedEOF
		}
		n := int(b[i])<<8 | int(b[i+1])
		if n < 2 {
			return jpegFrame{}, errors.New("jpeg: bad segment length")
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			if i+n > len(b) {
				return jpegFrame{}, io.ErrUnexpectedEOF
			}
			return frameOf(m, b[i+2:i+n])
		}
		i += n
	}
}

func frameOf(marker byte, seg []byte) (jpegFrame, error) {
	if len(seg) < 6 {
		return jpegFrame{}, errors.New("jpeg: short frame header")
	}
	f := jpegFrame{height: int(seg[1])<<8 | int(seg[2]), width: int(seg[3])<<8 | int(seg[4]), components: int(seg[5])}
	f.progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
	if f.width == 0 || f.height == 0 {
		return jpegFrame{}, errors.New("jpeg: zero width or height")
	}
	if f.components != 1 && f.components != 3 && f.components != 4 || len(seg) < 6+3*f.components {
		return jpegFrame{}, fmt.Errorf("jpeg: %d components", f.components)
	}
	hmax, vmax := 1, 1
	for c := range f.components {
		hv := seg[6+3*c+1]
		hmax, vmax = max(hmax, int(hv>>4)), max(vmax, int(hv&15))
	}
	for c := range f.components {
		hv := seg[6+3*c+1]
		h, v := int(hv>>4), int(hv&15)
		if h < 1 || h > 4 || v < 1 || v > 4 {
			return jpegFrame{}, errors.New("jpeg: bad sampling factor")
		}
		bw := ceilDiv(ceilDiv(f.width*h, hmax), 8)
		bh := ceilDiv(ceilDiv(f.height*v, vmax), 8)
		f.samples += int64(bw) * int64(bh) * 64
	}
	return f, nil
}

// maxJPEGScans is libjpeg-turbo's limit on progressive scans (its
// TJFLAG_LIMITSCANS): a real file has ten or so.
const maxJPEGScans = 500

// jpegScans counts the scans (SOS segments) of the JPEG b, walking its
// segments and skipping each scan's entropy-coded data, where every 0xFF
// is escaped; it stops counting past maxJPEGScans.
func jpegScans(b []byte) int {
	n := 0
	for i := 2; i+4 <= len(b) && n <= maxJPEGScans; {
		if b[i] != 0xFF {
			k := bytes.IndexByte(b[i:], 0xFF)
			if k < 0 {
				return n
			}
			i += k
			continue
		}
		m := b[i+1]
		switch {
		case m == 0xFF:
			i++
			continue
		case m == 0x00 || m == 0x01 || m >= 0xD0 && m <= 0xD8:
			i += 2
			continue
		case m == 0xD9:
			return n
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
		if m == 0xDA {
			n++
		}
	}
	return n
}
