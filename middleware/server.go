// Package middleware is the HTTP face of v8assets: it routes v8's URLs,
// parses requests the way PHP did, asks hashes, whitelist and generator for
// answers, maps every error to v8's JSON in one place and hands bytes to
// http.ServeContent. It knows nothing of SQL or pixels.
package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/metrics"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/v8err"
)

// Files is what the server asks a project's database: *hashes.Store reads
// it on every request (v8's way), *hashes.Cache from memory kept fresh by a
// change probe.
type Files interface {
	Settings(ctx context.Context) (hashes.Settings, error)
	Find(ctx context.Context, settings hashes.Settings, id string) (hashes.File, error)
	Admin(ctx context.Context, token string) (hashes.User, error)
	Update(ctx context.Context, id int64, c hashes.Change) (hashes.Record, error)
	Rotate(ctx context.Context, id int64, by hashes.Actor) (hashes.Record, error)
	Ping(ctx context.Context) error
}

// Project is one v8 project as the server needs it.
type Project struct {
	// Name is the first path segment of the project's URLs.
	Name      string
	Files     Files
	Originals storage.Store
	// Thumbs is the generated root (v8's thumb_root).
	Thumbs     storage.Store
	Thumbnails Thumbnails
	CORS       CORS
	// CacheTTL is the max-age in seconds sent when the project's database
	// has no thumbnail_cache_ttl row; 0 sends no Cache-Control (spec Q16).
	CacheTTL int

	rules rulesCache
}

// Options are the server-wide parts of a Server.
type Options struct {
	Generator *generator.Generator
	// Metrics receives every request's measurements; nil makes a private set.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// MaintenanceFile, when it exists, puts every request but the health
	// checks into v8's maintenance answer (spec §1.5).
	MaintenanceFile string
	// MinFreeSpace makes /readyz fail while a local thumb root's filesystem
	// has fewer bytes free; 0 disables the check.
	MinFreeSpace int64
	// AdminAuthFailures is how many failed admin authentications one client
	// may make in a minute before it gets 429; 0 means the default, 10.
	AdminAuthFailures int
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (the right-most address not in this list).
	TrustedProxies []netip.Prefix
}

// Server answers v8 asset URLs for a set of projects.
type Server struct {
	projects        map[string]*Project
	router          *mux.Router
	gen             *generator.Generator
	metrics         *metrics.Metrics
	log             *slog.Logger
	maintenanceFile string
	draining        atomic.Bool
	panics          panicLog
	minFreeSpace    int64
	authFailures    *failureLimiter
	trustedProxies  []netip.Prefix
}

// New returns a Server for the given projects.
func New(projects []*Project, opts Options) *Server {
	s := &Server{projects: make(map[string]*Project, len(projects)), gen: opts.Generator, metrics: opts.Metrics,
		log: opts.Logger, maintenanceFile: opts.MaintenanceFile, minFreeSpace: opts.MinFreeSpace,
		authFailures: newFailureLimiter(opts.AdminAuthFailures, time.Minute), trustedProxies: opts.TrustedProxies}
	if s.metrics == nil {
		s.metrics = metrics.New(func() float64 { return float64(s.gen.Waiting()) }, func() float64 { return float64(s.gen.InFlight()) })
	}
	for _, p := range projects {
		s.projects[p.Name] = p
	}
	r := mux.NewRouter()
	// Match on the raw path (v8 matched before decoding, spec §1.1) and never
	// redirect to a cleaned path: v8 did not.
	r.UseEncodedPath().SkipClean(true)
	// Each path is registered for its methods, then for every other method
	// with v8's 405 (code 6) and an Allow header (spec Q33).
	for _, route := range []struct {
		path    string
		handler http.HandlerFunc
		methods []string
	}{
		{"/server/ping", ping, []string{http.MethodGet, http.MethodHead}},
		// GET and HEAD of assets, nearly every request, are routed in
		// dispatch without mux (see assetID); mux answers the other methods.
		{assetRoute, nil, []string{http.MethodGet, http.MethodHead}},
		{"/{project}/files/{id:[^/]+}", s.patchFile, []string{http.MethodPatch}},
		{"/{project}/files/{id:[^/]+}/rotate-hash", s.rotateHash, []string{http.MethodPost}},
	} {
		if route.handler != nil {
			r.HandleFunc(route.path, route.handler).Methods(route.methods...)
		}
		r.HandleFunc(route.path, s.methodNotAllowed(strings.Join(append(route.methods, http.MethodOptions), ", ")))
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, v8err.New(v8err.NotFound, "Not Found"))
	})
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			infoOf(r).route = routeTemplate(r)
			next.ServeHTTP(w, r)
		})
	})
	s.router = r
	return s
}

