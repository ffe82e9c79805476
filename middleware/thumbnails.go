package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/whitelist"
)

// Thumbnails are a project's thumbnail settings from config.toml.
type Thumbnails struct {
	Limits          whitelist.Options
	AutoOrient      bool
	MaxSourcePixels int64
	// MaxSourceBytes refuses larger originals before reading them; 0: no
	// limit.
	MaxSourceBytes int64
	// Rendering is generator.RenderFast or generator.RenderV8.
	Rendering string
	// AutoFormats are the formats ("avif", "webp"), in order of preference,
	// a thumbnail without an explicit format is converted to when the
	// request accepts one (Negotiate); empty keeps v8's output. Only formats
	// this build encodes (generator.CanEncode) belong here.
	AutoFormats []string
}

// Negotiable reports whether auto_format may convert the thumbnails of an
// original with this lower-case extension: every image but a GIF, whose
// palette and transparency a conversion would not improve.
func Negotiable(sourceExt string) bool { return sourceExt != "gif" }

// Negotiate returns the format a thumbnail request should get instead of
// spec's: the first of AutoFormats that accept names with q > 0 and that
// can be written at spec's size. It returns "" — keep spec's format — when AutoFormats is
// empty, the request names a format (param mode; key mode ignores format,
// as v8 did), or the original is not Negotiable.
func (t Thumbnails) Negotiate(req whitelist.Request, spec whitelist.Spec, accept []string) string {
	if len(t.AutoFormats) == 0 || !Negotiable(spec.SourceExt) || (!req.Key.Present && req.Format.Value != "") {
		return ""
	}
	for _, f := range t.AutoFormats {
		// A size the format cannot be written at falls to the next one.
		if accepts(accept, "image/"+f) && generator.CanEncodeAt(f, spec.Width, spec.Height) {
			return f
		}
	}
	return ""
}

// Job returns the generation of the thumbnail spec of the original source
// under these settings.
func (t Thumbnails) Job(spec whitelist.Spec, source string) generator.Job {
	return generator.Job{
		Source: source, Path: spec.Path(),
		Width: spec.Width, Height: spec.Height, Contain: spec.Fit == whitelist.Contain,
		Quality: spec.Quality, Format: spec.Format, SourceExt: spec.SourceExt,
		AutoOrient: t.AutoOrient, MaxSourcePixels: t.MaxSourcePixels,
		MaxSourceBytes: t.MaxSourceBytes, Rendering: t.Rendering,
	}
}

// rulesCache keeps a project's parsed whitelist until the settings text
// changes, so JSON is parsed (and a malformed list warned about) once per
// edit rather than on every request.
type rulesCache struct {
	mu                 sync.Mutex
	system, user       string
	hasSystem, hasUser bool
	rules              whitelist.Rules
	loaded             bool
}

func (c *rulesCache) get(settings hashes.Settings, log *slog.Logger, project string) whitelist.Rules {
	system, hasSystem := settings.Value(hashes.KeyWhitelistSystem)
	user, hasUser := settings.Value(hashes.KeyWhitelist)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded && system == c.system && user == c.user && hasSystem == c.hasSystem && hasUser == c.hasUser {
		return c.rules
	}
	rules, warn := whitelist.Parse(system, hasSystem, user, hasUser)
	if warn != nil {
		log.Warn("a whitelist setting is malformed (a malformed asset_whitelist allows any size unless require_whitelist = true)",
			"project", project, "err", warn)
	}
	c.system, c.user, c.hasSystem, c.hasUser, c.rules, c.loaded = system, user, hasSystem, hasUser, rules, true
	return rules
}

// thumbnailRequest picks v8's thumbnail parameters out of a parsed query.
func thumbnailRequest(q Query, filenameDisk string) whitelist.Request {
	param := func(name string) whitelist.Param {
		v, ok := q[name]
		return whitelist.Param{Value: v.Str, Present: ok, Array: v.Array}
	}
	return whitelist.Request{
		Key: param("key"), W: param("w"), H: param("h"), F: param("f"), Q: param("q"),
		Format: param("format"), FilenameDisk: filenameDisk,
	}
}

// contentTypes are the thumbnail Content-Types by output format (spec Q36).
var contentTypes = map[string]string{
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
	"avif": "image/avif",
}

// serveThumbnail answers thumbnail mode (spec §4, §5): resolve the spec,
// generate or reuse the file, serve it. HEAD generates too (Q34).
func (s *Server) serveThumbnail(w http.ResponseWriter, r *http.Request, a assetRequest, req whitelist.Request) {
	ctx, p, file := r.Context(), a.project, a.file
	negotiates := len(p.Thumbnails.AutoFormats) > 0
	if negotiates {
		// Every answer of the URL may depend on Accept, errors included.
		addVary(w.Header(), "Accept")
	}
	spec, err := p.rules.get(a.settings, s.log, p.Name).Resolve(req, p.Thumbnails.Limits)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if negotiates {
		if f := p.Thumbnails.Negotiate(req, spec, r.Header.Values("Accept")); f != "" {
			spec.Format = f
		}
	}
	job := p.Thumbnails.Job(spec, file.FilenameDisk)
	job.Tenant = p.Name
	obj, res, err := s.gen.Open(ctx, p.Originals, p.Thumbs, job)
	if errors.Is(err, storage.ErrOutsideRoot) {
		s.log.ErrorContext(ctx, "filename_disk escapes a storage root",
			"project", p.Name, "file_id", file.ID, "filename_disk", file.FilenameDisk)
		err = hashes.ErrNotFound
	}
	if err == nil && (res.Generated || res.Shared) {
		// The lookup may be older than a rotation made while this
		// request waited for its generation: the id must still name the
		// file before the thumbnail goes out.
		err = s.stillNames(ctx, a)
		if err != nil {
			obj.Close()
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	result := "hit"
	switch {
	case res.Generated:
		result = "generated"
	case res.Shared:
		result = "shared"
	}
	s.metrics.Thumbnail(p.Name, result, spec.Format, res.Duration)
	infoOf(r).cache = result
	defer obj.Close()
	h := w.Header()
	h.Set("Content-Type", contentTypes[spec.Format])
	s.serveFile(w, r, a, obj, res.Info)
}

// stillNames looks a's id up again and returns hashes.ErrNotFound unless it
// still names a's file, as a rotated hash answers.
func (s *Server) stillNames(ctx context.Context, a assetRequest) error {
	file, err := a.project.Files.Find(ctx, a.settings, a.id)
	if err != nil {
		return err
	}
	if file.ID != a.file.ID || file.FilenameDisk != a.file.FilenameDisk {
		return hashes.ErrNotFound
	}
	return nil
}
