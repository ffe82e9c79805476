package whitelist

import (
	"math"
	"strconv"
	"strings"
)

// IsNumeric reports whether s passes PHP 7's is_numeric for strings
// (spec §4.4): leading whitespace, an optional sign, digits with an
// optional decimal point (at least one digit), an optional exponent, and no
// trailing whitespace. It is the regular expression
// ^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$ written out by hand:
// it runs several times on every thumbnail request.
func IsNumeric(s string) bool {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\r\v\f", s[i]) >= 0 {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start := i
	i = skipDigits(s, i)
	digits := i - start
	if i < len(s) && s[i] == '.' {
		end := skipDigits(s, i+1)
		digits += end - i - 1
		i = end
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		end := skipDigits(s, i)
		if end == i {
			return false
		}
		i = end
	}
	return i == len(s)
}

// skipDigits returns the index of the first byte at or after i in s that
// is not an ASCII digit.
func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}

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
