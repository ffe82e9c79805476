// Package v8config reads Directus v8 project config files
// (<api>/config/<project>.php) as data, so that import-v8-config can turn
// them into config.toml. It owns one concern that nothing else in v8assets
// has: reading PHP array literals. PHP is never executed; anything that is
// not a literal (a function call, a constant, a concatenation) is kept as
// its source text and line, for a human to review.
package v8config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a Value.
type Kind int

// The kinds of PHP values a config file can hold.
const (
	Null Kind = iota
	Bool
	Int
	Float
	String
	Array
	// Expr is anything that is not a literal: Value.Expr holds its source.
	Expr
)

// Value is one PHP value of a config file, with the line it starts on.
type Value struct {
	Kind  Kind
	Bool  bool
	Int   int64
	Float float64
	// Str is a String's value, or an Expr's source text.
	Str string
	// Items are an Array's elements in order.
	Items []Item
	Line  int
}

// Item is one element of a PHP array; Key is a String or Int (an element
// without a key gets the next integer, as in PHP).
type Item struct {
	Key   Value
	Value Value
	// Replaced are the lines of earlier elements with the same key: PHP
	// keeps the last value, in the place of the first.
	Replaced []int
}

// index returns the position of the element under key, or -1.
func (v Value) index(key Value) int {
	for i, it := range v.Items {
		if it.Key.Kind == key.Kind && it.Key.Str == key.Str && it.Key.Int == key.Int {
			return i
		}
	}
	return -1
}

// Get returns the element of an Array under the string key, if any.
func (v Value) Get(key string) (Value, bool) {
	for i := len(v.Items) - 1; i >= 0; i-- {
		if it := v.Items[i]; it.Key.Kind == String && it.Key.Str == key {
			return it.Value, true
		}
	}
	return Value{}, false
}

// MaxFileSize is the largest config file Parse reads; v8's are a few KiB.
const MaxFileSize = 1 << 20

// maxDepth bounds array nesting; v8's configs nest four deep.
const maxDepth = 32

// ParseError is a problem in a config file at a line.
type ParseError struct {
	Line int
	Msg  string
}

// Error returns "line N: message".
func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse returns the value a v8 config file returns: the file must be
// `<?php`, optional comments, `return <array>;`. It returns a *ParseError
// for anything else.
func Parse(src []byte) (Value, error) {
	if len(src) > MaxFileSize {
		return Value{}, &ParseError{1, fmt.Sprintf("file is larger than %d bytes: not a v8 config file", MaxFileSize)}
	}
	if !utf8.Valid(src) {
		return Value{}, &ParseError{1, "file is not UTF-8 text"}
	}
	p := &parser{src: string(src), line: 1}
	p.skipSpace()
	if !p.eat("<?php") {
		return Value{}, p.errorf("the file does not start with <?php")
	}
	p.skipSpace()
	if !p.eatWord("return") {
		return Value{}, p.errorf("expected `return [...]`: a v8 config file returns one array")
	}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	if v.Kind != Array {
		return Value{}, &ParseError{v.Line, "the file returns something other than an array"}
	}
	p.skipSpace()
	if !p.eat(";") {
		return Value{}, p.errorf("expected `;` after the returned array")
	}
	return v, nil
}

type parser struct {
	src  string
	pos  int
	line int
}

func (p *parser) errorf(format string, args ...any) error {
	return &ParseError{p.line, fmt.Sprintf(format, args...)}
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) advance(n int) {
	p.line += strings.Count(p.src[p.pos:p.pos+n], "\n")
	p.pos += n
}

func (p *parser) eat(s string) bool {
	if strings.HasPrefix(p.src[p.pos:], s) {
		p.advance(len(s))
		return true
	}
	return false
}

// eatWord eats a case-insensitive keyword not followed by a name character.
func (p *parser) eatWord(w string) bool {
	end := p.pos + len(w)
	if end <= len(p.src) && strings.EqualFold(p.src[p.pos:end], w) && (end == len(p.src) || !isNameByte(p.src[end])) {
		p.advance(len(w))
		return true
	}
	return false
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 0x80 || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// skipSpace skips whitespace and comments (//, #, /* */).
func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch rest := p.src[p.pos:]; {
		case strings.IndexByte(" \t\r\n\v\f", rest[0]) >= 0:
			p.advance(1)
		case strings.HasPrefix(rest, "//") || rest[0] == '#' && !strings.HasPrefix(rest, "#["):
			end := strings.IndexByte(rest, '\n')
			if end < 0 {
				end = len(rest)
			}
			p.advance(end)
		case strings.HasPrefix(rest, "/*"):
			end := strings.Index(rest[2:], "*/")
			if end < 0 {
				p.advance(len(rest))
				return
			}
			p.advance(end + 4)
		default:
			return
		}
	}
}

