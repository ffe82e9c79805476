// Command v8assets serves Directus v8 asset URLs (/<project>/assets/<id>)
// from v8's MySQL database and uploads folder.
//
// Usage:
//
//	v8assets serve -config PATH [-listen ADDR]
//	v8assets check-config -config PATH
//	v8assets rotate-hash -config PATH -project NAME (-file ID | -all [-from ID] [-batch N])
//	v8assets index -config PATH -project NAME
//	v8assets purge -config PATH -project NAME [-file ID] [-dir DIR] [-dry-run]
//	v8assets warm -config PATH -project NAME [-keys K,...] [-formats avif,webp] [-file ID | -since ID]
//	v8assets health -config PATH
//	v8assets version
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/metrics"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/whitelist"
)

//go:embed schema.sql
var schemaSQL string

const usage = `usage: v8assets <command> [-config PATH]

commands:
  serve          serve the configured projects
  check-config   validate the configuration and print it, passwords masked
  rotate-hash    give a file (-file ID) or every file (-all) a new private hash
  index          add the optional lookup indexes on directus_files
  purge          delete generated thumbnails (all, -file ID's, -dir DIR's); -dry-run lists
  import-v8-config  print a config.toml made from v8 project configs (FILE.php ...; -o FILE writes it)
  warm           generate every preset of every image (or -keys, -file ID, -since ID) ahead of visitors
  health         exit 0 when the running server's /readyz answers 200, else 1
  version        print the version, the build time and the Go version

The config path defaults to $V8ASSETS_CONFIG, else ./config.toml.
Run "v8assets <command> -h" for a command's flags.
`

// workerCommand is the hidden command a generation worker runs as
// (generator.Isolation): the same binary, so a worker decodes exactly what
// the server would.
const workerCommand = "generate-worker"

