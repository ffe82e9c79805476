//go:build cgo && !purego

package generator

/*
#cgo LDFLAGS: -lspng
#include <stdint.h>
#include <string.h>
#include <spng.h>

// v8_png_view is the PNG in memory as libspng reads it: every ancillary
// chunk but tRNS (the only one that changes the pixels of an RGBA8
// decode) is left out, so text and profile chunks — a few MB that inflate
// to gigabytes, or hundreds of thousands of them — cost nothing, as
// libpng's limits made GD skip them.
struct v8_png_view {
	const uint8_t *buf;
	size_t len, pos, left;
};

static int v8_png_read(spng_ctx *ctx, void *user, void *dest, size_t length) {
	struct v8_png_view *v = user;
	uint8_t *out = dest;
	while (length > 0) {
		if (v->left == 0) {
			if (v->pos == 0) {
				v->left = 8; // the signature
			} else {
				if (v->len - v->pos < 12) return SPNG_IO_EOF;
				const uint8_t *c = v->buf + v->pos;
				size_t n = ((size_t)c[0] << 24 | (size_t)c[1] << 16 | (size_t)c[2] << 8 | c[3]) + 12;
				int ancillary = c[4] & 0x20;
				if (ancillary && memcmp(c + 4, "tRNS", 4) != 0) {
					if (n > v->len - v->pos) return SPNG_IO_EOF;
					v->pos += n;
					continue;
				}
				v->left = n;
			}
		}
		size_t k = length < v->left ? length : v->left;
		if (k > v->len - v->pos) return SPNG_IO_EOF;
		memcpy(out, v->buf + v->pos, k);
		out += k;
		length -= k;
		v->pos += k;
		v->left -= k;
	}
	return 0;
}

// v8_png_shrink decodes a PNG row by row to 8-bit RGBA and box-averages
// each f×f block (in premultiplied alpha) into out, an RGBA image of
// ceil(w/f)×ceil(h/f): only one decoded row (row) and one row of sums
// (sums) exist at a time. The whole decode is one C call, so libspng never
// keeps a pointer to Go memory.
static int v8_png_shrink(const void *buf, size_t len, uint32_t f, uint8_t *out, uint32_t *sums, uint8_t *row,
                         uint32_t w, uint32_t h) {
	spng_ctx *ctx = spng_ctx_new(0);
	if (ctx == NULL) return SPNG_EMEM;
	struct v8_png_view view = {buf, len, 0, 0};
	int rc = spng_set_png_stream(ctx, v8_png_read, &view);
	if (rc == 0) rc = spng_set_image_limits(ctx, w, h);
	// What ancillary chunks still reach libspng (tRNS) stays small: 16 MiB
	// a chunk, 64 MiB in all.
	if (rc == 0) rc = spng_set_chunk_limits(ctx, 16u << 20, 64u << 20);
	struct spng_ihdr ihdr;
	if (rc == 0) rc = spng_get_ihdr(ctx, &ihdr);
	if (rc == 0 && (ihdr.width != w || ihdr.height != h)) rc = SPNG_EWIDTH;
	if (rc == 0) rc = spng_decode_image(ctx, NULL, 0, SPNG_FMT_RGBA8, SPNG_DECODE_PROGRESSIVE | SPNG_DECODE_TRNS);
	uint32_t ow = (w + f - 1) / f;
	memset(sums, 0, (size_t)ow * 4 * sizeof(uint32_t));
	for (uint32_t y = 0; rc == 0 && y < h; y++) {
		int r = spng_decode_row(ctx, row, (size_t)w * 4);
		if (r != 0 && r != SPNG_EOI) { rc = r; break; }
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *p = row + (size_t)x * 4;
			uint32_t *s = sums + (size_t)(x / f) * 4;
			uint32_t a = p[3];
			s[0] += p[0] * a; s[1] += p[1] * a; s[2] += p[2] * a; s[3] += a;
		}
		if ((y + 1) % f == 0 || y == h - 1) {
			uint32_t rows = y % f + 1;
			uint8_t *o = out + (size_t)(y / f) * ow * 4;
			for (uint32_t ox = 0; ox < ow; ox++) {
				uint32_t cols = (ox == ow - 1) ? w - ox * f : f;
				uint32_t n = cols * rows, *s = sums + (size_t)ox * 4;
				o[ox * 4 + 0] = (uint8_t)((s[0] / 255 + n / 2) / n);
				o[ox * 4 + 1] = (uint8_t)((s[1] / 255 + n / 2) / n);
				o[ox * 4 + 2] = (uint8_t)((s[2] / 255 + n / 2) / n);
				o[ox * 4 + 3] = (uint8_t)((s[3] + n / 2) / n);
			}
			memset(sums, 0, (size_t)ow * 4 * sizeof(uint32_t));
		}
		if (r == SPNG_EOI && y != h - 1) { rc = SPNG_EOI; break; }
	}
	spng_ctx_free(ctx);
	return rc;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// streamsPNG reports whether this build decodes PNG row by row.
const streamsPNG = true

// maxShrinkFactor keeps the premultiplied sums of one block within 32 bits
// (255 × 255 × f² < 2³²).
const maxShrinkFactor = 256

// decodePNGShrunk decodes a non-interlaced PNG of w×h pixels with libspng,
// one row at a time, box-averaged by the integer factor f: what exists in
// memory is one row, one row of sums and the shrunk image.
func decodePNGShrunk(b []byte, w, h, f int) (image.Image, error) {
	if len(b) == 0 || w < 1 || h < 1 {
		return nil, errors.New("png: empty")
	}
	f = max(1, min(f, maxShrinkFactor))
	ow, oh := (w+f-1)/f, (h+f-1)/f
	img := image.NewRGBA(image.Rect(0, 0, ow, oh))
	sums := make([]uint32, ow*4)
	row := make([]byte, w*4)
	rc := C.v8_png_shrink(unsafe.Pointer(&b[0]), C.size_t(len(b)), C.uint32_t(f),
		(*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), (*C.uint32_t)(unsafe.Pointer(&sums[0])),
		(*C.uint8_t)(unsafe.Pointer(&row[0])), C.uint32_t(w), C.uint32_t(h))
	if rc != 0 {
		return nil, fmt.Errorf("png: %s", C.GoString(C.spng_strerror(rc)))
	}
	return img, nil
}
