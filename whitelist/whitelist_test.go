package whitelist

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/v8assets/v8assets/v8err"
)

const (
	freshUser   = `[{"key":"thumbnail","width":200,"height":200,"fit":"contain","quality":80}]`
	freshSystem = `[{"key":"directus-small-crop","width":64,"height":64,"fit":"crop","quality":80},{"key":"directus-small-contain","width":64,"height":64,"fit":"contain","quality":80},{"key":"directus-medium-crop","width":300,"height":300,"fit":"crop","quality":80},{"key":"directus-medium-contain","width":300,"height":300,"fit":"contain","quality":80},{"key":"directus-large-crop","width":800,"height":600,"fit":"crop","quality":80},{"key":"directus-large-contain","width":800,"height":600,"fit":"contain","quality":80}]`
	avatarDisk  = "a88c3b72-ac58-5436-a4ec-b2858531333a.jpg"
)

var defaults = Options{MaxDimension: 6000}

// req builds a Request from name/value pairs; a value "[]" makes an array.
func req(disk string, pairs ...string) Request {
	r := Request{FilenameDisk: disk}
	for i := 0; i+1 < len(pairs); i += 2 {
		p := Param{Value: pairs[i+1], Present: true}
		if p.Value == "[]" {
			p = Param{Present: true, Array: true}
		}
		switch pairs[i] {
		case "key":
			r.Key = p
		case "w":
			r.W = p
		case "h":
			r.H = p
		case "f":
			r.F = p
		case "q":
			r.Q = p
		case "format":
			r.Format = p
		}
	}
	return r
}

func mustParse(t *testing.T, system, user string) Rules {
	t.Helper()
	r, warn := Parse(system, true, user, true)
	if warn != nil {
		t.Fatal(warn)
	}
	return r
}