func main() {
	if len(os.Args) == 2 && os.Args[1] == workerCommand {
		os.Exit(generator.ServeWorker())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code. serve stops
// gracefully when ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultPath := os.Getenv("V8ASSETS_CONFIG")
	if defaultPath == "" {
		defaultPath = "config.toml"
	}
	configPath := fs.String("config", defaultPath, "path to config.toml (default: $V8ASSETS_CONFIG, else ./config.toml)")
	var listen *string
	if cmd == "serve" {
		listen = fs.String("listen", "", "address to listen on, overriding server.listen (e.g. 127.0.0.1:9000)")
	}
	var project *string
	if cmd == "rotate-hash" || cmd == "index" || cmd == "purge" || cmd == "warm" {
		project = fs.String("project", "", "project name (required)")
	}
	var pf purgeFlags
	if cmd == "purge" {
		fs.Int64Var(&pf.file, "file", 0, "only the variants of this file id")
		fs.StringVar(&pf.dir, "dir", "", "only this generated directory, e.g. w200,h200,fcrop,q80")
		fs.BoolVar(&pf.dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	}
	var wf warmFlags
	if cmd == "warm" {
		fs.StringVar(&wf.keys, "keys", "", "comma-separated presets to make (default: every system and user whitelist key)")
		fs.BoolVar(&wf.allKeys, "all-keys", false, "every preset (the default)")
		fs.Int64Var(&wf.file, "file", 0, "only this file id")
		fs.Int64Var(&wf.since, "since", 0, "only files with an id above this (to resume)")
		fs.IntVar(&wf.concurrency, "concurrency", runtime.NumCPU(), "generations at once")
		fs.BoolVar(&wf.dryRun, "dry-run", false, "count what would be generated, write nothing")
		fs.StringVar(&wf.formats, "formats", "", "also make the variants auto_format serves, e.g. avif,webp")
	}
	var imp importFlags
	if cmd == "import-v8-config" {
		fs.StringVar(&imp.apiRoot, "api-root", "", "v8's API root, against which relative storage roots resolve (default: the parent of each config file's directory)")
		fs.StringVar(&imp.out, "o", "", "write config.toml here (never overwritten), or - for stdout with passwords")
	}
	var rot rotateFlags
	if cmd == "rotate-hash" {
		fs.Int64Var(&rot.file, "file", 0, "id of the file to rotate")
		fs.BoolVar(&rot.all, "all", false, "rotate every file of the project")
		fs.Int64Var(&rot.from, "from", 0, "with -all: start after this file id (to resume)")
		fs.IntVar(&rot.batch, "batch", 500, "with -all: files per transaction")
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if project != nil && *project == "" {
		fmt.Fprintf(stderr, "%s: -project NAME is required\n", cmd)
		return 2
	}
	switch cmd {
	case "serve":
		return serve(ctx, *configPath, *listen, stderr)
	case "check-config":
		return checkConfig(*configPath, stdout, stderr)
	case "health":
		return health(*configPath, stdout, stderr)
	case "purge":
		return purge(ctx, *configPath, *project, pf, stdout, stderr)
	case "import-v8-config":
		return importV8Config(fs.Args(), imp, stdout, stderr)
	case "warm":
		return warm(ctx, *configPath, *project, wf, stdout, stderr)
	case "rotate-hash", "index":
		_, pc, code := loadProject(*configPath, *project, stderr)
		if pc == nil {
			return code
		}
		store, closeDB, code := openProjectStore(ctx, pc, *project, stderr)
		if store == nil {
			return code
		}
		defer closeDB()
		if cmd == "index" {
			return index(ctx, store, stdout, stderr)
		}
		return rotate(ctx, store, rot, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// HTTP timeouts: headers must arrive promptly, bodies are small (admin
// PATCH), responses may be large originals going to slow clients.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = time.Minute
	writeTimeout      = 10 * time.Minute
	idleTimeout       = 2 * time.Minute
)

func newLogger(sc ServerConfig, w io.Writer) *slog.Logger {
	level, _ := sc.Level()
	opts := &slog.HandlerOptions{Level: level}
	if sc.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(ctx context.Context, path, listen string, stderr io.Writer) int {
	cfg, err := LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if listen != "" {
		cfg.Server.Listen = listen
	}
	logger := newLogger(cfg.Server, stderr)
	mysql.SetLogger(slog.NewLogLogger(logger.Handler(), slog.LevelWarn))
	if msg := autoFormatIgnored(cfg); msg != "" {
		logger.Warn(msg)
	}
	iso, err := isolation(cfg.Server)
	if err != nil {
		logger.Error("isolate_generations", "err", err)
		return 1
	}
	gen := generator.New(generator.Options{
		Workers: cfg.Server.MaxGenerations, Queue: cfg.Server.GenerationQueue,
		Timeout: cfg.Server.GenerationTimeout.Duration, SourceStatTTL: sourceStatTTL,
		MemoryBudget: cfg.Server.MaxGenerationMemory.Bytes, Isolation: iso,
	})
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft limit above the generation budget makes the collector work
		// harder before the process outgrows what the operator planned.
		debug.SetMemoryLimit(cfg.Server.MaxGenerationMemory.Bytes + memoryHeadroom)
	}
	if os.Getenv("GOGC") == "" {
		defer keepHeapFloor(heapFloor)()
	}
	m := metrics.New(func() float64 { return float64(gen.Waiting()) }, func() float64 { return float64(gen.InFlight()) })
	projects, closeAll, err := openProjects(ctx, cfg, logger, m)
	if err != nil {
		logger.Error("open projects", "err", err)
		return 1
	}
	defer closeAll()

	trusted, _ := cfg.Server.Prefixes() // validated by LoadConfig
	handler := middleware.New(projects, middleware.Options{
		Generator: gen, Metrics: m, Logger: logger, MaintenanceFile: cfg.Server.MaintenanceFile,
		MinFreeSpace: cfg.Server.MinFreeSpace.Bytes, AdminAuthFailures: cfg.Server.AdminAuthFailures,
		TrustedProxies: trusted,
	})
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go sweepTemp(sweepCtx, projects, logger)
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	servers := []*http.Server{{
		Handler: handler, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, ErrorLog: errorLog,
	}}
	addrs := []string{cfg.Server.Listen}
	if cfg.Server.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		mux.Handle("GET /readyz", handler.ReadyDetails())
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, ErrorLog: errorLog})
		addrs = append(addrs, cfg.Server.MetricsListen)
	}
	// Every listener first: a port that cannot be bound stops the start
	// before anything serves, and releases what was bound.
	listeners := make([]net.Listener, 0, len(servers))
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			logger.Error("listen", "addr", addr, "err", err)
			for _, l := range listeners {
				l.Close()
			}
			gen.Shutdown(context.Background())
			return 1
		}
		listeners = append(listeners, ln)
	}
	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	logger.Info("serving", "addr", cfg.Server.Listen, "metrics", cfg.Server.MetricsListen, "projects", cfg.ProjectNames())
	code := 0
	select {
	case err := <-errc:
		// One listener failed: stop the others as on a signal.
		logger.Error("serve", "err", err)
		code = 1
	case <-ctx.Done():
	}

	// Readiness turns 503 first, then in-flight requests and generations get
	// shutdown_timeout to finish; generations still running after it are
	// abandoned at their next step, leaving no file behind.
	logger.Info("shutting down", "timeout", cfg.Server.ShutdownTimeout.String())
	handler.Drain()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	if err := servers[0].Shutdown(shutdownCtx); err != nil {
		logger.Warn("requests still running at the shutdown timeout", "err", err)
	}
	if err := gen.Shutdown(shutdownCtx); err != nil {
		logger.Warn("thumbnail generations abandoned at the shutdown timeout", "err", err)
	}
	for _, srv := range servers[1:] {
		srv.Close()
	}
	logger.Info("stopped")
	return code
}

