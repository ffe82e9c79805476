package generator

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"os"
	"os/exec"
	"runtime/debug"
	"testing"

	"github.com/v8assets/v8assets/internal/fixture"
	"github.com/v8assets/v8assets/v8err"
)

// peakGrowth runs f and returns how far this process's peak resident size
// rose above its resident size when f started, Go heap and C heap alike;
// ok is false where the kernel cannot reset the peak.
func peakGrowth(f func()) (growth int64, ok bool) {
	// Free pages go back to the system first, so that what f takes shows
	// as growth rather than reusing resident memory.
	debug.FreeOSMemory()
	if os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) != nil {
		f()
		return 0, false
	}
	status := func(field string) int64 {
		b, _ := os.ReadFile("/proc/self/status")
		return statusField(b, field)
	}
	base := status("VmRSS:")
	// Garbage counts for nothing: the collector keeps the Go heap near
	// what is live (as GOMEMLIMIT does in serve), so that the growth is
	// what the work needs.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(base + 8<<20))
	f()
	return status("VmHWM:") - base, true
}

// avifLyingSize returns an AVIF whose ispe box says 64×64 over a w×h AV1
// frame.
func avifLyingSize(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Encode(&b, image.NewNRGBA(image.Rect(0, 0, w, h)), "avif", 50); err != nil {
		t.Fatal(err)
	}
	a := b.Bytes()
	i := bytes.Index(a, []byte("ispe"))
	if i < 0 {
		t.Fatal("no ispe box")
	}
	// Box type, then version and flags, then width and height.
	binary.BigEndian.PutUint32(a[i+8:], 64)
	binary.BigEndian.PutUint32(a[i+12:], 64)
	return a
}

// arithmeticJPEG returns src recoded with arithmetic coding by libjpeg-turbo's
// jpegtran, which the cgo build's decoder reads (GD's libjpeg did too) and
// image/jpeg does not.
func arithmeticJPEG(t *testing.T, src []byte) []byte {
	t.Helper()
	path, err := exec.LookPath("jpegtran")
	if err != nil {
		t.Fatalf("jpegtran (Debian's libjpeg-turbo-progs, which test.sh installs) is needed: %v", err)
	}
	cmd := exec.Command(path, "-arithmetic")
	cmd.Stdin = bytes.NewReader(src)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jpegtran -arithmetic: %v", err)
	}
	return out
}