func TestResolve(t *testing.T) {
	fresh := mustParse(t, freshSystem, freshUser)
	open := mustParse(t, freshSystem, "[]")
	cases := map[string]struct {
		rules Rules
		opts  Options
		req   Request
		path  string // want this Spec.Path, or
		err   string // this 422 message
	}{
		"case 17: key thumbnail":              {fresh, defaults, req(avatarDisk, "key", "thumbnail"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"case 19: params of the whitelist":    {fresh, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "contain", "q", "80"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"case 19: 0200 matches, canonical":    {fresh, defaults, req(avatarDisk, "w", "0200", "h", "200", "f", "contain", "q", "80"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"Q5: odd spellings, one directory":    {fresh, defaults, req(avatarDisk, "w", "2e2", "h", " 200", "f", "contain", "q", "80.0"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"case 20: system key":                 {fresh, defaults, req(avatarDisk, "key", "directus-small-crop"), "w64,h64,fcrop,q80/" + avatarDisk, ""},
		"case 21":                             {fresh, defaults, req(avatarDisk, "key", "directus-medium-contain"), "w300,h300,fcontain,q80/" + avatarDisk, ""},
		"case 22":                             {fresh, defaults, req(avatarDisk, "key", "directus-large-contain"), "w800,h600,fcontain,q80/" + avatarDisk, ""},
		"case 23: not whitelisted":            {fresh, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "80"), "", "The params don't match the asset whitelist."},
		"case 24: unknown key":                {fresh, defaults, req(avatarDisk, "key", "card"), "", "Key doesn't exist."},
		"case 24: empty key":                  {fresh, defaults, req(avatarDisk, "key", ""), "", "Key doesn't exist."},
		"case 24: key wins over params":       {fresh, defaults, req(avatarDisk, "key", "thumbnail", "w", "10", "h", "10", "f", "crop", "q", "1"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"case 24: key is case-sensitive":      {fresh, defaults, req(avatarDisk, "key", "Thumbnail"), "", "Key doesn't exist."},
		"array key never matches":             {fresh, defaults, req(avatarDisk, "key", "[]"), "", "Key doesn't exist."},
		"case 25: format dropped in key mode": {fresh, defaults, req(avatarDisk, "key", "thumbnail", "format", "webp"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"case 26: only w": {fresh, defaults, req(avatarDisk, "w", "200"), "",
			"h: This value should not be blank. This value should be of type numeric. q: This value should not be blank. This value should be of type numeric. f: This value should not be blank."},
		"case 27: w not numeric":         {fresh, defaults, req(avatarDisk, "w", "abc", "h", "200", "f", "crop", "q", "80"), "", "w: This value should be of type numeric."},
		"case 27: trailing space (PHP7)": {fresh, defaults, req(avatarDisk, "w", "200 ", "h", "200", "f", "contain", "q", "80"), "", "w: This value should be of type numeric."},
		"f empty only": {fresh, defaults, req(avatarDisk, "f", ""), "",
			"w: This value should not be blank. This value should be of type numeric. h: This value should not be blank. This value should be of type numeric. q: This value should not be blank. This value should be of type numeric. f: This value should not be blank."},
		"array w":                                  {fresh, defaults, req(avatarDisk, "w", "[]", "h", "1", "f", "crop", "q", "1"), "", "w: This value should be of type numeric."},
		"hex is not numeric":                       {open, defaults, req(avatarDisk, "w", "0x1A", "h", "1", "f", "crop", "q", "1"), "", "w: This value should be of type numeric."},
		"case 30: bad extension":                   {fresh, defaults, req("clip.mp4", "key", "thumbnail"), "", "Invalid file extension."},
		"AVIF original (v8 refused it)":            {fresh, defaults, req("photo.avif", "key", "thumbnail"), "w200,h200,fcontain,q80/photo.avif", ""},
		"format=avif":                              {open, defaults, req("coll.jpg", "w", "200", "h", "200", "f", "contain", "q", "80", "format", "avif"), "w200,h200,fcontain,q80,avif/coll.jpg", ""},
		"no extension":                             {fresh, defaults, req("README", "key", "thumbnail"), "", "Invalid file extension."},
		"upper-case extension kept":                {fresh, defaults, req("X.JPG", "key", "thumbnail"), "w200,h200,fcontain,q80/X.JPG", ""},
		"case 33: bad format":                      {fresh, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "contain", "q", "80", "format", "bmp"), "", "Invalid file format."},
		"format jpeg same as jpg":                  {fresh, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "contain", "q", "80", "format", "JPEG"), "w200,h200,fcontain,q80/" + avatarDisk, ""},
		"case 34: whitelist disabled":              {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "80"), "w200,h200,fcrop,q80/" + avatarDisk, ""},
		"case 35: user key gone":                   {open, defaults, req(avatarDisk, "key", "thumbnail"), "", "Key doesn't exist."},
		"case 35: system key stays":                {open, defaults, req(avatarDisk, "key", "directus-small-crop"), "w64,h64,fcrop,q80/" + avatarDisk, ""},
		"case 36: png":                             {open, defaults, req("small.png", "w", "200", "h", "200", "f", "crop", "q", "80"), "w200,h200,fcrop,q80/small.png", ""},
		"case 37 / Q6: other fit is crop":          {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "foo", "q", "80"), "w200,h200,fcrop,q80/" + avatarDisk, ""},
		"case 38: q0 directory":                    {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "0"), "w200,h200,fcrop,q0/" + avatarDisk, ""},
		"case 39: q101 resolves (fails at encode)": {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "101"), "w200,h200,fcrop,q101/" + avatarDisk, ""},
		"q intval truncates":                       {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "50.7"), "w200,h200,fcrop,q50/" + avatarDisk, ""},
		"case 40: fractional w":                    {open, defaults, req(avatarDisk, "w", "200.5", "h", "200", "f", "crop", "q", "80"), "", "fit() accepts only integer values as argument 1."},
		"Q8: fractional h, contain too":            {open, defaults, req(avatarDisk, "w", "200", "h", "1.5", "f", "contain", "q", "80"), "", "fit() accepts only integer values as argument 2."},
		"Q7: zero width":                           {open, defaults, req(avatarDisk, "w", "0", "h", "200", "f", "crop", "q", "80"), "", "w must be between 1 and 6000."},
		"Q7: negative height":                      {open, defaults, req(avatarDisk, "w", "10", "h", "-5", "f", "crop", "q", "80"), "", "h must be between 1 and 6000."},
		"Q7: over the maximum":                     {open, Options{MaxDimension: 500}, req(avatarDisk, "w", "501", "h", "10", "f", "crop", "q", "80"), "", "w must be between 1 and 500."},
		"case 41 / Q2: format conversion":          {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "80", "format", "png"), "w200,h200,fcrop,q80,png/" + avatarDisk, ""},
		"Q2: jpeg is no conversion of jpg":         {open, defaults, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "80", "format", "JPEG"), "w200,h200,fcrop,q80/" + avatarDisk, ""},
		"Q2: same base name, other extension":      {open, defaults, req("coll.jpg", "w", "200", "h", "200", "f", "contain", "q", "80", "format", "webp"), "w200,h200,fcontain,q80,webp/coll.jpg", ""},
		"case 42: traversal in f":                  {open, defaults, req(avatarDisk, "w", "1", "h", "1", "f", "/../../../x", "q", "80"), "", "Invalid fit."},
		"case 42 with whitelist on":                {fresh, defaults, req(avatarDisk, "w", "1", "h", "1", "f", "/../../../x", "q", "80"), "", "The params don't match the asset whitelist."},
		"backslash in f":                           {open, defaults, req(avatarDisk, "w", "1", "h", "1", "f", `a\b`, "q", "80"), "", "Invalid fit."},
		"require_whitelist closes it":              {open, Options{RequireWhitelist: true, MaxDimension: 6000}, req(avatarDisk, "w", "200", "h", "200", "f", "crop", "q", "80"), "", "The params don't match the asset whitelist."},
		"require_whitelist keeps presets":          {open, Options{RequireWhitelist: true, MaxDimension: 6000}, req(avatarDisk, "w", "64", "h", "64", "f", "crop", "q", "80"), "w64,h64,fcrop,q80/" + avatarDisk, ""},
		"pdf resolves (fails at encode)":           {fresh, defaults, req("doc.pdf", "key", "thumbnail"), "w200,h200,fcontain,q80/doc.pdf", ""},
		"validation before the whitelist":          {fresh, defaults, req(avatarDisk, "w", "x", "h", "200", "f", "crop", "q", "80"), "", "w: This value should be of type numeric."},
		"whitelist before the extension":           {fresh, defaults, req("clip.mp4", "w", "1", "h", "1", "f", "crop", "q", "1"), "", "The params don't match the asset whitelist."},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			spec, err := c.rules.Resolve(c.req, c.opts)
			if c.err != "" {
				var e *v8err.Error
				if !errors.As(err, &e) || e.Code != v8err.Unprocessable || e.Message != c.err {
					t.Fatalf("err = %v, want 422 %q (spec %+v)", err, c.err, spec)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if spec.Path() != c.path {
				t.Errorf("path = %q, want %q", spec.Path(), c.path)
			}
		})
	}
}

func TestResolveSpecFields(t *testing.T) {
	open := mustParse(t, freshSystem, "")
	spec, err := open.Resolve(req(avatarDisk, "w", "1e3", "h", "+20", "f", "contain", "q", "1e2", "format", "PNG"), defaults)
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{Width: 1000, Height: 20, Fit: Contain, Quality: 100, Format: "png", SourceExt: "jpg", Name: avatarDisk}
	if spec != want {
		t.Errorf("spec = %+v, want %+v", spec, want)
	}
}

func TestParse(t *testing.T) {
	cases := map[string]struct {
		user      string
		hasUser   bool
		enabled   bool
		malformed bool
	}{
		"fresh install":          {freshUser, true, true, false},
		"missing row":            {"", false, false, false},
		"empty string":           {"", true, false, false},
		"empty list":             {"[]", true, false, false},
		"empty object":           {"{}", true, false, false},
		"null":                   {"null", true, false, false},
		"zero":                   {"0", true, false, false},
		"false":                  {"false", true, false, false},
		"empty JSON string":      {`""`, true, false, false},
		"malformed":              {`[{"key":`, true, false, true},
		"trailing garbage":       {`[] x`, true, false, true},
		"scalar":                 {`"abc"`, true, false, true},
		"object of entries":      {`{"a":{"key":"x","width":1,"height":1,"fit":"crop","quality":1}}`, true, true, false},
		"list of non-objects":    {`[1]`, true, true, false},
		"numeric strings inside": {`[{"key":"s","width":"200","height":"200.0","fit":"crop","quality":"80"}]`, true, true, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r, warn := Parse(freshSystem, true, c.user, c.hasUser)
			if r.Enabled != c.enabled {
				t.Errorf("enabled = %v, want %v", r.Enabled, c.enabled)
			}
			if (warn != nil) != c.malformed || (warn != nil && !errors.Is(warn, ErrMalformed)) {
				t.Errorf("warn = %v, want malformed %v", warn, c.malformed)
			}
			if len(r.System) != 6 {
				t.Errorf("system entries = %d", len(r.System))
			}
		})
	}
}

