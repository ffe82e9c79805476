package middleware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/v8err"
)

// serveAsset answers GET and HEAD /<project>/assets/<id> (spec §0 step 6).
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	p := projectOf(r)
	ctx := r.Context()
	ri := infoOf(r)
	id := DecodeID(ri.rawID)
	ri.asset = hashes.Short(id)
	if !hashes.Storable(id) {
		// No file can have this id, and MySQL would fail comparing it
		// (spec Q42): answer without a query.
		s.writeError(w, r, hashes.ErrNotFound)
		return
	}
	query := ParseQuery(r.URL.RawQuery)

	settings, err := p.Files.Settings(ctx)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	file, err := p.Files.Find(ctx, settings, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := assetRequest{project: p, settings: settings, id: id, file: file, download: query.Has("download")}
	if req := thumbnailRequest(query, file.FilenameDisk); req.Wants() {
		s.serveThumbnail(w, r, a, req)
		return
	}
	obj, info, err := p.Originals.Open(ctx, file.FilenameDisk)
	switch {
	case errors.Is(err, storage.ErrOutsideRoot):
		s.log.ErrorContext(ctx, "filename_disk escapes the originals root",
			"project", p.Name, "file_id", file.ID, "filename_disk", file.FilenameDisk)
		s.writeError(w, r, hashes.ErrNotFound)
		return
	case errors.Is(err, storage.ErrNotExist):
		s.log.ErrorContext(ctx, "original missing on disk",
			"project", p.Name, "file_id", file.ID, "root", p.Originals.String(), "filename_disk", file.FilenameDisk)
		// v8 let Flysystem's exception through as a 500 with code null (Q20).
		s.writeError(w, r, v8err.New(v8err.Internal, "File not found at path: "+file.FilenameDisk))
		return
	case err != nil:
		s.writeError(w, r, fmt.Errorf("open original of file %d: %w", file.ID, err))
		return
	}
	defer obj.Close()
	if file.Type == "" {
		// v8 answered a row without a mime type with Slim's empty 404 (Q21).
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", file.Type)
	s.serveFile(w, r, a, obj, info)
}

// assetRequest is what serving one asset URL has established: the project,
// its settings, the id and the file it names, and whether ?download was
// asked.
type assetRequest struct {
	project  *Project
	settings hashes.Settings
	// id is the decoded id of the URL, file the row it named.
	id       string
	file     hashes.File
	download bool
}

// serveFile sends an original or a thumbnail whose Content-Type is already
// set: the disposition names the original's download name, then
// http.ServeContent owns Range, HEAD, 304 and 416.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, a assetRequest, obj storage.Object, info storage.Info) {
	h := w.Header()
	h.Set("Content-Disposition", contentDisposition(a.download, a.file.FilenameDownload))
	if cc := cacheControl(a.settings, a.project.CacheTTL); cc != "" {
		h.Set("Cache-Control", cc)
	}
	h.Set("Etag", etag(info))
	if rng := r.Header.Get("Range"); rng != "" {
		switch {
		case !strings.HasPrefix(rng, "bytes="):
			// A range unit other than bytes must be ignored (RFC 9110
			// §14.2); ServeContent would answer it 416.
			r.Header.Del("Range")
		case strings.Count(rng, ",") >= maxRanges:
			// Thousands of parts cost a second of CPU and megabytes of
			// multipart for a few bytes of request; like nginx past
			// max_ranges, the whole file is sent instead (a server may
			// ignore Range, RFC 9110 §14.2).
			r.Header.Del("Range")
		default:
			r.Header.Set("Range", withoutEmptySuffixes(rng, info.Size))
		}
	}
	w = &rangeRefusal{ResponseWriter: w}
	if info.Size <= smallFile && r.Method != http.MethodHead {
		// A thumbnail fits in one read: serving it from memory spares
		// ServeContent's two seeks and the separate sendfile, which on a
		// small file cost more than the copy.
		buf := smallBuffers.Get().(*[]byte)
		defer smallBuffers.Put(buf)
		n, err := io.ReadFull(obj, (*buf)[:info.Size])
		if err == nil {
			http.ServeContent(smallBody{w}, r, "", info.ModTime, bytes.NewReader((*buf)[:n]))
			return
		}
		if _, serr := obj.Seek(0, io.SeekStart); serr != nil {
			s.writeError(w, r, fmt.Errorf("read %d bytes: %w", info.Size, err))
			return
		}
	}
	http.ServeContent(w, r, "", info.ModTime, obj)
}

