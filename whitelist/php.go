package whitelist

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// numeric is PHP 7's is_numeric for strings: leading whitespace allowed,
// trailing whitespace not (spec §4.4).
var numeric = regexp.MustCompile(`^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// IsNumeric reports whether s passes PHP 7's is_numeric.
func IsNumeric(s string) bool { return numeric.MatchString(s) }

// numberOf returns the value of a string that IsNumeric accepts.
func numberOf(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimLeft(s, " \t\n\r\v\f"), 64)
	if err != nil {
		// Only overflow gets here ("1e999"); PHP yields INF too.
		return math.Inf(1)
	}
	return f
}

// intval truncates a number the way PHP's intval does for numeric strings,
// saturating instead of wrapping.
func intval(f float64) int {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int(f)
}

// scalar is a JSON scalar from a whitelist entry.
type scalar struct {
	kind  byte // 0 null/absent, 'n' number, 's' string, 'b' bool
	num   float64
	str   string
	truth bool
}

// number returns the numeric value of a JSON number or numeric string.
func (s scalar) number() (float64, bool) {
	switch s.kind {
	case 'n':
		return s.num, true
	case 's':
		if IsNumeric(s.str) {
			return numberOf(s.str), true
		}
	}
	return 0, false
}

// equalsNumber is v8's loose `==` between a whitelist value and a request
// value that already passed IsNumeric (w, h, q): a numeric comparison.
func (s scalar) equalsNumber(param string) bool {
	v, ok := s.number()
	return ok && v == numberOf(param)
}

// equalsWord is the comparison for `key` and `f` (spec Q11): exact bytes
// against a string, numeric against a number, and null equals only "".
func (s scalar) equalsWord(param string) bool {
	switch s.kind {
	case 's':
		if IsNumeric(s.str) && IsNumeric(param) {
			return numberOf(s.str) == numberOf(param)
		}
		return s.str == param
	case 'n':
		return IsNumeric(param) && s.num == numberOf(param)
	case 0:
		return param == ""
	}
	return false
}

// text returns the value as PHP would print it into a string.
func (s scalar) text() string {
	switch s.kind {
	case 'n':
		return strconv.FormatFloat(s.num, 'f', -1, 64)
	case 's':
		return s.str
	case 'b':
		if s.truth {
			return "1"
		}
	}
	return ""
}
