package generator

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"math"

	"github.com/nfnt/resize"
	_ "golang.org/x/image/webp" // registers the WebP decoder

	"github.com/v8assets/v8assets/v8err"
)

func unprocessable(msg string, cause error) error { return v8err.Wrap(v8err.Unprocessable, msg, cause) }

// nonImageMessages are the messages v8 (with Imagick) gave when asked to
// encode a thumbnail in a non-image format (spec §4.6, Q22).
var nonImageMessages = map[string]string{
	"pdf":  "Encoding format (pdf) is not supported.",
	"svg":  "Encoding format (svg) is not supported.",
	"tif":  "TIFF format is not supported by Gd Driver.",
	"tiff": "TIFF format is not supported by Gd Driver.",
	"psd":  "PSD format is not supported by Gd Driver.",
}

var nonImageSources = map[string]bool{"pdf": true, "svg": true, "tif": true, "tiff": true, "psd": true}

// Render makes the thumbnail job describes from the original's bytes src and
// writes it to out; job.Source and job.Path are not used. It decodes, applies
// orientation and v8's geometry, resamples and encodes, checking ctx between
// the expensive steps. Errors are as for Generator.Thumbnail, plus ctx's.
func Render(ctx context.Context, src []byte, job Job, out io.Writer) error {
	return render(ctx, src, job, out, true)
}

