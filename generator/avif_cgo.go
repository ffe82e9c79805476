//go:build cgo && !purego

package generator

/*
#cgo LDFLAGS: -lavif
#include <avif/avif.h>

// v8a_avif_encode encodes 8-bit non-premultiplied RGBA as a still 4:2:0
// AVIF with the chosen AV1 encoder. The caller frees out with
// avifRWDataFree. has_alpha 0 leaves the alpha plane out.
static avifResult v8a_avif_encode(uint8_t *rgba, int w, int h, int stride, int has_alpha,
		int quantizer, int speed, int codec, int threads, avifRWData *out) {
	avifImage *image = avifImageCreate(w, h, 8, AVIF_PIXEL_FORMAT_YUV420);
	if (!image) return AVIF_RESULT_OUT_OF_MEMORY;
	avifRGBImage rgb;
	avifRGBImageSetDefaults(&rgb, image);
	rgb.format = AVIF_RGB_FORMAT_RGBA;
	rgb.depth = 8;
	rgb.pixels = rgba;
	rgb.rowBytes = stride;
	rgb.ignoreAlpha = has_alpha ? AVIF_FALSE : AVIF_TRUE;
	avifResult r = avifImageRGBToYUV(image, &rgb);
	if (r != AVIF_RESULT_OK) {
		avifImageDestroy(image);
		return r;
	}
	avifEncoder *enc = avifEncoderCreate();
	if (!enc) {
		avifImageDestroy(image);
		return AVIF_RESULT_OUT_OF_MEMORY;
	}
	enc->codecChoice = (avifCodecChoice)codec;
	enc->speed = speed;
	enc->maxThreads = threads;
	enc->minQuantizer = quantizer;
	enc->maxQuantizer = quantizer;
	enc->minQuantizerAlpha = quantizer;
	enc->maxQuantizerAlpha = quantizer;
	r = avifEncoderWrite(enc, image, out);
	avifEncoderDestroy(enc);
	avifImageDestroy(image);
	return r;
}

// v8a_avif_decode decodes the first image of an AVIF into dst, w*h*4 bytes
// of 8-bit non-premultiplied RGBA; an image of another size than w×h is
// AVIF_RESULT_INVALID_ARGUMENT.
static avifResult v8a_avif_decode(const uint8_t *data, size_t size, uint8_t *dst, uint32_t w, uint32_t h, int threads) {
	avifDecoder *dec = avifDecoderCreate();
	if (!dec) return AVIF_RESULT_OUT_OF_MEMORY;
	dec->ignoreExif = AVIF_TRUE;
	dec->ignoreXMP = AVIF_TRUE;
	dec->maxThreads = threads;
	// The AV1 frame may not be larger than the boxes say (dav1d checks the
	// frame against imageSizeLimit before allocating it): a small ispe over
	// a huge frame would otherwise pass every check made from the header.
	dec->imageSizeLimit = w * h;
	dec->imageDimensionLimit = w > h ? w : h;
	avifResult r = avifDecoderSetIOMemory(dec, data, size);
	if (r == AVIF_RESULT_OK) r = avifDecoderParse(dec);
	if (r == AVIF_RESULT_OK && (dec->image->width != w || dec->image->height != h)) r = AVIF_RESULT_INVALID_ARGUMENT;
	if (r == AVIF_RESULT_OK) r = avifDecoderNextImage(dec);
	if (r == AVIF_RESULT_OK) {
		avifRGBImage rgb;
		avifRGBImageSetDefaults(&rgb, dec->image);
		rgb.format = AVIF_RGB_FORMAT_RGBA;
		rgb.depth = 8;
		rgb.pixels = dst;
		rgb.rowBytes = w * 4;
		r = avifImageYUVToRGB(dec->image, &rgb);
	}
	avifDecoderDestroy(dec);
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"unsafe"
)

// The AV1 encoder and its speed, chosen by measurement (README, "Negotiated
// WebP and AVIF").
const (
	avifCodec = C.AVIF_CODEC_CHOICE_AOM
	avifSpeed = 8
)

func init() {
	image.RegisterFormat("avif", "????ftypavif", decodeAVIF, decodeAVIFConfig)
	image.RegisterFormat("avif", "????ftypavis", decodeAVIF, decodeAVIFConfig)
}

func avifError(r C.avifResult) error {
	return fmt.Errorf("avif: %s", C.GoString(C.avifResultToString(r)))
}

// encodeAVIF writes img as a still AVIF at quality q (1..100), keeping
// alpha when any pixel is not opaque.
func encodeAVIF(w io.Writer, img *image.NRGBA, q int) error {
	b := img.Bounds()
	if b.Empty() {
		return errors.New("avif: empty image")
	}
	var out C.avifRWData
	r := C.v8a_avif_encode((*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), C.int(b.Dx()), C.int(b.Dy()),
		C.int(img.Stride), C.int(boolInt(!img.Opaque())), C.int(avifQuantizer(q)), C.int(avifSpeed),
		C.int(avifCodec), 1, &out)
	defer C.avifRWDataFree(&out)
	if r != C.AVIF_RESULT_OK {
		return avifError(r)
	}
	_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(out.data)), int(out.size)))
	return err
}

// decodeAVIFConfig reads the size from the boxes alone (avifSize), so that
// a header prefix is enough.
func decodeAVIFConfig(r io.Reader) (image.Config, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return image.Config{}, err
	}
	w, h, err := avifSize(b)
	if err != nil {
		return image.Config{}, err
	}
	return image.Config{ColorModel: color.NRGBAModel, Width: w, Height: h}, nil
}

// decodeAVIF decodes an AVIF's first image to 8-bit NRGBA with libavif,
// at the size its boxes give (avifSize; libavif parses the file once and
// refuses an image of another size).
func decodeAVIF(r io.Reader) (image.Image, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	w, h, err := avifSize(b)
	if err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || int64(w)*int64(h) > 1<<28 {
		return nil, fmt.Errorf("avif: bad size %dx%d", w, h)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	if r := C.v8a_avif_decode((*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b)),
		(*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), C.uint32_t(w), C.uint32_t(h), 1); r != C.AVIF_RESULT_OK {
		return nil, avifError(r)
	}
	return img, nil
}

// avifQuality are the points of the map from a JPEG-style quality to AV1's
// quantizer (63 worst .. 0 lossless); qualities between are interpolated.
// They were fitted with `go run ./bench/formats -calibrate` so that an AVIF
// at quality q scores the SSIM of a libjpeg-turbo JPEG at q (README,
// "Negotiated WebP and AVIF").
var avifQuality = []struct{ q, quantizer int }{
	{1, 63}, {30, 40}, {40, 37}, {50, 34}, {60, 31}, {70, 27}, {80, 22}, {85, 17}, {90, 12}, {95, 7}, {100, 0},
}

// avifQuantizer returns the quantizer of quality q, clamped to 1..100.
func avifQuantizer(q int) int {
	q = min(max(q, 1), 100)
	for i := 1; i < len(avifQuality); i++ {
		a, b := avifQuality[i-1], avifQuality[i]
		if q <= b.q {
			return a.quantizer + (b.quantizer-a.quantizer)*(q-a.q)/(b.q-a.q)
		}
	}
	return avifQuality[len(avifQuality)-1].quantizer
}
