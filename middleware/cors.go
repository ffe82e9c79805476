package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// CORS is a project's v8 `cors` block (spec §6.6).
type CORS struct {
	Enabled        bool
	Origin         []string
	Methods        []string
	Headers        []string
	ExposedHeaders []string
	MaxAge         int
	Credentials    bool
}

// DefaultCORS returns v8's defaults: enabled, any origin, the six methods.
func DefaultCORS() CORS {
	return CORS{
		Enabled: true,
		Origin:  []string{"*"},
		Methods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"},
	}
}

// preflightAllowHeaders is the fixed list v8's preflight always answered with,
// whatever `headers` said (spec Q18); v8assets adds the configured ones.
var preflightAllowHeaders = []string{"X-Directus-Project", "Content-Type", "Authorization"}

// allowHeaders returns v8's fixed preflight list followed by the
// configured `headers` it lacks (compared case-insensitively), so that a
// cross-origin request with Range or If-None-Match can be allowed by
// configuration.
func (c CORS) allowHeaders() []string {
	out := slices.Clone(preflightAllowHeaders)
	for _, h := range c.Headers {
		if h = strings.TrimSpace(h); h != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, h) }) {
			out = append(out, h)
		}
	}
	return out
}

// allowedOrigin returns the Access-Control-Allow-Origin value for a request
// Origin, or "" for none: the origin itself when listed, else the origin (or
// "*" without one) when "*" is listed.
func (c CORS) allowedOrigin(origin string) string {
	switch {
	case origin != "" && slices.Contains(c.Origin, origin):
		return origin
	case slices.Contains(c.Origin, "*"):
		if origin != "" {
			return origin
		}
		return "*"
	}
	return ""
}

// apply sets the headers of an actual (non-preflight) response. Unlike v8,
// error responses get exactly the same headers (spec Q17).
func (c CORS) apply(h http.Header, r *http.Request) {
	if !c.Enabled {
		return
	}
	h.Add("Vary", "Origin")
	if o := c.allowedOrigin(r.Header.Get("Origin")); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// preflight answers an OPTIONS request as v8's CORS middleware did, before
// any routing: 200, empty body, and the preflight headers.
func (c CORS) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	if o := c.allowedOrigin(r.Header.Get("Origin")); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
	}
	if len(c.Methods) > 0 {
		h.Set("Access-Control-Allow-Methods", strings.Join(c.Methods, ","))
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
	}
	h.Set("Access-Control-Allow-Credentials", "true")
	h["Access-Control-Allow-Headers"] = c.allowHeaders()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
