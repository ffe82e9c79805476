package generator

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
)

// Header is what the first bytes of an original say about it.
type Header struct {
	// Format is image.DecodeConfig's name: jpeg, png, gif or webp.
	Format        string
	Width, Height int
	// BitDepth is the bits per sample (PNG: 1 to 16; 8 for the others).
	BitDepth int
	// PNG only: the colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha,
	// 6 RGBA) and whether the image is Adam7-interlaced.
	ColorType  int
	Interlaced bool
	// coefficients is, for a progressive JPEG, how many DCT coefficients
	// the decoder holds for the whole picture until its last scan,
	// whatever the scale it decodes at.
	coefficients int64
}

// Prefix sizes: most headers fit in the first read; a JPEG whose frame
// header follows large EXIF or ICC segments gets more, up to the last (GD
// read the whole file, so any such JPEG v8 thumbnailed must be read as far
// as max_source_bytes allows).
var prefixSizes = []int{64 << 10, 1 << 20, 8 << 20, 64 << 20, 1 << 30}

// readHeader reads as few bytes of r, an original of size bytes, as it
// takes to learn its Header and returns them too, in a buffer with room
// for the rest of the file (reading it then needs no second copy). A file
// that is no image of a known kind is refused as v8 refused it, after at
// most the last prefix size.
func readHeader(r io.Reader, size int64) (Header, []byte, error) {
	var buf []byte
	for i, prefix := range prefixSizes {
		// Never more than the file, plus bytes.Buffer's read margin.
		want := int(min(int64(prefix), max(size, int64(len(buf)))))
		next := make([]byte, len(buf), int64(want)+bytes.MinRead)
		copy(next, buf)
		n, err := io.ReadFull(r, next[len(buf):want])
		buf = next[:len(buf)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || int64(len(buf)) >= size
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, buf, fmt.Errorf("read original: %w", err)
		}
		h, herr := parseHeader(buf)
		if herr == nil {
			return h, buf, nil
		}
		// Only a header cut short by the prefix is worth a longer read.
		if eof || i == len(prefixSizes)-1 || !errors.Is(herr, io.ErrUnexpectedEOF) {
			return Header{}, buf, unprocessable(msgUndecodable, herr)
		}
	}
	panic("unreachable")
}

// parseHeader returns the Header of an image whose first bytes are b.
func parseHeader(b []byte) (Header, error) {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xD8 {
		f, err := parseJPEGFrame(b)
		if err != nil {
			return Header{}, err
		}
		h := Header{Format: "jpeg", Width: f.width, Height: f.height, BitDepth: 8}
		if f.progressive {
			h.coefficients = f.samples
		}
		return h, nil
	}
	cfg, kind, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return Header{}, err
	}
	h := Header{Format: kind, Width: cfg.Width, Height: cfg.Height, BitDepth: 8}
	if kind == "png" && len(b) >= 29 {
		// IHDR: width, height, bit depth, colour type, compression,
		// filter, interlace, right after the 8-byte signature and the
		// chunk's length and type.
		h.BitDepth, h.ColorType, h.Interlaced = int(b[24]), int(b[25]), b[28] == 1
	}
	return h, nil
}

// estimateOverhead covers what no formula below names: codec state, zlib
// windows, small buffers.
const estimateOverhead = 4 << 20

// Estimate returns an upper bound of the bytes generating job from an
// original described by h (srcSize bytes long) allocates at its peak: the
// original's bytes, the decoded image at the scale actually decoded, the
// crop copy when one is needed, the two resampling passes, and the encoder's
// buffers, plus a fixed overhead.
func Estimate(h Header, srcSize int64, job Job) int64 {
	W, H := int64(h.Width), int64(h.Height)
	tw, th := int64(job.Width), int64(job.Height)
	if job.Contain {
		cw, ch := ContainSize(h.Width, h.Height, job.Width, job.Height)
		tw, th = int64(cw), int64(ch)
	}
	decoded := W * H * decodedBytesPerPixel(h)
	// rows is how many source rows reach the resampler.
	rows := H
	switch {
	case h.Format == "jpeg":
		decoded = jpegDecodeBytes(h, job)
		rows = int64(math.Ceil(float64(H) / float64(jpegDenominator(h, job))))
	case streamable(h):
		minW, minH := minDecodeSize(h.Width, h.Height, job)
		f := int64(shrinkFactor(h.Width, h.Height, max(minW, minH), max(minW, minH)))
		ow, oh := (W+f-1)/f, (H+f-1)/f
		// One decoded row, one row of sums, the shrunk image.
		decoded = W*4 + ow*16 + ow*oh*4
		rows = oh
	}
	if h.Format == "png" && h.Interlaced {
		// image/png decodes each Adam7 pass into an image of its own
		// before merging them.
		decoded *= 2
	}
	// The crop box, when the decoded type cannot be sliced in place, is
	// copied to RGBA; bound it by the whole decoded picture at 4 bytes.
	crop := W * H * 4
	if h.Format == "jpeg" && Native || streamable(h) {
		crop = 0 // decoded to RGBA, which slices in place
	}
	// nfnt/resize: a horizontal pass to tw × (source rows), then a vertical
	// pass to tw × th, in the decoded image's own type.
	bpp := resampleBytesPerPixel(h)
	resample := tw*rows*bpp + tw*th*bpp
	// Encoders: an RGBA or NRGBA copy of the result and the output bytes.
	enc := tw * th * 4 * 2
	if job.Format == "avif" {
		// libavif's YUV planes and libaom's encoder state, in C memory:
		// peak RSS grew by 17 MB for an 800×600 AVIF, 88 MB for 2000×2000
		// and 330 MB for 4000×4000.
		enc += tw*th*24 + 8<<20
	}
	return srcSize + decoded + crop + resample + enc + estimateOverhead
}

