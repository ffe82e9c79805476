package v8config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValues(t *testing.T) {
	v, err := Parse([]byte(`<?php
/* header */ # comment
return array(
    's' => 'it\'s \\ \n',            // single quotes keep \n
    "d" => "tab\there \x41\101\u{e9} \$x",
    "ctl" => "\n\r\v\e\f\\\"",
    'dup' => 'first', 'dup' => 'last',
    'i' => 3306, 'neg' => -5, 'oct' => 0755, 'hex' => 0x1F, 'f' => 1.5,
    'b' => TRUE, 'n' => null,
    'list' => ['a', 'b',],
    'call' => getenv('DB_PASSWORD'),
    'const' => PDO::MYSQL_ATTR_SSL_CA,
    'concat' => 'a' . 'b',
    'interp' => "x $y",
    'nested' => [[1, [2]], 'k' => array()],
);`))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]Value{
		"s":      {Kind: String, Str: `it's \ \n`},
		"d":      {Kind: String, Str: "tab\there AAé $x"},
		"ctl":    {Kind: String, Str: "\n\r\v\x1b\f\\\""},
		"dup":    {Kind: String, Str: "last"},
		"i":      {Kind: Int, Int: 3306},
		"neg":    {Kind: Int, Int: -5},
		"oct":    {Kind: Int, Int: 0o755},
		"hex":    {Kind: Int, Int: 31},
		"f":      {Kind: Float, Float: 1.5},
		"b":      {Kind: Bool, Bool: true},
		"n":      {Kind: Null},
		"call":   {Kind: Expr, Str: "getenv('DB_PASSWORD')"},
		"const":  {Kind: Expr, Str: "PDO::MYSQL_ATTR_SSL_CA"},
		"concat": {Kind: Expr, Str: "'a' . 'b'"},
		"interp": {Kind: Expr, Str: `"x $y"`},
	} {
		got, ok := v.Get(key)
		if !ok || got.Kind != want.Kind || got.Str != want.Str || got.Int != want.Int || got.Float != want.Float || got.Bool != want.Bool {
			t.Errorf("%s = %+v, want %+v", key, got, want)
		}
	}
	if call, _ := v.Get("call"); call.Line != 11 {
		t.Errorf("getenv on line %d, want 11", call.Line)
	}
	// PHP: the last value, in the first one's place.
	n := 0
	for _, it := range v.Items {
		if it.Key.Kind == String && it.Key.Str == "dup" {
			n++
			if len(it.Replaced) != 1 || it.Replaced[0] != 7 {
				t.Errorf("dup replaced lines %v, want [7]", it.Replaced)
			}
		}
	}
	if n != 1 {
		t.Errorf("dup appears %d times, want once", n)
	}
	list, _ := v.Get("list")
	if len(list.Items) != 2 || list.Items[1].Key.Int != 1 || list.Items[1].Value.Str != "b" {
		t.Errorf("list = %+v", list)
	}
}

// Hostile or broken input gets a clear error with a line, never a panic.
func TestParseErrors(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"no php tag":          {"return [];", "does not start with <?php"},
		"no return":           {"<?php $x = [];", "expected `return"},
		"unterminated string": {"<?php\nreturn [\n'a' => 'open", "line 3: string not closed"},
		"unterminated array":  {"<?php return ['a' => 1,", "array not closed"},
		"unterminated dq":     {"<?php return [\"abc", "string not closed"},
		"missing comma":       {"<?php return ['a' => 1 'b' => 2];", "expected `,` or `]`"},
		"deep nesting":        {"<?php return " + strings.Repeat("[", 10000), "nested more than 32 deep"},
		"not an array":        {"<?php return 'x';", "something other than an array"},
		"no semicolon":        {"<?php return []", "expected `;`"},
		"too large":           {"<?php return [];" + strings.Repeat(" ", MaxFileSize), "larger than"},
		"not utf-8":           {"<?php return ['\xff'];", "not UTF-8"},
		"empty value":         {"<?php return ['a' => ];", "expected a value"},
		"endless expression":  {"<?php return ['a' => foo(", "unexpected end of file"},
	} {
		_, err := Parse([]byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"<?php return ['a' => [1, 'b' => \"c\\x41\"], 'd' => getenv('X')];", "<?php return array(1,2,);",
		"<?php /* */ return [[[[", "<?php return ['a' => 'b' . \"$c\"];", "<?php return [-0x1_0, 1e3, .5];"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		v, err := Parse([]byte(src))
		if err == nil && v.Kind != Array {
			t.Errorf("no error, but %v is no array", v.Kind)
		}
	})
}
