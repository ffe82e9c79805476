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
// roots are usable (originals readable, generated writable), else 503 naming
// each failing project; and 503 once the server is shutting down.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
		return
	}
	var mu sync.Mutex
	problems := map[string]string{}
	var wg sync.WaitGroup
	for _, p := range s.projects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.ready(r.Context()); err != nil {
				mu.Lock()
				problems[p.Name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(problems) > 0 {
		s.log.WarnContext(r.Context(), "not ready", "problems", problems)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "projects": problems})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (p *Project) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := p.Files.DB().PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if err := p.Originals.Check(ctx, false); err != nil {
		return fmt.Errorf("storage.root: %w", err)
	}
	if err := p.Thumbs.Check(ctx, true); err != nil {
		return fmt.Errorf("storage.thumb_root: %w", err)
	}
	return nil
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
