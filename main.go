// Command v8assets serves Directus v8 asset URLs (/<project>/assets/<id>)
// from v8's MySQL database and uploads folder.
//
// Usage:
//
//	v8assets serve -config PATH
//	v8assets check-config -config PATH
//	v8assets rotate-hash -config PATH -project NAME (-file ID | -all [-from ID] [-batch N])
//	v8assets index -config PATH -project NAME
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
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
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

The config path defaults to $V8ASSETS_CONFIG, else ./config.toml.
`

func main() {
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
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defaultPath := os.Getenv("V8ASSETS_CONFIG")
	if defaultPath == "" {
		defaultPath = "config.toml"
	}
	configPath := fs.String("config", defaultPath, "path to config.toml")
	var project *string
	if cmd == "rotate-hash" || cmd == "index" {
		project = fs.String("project", "", "project name (required)")
	}
	var rot rotateFlags
	if cmd == "rotate-hash" {
		fs.Int64Var(&rot.file, "file", 0, "id of the file to rotate")
		fs.BoolVar(&rot.all, "all", false, "rotate every file of the project")
		fs.Int64Var(&rot.from, "from", 0, "with -all: start after this file id (to resume)")
		fs.IntVar(&rot.batch, "batch", 500, "with -all: files per transaction")
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	switch cmd {
	case "serve":
		return serve(ctx, *configPath, stderr)
	case "check-config":
		return checkConfig(*configPath, stdout, stderr)
	case "rotate-hash", "index":
		store, closeDB, code := openProjectStore(ctx, *configPath, *project, stderr)
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

type rotateFlags struct {
	file, from int64
	all        bool
	batch      int
}

// openProjectStore loads the config and opens one project's database. On
// failure it returns a nil store and the exit code.
func openProjectStore(ctx context.Context, path, project string, stderr io.Writer) (*hashes.Store, func(), int) {
	cfg, err := LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, nil, 1
	}
	pc, ok := cfg.Projects[project]
	if !ok {
		fmt.Fprintf(stderr, "%s: no project %q (have: %s)\n", path, project, strings.Join(cfg.ProjectNames(), ", "))
		return nil, nil, 2
	}
	db, err := openDatabase(ctx, pc.Database)
	if err != nil {
		fmt.Fprintf(stderr, "project %s: %v\n", project, err)
		return nil, nil, 1
	}
	return hashes.NewStore(db), func() { db.Close() }, 0
}

func rotate(ctx context.Context, store *hashes.Store, f rotateFlags, stdout, stderr io.Writer) int {
	switch {
	case f.all == (f.file != 0):
		fmt.Fprintln(stderr, "rotate-hash: give exactly one of -file ID and -all")
		return 2
	case f.all && f.batch < 1:
		fmt.Fprintln(stderr, "rotate-hash: -batch must be at least 1")
		return 2
	case f.file != 0:
		rec, err := store.Rotate(ctx, f.file)
		if err != nil {
			fmt.Fprintf(stderr, "rotate-hash: file %d: %v\n", f.file, err)
			return 1
		}
		fmt.Fprintln(stdout, rec.PrivateHash.String)
		return 0
	}
	n, err := store.RotateAll(ctx, f.from, f.batch, func(done int, last int64) {
		fmt.Fprintf(stderr, "rotated %d files, up to id %d (resume with -from %d)\n", done, last, last)
	})
	if err != nil {
		fmt.Fprintf(stderr, "rotate-hash: %v (%d files rotated before the error)\n", err, n)
		return 1
	}
	fmt.Fprintf(stdout, "rotated %d files\n", n)
	return 0
}

func index(ctx context.Context, store *hashes.Store, stdout, stderr io.Writer) int {
	report, err := store.EnsureIndexes(ctx)
	for _, line := range report {
		fmt.Fprintln(stdout, line)
	}
	if err != nil {
		fmt.Fprintf(stderr, "index: %v\n", err)
		return 1
	}
	return 0
}

func checkConfig(path string, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "# %s is valid; effective configuration:\n", path)
	if err := toml.NewEncoder(stdout).Encode(cfg.Masked()); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, path string, stderr io.Writer) int {
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	projects, closeAll, err := openProjects(ctx, cfg, logger)
	if err != nil {
		logger.Error("open projects", "err", err)
		return 1
	}
	defer closeAll()

	srv := &http.Server{
		Addr: cfg.Server.Listen,
		Handler: middleware.New(projects, generator.New(generator.Options{
			Workers: cfg.Server.MaxGenerations, Queue: cfg.Server.GenerationQueue,
			Timeout: cfg.Server.GenerationTimeout.Duration,
		}), logger),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		logger.Error("listen", "addr", cfg.Server.Listen, "err", err)
		return 1
	}
	logger.Info("serving", "addr", ln.Addr().String(), "projects", cfg.ProjectNames())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		logger.Error("serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// openProjects opens every project's database and storage. The returned
// function closes the databases.
func openProjects(ctx context.Context, cfg *Config, logger *slog.Logger) ([]*middleware.Project, func(), error) {
	var dbs []*sqlx.DB
	closeAll := func() {
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
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := db.PingContext(pingCtx); err != nil {
			logger.Warn("database not reachable yet; requests will fail until it is", "project", name, "err", err)
		}
		cancel()
		originals, err := storage.NewLocal(pc.Storage.Root)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("project %s: storage.root: %w", name, err)
		}
		thumbs, err := storage.CreateLocal(pc.Storage.ThumbRoot)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("project %s: storage.thumb_root: %w", name, err)
		}
		projects = append(projects, &middleware.Project{
			Name:      name,
			Files:     hashes.NewStore(db),
			Originals: originals,
			Thumbs:    thumbs,
			Thumbnails: middleware.Thumbnails{
				Limits:          whitelist.Options{RequireWhitelist: pc.RequireWhitelist, MaxDimension: pc.MaxDimension},
				AutoOrient:      pc.AutoOrient,
				MaxSourcePixels: pc.MaxSourcePixels,
			},
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
	db.SetMaxOpenConns(64)
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
	mc.Params = map[string]string{"charset": "utf8mb4"}
	return mc.FormatDSN()
}