// value parses one value. A literal followed by anything but a separator
// (`,`, `=>`, a closing bracket, `;`) is part of a larger expression and
// is returned as an Expr.
func (p *parser) value(depth int) (Value, error) {
	start, line := p.pos, p.line
	v, err := p.literal(depth)
	if err != nil && !errors.Is(err, errNotLiteral) {
		return Value{}, err
	}
	if err == nil {
		save, saveLine := p.pos, p.line
		p.skipSpace()
		if p.atSeparator() {
			p.pos, p.line = save, saveLine
			return v, nil
		}
	}
	p.pos, p.line = start, line
	src, err := p.rawExpr()
	if err != nil {
		return Value{}, err
	}
	return Value{Kind: Expr, Str: src, Line: line}, nil
}

var errNotLiteral = errors.New("not a literal")

func (p *parser) atSeparator() bool {
	switch c := p.peek(); {
	case c == ',' || c == ']' || c == ')' || c == ';' || c == 0:
		return true
	case strings.HasPrefix(p.src[p.pos:], "=>"):
		return true
	}
	return false
}

func (p *parser) literal(depth int) (Value, error) {
	line := p.line
	switch c := p.peek(); {
	case c == '[':
		p.advance(1)
		return p.array(depth+1, "]", line)
	case c == '\'':
		s, err := p.singleQuoted()
		return Value{Kind: String, Str: s, Line: line}, err
	case c == '"':
		s, err := p.doubleQuoted()
		return Value{Kind: String, Str: s, Line: line}, err
	case c == '-' || c == '+' || c == '.' || '0' <= c && c <= '9':
		return p.number(line)
	case p.eatWord("true"):
		return Value{Kind: Bool, Bool: true, Line: line}, nil
	case p.eatWord("false"):
		return Value{Kind: Bool, Line: line}, nil
	case p.eatWord("null"):
		return Value{Kind: Null, Line: line}, nil
	case p.eatWord("array"):
		p.skipSpace()
		if p.eat("(") {
			return p.array(depth+1, ")", line)
		}
	}
	return Value{}, errNotLiteral
}

func (p *parser) array(depth int, closing string, line int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.errorf("arrays nested more than %d deep", maxDepth)
	}
	v := Value{Kind: Array, Line: line}
	next := int64(0)
	for {
		p.skipSpace()
		if p.eat(closing) {
			return v, nil
		}
		if p.pos >= len(p.src) {
			return Value{}, &ParseError{line, "array not closed"}
		}
		first, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		p.skipSpace()
		item := Item{Value: first}
		if p.eat("=>") {
			p.skipSpace()
			if item.Value, err = p.value(depth); err != nil {
				return Value{}, err
			}
			item.Key = first
			if first.Kind == Int && first.Int >= next {
				next = first.Int + 1
			}
		} else {
			item.Key = Value{Kind: Int, Int: next, Line: first.Line}
			next++
		}
		if i := v.index(item.Key); i >= 0 {
			v.Items[i].Replaced = append(v.Items[i].Replaced, v.Items[i].Value.Line)
			v.Items[i].Value = item.Value
		} else {
			v.Items = append(v.Items, item)
		}
		p.skipSpace()
		if p.eat(",") {
			continue
		}
		if !strings.HasPrefix(p.src[p.pos:], closing) {
			return Value{}, p.errorf("expected `,` or `%s` in the array opened on line %d", closing, line)
		}
	}
}

func (p *parser) singleQuoted() (string, error) {
	line := p.line
	var b strings.Builder
	for i := p.pos + 1; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '\\' && i+1 < len(p.src) && (p.src[i+1] == '\'' || p.src[i+1] == '\\'):
			b.WriteByte(p.src[i+1])
			i++
		case c == '\'':
			p.advance(i + 1 - p.pos)
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", &ParseError{line, "string not closed"}
}

