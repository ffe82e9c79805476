package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/middleware"
	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/whitelist"
)

// warmFlags are the options of warm.
type warmFlags struct {
	keys        string
	allKeys     bool
	file, since int64
	concurrency int
	dryRun      bool
	formats     string
}

// warmTask is one thumbnail to make: a file in one preset, in its normal
// format or (format set) the variant auto_format serves.
type warmTask struct {
	file   hashes.File
	key    string
	format string
}

// warmVariants returns the formats one file is made in: "" (its normal
// output) and each of formats the server could negotiate for it — none for
// an original that is not middleware.Negotiable, and none equal to the
// original's own format.
func warmVariants(file hashes.File, formats []string) []string {
	variants := []string{""}
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(file.FilenameDisk)), ".")
	if !middleware.Negotiable(ext) {
		return variants
	}
	for _, f := range formats {
		if f != ext {
			variants = append(variants, f)
		}
	}
	return variants
}

// warmTally is what a warm run did, for its progress and summary.
type warmTally struct {
	mu                sync.Mutex
	done, total       int
	generated, reused int
	bytes             int64
	failed            map[string]int
	pending           map[int64]int // tasks left per file
	order             []int64       // file ids in the order they were queued
	next              int           // order[:next] are complete
	resume            int64         // every file up to this id is complete
	progress          *progress
}

// finish records one task's outcome; reason is "" for success.
func (t *warmTally) finish(task warmTask, generated bool, size int64, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	t.progress.Add(1, boolInt(reason != ""))
	switch {
	case reason != "":
		t.failed[reason]++
	case generated:
		t.generated++
		t.bytes += size
	default:
		t.reused++
	}
	t.pending[task.file.ID]--
	for t.next < len(t.order) && t.pending[t.order[t.next]] == 0 {
		t.resume = t.order[t.next]
		t.next++
	}
	t.progress.Note(fmt.Sprintf("resume with -since %d", t.resume))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *warmTally) failures() int {
	n := 0
	for _, c := range t.failed {
		n += c
	}
	return n
}

// warm pre-generates thumbnails of one project: every image file (or
// -file's, or those above -since) in every chosen preset, skipping those
// already made, through the same generator, limits and memory budget as
// serve. On ctx's end (SIGINT, SIGTERM) it lets running generations finish
// or abandon (a generated file appears whole or not at all), then prints
// the -since to resume with.
func warm(ctx context.Context, path, project string, f warmFlags, stdout, stderr io.Writer) int {
	switch {
	case f.keys != "" && f.allKeys:
		fmt.Fprintln(stderr, "warm: give -keys or -all-keys, not both")
		return 2
	case f.concurrency < 1:
		fmt.Fprintln(stderr, "warm: -concurrency must be at least 1")
		return 2
	case f.file != 0 && f.since != 0:
		fmt.Fprintln(stderr, "warm: give -file or -since, not both")
		return 2
	}
	var formats []string
	if f.formats != "" {
		for v := range strings.SplitSeq(f.formats, ",") {
			switch v = strings.TrimSpace(v); {
			case v != "avif" && v != "webp":
				fmt.Fprintf(stderr, "warm: -formats may list avif and webp, got %q\n", v)
				return 2
			case !generator.CanEncode(v):
				fmt.Fprintf(stderr, "warm: this pure-Go build cannot encode %s\n", v)
				return 2
			}
			if !slices.Contains(formats, v) {
				formats = append(formats, v)
			}
		}
	}
	cfg, pc, code := loadProject(path, project, stderr)
	if pc == nil {
		return code
	}
	store, closeDB, code := openProjectStore(ctx, pc, project, stderr)
	if store == nil {
		return code
	}
	defer closeDB()
	originals, thumbs, err := openStorage(ctx, pc.Storage)
	if err != nil {
		fmt.Fprintf(stderr, "warm: %v\n", err)
		return 1
	}
	settings, err := store.Settings(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "warm: %v\n", err)
		return 1
	}
	system, hasSystem := settings.Value(hashes.KeyWhitelistSystem)
	user, hasUser := settings.Value(hashes.KeyWhitelist)
	rules, warn := whitelist.Parse(system, hasSystem, user, hasUser)
	if warn != nil {
		fmt.Fprintf(stderr, "warm: warning: %v\n", warn)
	}
	thumbnails := thumbnailsOf(pc)
	keys := rules.Keys(thumbnails.Limits.RequireWhitelist)
	if f.keys != "" {
		var chosen []string
		for k := range strings.SplitSeq(f.keys, ",") {
			if k = strings.TrimSpace(k); !slices.Contains(keys, k) {
				fmt.Fprintf(stderr, "warm: no preset %q (have: %s)\n", k, strings.Join(keys, ", "))
				return 2
			}
			chosen = append(chosen, k)
		}
		keys = chosen
	}
	files, err := warmFiles(ctx, store, f)
	if err != nil {
		fmt.Fprintf(stderr, "warm: %v\n", err)
		return 1
	}

	tally := &warmTally{failed: map[string]int{}, pending: map[int64]int{}, resume: f.since}
	for _, file := range files {
		n := len(keys) * len(warmVariants(file, formats))
		tally.total += n
		tally.pending[file.ID] = n
		tally.order = append(tally.order, file.ID)
	}
	iso, err := isolation(cfg.Server)
	if err != nil {
		fmt.Fprintln(stderr, "warm:", err)
		return 1
	}
	gen := generator.New(generator.Options{
		Workers: f.concurrency, Queue: f.concurrency, Timeout: cfg.Server.GenerationTimeout.Duration,
		MemoryBudget: cfg.Server.MaxGenerationMemory.Bytes, Isolation: iso,
	})
	tally.progress = startProgress(stderr, "warm", tally.total)
	tasks := make(chan warmTask)
	var wg sync.WaitGroup
	for range f.concurrency {
		wg.Go(func() {
			for task := range tasks {
				generated, size, reason := warmOne(ctx, gen, originals, thumbs, rules, thumbnails, task, f.dryRun)
				if ctx.Err() != nil && reason != "" {
					// Abandoned by the interrupt, not failed: it is
					// redone on resume.
					continue
				}
				tally.finish(task, generated, size, reason)
			}
		})
	}