// render is Render; stream false decodes PNG whole with image/png even where
// it could stream, for comparisons.
func render(ctx context.Context, src []byte, job Job, out io.Writer, stream bool) error {
	if err := precheck(job); err != nil {
		return err
	}
	hdr, err := parseHeader(src)
	if err != nil {
		return unprocessable(msgUndecodable, err)
	}
	kind := hdr.Format
	if err := checkPixels(hdr.Width, hdr.Height, job); err != nil {
		return err
	}
	if job.Quality < 0 || job.Quality > 100 {
		return unprocessable("Quality must range from 0 to 100.", nil)
	}
	if kind == "jpeg" && jpegScans(src) > maxJPEGScans {
		return unprocessable(msgUndecodable, fmt.Errorf("jpeg: more than %d scans", maxJPEGScans))
	}
	orientation := 1
	if job.AutoOrient && kind == "jpeg" {
		orientation = jpegOrientation(src)
	}
	W, H := hdr.Width, hdr.Height
	if swapsAxes(orientation) {
		W, H = H, W
	}
	box, tw, th := placement(W, H, job)
	if int64(tw)*int64(th) > job.MaxSourcePixels {
		return unprocessable(fmt.Sprintf("Thumbnail is too large: %dx%d exceeds %d pixels.", tw, th, job.MaxSourcePixels), nil)
	}
	if job.Format == "avif" && Native && !CanEncodeAt("avif", tw, th) {
		return errAVIFTooLarge(tw, th)
	}

	// The whole picture must decode at least this large for the box to
	// still cover tw×th.
	minW, minH := minDecodeSize(W, H, job)
	v8 := job.Rendering == RenderV8
	if swapsAxes(orientation) {
		minW, minH = minH, minW
	}
	var img image.Image
	switch {
	case kind == "jpeg":
		img, err = decodeJPEG(src, minW, minH, v8)
	case stream && streamable(hdr):
		img, err = decodePNGShrunk(src, hdr.Width, hdr.Height, shrinkFactor(hdr.Width, hdr.Height, minW, minH))
	case kind == "png":
		img, err = png.Decode(pngUsedChunks(src))
	default:
		img, _, err = image.Decode(bytes.NewReader(src))
	}
	if err != nil {
		return unprocessable(msgUndecodable, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	img = orient(img, orientation)

	// Map the box from full-size coordinates onto the decoded image.
	b := img.Bounds()
	sx, sy := float64(b.Dx())/float64(W), float64(b.Dy())/float64(H)
	if v8 {
		// GD's average over the exact, possibly fractional, box.
		resized := gdResample(img, float64(b.Min.X)+float64(box.Min.X)*sx, float64(b.Min.Y)+float64(box.Min.Y)*sy,
			float64(box.Dx())*sx, float64(box.Dy())*sy, tw, th, kind == "jpeg")
		if err := ctx.Err(); err != nil {
			return err
		}
		var pal *image.Paletted
		if p, ok := img.(*image.Paletted); ok {
			pal = p
		}
		return encode(out, resized, job, pal)
	}
	r := image.Rect(
		b.Min.X+int(math.Round(float64(box.Min.X)*sx)), b.Min.Y+int(math.Round(float64(box.Min.Y)*sy)),
		b.Min.X+int(math.Round(float64(box.Max.X)*sx)), b.Min.Y+int(math.Round(float64(box.Max.Y)*sy)),
	).Intersect(b)
	if r.Empty() {
		r = b
	}
	if r != b {
		img = subImage(img, r)
	}
	var pal *image.Paletted
	if p, ok := img.(*image.Paletted); ok {
		pal = p
	}
	resized := resize.Resize(uint(tw), uint(th), img, resize.Lanczos3)
	if err := ctx.Err(); err != nil {
		return err
	}
	return encode(out, resized, job, pal)
}

// precheck refuses what v8 refused before looking at any bytes: output in a
// non-image format, and non-image originals (spec §4.6).
func precheck(job Job) error {
	if msg, ok := nonImageMessages[job.Format]; ok {
		return unprocessable(msg, nil)
	}
	if nonImageSources[job.SourceExt] {
		return unprocessable("Image source not readable", nil)
	}
	return nil
}

// checkPixels refuses originals of more than job.MaxSourcePixels pixels.
func checkPixels(w, h int, job Job) error {
	if px := int64(w) * int64(h); px > job.MaxSourcePixels {
		return unprocessable(fmt.Sprintf("Image is too large: %dx%d exceeds %d pixels.", w, h, job.MaxSourcePixels), nil)
	}
	return nil
}

func subImage(img image.Image, r image.Rectangle) image.Image {
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	rgba := toRGBA(img)
	return rgba.SubImage(r.Sub(img.Bounds().Min))
}

func encode(w io.Writer, img image.Image, job Job, source *image.Paletted) error {
	q := job.Quality
	if q == 0 {
		q = 90 // PHP-falsy quality meant Intervention's default (spec Q4)
	}
	switch job.Format {
	case "jpg", "jpeg":
		return encodeJPEG(w, toRGBA(img), q, job.Rendering == RenderV8)
	case "png":
		// Best speed: 4–5× faster than zlib's default level for thumbnails a
		// few percent larger, and a generated file is written only once.
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		return enc.Encode(w, img)
	case "gif":
		return gif.Encode(w, toPaletted(img, source), &gif.Options{NumColors: 256})
	case "webp":
		return encodeWebP(w, toNRGBA(img), q)
	case "avif":
		if b := img.Bounds(); !CanEncodeAt("avif", b.Dx(), b.Dy()) && Native {
			return errAVIFTooLarge(b.Dx(), b.Dy())
		}
		return encodeAVIF(w, toNRGBA(img), q)
	}
	return unprocessable("Invalid file format.", nil)
}

// AV1's level 6 limits (8192×4352 pixels, 16384 by 8704 at most), past
// which Debian 12's libaom 3.6.0 writes AVIFs that only libaom decodes
// (dav1d, what browsers use, refuses them): larger AVIF thumbnails are
// refused rather than written broken.
const (
	avifMaxPixels = 8192 * 4352
	avifMaxWidth  = 16384
	avifMaxHeight = 8704
)

func errAVIFTooLarge(w, h int) error {
	return unprocessable(fmt.Sprintf("Thumbnail is too large for AVIF: %dx%d exceeds %d pixels.", w, h, avifMaxPixels), nil)
}

// Encode writes img in format (jpg, jpeg, png, gif, webp or avif) at quality
// q, exactly as a thumbnail of the fast rendering is written (q 0 means 90).
// It returns v8's 422 error for any other format, and for WebP and AVIF when
// this build cannot encode them (CanEncode).
func Encode(w io.Writer, img image.Image, format string, q int) error {
	return encode(w, img, Job{Format: format, Quality: q, Rendering: RenderFast}, nil)
}

// CanEncodeAt reports whether this build writes a w×h thumbnail in format:
// CanEncode, and for AVIF no more than AV1's level 6 allows.
func CanEncodeAt(format string, w, h int) bool {
	if format == "avif" && (int64(w)*int64(h) > avifMaxPixels || w > avifMaxWidth || h > avifMaxHeight) {
		return false
	}
	return CanEncode(format)
}

// CanEncode reports whether this build writes thumbnails in format: every
// build writes jpg, jpeg, png and gif; WebP and AVIF need the cgo build.
func CanEncode(format string) bool {
	switch format {
	case "jpg", "jpeg", "png", "gif":
		return true
	case "webp", "avif":
		return Native
	}
	return false
}

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Bounds().Min == (image.Point{}) {
		return n
	}
	b := img.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	return dst
}

// toPaletted maps img onto the source GIF's own palette (or a web-safe one
// for other sources) without dithering: Go's default Plan9 palette with
// Floyd–Steinberg costs ~30× more and changes the colours. Pixels under half
// alpha take the palette's transparent entry when it has one.
func toPaletted(img image.Image, source *image.Paletted) *image.Paletted {
	var pal color.Palette
	if source != nil && len(source.Palette) > 0 {
		pal = source.Palette
	} else {
		pal = append(color.Palette{color.NRGBA{}}, palette.WebSafe...)
	}
	transparent := -1
	for i, c := range pal {
		if _, _, _, a := c.RGBA(); a == 0 {
			transparent = i
			break
		}
	}
	b := img.Bounds()
	dst := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), pal)
	var cache [1 << 15]int16
	for i := range cache {
		cache[i] = -1
	}
	rgba := toNRGBA(img)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			i := rgba.PixOffset(x, y)
			r, g, bl, a := rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3]
			if a < 128 && transparent >= 0 {
				dst.SetColorIndex(x, y, uint8(transparent))
				continue
			}
			key := int(r>>3)<<10 | int(g>>3)<<5 | int(bl>>3)
			if cache[key] < 0 {
				cache[key] = int16(nearest(pal, r, g, bl, transparent))
			}
			dst.SetColorIndex(x, y, uint8(cache[key]))
		}
	}
	return dst
}

func nearest(pal color.Palette, r, g, b uint8, skip int) int {
	best, bestD := 0, math.MaxInt
	for i, c := range pal {
		if i == skip {
			continue
		}
		cr, cg, cb, _ := c.RGBA()
		dr, dg, db := int(cr>>8)-int(r), int(cg>>8)-int(g), int(cb>>8)-int(b)
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = i, d
		}
	}
	return best
}
