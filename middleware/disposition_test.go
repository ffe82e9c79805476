package middleware

import "testing"

// Both forms of the name, for names that need escaping and names that do
// not (the fast path), inline and attachment (spec Q15).
func TestContentDisposition(t *testing.T) {
	for name, c := range map[string]struct {
		download bool
		file     string
		want     string
	}{
		"plain name":          {false, "photo.jpg", `inline; filename="photo.jpg"; filename*=UTF-8''photo.jpg`},
		"plain download":      {true, "photo.jpg", `attachment; filename="photo.jpg"; filename*=UTF-8''photo.jpg`},
		"space":               {false, "my photo.jpg", `inline; filename="my photo.jpg"; filename*=UTF-8''my%20photo.jpg`},
		"quote and backslash": {false, `a"b\c.jpg`, `inline; filename="a\"b\\c.jpg"; filename*=UTF-8''a%22b%5Cc.jpg`},
		"utf-8":               {true, "été.jpg", `attachment; filename="_t_.jpg"; filename*=UTF-8''%C3%A9t%C3%A9.jpg`},
		"control dropped":     {false, "a\r\nb.jpg", `inline; filename="ab.jpg"; filename*=UTF-8''ab.jpg`},
		"percent":             {false, "100%.jpg", `inline; filename="100%.jpg"; filename*=UTF-8''100%25.jpg`},
	} {
		if got := contentDisposition(c.download, c.file); got != c.want {
			t.Errorf("%s: contentDisposition(%v, %q) = %s, want %s", name, c.download, c.file, got, c.want)
		}
	}
}
