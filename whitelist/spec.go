package whitelist

import (
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/v8assets/v8assets/v8err"
)

// Fit is how a thumbnail fills its box.
type Fit string

// The two fits. Any requested fit other than "contain" means Crop (spec §5.3).
const (
	Crop    Fit = "crop"
	Contain Fit = "contain"
)

// Spec is a validated, canonical thumbnail: what to generate and where.
type Spec struct {
	Width, Height int
	Fit           Fit
	// Quality is intval(q) as requested; it may be outside 0..100, which
	// fails only when a thumbnail has to be generated (spec §5.4).
	Quality int
	// Format is the output format (lower case): jpg, jpeg, png, gif, webp,
	// or a non-image extension that cannot be encoded.
	Format string
	// SourceExt is the original's lower-case extension.
	SourceExt string
	// Name is the output file name: always the original's filename_disk.
	Name string
}

// Dir returns the generated directory name, w<W>,h<H>,f<fit>,q<Q> with
// canonical integers and fit word (spec Q1, Q5, Q6); for a conversion to
// another format, w<W>,h<H>,f<fit>,q<Q>,<format> — a five-part directory v8
// never writes, so a conversion can never land on the thumbnail of another
// original that shares the base name (spec Q2).
func (s Spec) Dir() string {
	dir := "w" + strconv.Itoa(s.Width) + ",h" + strconv.Itoa(s.Height) + ",f" + string(s.Fit) + ",q" + strconv.Itoa(s.Quality)
	if s.Converted() {
		dir += "," + s.Format
	}
	return dir
}

// Converted reports whether the output format differs from the original's
// (jpg and jpeg count as one).
func (s Spec) Converted() bool { return canonicalExt(s.Format) != canonicalExt(s.SourceExt) }

// Path returns the file's path under the thumb root.
func (s Spec) Path() string { return s.Dir() + "/" + s.Name }

// Param is one query parameter as the request carried it.
type Param struct {
	Value   string
	Present bool
	// Array is true for a PHP array parameter (w[]=1): present, never numeric.
	Array bool
}

// Request is what a thumbnail request asks for.
type Request struct {
	Key, W, H, F, Q, Format Param
	// FilenameDisk is the original's stored name.
	FilenameDisk string
}

// Options are a project's limits and switches.
type Options struct {
	// RequireWhitelist refuses sizes outside the system and user lists
	// even when the user list is empty (v8 then allowed any size).
	RequireWhitelist bool
	// MaxDimension caps w and h (spec Q7).
	MaxDimension int
}

// Wants reports whether a request is in thumbnail mode: any of key, w, h, f
// or q present, even empty (spec §4.1).
func (r Request) Wants() bool {
	return r.Key.Present || r.W.Present || r.H.Present || r.F.Present || r.Q.Present
}

// Extensions v8 accepted for a source or a format (spec §4.5).
var (
	imageExts    = []string{"jpg", "jpeg", "gif", "png", "webp", "avif"}
	nonImageExts = []string{"svg", "pdf", "psd", "tif", "tiff"}
)

func supported(ext string) bool {
	return slices.Contains(imageExts, ext) || slices.Contains(nonImageExts, ext)
}

func unprocessable(msg string) error { return v8err.New(v8err.Unprocessable, msg) }

