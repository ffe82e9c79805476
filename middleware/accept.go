package middleware

import (
	"net/http"
	"strconv"
	"strings"
)

// accepts reports whether the Accept header values name mediaType itself
// (case-insensitively, parameters other than q ignored) with a q-value above
// zero. Wildcards do not count: browsers send image/* and */* to every image
// URL, including those that cannot decode AVIF or WebP. A range whose q is
// malformed is skipped, as RFC 9110 allows.
func accepts(accept []string, mediaType string) bool {
	best := -1.0
	for _, header := range accept {
		for r := range strings.SplitSeq(header, ",") {
			params := strings.Split(r, ";")
			if !strings.EqualFold(strings.TrimSpace(params[0]), mediaType) {
				continue
			}
			q, ok := 1.0, true
			for _, p := range params[1:] {
				name, value, _ := strings.Cut(p, "=")
				if strings.EqualFold(strings.TrimSpace(name), "q") {
					q, ok = qvalue(strings.TrimSpace(value))
				}
			}
			if ok {
				best = max(best, q)
			}
		}
	}
	return best > 0
}

// qvalue parses an RFC 9110 weight: "0" or "1", optionally followed by "."
// and up to three digits (at most 1.000).
func qvalue(s string) (float64, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') || (len(s) > 1 && s[1] != '.') {
		return 0, false
	}
	for _, c := range s[min(len(s), 2):] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	q, err := strconv.ParseFloat(strings.TrimSuffix(s, "."), 64)
	if err != nil || q > 1 {
		return 0, false
	}
	return q, true
}

// addVary adds field to the response's Vary header, merged into an existing
// value (CORS's Origin) rather than as a second header line.
func addVary(h http.Header, field string) {
	if v := h.Values("Vary"); len(v) > 0 {
		h.Set("Vary", strings.Join(v, ", ")+", "+field)
		return
	}
	h.Set("Vary", field)
}