// rangeRefusal passes a response through, except that a 416 from
// http.ServeContent goes out without its plain-text body: Content-Range says
// everything, and every body this server sends is an asset or v8's JSON.
type rangeRefusal struct {
	http.ResponseWriter
	refused bool
}

func (w *rangeRefusal) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		w.refused = true
		h := w.Header()
		h.Del("Content-Type")
		h.Del("X-Content-Type-Options")
		h.Set("Content-Length", "0")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rangeRefusal) Write(b []byte) (int, error) {
	if w.refused {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps sendfile for the bytes of a file.
func (w *rangeRefusal) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok && !w.refused {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w}, src)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *rangeRefusal) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// smallFile is the largest file served from memory rather than with
// sendfile.
const smallFile = 64 << 10

var smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallFile); return &b }}

// smallBody passes the body of a file served from memory to the connection
// in one Write. Without its ReadFrom, io.Copy would allocate a buffer for
// every response, and the connection's ReadFrom would flush the first 512
// bytes and then try splice and sendfile on a reader that has no descriptor.
type smallBody struct{ http.ResponseWriter }

// ReadFrom copies src to the response through a pooled buffer, one Write
// per buffer-full (one in all for a file of at most smallFile bytes).
func (w smallBody) ReadFrom(src io.Reader) (int64, error) {
	buf := smallBuffers.Get().(*[]byte)
	defer smallBuffers.Put(buf)
	var total int64
	for {
		n, err := io.ReadFull(src, *buf)
		if n > 0 {
			m, werr := w.Write((*buf)[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		switch err {
		case nil:
			continue
		case io.EOF, io.ErrUnexpectedEOF:
			return total, nil
		}
		return total, err
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w smallBody) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maxRanges is the most parts a Range header may ask for; more get the
// whole file with 200. Real clients ask for one (media players, download
// managers) or a few (PDF viewers).
const maxRanges = 16

// withoutEmptySuffixes drops the suffix ranges of length zero ("-0") from a
// Range header: http.ServeContent would answer them with a 206 and an invalid
// Content-Range, but they can never be satisfied (RFC 9110 §14.1.1). When
// nothing else is left, the result is a range that starts at size, which
// ServeContent answers with 416 like any other unsatisfiable range.
func withoutEmptySuffixes(header string, size int64) string {
	specs, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return header
	}
	var kept []string
	dropped := false
	for spec := range strings.SplitSeq(specs, ",") {
		if t := strings.TrimSpace(spec); strings.HasPrefix(t, "-") && strings.Trim(t[1:], "0") == "" && len(t) > 1 {
			dropped = true
			continue
		}
		kept = append(kept, spec)
	}
	switch {
	case !dropped:
		return header
	case len(kept) == 0:
		return "bytes=" + strconv.FormatInt(size, 10) + "-"
	}
	return "bytes=" + strings.Join(kept, ",")
}

// cacheControl returns v8's Cache-Control from the thumbnail_cache_ttl row
// when it is present and PHP-truthy, verbatim; else the project's configured
// default; else "" (spec Q16).
func cacheControl(settings hashes.Settings, fallback int) string {
	if v, ok := settings.Value(hashes.KeyCacheTTL); ok {
		if v == "" || v == "0" {
			return ""
		}
		return "max-age=" + v + ", public"
	}
	if fallback > 0 {
		return "max-age=" + strconv.Itoa(fallback) + ", public"
	}
	return ""
}

// etag returns a strong validator from the file's modification time and size.
func etag(info storage.Info) string {
	return `"` + strconv.FormatInt(info.ModTime.UnixNano(), 36) + "-" + strconv.FormatInt(info.Size, 36) + `"`
}

// contentDisposition returns `inline` (or `attachment` with ?download) with
// an ASCII-safe quoted filename and an RFC 5987 filename* carrying the exact
// UTF-8 name (spec Q15). Control characters are dropped from both.
func contentDisposition(download bool, name string) string {
	kind := "inline"
	if download {
		kind = "attachment"
	}
	if !strings.ContainsFunc(name, func(r rune) bool { return r > 0x7e || !isAttrChar(byte(r)) }) {
		// Most download names need no escaping in either form.
		return kind + `; filename="` + name + `"; filename*=UTF-8''` + name
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	var ascii, ext strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\':
			ascii.WriteByte('\\')
			ascii.WriteRune(r)
		case r > 0x7e:
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return kind + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar reports whether b may appear unencoded in an RFC 5987 value.
func isAttrChar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