// resampleBytesPerPixel returns the bytes per pixel of nfnt/resize's
// intermediate and result images for h's decoded type: 4 for 8-bit RGBA,
// NRGBA and YCbCr, 8 for 16-bit images and for the types it handles
// generically (palette, YCbCr with alpha).
func resampleBytesPerPixel(h Header) int64 {
	switch {
	case streamable(h), h.Format == "jpeg":
		return 4
	case h.Format == "png" && h.BitDepth <= 8 && h.ColorType != 3:
		return 4
	}
	return 8
}

// decodedBytesPerPixel returns the bytes per pixel of the image Go's
// decoders return for h.
func decodedBytesPerPixel(h Header) int64 {
	switch h.Format {
	case "gif":
		return 1
	case "webp":
		return 3 // YCbCr 4:2:0 (1.5) with an alpha plane (1), rounded up
	case "avif":
		// libavif's planes (up to 4:4:4 with alpha at 16 bits: 8), the AV1
		// decoder's frame of the same size, and the RGBA copy (4), rounded
		// up.
		return 20
	case "png":
		switch {
		case h.ColorType == 3:
			return 1
		case h.ColorType == 0 && h.BitDepth <= 8:
			return 1
		case h.ColorType == 0:
			return 2
		case h.BitDepth == 16:
			return 8
		}
		return 4
	}
	return 4
}

// streamable reports whether h is decoded row by row (decodePNGShrunk):
// non-interlaced truecolour or grey+alpha PNG in the native build. Grey and
// palette PNGs, small already in image/png, keep their own image types.
func streamable(h Header) bool {
	return streamsPNG && h.Format == "png" && !h.Interlaced && (h.ColorType == 2 || h.ColorType == 4 || h.ColorType == 6)
}

// shrinkFactor returns the integer box pre-shrink of a w×h PNG that keeps it
// at least twice minW×minH, so the resampler still has pixels to work with.
func shrinkFactor(w, h, minW, minH int) int {
	return max(1, min(w/max(2*minW, 1), h/max(2*minH, 1)))
}

// minDecodeSize returns how large the whole W×H picture must be decoded
// for job's box to still cover the target (v8MinScale times that in the v8
// rendering).
func minDecodeSize(W, H int, job Job) (int, int) {
	box, tw, th := placement(W, H, job)
	if box.Dx() == 0 || box.Dy() == 0 {
		return W, H
	}
	minW := int(math.Ceil(float64(W) * float64(tw) / float64(box.Dx())))
	minH := int(math.Ceil(float64(H) * float64(th) / float64(box.Dy())))
	if job.Rendering == RenderV8 {
		minW, minH = minW*v8MinScale, minH*v8MinScale
	}
	return minW, minH
}

// jpegDenominator returns the DCT scale the native decoder will use.
func jpegDenominator(h Header, job Job) int {
	if !Native {
		return 1
	}
	W, H := h.Width, h.Height
	minW, minH := minDecodeSize(h.Width, h.Height, job)
	// Orientation may swap the axes: take the stricter of both.
	minW, minH = max(minW, minH), max(minW, minH)
	for _, d := range []int{8, 4, 2} {
		if ceilDiv(W, d) >= minW && ceilDiv(H, d) >= minH {
			return d
		}
	}
	return 1
}

// jpegDecodeBytes bounds a JPEG decode: the RGBA picture at the DCT scale
// (native build); pure Go decodes at full size, as YCbCr or CMYK (4 bytes a
// pixel at most). A progressive file adds its whole-picture coefficients:
// 2 bytes each in libjpeg-turbo, a 4-byte int in image/jpeg.
func jpegDecodeBytes(h Header, job Job) int64 {
	W, H := int64(h.Width), int64(h.Height)
	if !Native {
		return W*H*4 + h.coefficients*4
	}
	d := int64(jpegDenominator(h, job))
	return ((W+d-1)/d)*((H+d-1)/d)*4 + h.coefficients*2
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// pngUsedChunks returns the PNG b without the ancillary chunks but tRNS,
// the only one decoding uses: image/png spends a 4 KiB buffer on each chunk
// it skips, so 200,000 text chunks cost it 800 MB of garbage. Chunks are
// kept as they are (the decoder checks their CRCs); a chunk running past
// the end is kept, for the decoder to report.
func pngUsedChunks(b []byte) io.Reader {
	const sig = 8
	if len(b) < sig {
		return bytes.NewReader(b)
	}
	parts := []io.Reader{bytes.NewReader(b[:sig])}
	start := sig // of the run of kept chunks
	for i := sig; i+12 <= len(b); {
		n := int64(b[i])<<24 | int64(b[i+1])<<16 | int64(b[i+2])<<8 | int64(b[i+3])
		end := int64(i) + 12 + n
		if end > int64(len(b)) {
			break
		}
		if b[i+4]&0x20 != 0 && string(b[i+4:i+8]) != "tRNS" {
			if start < i {
				parts = append(parts, bytes.NewReader(b[start:i]))
			}
			start = int(end)
		}
		i = int(end)
	}
	parts = append(parts, bytes.NewReader(b[start:]))
	return io.MultiReader(parts...)
}