// ServeHTTP answers the health checks, then v8's maintenance mode, then
// resolves the project from the first raw path segment, applies its CORS
// policy (answering preflights before routing, as v8 did) and routes the
// request. An unknown project is 401 code 3 (spec §1.3, Q32). Every request
// is logged and measured.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.observe(w, r, s.dispatch)
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	info := infoOf(r)
	path := r.URL.EscapedPath()
	switch path {
	case "/healthz", "/readyz":
		info.health, info.route = true, path
		if path == "/healthz" {
			healthz(w, r)
		} else {
			s.readyz(w, r)
		}
		return
	}
	if s.maintenance() {
		info.route = "maintenance"
		s.writeError(w, r, errMaintenance)
		return
	}
	segment := firstSegment(path)
	if segment == "server" {
		// "server" is reserved for v8's server routes; of those only ping
		// is ours, anything else is v8's unknown route (spec Q43).
		if path == "/server/ping" {
			s.router.ServeHTTP(w, r)
			return
		}
		info.route = "unmatched"
		s.writeError(w, r, v8err.New(v8err.NotFound, "Not Found"))
		return
	}
	p, ok := s.projects[segment]
	if !ok {
		info.project, info.route = "unknown", "unknown project"
		// No project config: v8's fallback app had CORS forced on with its
		// defaults.
		cors := DefaultCORS()
		if r.Method == http.MethodOptions {
			cors.preflight(w, r)
			return
		}
		cors.apply(w.Header(), r)
		s.writeError(w, r, v8err.New(v8err.Unauthorized, "Unauthorized request"))
		return
	}
	info.project, info.p = p.Name, p
	if p.CORS.Enabled && r.Method == http.MethodOptions {
		info.route = "preflight"
		p.CORS.preflight(w, r)
		return
	}
	p.CORS.apply(w.Header(), r)
	if id, ok := assetID(path, segment); ok && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		info.route, info.rawID = assetRoute, id
		s.serveAsset(w, r)
		return
	}
	s.router.ServeHTTP(w, r)
}

// assetRoute is the template of the asset URL, as mux would match it.
const assetRoute = "/{project}/assets/{id:[^/]+}"

// assetID returns the raw id of an asset path /<project>/assets/<id>, the
// way mux would match assetRoute: a non-empty last segment with no slash.
func assetID(path, project string) (string, bool) {
	rest, ok := strings.CutPrefix(path[1+len(project):], "/assets/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

func (s *Server) methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		s.writeError(w, r, v8err.New(v8err.MethodNotAllowed, "Method Not Allowed"))
	}
}

func firstSegment(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return seg
}

func projectOf(r *http.Request) *Project { return infoOf(r).p }

// routeTemplate returns the matched route's template (never the raw path,
// which holds hashes), or "unmatched".
func routeTemplate(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if t, err := route.GetPathTemplate(); err == nil {
			return t
		}
	}
	return "unmatched"
}

// ping answers v8's health URL that load balancers already probe.
func ping(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", "4")
	if r.Method != http.MethodHead {
		w.Write([]byte("pong"))
	}
}