queue:
	for _, file := range files {
		for _, format := range warmVariants(file, formats) {
			for _, key := range keys {
				select {
				case tasks <- warmTask{file, key, format}:
				case <-ctx.Done():
					break queue
				}
			}
		}
	}
	close(tasks)
	wg.Wait()
	// A worker interrupted while waiting returns before its generation
	// does (generations run under the generator's own context); let those
	// finish or abandon them, as serve does, so that the process never
	// exits in the middle of writing a file.
	stopCtx, stopCancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Duration)
	gen.Shutdown(stopCtx)
	stopCancel()
	tally.progress.Stop()

	verb := "generated"
	if f.dryRun {
		verb = "would generate"
	}
	fmt.Fprintf(stdout, "%s %s (%s), reused %d, failed %d\n", verb, plural(tally.generated, "thumbnail"),
		byteCount(tally.bytes), tally.reused, tally.failures())
	for _, reason := range slices.Sorted(maps.Keys(tally.failed)) {
		fmt.Fprintf(stdout, "  %d × %s\n", tally.failed[reason], reason)
	}
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "warm: interrupted after %d of %d; resume with -since %d\n", tally.done, tally.total, tally.resume)
		return 130
	}
	if tally.failures() > 0 {
		return 1
	}
	return 0
}

// warmFiles returns the image files warm works on, in id order.
func warmFiles(ctx context.Context, store *hashes.Store, f warmFlags) ([]hashes.File, error) {
	var files []hashes.File
	if f.file != 0 {
		file, err := store.FileByID(ctx, f.file)
		if err != nil {
			return nil, fmt.Errorf("file %d: %w", f.file, err)
		}
		if !strings.HasPrefix(file.Type, "image/") {
			return nil, fmt.Errorf("file %d is %q, not an image", f.file, file.Type)
		}
		return []hashes.File{file}, nil
	}
	for after := f.since; ; {
		page, err := store.Files(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return files, nil
		}
		for _, file := range page {
			if strings.HasPrefix(file.Type, "image/") {
				files = append(files, file)
			}
		}
		after = page[len(page)-1].ID
	}
}

// warmOne makes (or with dryRun only looks for) one thumbnail. It returns
// whether it was generated (or would be), its size, and a failure reason.
func warmOne(ctx context.Context, gen *generator.Generator, originals, thumbs storage.Store, rules whitelist.Rules,
	t middleware.Thumbnails, task warmTask, dryRun bool) (bool, int64, string) {
	spec, err := rules.Resolve(whitelist.Request{
		Key: whitelist.Param{Value: task.key, Present: true}, FilenameDisk: task.file.FilenameDisk,
	}, t.Limits)
	if err != nil {
		return false, 0, err.Error()
	}
	if task.format != "" {
		spec.Format = task.format
	}
	job := t.Job(spec, task.file.FilenameDisk)
	if dryRun {
		_, err := thumbs.Stat(ctx, job.Path)
		switch {
		case err == nil:
			return false, 0, ""
		case !errors.Is(err, storage.ErrNotExist):
			return false, 0, err.Error()
		}
		if _, err := originals.Stat(ctx, task.file.FilenameDisk); errors.Is(err, storage.ErrNotExist) {
			return false, 0, "original missing"
		} else if err != nil {
			return false, 0, err.Error()
		}
		return true, 0, ""
	}
	res, err := gen.Thumbnail(ctx, originals, thumbs, job)
	switch {
	case errors.Is(err, storage.ErrNotExist):
		return false, 0, "original missing"
	case err != nil:
		return false, 0, err.Error()
	}
	return res.Generated, res.Info.Size, ""
}

// byteCount prints n bytes in the largest binary unit that keeps it ≥ 1.
func byteCount(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
