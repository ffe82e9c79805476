package metrics

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Every recording method reaches its exposed series, with the labels it
// was given.
func TestExposition(t *testing.T) {
	m := New(func() float64 { return 3 }, func() float64 { return 2 })
	m.Request("site", "/{project}/assets/{id:[^/]+}", 200, 1234, 15*time.Millisecond)
	m.Thumbnail("site", "generated", "avif", 40*time.Millisecond)
	m.Thumbnail("site", "shared", "jpg", 0)
	m.Thumbnail("site", "hit", "jpeg", 0)
	m.Thumbnail("site", "hit", "pdf", 0)
	m.Rejection("busy")
	m.Query("site", "find", time.Millisecond)
	m.Error("site", "203")
	m.Panic()
	m.Lookup("site", "negative")
	m.Probe("site", time.Millisecond, errors.New("frozen"))
	m.Invalidation("site", "own_write")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`v8assets_requests_total{project="site",route="/{project}/assets/{id:[^/]+}",status="200"} 1`,
		`v8assets_response_bytes_total{project="site",route="/{project}/assets/{id:[^/]+}"} 1234`,
		`v8assets_request_duration_seconds_bucket{project="site",route="/{project}/assets/{id:[^/]+}",le="0.025"} 1`,
		`v8assets_thumbnails_total{format="avif",project="site",result="generated"} 1`,
		`v8assets_thumbnails_total{format="jpeg",project="site",result="shared"} 1`,
		`v8assets_thumbnails_total{format="jpeg",project="site",result="hit"} 1`,
		`v8assets_thumbnails_total{format="other",project="site",result="hit"} 1`,
		`v8assets_thumbnail_generation_seconds_count{project="site"} 1`,
		`v8assets_generation_rejections_total{reason="busy"} 1`,
		`v8assets_db_query_duration_seconds_count{project="site",query="find"} 1`,
		`v8assets_errors_total{code="203",project="site"} 1`,
		`v8assets_panics_total 1`,
		`v8assets_lookup_cache_total{project="site",result="negative"} 1`,
		`v8assets_change_probe_seconds_count{project="site"} 1`,
		`v8assets_change_probe_failures_total{project="site"} 1`,
		`v8assets_lookup_cache_invalidations_total{project="site",reason="own_write"} 1`,
		`v8assets_generation_queue_depth 3`,
		`v8assets_generations_in_flight 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}
