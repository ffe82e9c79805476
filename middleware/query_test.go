package middleware

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	cases := map[string]struct {
		raw  string
		want Query
	}{
		"empty":                        {"", Query{}},
		"last duplicate wins (Q26)":    {"w=100&w=200", Query{"w": {Str: "200"}}},
		"plus is a space":              {"f=a+b", Query{"f": {Str: "a b"}}},
		"percent-encoded plus":         {"f=a%2Bb", Query{"f": {Str: "a+b"}}},
		"no equals is empty":           {"w", Query{"w": {Str: ""}}},
		"empty value":                  {"key=", Query{"key": {Str: ""}}},
		"array":                        {"w[]=1", Query{"w": {Str: "1", Array: true}}},
		"keyed array":                  {"w[a]=1", Query{"w": {Str: "1", Array: true}}},
		"scalar after array wins":      {"w[]=1&w=2", Query{"w": {Str: "2"}}},
		"array after scalar wins":      {"w=2&w[]=1", Query{"w": {Str: "1", Array: true}}},
		"dot becomes underscore":       {"a.b=1", Query{"a_b": {Str: "1"}}},
		"space becomes underscore":     {"a+b=1", Query{"a_b": {Str: "1"}}},
		"leading spaces dropped":       {"%20%20w=5", Query{"w": {Str: "5"}}},
		"unclosed bracket":             {"a[b.c=1", Query{"a_b.c": {Str: "1"}}},
		"name only a bracket skipped":  {"[x]=1&w=2", Query{"w": {Str: "2"}}},
		"empty pairs skipped":          {"&&w=1&", Query{"w": {Str: "1"}}},
		"value keeps later equals":     {"f=a=b", Query{"f": {Str: "a=b"}}},
		"invalid escape kept":          {"f=%zz%4", Query{"f": {Str: "%zz%4"}}},
		"NUL ends a name":              {"w%00x=1", Query{"w": {Str: "1"}}},
		"case-sensitive keys":          {"W=1&Key=x", Query{"W": {Str: "1"}, "Key": {Str: "x"}}},
		"download without value":       {"download", Query{"download": {Str: ""}}},
		"semicolon is not a separator": {"w=1;h=2", Query{"w": {Str: "1;h=2"}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := ParseQuery(c.raw)
			if len(got) != len(c.want) {
				t.Fatalf("ParseQuery(%q) = %v, want %v", c.raw, got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("ParseQuery(%q)[%q] = %+v, want %+v", c.raw, k, got[k], v)
				}
			}
		})
	}
}

func TestDecodeID(t *testing.T) {
	cases := map[string]string{
		"pnw7s9lqy68048g0":  "pnw7s9lqy68048g0",
		"Report+2020.pdf":   "Report 2020.pdf",
		"Report%202020.pdf": "Report 2020.pdf",
		"a%2Bb":             "a+b",
		"a%2fb":             "a/b",
		"100%":              "100%",
		"%4":                "%4",
		"%g0":               "%g0",
		"%C3%A9t%C3%A9.jpg": "été.jpg",
	}
	for in, want := range cases {
		if got := DecodeID(in); got != want {
			t.Errorf("DecodeID(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecodeID(f *testing.F) {
	for _, s := range []string{"", "a+b", "%41", "%", "%%", "%4", "é", "Report 2020.pdf",
		"%ff", "%e9", "%F0%9F%98%80", "\xff", "\xe9t\xe9", "😀", "ab%ED%A0%80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// QueryEscape is PHP's urlencode for our purposes; decoding inverts it.
		if got := DecodeID(url.QueryEscape(s)); got != s {
			t.Fatalf("DecodeID(QueryEscape(%q)) = %q", s, got)
		}
		out := DecodeID(s)
		if len(out) > len(s) {
			t.Fatalf("decoding grew %q to %q", s, out)
		}
		if !strings.ContainsAny(s, "%+") && out != s {
			t.Fatalf("DecodeID changed %q without escapes", s)
		}
	})
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"w=1&h=2", "w[]=1", "a.b=1&a b=2", "%20w=3", "&&", "=x", "[=", "a[b=1", "a%5Bb.c=1", "%00a=1", " . =1"} {
		f.Add(s, "value")
	}
	f.Fuzz(func(t *testing.T, raw, value string) {
		q := ParseQuery(raw)
		// PHP's rule for a name: cut at a NUL, leading spaces dropped; in
		// the part before the first '[', ' ' and '.' become '_'; an
		// unclosed '[' becomes '_' and leaves the rest of the name as it
		// is ("a[b.c" is "a_b.c").
		for part := range strings.SplitSeq(raw, "&") {
			rawName, _, _ := strings.Cut(part, "=")
			d := DecodeID(rawName)
			if i := strings.IndexByte(d, 0); i >= 0 {
				d = d[:i]
			}
			d = strings.TrimLeft(d, " ")
			prefix := d
			if open := strings.IndexByte(d, '['); open >= 0 {
				prefix = d[:open]
			}
			name, _ := phpVarName(d)
			if name == "" {
				continue
			}
			if _, ok := q[name]; !ok {
				t.Fatalf("ParseQuery(%q) lost the name %q", raw, name)
			}
			if strings.ContainsAny(name[:min(len(prefix), len(name))], " .") || strings.ContainsRune(name, 0) {
				t.Fatalf("ParseQuery(%q) kept %q unmangled before its first '['", raw, name)
			}
		}
		// Any value survives a round trip through encoding, and a later
		// duplicate of the same name always wins.
		q = ParseQuery(raw + "&w=" + url.QueryEscape(value))
		if got := q["w"]; got.Str != value || got.Array {
			t.Fatalf("ParseQuery(%q + w=%q)[w] = %+v", raw, value, got)
		}
	})
}
