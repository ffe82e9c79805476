package middleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/v8err"
)

func TestWriteError(t *testing.T) {
	s := New(nil, Options{Generator: generator.New(generator.Options{}), Logger: slog.New(slog.DiscardHandler)})
	cases := map[string]struct {
		err        error
		status     int
		body       string
		retryAfter string
	}{
		"busy":           {fmt.Errorf("wrapped: %w", generator.ErrBusy), 503, `{"error":{"code":null,"message":"Server too busy"}}`, "2"},
		"timeout":        {generator.ErrTimeout, 503, `{"error":{"code":null,"message":"Server too busy"}}`, "2"},
		"plain error":    {fmt.Errorf("disk on fire"), 500, `{"error":{"code":null,"message":"Internal Server Error"}}`, ""},
		"422 with cause": {v8err.Wrap(v8err.Unprocessable, "Unable to init from given binary data.", fmt.Errorf("secret detail")), 422, `{"error":{"code":12,"message":"Unable to init from given binary data."}}`, ""},
		"maintenance":    {v8err.New(v8err.Maintenance, "down"), 503, `{"error":{"code":21,"message":"down"}}`, ""},
		"slashes kept":   {v8err.New(v8err.Unprocessable, "a/b <c>"), 422, `{"error":{"code":12,"message":"a/b <c>"}}`, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Disposition", "inline")
			s.writeError(rec, httptest.NewRequest("GET", "/p/assets/x", nil), c.err)
			if rec.Code != c.status || rec.Body.String() != c.body || rec.Header().Get("Retry-After") != c.retryAfter {
				t.Errorf("got %d %s Retry-After %q", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
			}
			if rec.Header().Get("Content-Disposition") != "" || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest(http.MethodHead, "/p/assets/x", nil), v8err.New(v8err.ItemNotFound, "Item not found"))
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "49" {
		t.Errorf("HEAD error: body %q length %q", rec.Body.String(), rec.Header().Get("Content-Length"))
	}
}