// Values stored as strings still compare numerically (spec §4.4, Q11), and
// a later entry with the same key wins.
func TestLooseMatching(t *testing.T) {
	r := mustParse(t, `[{"key":"card","width":100,"height":100,"fit":"crop","quality":80}]`,
		`[{"key":"s","width":"200","height":"200.0","fit":"crop","quality":"80"},{"key":"card","width":150,"height":150,"fit":"contain","quality":70}]`)
	spec, err := r.Resolve(req(avatarDisk, "w", "2e2", "h", "200", "f", "crop", "q", "80"), defaults)
	if err != nil || spec.Dir() != "w200,h200,fcrop,q80" {
		t.Errorf("numeric strings: %+v %v", spec, err)
	}
	spec, err = r.Resolve(req(avatarDisk, "key", "card"), defaults)
	if err != nil || spec.Dir() != "w150,h150,fcontain,q70" {
		t.Errorf("user entry should override system: %+v %v", spec, err)
	}
	if _, err := r.Resolve(req(avatarDisk, "w", "200", "h", "200", "f", "Crop", "q", "80"), defaults); err == nil {
		t.Errorf("fit matched case-insensitively")
	}
	bad, _ := Parse("{not json", true, freshUser, true)
	if _, err := bad.Resolve(req(avatarDisk, "key", "thumbnail"), defaults); err != nil {
		t.Errorf("Q10: invalid system list should count as empty, got %v", err)
	}
}

