package middleware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// requestInfo is what a request's handlers learn about it, for the access
// log line and the metrics. Nothing in it is a raw path or a full hash.
type requestInfo struct {
	id      string
	project string   // a configured project name, "unknown" or "-"
	p       *Project // the configured project, or nil
	rawID   string   // an asset URL's id as it appeared in the path
	route   string   // a route template
	asset   string   // the id's first characters (hashes.Short)
	cache   string   // "hit" or "generated" for thumbnails
	health  bool
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	info, _ := r.Context().Value(infoKey{}).(*requestInfo)
	if info == nil {
		return &requestInfo{}
	}
	return info
}

// recorder remembers the status and body size a handler sent.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (rec *recorder) WriteHeader(code int) {
	if !rec.wrote {
		rec.status, rec.wrote = code, true
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wrote {
		rec.status, rec.wrote = http.StatusOK, true
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// ReadFrom lets io.Copy hand a file to the connection's ReadFrom, which
// uses sendfile(2), instead of copying it through a buffer.
func (rec *recorder) ReadFrom(src io.Reader) (int64, error) {
	if !rec.wrote {
		rec.status, rec.wrote = http.StatusOK, true
	}
	var n int64
	var err error
	if rf, ok := rec.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{rec.ResponseWriter}, src)
	}
	rec.bytes += n
	return n, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// saneRequestID reports whether id is 1 to 64 of [0-9A-Za-z._-].
func saneRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case '0' <= c && c <= '9', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestID returns the caller's X-Request-Id when it looks like one (a
// proxy may have set it), else a new random one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); saneRequestID(id) {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// observe runs next for one request and then records it: one access log
// line (debug level for health checks) and the request metrics.
func (s *Server) observe(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) {
	start := time.Now()
	// One allocation for both: this runs for every request.
	o := &struct {
		info requestInfo
		rec  recorder
	}{info: requestInfo{id: requestID(r), project: "-", route: "unmatched"}, rec: recorder{ResponseWriter: w, status: http.StatusOK}}
	info, rec := &o.info, &o.rec
	w.Header()["X-Request-Id"] = []string{info.id}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
	func() {
		defer s.recoverPanic(rec, r)
		next(rec, r)
	}()
	d := time.Since(start)
	s.metrics.Request(info.project, info.route, rec.status, rec.bytes, d)
	level := slog.LevelInfo
	if info.health {
		level = slog.LevelDebug
	}
	attrs := [9]slog.Attr{
		slog.String("request_id", info.id), slog.String("project", info.project), slog.String("method", r.Method),
		slog.String("route", info.route), slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	n := 7
	if info.asset != "" {
		attrs[n] = slog.String("asset", info.asset)
		n++
	}
	if info.cache != "" {
		attrs[n] = slog.String("cache", info.cache)
		n++
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs[:n]...)
}
