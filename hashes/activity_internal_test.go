package hashes

import (
	"strings"
	"testing"
)

// JSON strings as PHP's json_encode wrote them with its default flags.
func TestPHPString(t *testing.T) {
	for in, want := range map[string]string{
		"image/jpeg":   `"image\/jpeg"`,
		"café":         `"caf\u00e9"`,
		"a\"b\\c":      `"a\"b\\c"`,
		"\n\t\x01":     `"\n\t\u0001"`,
		"\x7f":         "\"\x7f\"",
		"😀":            `"\ud83d\ude00"`,
		"<tag> & 'it'": `"<tag> & 'it'"`,
	} {
		var b strings.Builder
		phpString(&b, in)
		if b.String() != want {
			t.Errorf("phpString(%q) = %s, want %s", in, b.String(), want)
		}
	}
}