// doubleQuoted reads a "..." string with PHP's escapes. A `$` that starts
// an interpolation makes it no literal.
func (p *parser) doubleQuoted() (string, error) {
	line := p.line
	var b strings.Builder
	s := p.src
	for i := p.pos + 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			p.advance(i + 1 - p.pos)
			return b.String(), nil
		case c == '$' && i+1 < len(s) && (isNameByte(s[i+1]) && !('0' <= s[i+1] && s[i+1] <= '9') || s[i+1] == '{'):
			return "", errNotLiteral
		case c == '{' && i+1 < len(s) && s[i+1] == '$':
			return "", errNotLiteral
		case c != '\\' || i+1 >= len(s):
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; e {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'v':
			b.WriteByte('\v')
		case 'e':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case '\\', '$', '"':
			b.WriteByte(e)
		case 'x':
			n := hexRun(s[i+1:], 2)
			if n == 0 {
				b.WriteString(`\x`)
				continue
			}
			v, _ := strconv.ParseUint(s[i+1:i+1+n], 16, 8)
			b.WriteByte(byte(v))
			i += n
		case 'u':
			end := strings.IndexByte(s[i:], '}')
			if i+1 >= len(s) || s[i+1] != '{' || end < 0 {
				b.WriteString(`\u`)
				continue
			}
			v, err := strconv.ParseUint(s[i+2:i+end], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", &ParseError{line, "invalid \\u{...} escape"}
			}
			b.WriteRune(rune(v))
			i += end
		default:
			if '0' <= e && e <= '7' {
				n := 1
				for n < 3 && i+n < len(s) && '0' <= s[i+n] && s[i+n] <= '7' {
					n++
				}
				v, _ := strconv.ParseUint(s[i:i+n], 8, 16)
				b.WriteByte(byte(v))
				i += n - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", &ParseError{line, "string not closed"}
}

// hexRun returns how many of s's first (at most max) bytes are hex digits.
func hexRun(s string, max int) int {
	n := 0
	for n < max && n < len(s) && strings.IndexByte("0123456789abcdefABCDEF", s[n]) >= 0 {
		n++
	}
	return n
}

func (p *parser) number(line int) (Value, error) {
	end := p.pos
	for end < len(p.src) && (isNameByte(p.src[end]) || strings.IndexByte("+-.", p.src[end]) >= 0) {
		end++
	}
	text := p.src[p.pos:end]
	clean := strings.ReplaceAll(text, "_", "")
	neg := strings.HasPrefix(clean, "-")
	digits := strings.TrimLeft(clean, "+-")
	if strings.HasPrefix(digits, "0") && len(digits) > 1 && !strings.ContainsAny(digits, ".eExXbBoO") {
		digits = "0o" + digits[1:] // PHP's leading-zero octal
	}
	if n, err := strconv.ParseInt(digits, 0, 64); err == nil && len(clean)-len(digits) <= 1 {
		if neg {
			n = -n
		}
		p.advance(len(text))
		return Value{Kind: Int, Int: n, Line: line}, nil
	}
	if f, err := strconv.ParseFloat(clean, 64); err == nil && !strings.ContainsAny(clean, "xXpP") {
		p.advance(len(text))
		return Value{Kind: Float, Float: f, Line: line}, nil
	}
	return Value{}, errNotLiteral
}

// rawExpr skips a non-literal expression up to the next separator at its
// own nesting level and returns its source.
func (p *parser) rawExpr() (string, error) {
	start, line := p.pos, p.line
	depth := 0
	for p.pos < len(p.src) {
		if depth == 0 && p.atSeparator() {
			break
		}
		switch c := p.peek(); c {
		case '(', '[', '{':
			depth++
			p.advance(1)
		case ')', ']', '}':
			depth--
			p.advance(1)
		case '\'', '"':
			var err error
			if c == '\'' {
				_, err = p.singleQuoted()
			} else if _, err = p.doubleQuoted(); errors.Is(err, errNotLiteral) {
				err = p.skipInterpolated()
			}
			if err != nil {
				return "", err
			}
		case '/', '#':
			before := p.pos
			p.skipSpace()
			if p.pos == before {
				p.advance(1)
			}
		default:
			p.advance(1)
		}
	}
	src := strings.TrimSpace(p.src[start:p.pos])
	if src == "" {
		return "", &ParseError{line, "expected a value"}
	}
	if p.pos >= len(p.src) {
		return "", &ParseError{line, "unexpected end of file"}
	}
	return src, nil
}

// skipInterpolated skips a double-quoted string with interpolation.
func (p *parser) skipInterpolated() error {
	line := p.line
	for i := p.pos + 1; i < len(p.src); i++ {
		switch p.src[i] {
		case '\\':
			i++
		case '"':
			p.advance(i + 1 - p.pos)
			return nil
		}
	}
	return &ParseError{line, "string not closed"}
}
