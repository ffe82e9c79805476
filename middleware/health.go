package middleware

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/v8assets/v8assets/v8err"
)

// readyTimeout bounds each project's readiness checks.
const readyTimeout = 2 * time.Second

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // maps of strings cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// healthz answers that the process is alive.
func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every project's database answers a ping and its
// roots are usable (originals readable, generated writable with at least
// MinFreeSpace free), else 503; and 503 once the server is shutting down.
// The public answer names only the failing project and component
// (database, originals, thumbs); the reasons go to the log, and to
// ReadyDetails, which belongs on the private metrics listener.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.ready(w, r, false)
}

// ReadyDetails is readyz with the reason of each failure in the body
// (driver errors, paths, free space), for the metrics listener only.
func (s *Server) ReadyDetails() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.ready(w, r, true) })
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request, details bool) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	var mu sync.Mutex
	problems := map[string]string{}
	reasons := map[string]string{}
	var wg sync.WaitGroup
	for _, p := range s.projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if component, err := p.ready(r.Context(), s.minFreeSpace); err != nil {
				mu.Lock()
				problems[p.Name] = component
				reasons[p.Name] = component + ": " + err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		s.log.WarnContext(r.Context(), "not ready", "problems", reasons)
		if details {
			problems = reasons
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "projects": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// freeSpacer is a storage root that can tell the free space of its
// filesystem (local roots; S3 has no such limit).
type freeSpacer interface {
	FreeSpace() (uint64, error)
}

// ready returns the first failing component of p, "database", "originals"
// or "thumbs", and why; or "" and nil.
func (p *Project) ready(ctx context.Context, minFree int64) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := p.Files.Ping(ctx); err != nil {
		return "database", err
	}
	if err := p.Originals.Check(ctx, false); err != nil {
		return "originals", err
	}
	if err := p.Thumbs.Check(ctx, true); err != nil {
		return "thumbs", err
	}
	if fs, ok := p.Thumbs.(freeSpacer); ok && minFree > 0 {
		free, err := fs.FreeSpace()
		if err != nil {
			return "thumbs", err
		}
		if free < uint64(minFree) {
			return "thumbs", fmt.Errorf("%d bytes free on the filesystem of %s, below min_free_space (%d)", free, p.Thumbs, minFree)
		}
	}
	return "", nil
}

// Drain makes /readyz answer 503 from now on, so load balancers stop
// sending traffic while in-flight requests finish.
func (s *Server) Drain() { s.draining.Store(true) }

// maintenance reports whether the maintenance file exists (spec §1.5).
func (s *Server) maintenance() bool {
	if s.maintenanceFile == "" {
		return false
	}
	_, err := os.Stat(s.maintenanceFile)
	return err == nil
}

var errMaintenance = v8err.New(v8err.Maintenance, "This API instance is currently down for maintenance. Please try again later.")