// Resolve validates a thumbnail request against the rules in v8's order
// (key or params, whitelist, extension, format) and returns its canonical
// Spec. Every failure is a *v8err.Error with code 12 and v8's message.
func (r Rules) Resolve(req Request, opts Options) (Spec, error) {
	var w, h, q scalar
	var fit string
	format := req.Format
	lists := r.lists(opts.RequireWhitelist)
	if req.Key.Present {
		found := false
		for _, entries := range lists {
			for _, e := range entries {
				// No break: the last match wins, so a user entry overrides
				// a system entry with the same key.
				if !req.Key.Array && e.key.equalsWord(req.Key.Value) {
					w, h, q, fit, found = e.width, e.height, e.quality, e.fit.text(), true
				}
			}
		}
		if !found {
			return Spec{}, unprocessable("Key doesn't exist.")
		}
		format = Param{} // v8 rebuilt the params without format (Q3).
	} else {
		if msg := validate(req); msg != "" {
			return Spec{}, unprocessable(msg)
		}
		if r.Enabled || opts.RequireWhitelist {
			matched := false
		search:
			for _, entries := range lists {
				for _, e := range entries {
					if e.width.equalsNumber(req.W.Value) && e.height.equalsNumber(req.H.Value) &&
						!req.F.Array && e.fit.equalsWord(req.F.Value) && e.quality.equalsNumber(req.Q.Value) {
						matched = true
						break search
					}
				}
			}
			if !matched {
				return Spec{}, unprocessable("The params don't match the asset whitelist.")
			}
		}
		w, h, q = scalar{kind: 's', str: req.W.Value}, scalar{kind: 's', str: req.H.Value}, scalar{kind: 's', str: req.Q.Value}
		fit = req.F.Value
		if req.F.Array || strings.Contains(fit, "..") || strings.ContainsAny(fit, "/\\") || strings.ContainsFunc(fit, isControl) {
			return Spec{}, unprocessable("Invalid fit.")
		}
	}
	spec := Spec{Fit: Crop}
	if fit == string(Contain) {
		spec.Fit = Contain
	}
	var err error
	if spec.Width, err = dimension(w, "w", 1, opts.MaxDimension); err != nil {
		return Spec{}, err
	}
	if spec.Height, err = dimension(h, "h", 2, opts.MaxDimension); err != nil {
		return Spec{}, err
	}
	if qv, ok := q.number(); ok {
		spec.Quality = intval(qv)
	}

	spec.SourceExt = strings.ToLower(extension(req.FilenameDisk))
	if !supported(spec.SourceExt) {
		return Spec{}, unprocessable("Invalid file extension.")
	}
	spec.Format = spec.SourceExt
	if format.Array {
		return Spec{}, unprocessable("Invalid file format.")
	}
	if format.Value != "" {
		spec.Format = strings.ToLower(format.Value)
	}
	if !supported(spec.Format) {
		return Spec{}, unprocessable("Invalid file format.")
	}
	spec.Name = req.FilenameDisk
	return spec, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func canonicalExt(ext string) string {
	if ext == "jpeg" {
		return "jpg"
	}
	return ext
}

// extension returns the text after the last '.' of the file's base name, as
// PHP's pathinfo did, or "".
func extension(name string) string {
	base := path.Base(name)
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i+1:]
	}
	return ""
}

// dimension returns a width or height as an integer: it must be integral
// (spec Q8, Intervention's message names the argument) and within
// 1..max (Q7).
func dimension(v scalar, name string, arg, max int) (int, error) {
	f, ok := v.number()
	if !ok || f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, unprocessable("fit() accepts only integer values as argument " + strconv.Itoa(arg) + ".")
	}
	if f < 1 || f > float64(max) {
		return 0, unprocessable(fmt.Sprintf("%s must be between 1 and %d.", name, max))
	}
	return int(f), nil
}

// validate applies v8's Symfony rules to w, h, q (required, numeric) and f
// (required), in that order, and returns the joined message or "".
func validate(req Request) string {
	var parts []string
	for _, f := range []struct {
		name    string
		p       Param
		numeric bool
	}{{"w", req.W, true}, {"h", req.H, true}, {"q", req.Q, true}, {"f", req.F, false}} {
		var msgs []string
		if !f.p.Array && f.p.Value == "" {
			msgs = append(msgs, "This value should not be blank.")
		}
		if f.numeric && (f.p.Array || !IsNumeric(f.p.Value)) {
			msgs = append(msgs, "This value should be of type numeric.")
		}
		if len(msgs) > 0 {
			parts = append(parts, f.name+": "+strings.Join(msgs, " "))
		}
	}
	return strings.Join(parts, " ")
}
