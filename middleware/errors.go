package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/v8err"
)

// statusOf maps a v8 error code to the HTTP status v8 sent with it.
func statusOf(code v8err.Code) int {
	switch code {
	case v8err.NotFound, v8err.ItemNotFound:
		return http.StatusNotFound
	case v8err.Unauthorized:
		return http.StatusUnauthorized
	case v8err.InvalidRequest, v8err.Unprocessable:
		return http.StatusUnprocessableEntity
	case v8err.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case v8err.Maintenance:
		return http.StatusServiceUnavailable
	case v8err.ForbiddenUpdate:
		return http.StatusForbidden
	case v8err.TooManyRequests:
		return http.StatusTooManyRequests
	case v8err.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError is the one place an error becomes a response: v8's JSON body
// {"error":{"code":N,"message":"…"}} with the status v8 used. An error that
// carries no v8 code is a 500 with "code":null and a generic message; its
// detail goes to the log only.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := v8err.As(err)
	status := 0
	if errors.Is(err, generator.ErrBusy) || errors.Is(err, generator.ErrTimeout) {
		reason := "busy"
		if errors.Is(err, generator.ErrTimeout) {
			reason = "timeout"
		}
		s.metrics.Rejection(reason)
		s.log.WarnContext(r.Context(), "thumbnail refused", "err", err)
		e, status = v8err.New(v8err.Internal, "Server too busy"), http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	} else if e != nil && e.Code == v8err.Unavailable {
		s.log.WarnContext(r.Context(), "database unavailable", "path_template", infoOf(r).route, "err", err)
		w.Header().Set("Retry-After", "2")
	} else if e == nil {
		s.log.ErrorContext(r.Context(), "request failed", "path_template", infoOf(r).route, "err", err)
		e = v8err.New(v8err.Internal, "Internal Server Error")
	} else if e.Code == v8err.Internal {
		s.log.ErrorContext(r.Context(), "request failed", "path_template", infoOf(r).route, "err", err)
	} else if e.Err != nil {
		s.log.WarnContext(r.Context(), "request refused", "path_template", infoOf(r).route, "err", err)
	}
	var body errorBody
	codeLabel := "null"
	if !e.Code.Null() {
		code := int(e.Code)
		body.Error.Code = &code
		codeLabel = strconv.Itoa(code)
	}
	s.metrics.Error(infoOf(r).project, codeLabel)
	body.Error.Message = e.Message
	h := w.Header()
	for _, k := range []string{"Content-Disposition", "Cache-Control", "Etag", "Last-Modified"} {
		h.Del(k)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body) // cannot fail: a struct of an int pointer and a string
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(buf.Len()-1))
	if status == 0 {
		status = statusOf(e.Code)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
}