func TestIsNumeric(t *testing.T) {
	for s, want := range map[string]bool{
		"200": true, " 200": true, "\t5": true, "-5": true, "+200": true, "200.5": true, "5.": true, ".5": true,
		"1e3": true, "2E-2": true, "0200": true,
		"": false, " ": false, "200 ": false, "0x1A": false, "1_000": false, "1e": false, "abc": false, "٣": false, ".": false, "+": false,
	} {
		if IsNumeric(s) != want {
			t.Errorf("IsNumeric(%q) = %v", s, !want)
		}
	}
}

// phpNumeric is is_numeric as the regular expression the spec states
// (§4.4); IsNumeric is the same language scanned by hand.
var phpNumeric = regexp.MustCompile(`^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

func FuzzIsNumeric(f *testing.F) {
	for _, s := range []string{"200", " +1.5e-3", "5.", ".5", ".", "1e", "1e+", " ", "0x1A", "\v-.0E9", "1.2.3", "--1", "1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsNumeric(s), phpNumeric.MatchString(s); got != want {
			t.Errorf("IsNumeric(%q) = %v, the regular expression says %v", s, got, want)
		}
	})
}

// A malformed system list is treated as empty (Q10) but reported, as a
// malformed user list is.
func TestParseReportsMalformedSystemList(t *testing.T) {
	rules, warn := Parse("[{broken", true, `[{"key":"k","width":1,"height":1,"fit":"crop","quality":80}]`, true)
	if !errors.Is(warn, ErrMalformed) || !strings.Contains(warn.Error(), "asset_whitelist_system") {
		t.Errorf("warn = %v", warn)
	}
	if len(rules.System) != 0 || !rules.Enabled || len(rules.User) != 1 {
		t.Errorf("rules = %+v", rules)
	}
	if _, warn := Parse("[]", true, "[]", true); warn != nil {
		t.Errorf("well-formed lists warned: %v", warn)
	}
}

// PHP's intval of a numeric string saturates at the 32-bit bounds PHP 7
// used for v8's request values, truncates toward zero, and maps NaN to 0.
func TestIntval(t *testing.T) {
	for in, want := range map[float64]int{
		200: 200, 200.9: 200, -1.5: -1, 1e30: math.MaxInt32, -1e30: math.MinInt32, math.NaN(): 0, math.Inf(1): math.MaxInt32,
	} {
		if got := intval(in); got != want {
			t.Errorf("intval(%v) = %d, want %d", in, got, want)
		}
	}
}

// key and f compare as v8's loose == did (Q11): byte-exact for words,
// numerically when both sides are numeric, null only against "".
func TestEqualsWord(t *testing.T) {
	cases := []struct {
		s     scalar
		param string
		want  bool
	}{
		{scalar{kind: 's', str: "crop"}, "crop", true},
		{scalar{kind: 's', str: "crop"}, "Crop", false},
		{scalar{kind: 's', str: "crop"}, "crop ", false},
		{scalar{kind: 's', str: "200"}, "2e2", true},
		{scalar{kind: 's', str: "200"}, " 200", true},
		{scalar{kind: 's', str: "200"}, "200 ", false},
		{scalar{kind: 'n', num: 1}, "1.0", true},
		{scalar{kind: 'n', num: 1}, "one", false},
		{scalar{}, "", true},
		{scalar{}, "0", false},
		{scalar{kind: 'b', truth: true}, "1", false},
	}
	for _, c := range cases {
		if got := c.s.equalsWord(c.param); got != c.want {
			t.Errorf("%+v == %q: %v, want %v", c.s, c.param, got, c.want)
		}
	}
}