// isolation returns how generations run under sc: in worker processes of
// this executable when isolate_generations is on, else nil (in-process).
func isolation(sc ServerConfig) (*generator.Isolation, error) {
	if !sc.IsolateGenerations {
		return nil, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this executable for the generation workers: %w", err)
	}
	return &generator.Isolation{Command: []string{exe, workerCommand}}, nil
}

// memoryHeadroom is what GOMEMLIMIT allows beyond max_generation_memory:
// the lookup caches, request buffers and the runtime itself.
const memoryHeadroom = 256 << 20

// sourceStatTTL is how long serve trusts an original's size and mtime for
// the "replaced since" check of a thumbnail hit (spec Q12).
const sourceStatTTL = time.Second

// Temporary files older than tempMaxAge are what a killed process left
// between writing and renaming; serve sweeps them at start and every
// sweepInterval.
const (
	tempMaxAge    = 10 * time.Minute
	sweepInterval = time.Hour
)

// sweepTemp removes stale temporary files from every project's thumb root
// until ctx is done.
func sweepTemp(ctx context.Context, projects []*middleware.Project, logger *slog.Logger) {
	tick := time.NewTicker(sweepInterval)
	defer tick.Stop()
	for {
		for _, p := range projects {
			removed, err := storage.SweepTemp(ctx, p.Thumbs, time.Now().Add(-tempMaxAge))
			if len(removed) > 0 {
				logger.Info("removed stale temporary files", "project", p.Name, "root", p.Thumbs.String(), "count", len(removed))
			}
			if err != nil && ctx.Err() == nil {
				logger.Warn("sweeping temporary files", "project", p.Name, "root", p.Thumbs.String(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// openProjects opens every project's database, lookup cache and storage.
// The returned function stops the caches and closes the databases.
func openProjects(ctx context.Context, cfg *Config, logger *slog.Logger, m *metrics.Metrics) ([]*middleware.Project, func(), error) {
	var dbs []*sqlx.DB
	var caches []*hashes.Cache
	closeAll := func() {
		for _, c := range caches {
			c.Close()
		}
		for _, db := range dbs {
			db.Close()
		}
	}
	var projects []*middleware.Project
	for _, name := range cfg.ProjectNames() {
		pc := cfg.Projects[name]
		db, err := openDatabase(ctx, pc.Database)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("project %s: %w", name, err)
		}
		dbs = append(dbs, db)
		store := hashes.NewStore(db, func(query string, d time.Duration) { m.Query(name, query, d) })
		store.SetQueryTimeout(pc.Database.QueryTimeout.Duration)
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := db.PingContext(pingCtx); err != nil {
			logger.Warn("database not reachable yet; requests will fail until it is", "project", name, "err", err)
		} else {
			warnMissingIndex(pingCtx, store, name, logger)
			if has, err := store.HasFiles(pingCtx); err == nil && !has {
				// Every asset URL of such a project answers 404: say why once.
				logger.Warn("directus_files is empty: every asset URL of this project will answer 404", "project", name)
			}
		}
		cancel()
		originals, thumbs, err := openStorage(ctx, pc.Storage)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("project %s: %w", name, err)
		}
		var files middleware.Files = store
		if pc.ChangeProbe.Duration > 0 {
			cache := hashes.NewCache(store, hashes.CacheOptions{
				Interval: pc.ChangeProbe.Duration, StaleIfError: pc.StaleIfError.Duration,
				Entries: pc.LookupCacheEntries, Project: name, Logger: logger,
				Events: hashes.CacheEvents{
					Lookup:     func(result string) { m.Lookup(name, result) },
					Probe:      func(d time.Duration, err error) { m.Probe(name, d, err) },
					Invalidate: func(reason string) { m.Invalidation(name, reason) },
				},
			})
			caches = append(caches, cache)
			files = cache
		}
		projects = append(projects, &middleware.Project{
			Name:       name,
			Files:      files,
			Originals:  originals,
			Thumbs:     thumbs,
			Thumbnails: thumbnailsOf(pc),
			CORS: middleware.CORS{
				Enabled:        pc.CORS.Enabled,
				Origin:         pc.CORS.Origin,
				Methods:        pc.CORS.Methods,
				Headers:        pc.CORS.Headers,
				ExposedHeaders: pc.CORS.ExposedHeaders,
				MaxAge:         pc.CORS.MaxAge,
				Credentials:    pc.CORS.Credentials,
			},
			CacheTTL: pc.CacheTTL,
		})
	}
	return projects, closeAll, nil
}

// warnMissingIndex logs, for a MySQL directus_files of more than 10,000
// rows without an index on the lookup column, the command that adds one.
func warnMissingIndex(ctx context.Context, store *hashes.Store, project string, logger *slog.Logger) {
	column, rows, err := store.MissingIndex(ctx, 10_000)
	if err != nil {
		logger.Warn("could not check the lookup index", "project", project, "err", err)
		return
	}
	if column != "" {
		logger.Warn("directus_files has no index on its lookup column: every request scans the table",
			"project", project, "column", column, "rows", rows,
			"fix", "v8assets index -config <config.toml> -project "+project)
	}
}

// openStorage returns a project's originals and generated roots. A local
// thumb root is created when missing, as v8 did.
func openStorage(ctx context.Context, sc StorageConfig) (originals, thumbs storage.Store, err error) {
	if sc.Adapter == "s3" {
		cfg := storage.S3Config{Key: sc.Key, Secret: sc.Secret, Region: sc.Region, Bucket: sc.Bucket,
			Endpoint: sc.Endpoint, Root: sc.Root, ACL: sc.Options.ACL, CacheControl: sc.Options.CacheControl}
		o, err := storage.NewS3(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("storage: %w", err)
		}
		cfg.Root = sc.ThumbRoot
		t, err := storage.NewS3(ctx, cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("storage: %w", err)
		}
		return o, t, nil
	}
	o, err := storage.NewLocal(sc.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("storage.root: %w", err)
	}
	t, err := storage.CreateLocal(sc.ThumbRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("storage.thumb_root: %w", err)
	}
	return o, t, nil
}

// openDatabase opens a project's database handle. A SQLite file that does not
// exist yet is created from schema.sql and the configured seed.
func openDatabase(ctx context.Context, dc DatabaseConfig) (*sqlx.DB, error) {
	if dc.Type == "sqlite" {
		var seed []byte
		if dc.Seed != "" {
			var err error
			if seed, err = os.ReadFile(dc.Seed); err != nil {
				return nil, fmt.Errorf("database.seed: %w", err)
			}
		}
		return hashes.OpenSQLite(ctx, dc.Path, schemaSQL, string(seed))
	}
	db, err := sqlx.Open("mysql", mysqlDSN(dc))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxLifetime(5 * time.Minute)
	return db, nil
}

// mysqlDSN builds the driver DSN. interpolateParams saves the prepare round
// trip of every lookup, which roughly doubles point-lookup throughput.
func mysqlDSN(dc DatabaseConfig) string {
	mc := mysql.NewConfig()
	mc.User = dc.Username
	mc.Passwd = dc.Password
	if dc.Socket != "" {
		mc.Net, mc.Addr = "unix", dc.Socket
	} else {
		mc.Net, mc.Addr = "tcp", net.JoinHostPort(dc.Host, fmt.Sprint(dc.Port))
	}
	mc.DBName = dc.Name
	mc.InterpolateParams = true
	mc.Timeout = 5 * time.Second
	// Socket deadlines as well as the per-query context: a frozen server
	// must fail a query, never hang it.
	mc.ReadTimeout, mc.WriteTimeout = dc.QueryTimeout.Duration, dc.QueryTimeout.Duration
	mc.Params = map[string]string{"charset": "utf8mb4"}
	return mc.FormatDSN()
}

// thumbnailsOf returns a project's thumbnail settings as serve and warm use
// them.
func thumbnailsOf(pc *ProjectConfig) middleware.Thumbnails {
	return middleware.Thumbnails{
		Limits:          whitelist.Options{RequireWhitelist: pc.RequireWhitelist, MaxDimension: pc.MaxDimension},
		AutoOrient:      pc.AutoOrient,
		MaxSourcePixels: pc.MaxSourcePixels,
		MaxSourceBytes:  pc.MaxSourceBytes.Bytes,
		Rendering:       pc.Rendering,
		// The pure-Go build ignores auto_format (autoFormatIgnored says so).
		AutoFormats: slices.DeleteFunc(slices.Clone(pc.AutoFormat), func(f string) bool { return !generator.CanEncode(f) }),
	}
}

// autoFormatIgnored returns, for a build that cannot encode some format a
// project's auto_format lists, the message check-config prints and serve
// logs once; else "".
func autoFormatIgnored(cfg *Config) string {
	var projects []string
	for _, name := range cfg.ProjectNames() {
		if slices.ContainsFunc(cfg.Projects[name].AutoFormat, func(f string) bool { return !generator.CanEncode(f) }) {
			projects = append(projects, name)
		}
	}
	if len(projects) == 0 {
		return ""
	}
	return "auto_format is ignored: this pure-Go build encodes neither AVIF nor WebP (build with cgo and libavif-dev, libwebp-dev); projects: " + strings.Join(projects, ", ")
}