// Small, well-formed files that lie about their cost (generated here, each
// a few hundred KB): each is refused, or made within its estimate, in this
// very process.
func TestHostileOriginals(t *testing.T) {
	type outcome int
	const (
		made outcome = iota
		undecodable
	)
	cases := []struct {
		name string
		src  func(t *testing.T) []byte
		ext  string
		want outcome
		// native: only the cgo build's decoders are concerned.
		native bool
	}{
		// libspng never sees text chunks: GD's libpng skipped what
		// exceeded its limits and made the thumbnail.
		{"PNG with 3 GB of zTXt", func(*testing.T) []byte {
			return fixture.TextBombPNG(fixture.HalfTransparent(64, 64), 3, 1000)
		}, "png", made, false},
		{"PNG with 200,000 text chunks", func(*testing.T) []byte {
			src := fixture.PNG(fixture.HalfTransparent(64, 64))
			var b bytes.Buffer
			b.Write(src[:33])
			b.Write(bytes.Repeat(fixture.PNGChunk("tEXt", []byte("a\x00b")), 200_000))
			b.Write(src[33:])
			return b.Bytes()
		}, "png", made, false},
		{"progressive JPEG with 2000 scans", func(*testing.T) []byte {
			return fixture.ProgressiveJPEG(4096, 8192, 1, 2000)
		}, "jpg", undecodable, false},
		{"flat progressive 4096x8192 JPEG", func(*testing.T) []byte {
			return fixture.ProgressiveJPEG(4096, 8192, 1, 1)
		}, "jpg", made, false},
		{"progressive CMYK JPEG", func(*testing.T) []byte {
			return fixture.ProgressiveJPEG(4096, 4096, 4, 1)
		}, "jpg", made, true},
		// GD read the whole file; the header prefix grows until the
		// frame header is found.
		{"JPEG whose frame header follows 9 MiB of metadata", func(*testing.T) []byte {
			src := fixture.JPEG(fixture.Photo(300, 200, 1), 90)
			app := append([]byte{0xFF, 0xE1, 0xFF, 0xFF}, make([]byte, 0xFFFD)...)
			return append(append(src[:2:2], bytes.Repeat(app, 9<<20/len(app)+1)...), src[2:]...)
		}, "jpg", made, false},
		{"arithmetic-coded JPEG", func(t *testing.T) []byte {
			return arithmeticJPEG(t, fixture.JPEG(fixture.Photo(300, 200, 1), 90))
		}, "jpg", made, true},
		{"AVIF whose ispe says 64x64 over 2048x2048", func(t *testing.T) []byte {
			return avifLyingSize(t, 2048, 2048)
		}, "avif", undecodable, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.native && !Native {
				t.Skip("a cgo-build decoder")
			}
			src := c.src(t)
			r := newRoots(t, map[string][]byte{"h." + c.ext: src})
			j := job("h."+c.ext, "jpg", 200, 200, false, 80)
			j.MaxSourcePixels = 50_000_000
			hdr, err := parseHeader(src)
			if err != nil {
				t.Fatal(err)
			}
			est := Estimate(hdr, int64(len(src)), j)
			g := New(Options{MemoryBudget: 1 << 30})
			growth, measured := peakGrowth(func() {
				_, err = g.Thumbnail(context.Background(), r.originals, r.thumbs, j)
			})
			switch e := v8err.As(err); {
			case c.want == made && err != nil:
				t.Fatalf("%d bytes: %v", len(src), err)
			case c.want == undecodable && (e == nil || e.Message != msgUndecodable):
				t.Fatalf("%d bytes: %v, want 422 %q", len(src), err, msgUndecodable)
			}
			t.Logf("%d bytes: estimate %d MiB, peak growth %d MiB, %v", len(src), est>>20, growth>>20, err)
			// The estimate bounds what the process really took, with
			// room for the runtime's own noise.
			if measured && growth > est+16<<20 {
				t.Errorf("peak resident size grew %d MiB, estimate %d MiB", growth>>20, est>>20)
			}
			// Under a budget below the estimate it is refused unread.
			if c.want == made {
				small := New(Options{MemoryBudget: est - 1})
				_, err := small.Thumbnail(context.Background(), r.originals, newRoots(t, nil).thumbs, j)
				if e := v8err.As(err); e == nil || e.Code != v8err.Unprocessable {
					t.Errorf("under a budget of estimate-1: %v", err)
				}
			}
		})
	}
}

// The AVIF terms of the estimate bound what libavif and libaom really take
// (C memory, which no Go heap measure sees): an AVIF original decoded, and
// a thumbnail encoded as AVIF.
func TestEstimateBoundsAVIF(t *testing.T) {
	if !CanEncode("avif") {
		t.Skip("the pure-Go build has no AVIF codec")
	}
	var avif bytes.Buffer
	if err := Encode(&avif, fixture.Photo(1500, 1500, 3), "avif", 60); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		src  []byte
		name string
		job  Job
	}{
		"AVIF 1500x1500 original to a JPEG": {avif.Bytes(), "a.avif", job("a.avif", "jpg", 1500, 1500, false, 80)},
		"JPEG 2000x2000 to an AVIF":         {fixture.JPEG(fixture.Photo(2000, 2000, 4), 90), "b.jpg", job("b.jpg", "avif", 2000, 2000, false, 80)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRoots(t, map[string][]byte{c.name: c.src})
			hdr, err := parseHeader(c.src)
			if err != nil {
				t.Fatal(err)
			}
			est := Estimate(hdr, int64(len(c.src)), c.job)
			g := New(Options{})
			growth, measured := peakGrowth(func() {
				_, err = g.Thumbnail(context.Background(), r.originals, r.thumbs, c.job)
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("estimate %d MiB, peak growth %d MiB", est>>20, growth>>20)
			if measured && growth > est {
				t.Errorf("peak resident size grew %d MiB, estimate %d MiB", growth>>20, est>>20)
			}
		})
	}
}
