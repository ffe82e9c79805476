package middleware

import "strings"

// Value is one query parameter as PHP's parse_str left it: a string, or an
// array when the name carried brackets (w[]=1). v8's validation treats an
// array as present but never numeric.
type Value struct {
	Str   string
	Array bool
}

// Query is a parsed query string, keyed by PHP-mangled name.
type Query map[string]Value

// Has reports whether name is present, even with an empty value (PHP isset).
func (q Query) Has(name string) bool {
	_, ok := q[name]
	return ok
}

// ParseQuery parses a raw query string the way PHP 7's parse_str did for v8
// (spec §4.1, Q26): pairs split on '&', '+' and %XX decoded, the last
// duplicate wins, leading spaces of a name dropped, ' ' and '.' in a name
// turned into '_', and a name with a closed bracket made an array.
func ParseQuery(raw string) Query {
	q := Query{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(part, "=")
		name, isArray := phpVarName(DecodeID(rawName))
		if name == "" {
			continue
		}
		q[name] = Value{Str: DecodeID(rawValue), Array: isArray}
	}
	return q
}

// phpVarName applies PHP's variable-name mangling and reports whether the
// name denotes an array element.
func phpVarName(name string) (string, bool) {
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, " ")
	open := strings.IndexByte(name, '[')
	if open < 0 {
		return mangle(name), false
	}
	if open == 0 {
		return "", false
	}
	if strings.IndexByte(name[open:], ']') >= 0 {
		return mangle(name[:open]), true
	}
	// An unclosed '[' becomes '_' and ends the mangling.
	return mangle(name[:open]) + "_" + name[open+1:], false
}

func mangle(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' {
			return '_'
		}
		return r
	}, s)
}

// DecodeID decodes a percent-encoded path segment or query component the way
// PHP's urldecode did (spec Q27): '+' is a space, a valid %XX is its byte, and
// a '%' not followed by two hex digits stays as it is.
func DecodeID(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
