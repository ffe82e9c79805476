// Package metrics owns what v8assets counts and how Prometheus reads it. It
// exists apart from middleware so that the instruments are defined once,
// with labels that can never carry a path or a hash (routes are templates,
// projects are configured names), and so the HTTP code only reports events.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the server's instruments in their own registry.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	thumbnails *prometheus.CounterVec
	generation *prometheus.HistogramVec
	rejections *prometheus.CounterVec
	dbQueries  *prometheus.HistogramVec
	errorsByV8 *prometheus.CounterVec
	panics     prometheus.Counter
	lookups    *prometheus.CounterVec
	probes     *prometheus.HistogramVec
	probeFails *prometheus.CounterVec
	invalid    *prometheus.CounterVec

	seriesMu sync.RWMutex
	series   map[requestKey]*requestSeries
}

// New returns a fresh set of instruments. queueDepth and inFlight are read
// at scrape time (the generator's waiting and running generations).
func New(queueDepth, inFlight func() float64) *Metrics {
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		series: map[requestKey]*requestSeries{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "v8assets_requests_total", Help: "HTTP requests by project, route template and status.",
		}, []string{"project", "route", "status"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "v8assets_response_bytes_total", Help: "Response body bytes by project and route template.",
		}, []string{"project", "route"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "v8assets_request_duration_seconds", Help: "Time to answer a request, by project and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"project", "route"}),
		thumbnails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "v8assets_thumbnails_total", Help: "Thumbnail requests served from an existing file (hit), by generating it (generated), or by waiting for another request's generation (shared).",
		}, []string{"project", "result", "format"}),
		generation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "v8assets_thumbnail_generation_seconds", Help: "Time to generate one thumbnail (decode, resize, encode, write).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"project"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "v8assets_generation_rejections_total", Help: "Thumbnail generations refused (busy: queue full) or abandoned (timeout).",
		}, []string{"reason"}),
		dbQueries: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "v8assets_db_query_duration_seconds", Help: "Database query time by project and query.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"project", "query"}),
		errorsByV8: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "v8assets_errors_total", Help: "Error responses by project and v8 error code (null for code-less errors).",
		}, []string{"project", "code"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "v8assets_panics_total", Help: "Handler panics turned into 500 answers (each is a bug).",
		}),
	}
	m.lookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "v8assets_lookup_cache_total", Help: "File lookups answered from the cache (hit), from a cached not-found (negative) or by the database (miss).",
	}, []string{"project", "result"})
	m.probes = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "v8assets_change_probe_seconds", Help: "Time of one change probe of a project's database.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 2.5},
	}, []string{"project"})
	m.probeFails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "v8assets_change_probe_failures_total", Help: "Change probes that failed.",
	}, []string{"project"})
	m.invalid = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "v8assets_lookup_cache_invalidations_total", Help: "Times a project's lookup cache was dropped, by reason.",
	}, []string{"project", "reason"})
	m.reg.MustRegister(m.lookups, m.probes, m.probeFails, m.invalid)
	m.reg.MustRegister(m.requests, m.bytes, m.duration, m.thumbnails, m.generation, m.rejections, m.dbQueries, m.errorsByV8, m.panics,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "v8assets_generation_queue_depth", Help: "Thumbnail generations waiting for a slot.",
		}, queueDepth),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "v8assets_generations_in_flight", Help: "Thumbnail generations running now.",
		}, inFlight),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler returns the Prometheus exposition handler.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request.
func (m *Metrics) Request(project, route string, status int, bytes int64, d time.Duration) {
	s := m.requestSeries(project, route, status)
	s.count.Inc()
	s.bytes.Add(float64(bytes))
	s.duration.Observe(d.Seconds())
}

// requestKey names the series one request updates. Projects are configured
// names, routes templates and statuses the few a handler sends, so the set
// is small and bounded.
type requestKey struct {
	project, route string
	status         int
}

// requestSeries are the three series of one requestKey.
type requestSeries struct {
	count, bytes prometheus.Counter
	duration     prometheus.Observer
}

// requestSeries returns the series of a request, looked up in the vectors
// (three label hashes) only the first time: Request runs for every request.
func (m *Metrics) requestSeries(project, route string, status int) *requestSeries {
	k := requestKey{project, route, status}
	m.seriesMu.RLock()
	s := m.series[k]
	m.seriesMu.RUnlock()
	if s != nil {
		return s
	}
	s = &requestSeries{
		count:    m.requests.WithLabelValues(project, route, strconv.Itoa(status)),
		bytes:    m.bytes.WithLabelValues(project, route),
		duration: m.duration.WithLabelValues(project, route),
	}
	m.seriesMu.Lock()
	m.series[k] = s
	m.seriesMu.Unlock()
	return s
}

// Thumbnail records a thumbnail request by result ("hit", "shared", or
// "generated" in d) and output format (formatLabel).
func (m *Metrics) Thumbnail(project, result, format string, d time.Duration) {
	m.thumbnails.WithLabelValues(project, result, formatLabel(format)).Inc()
	if result == "generated" {
		m.generation.WithLabelValues(project).Observe(d.Seconds())
	}
}

// formatLabel returns the format label of an output format: jpeg (for jpg
// and jpeg), png, gif, webp, avif, or other for anything else.
func formatLabel(format string) string {
	switch format {
	case "jpg", "jpeg":
		return "jpeg"
	case "png", "gif", "webp", "avif":
		return format
	}
	return "other"
}

// Rejection records a generation refused or abandoned; reason is "busy" or
// "timeout".
func (m *Metrics) Rejection(reason string) { m.rejections.WithLabelValues(reason).Inc() }

// Query records one database query of a project.
func (m *Metrics) Query(project, query string, d time.Duration) {
	m.dbQueries.WithLabelValues(project, query).Observe(d.Seconds())
}

// Error records an error response with its v8 code ("null" for none).
func (m *Metrics) Error(project, code string) { m.errorsByV8.WithLabelValues(project, code).Inc() }

// Panic records a handler panic that was turned into a 500.
func (m *Metrics) Panic() { m.panics.Inc() }

// Lookup records a file lookup of a project: "hit", "miss", "negative" or
// "stale".
func (m *Metrics) Lookup(project, result string) { m.lookups.WithLabelValues(project, result).Inc() }

// Probe records one change probe of a project.
func (m *Metrics) Probe(project string, d time.Duration, err error) {
	m.probes.WithLabelValues(project).Observe(d.Seconds())
	if err != nil {
		m.probeFails.WithLabelValues(project).Inc()
	}
}

// Invalidation records a drop of a project's lookup cache.
func (m *Metrics) Invalidation(project, reason string) {
	m.invalid.WithLabelValues(project, reason).Inc()
}
