package main

// The operator commands besides serve: check-config, rotate-hash, index,
// purge and health.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
)

type purgeFlags struct {
	file   int64
	dir    string
	dryRun bool
}

// purge deletes generated variants of one project (spec §5.2 layout).
func purge(ctx context.Context, path, project string, f purgeFlags, stdout, stderr io.Writer) int {
	_, pc, code := loadProject(path, project, stderr)
	if pc == nil {
		return code
	}
	_, thumbs, err := openStorage(ctx, pc.Storage)
	if err != nil {
		fmt.Fprintf(stderr, "purge: %v\n", err)
		return 1
	}
	filter := generator.PurgeFilter{Dir: f.dir}
	if f.file != 0 {
		store, closeDB, code := openProjectStore(ctx, pc, project, stderr)
		if store == nil {
			return code
		}
		file, err := store.FileByID(ctx, f.file)
		closeDB()
		if err != nil {
			fmt.Fprintf(stderr, "purge: file %d: %v\n", f.file, err)
			return 1
		}
		filter.Source = file.FilenameDisk
	}
	prog := startProgress(stderr, "purge", 0)
	names, err := generator.Purge(ctx, thumbs, filter, f.dryRun, func(removed, total int) {
		prog.SetTotal(total)
		prog.Add(removed-int(prog.done.Load()), 0)
	})
	prog.Stop()
	verb := "deleted"
	if f.dryRun {
		verb = "would delete"
	}
	for _, name := range names {
		fmt.Fprintf(stdout, "%s %s\n", verb, name)
	}
	if err != nil {
		if len(names) > 0 {
			fmt.Fprintf(stdout, "%s %s before the error\n", verb, plural(len(names), "file"))
		}
		fmt.Fprintf(stderr, "purge: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s %s\n", verb, plural(len(names), "file"))
	return 0
}

// health asks the running server's /readyz, for container health checks.
func health(path string, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	host, port, err := net.SplitHostPort(cfg.Server.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "health: server.listen: %v\n", err)
		return 1
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	client := http.Client{Timeout: 5 * time.Second}
	res, err := client.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		fmt.Fprintf(stderr, "health: %v\n", err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	fmt.Fprintln(stdout, string(body))
	if res.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

type rotateFlags struct {
	file, from int64
	all        bool
	batch      int
}

// loadProject loads the config and returns it with one project's part. On
// failure it returns a nil project and the exit code.
func loadProject(path, project string, stderr io.Writer) (*Config, *ProjectConfig, int) {
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
	return cfg, pc, 0
}

// openProjectStore opens one project's database. On failure it returns a
// nil store and the exit code.
func openProjectStore(ctx context.Context, pc *ProjectConfig, project string, stderr io.Writer) (*hashes.Store, func(), int) {
	db, err := openDatabase(ctx, pc.Database)
	if err != nil {
		fmt.Fprintf(stderr, "project %s: %v\n", project, err)
		return nil, nil, 1
	}
	return hashes.NewStore(db, nil), func() { db.Close() }, 0
}

// cliActor is who the command line's rotations are recorded as in
// directus_activity: no user (v8's default 0), no address, and a comment
// saying where the change came from.
var cliActor = hashes.Actor{UserAgent: "v8assets", Comment: "Private hash rotated with the v8assets command line."}

func rotate(ctx context.Context, store *hashes.Store, f rotateFlags, stdout, stderr io.Writer) int {
	switch {
	case f.all == (f.file != 0):
		fmt.Fprintln(stderr, "rotate-hash: give exactly one of -file ID and -all")
		return 2
	case f.all && f.batch < 1:
		fmt.Fprintln(stderr, "rotate-hash: -batch must be at least 1")
		return 2
	case f.file != 0:
		rec, err := store.Rotate(ctx, f.file, cliActor)
		if err != nil {
			fmt.Fprintf(stderr, "rotate-hash: file %d: %v\n", f.file, err)
			return 1
		}
		fmt.Fprintln(stdout, rec.PrivateHash.String)
		return 0
	}
	total, err := store.CountFiles(ctx, f.from)
	if err != nil {
		fmt.Fprintf(stderr, "rotate-hash: %v\n", err)
		return 1
	}
	prog := startProgress(stderr, "rotate-hash", total)
	resume := f.from
	n, err := store.RotateAll(ctx, f.from, f.batch, cliActor, func(done int, last int64) {
		prog.Add(done-int(prog.done.Load()), 0)
		prog.Note(fmt.Sprintf("resume with -from %d", last))
		resume = last
		if !prog.terminal {
			fmt.Fprintf(stderr, "rotated %s, up to id %d (resume with -from %d)\n", plural(done, "file"), last, last)
		}
	})
	prog.Stop()
	if err != nil {
		fmt.Fprintf(stderr, "rotate-hash: %v (%s rotated before the error; resume with -from %d)\n", err, plural(n, "file"), resume)
		return 1
	}
	fmt.Fprintf(stdout, "rotated %s\n", plural(n, "file"))
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
	if msg := autoFormatIgnored(cfg); msg != "" {
		fmt.Fprintf(stdout, "# warning: %s\n", msg)
	}
	for _, name := range cfg.ProjectNames() {
		if pc := cfg.Projects[name]; pc.Database.Type == "mysql" {
			checkIndex(name, pc, stdout)
		}
	}
	if err := toml.NewEncoder(stdout).Encode(cfg.Masked()); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// checkIndex prints, as a comment, the missing-index warning serve would log
// for a project whose database check-config can reach within a few seconds.
func checkIndex(name string, pc *ProjectConfig, stdout io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	db, err := openDatabase(ctx, pc.Database)
	if err != nil {
		return
	}
	defer db.Close()
	column, rows, err := hashes.NewStore(db, nil).MissingIndex(ctx, 10_000)
	if err == nil && column != "" {
		fmt.Fprintf(stdout, "# warning: project %s: directus_files has about %d rows and no index on %s; every request scans the table. Fix: v8assets index -project %s\n",
			name, rows, column, name)
	}
}

// plural returns "1 file" or "N files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
