// Package generator turns a thumbnail spec and an original into a generated
// file under the project's thumb root: v8's geometry, decoding (with
// DCT-domain downscaling for JPEG), EXIF orientation, resampling, encoding
// and an atomic write, with one generation per output path and a bounded
// number of generations at once. It knows nothing of HTTP or SQL.
package generator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/v8err"
)

// ErrBusy is returned when every generation slot is taken and the queue of
// waiting generations is full; the caller should retry later.
var ErrBusy = errors.New("too many thumbnail generations waiting")

// ErrTimeout is returned when a generation exceeds its deadline.
var ErrTimeout = errors.New("thumbnail generation timed out")

var errWebPUnsupported = v8err.New(v8err.Unprocessable, "Webp format is not supported.")

// errAVIFUnsupported is the 422 of the pure-Go build for AVIF output, worded
// like v8's WebP message.
var errAVIFUnsupported = v8err.New(v8err.Unprocessable, "Avif format is not supported.")

// Options bound the generator's work.
type Options struct {
	// Workers is how many generations run at once (default: CPU count).
	Workers int
	// Queue is how many more may wait for a slot before ErrBusy (default 256).
	Queue int
	// Timeout bounds one generation, waiting excluded (default 30s).
	Timeout time.Duration
	// MemoryBudget bounds the sum of the memory estimates (Estimate) of the
	// generations running at once; a generation that does not fit waits in
	// the queue, and one whose estimate alone exceeds it is refused. 0: no
	// bound.
	MemoryBudget int64
	// SourceStatTTL is how long an original's size and modification time
	// are remembered for the "replaced since" check (spec Q12), so that a
	// hit costs no stat of the original; 0 stats it on every request.
	SourceStatTTL time.Duration
	// Isolation, when set, runs every decode and encode in worker
	// processes under hard limits; nil runs them in this process.
	Isolation *Isolation
}

// Job is one thumbnail to produce.
type Job struct {
	// Source is the original's name under the originals root.
	Source string
	// Path is the output's name under the thumb root.
	Path          string
	Width, Height int
	// Contain is true for contain, false for crop.
	Contain bool
	// Quality is the requested quality; 0 encodes at 90 and values outside
	// 0..100 fail (spec §5.4).
	Quality int
	// Format is the output format: jpg, jpeg, png, gif, webp, or a non-image
	// extension, which fails like v8 did.
	Format string
	// SourceExt is the original's lower-case extension.
	SourceExt string
	// AutoOrient applies EXIF orientation before resizing (spec Q24).
	AutoOrient bool
	// MaxSourcePixels refuses originals with more pixels, before decoding.
	MaxSourcePixels int64
	// MaxSourceBytes refuses larger originals before reading them; 0: no
	// limit.
	MaxSourceBytes int64
	// Rendering is RenderFast ("" means it too) or RenderV8. It never
	// changes the output's path.
	Rendering string
	// Tenant names who the generation is for (the project): admission is
	// fair between tenants, and between formats within one.
	Tenant string
}

// Result describes the generated (or reused) file.
type Result struct {
	Info storage.Info
	// Generated is true when this call wrote the file.
	Generated bool
	// Shared is true when this call waited for another call's generation
	// of the same file instead of finding it or making it.
	Shared bool
	// Duration is how long the generation took, waiting excluded.
	Duration time.Duration
}

// Generator produces thumbnails. It is safe for concurrent use.
type Generator struct {
	sched   *scheduler
	running atomic.Int64
	// callers counts the calls that have joined a generation, their own
	// or one they share, and wait for it.
	callers  atomic.Int64
	timeout  time.Duration
	group    singleflight.Group
	base     context.Context
	abandon  context.CancelFunc
	sources  statCache
	failures failureCache
	budget   int64
	// workers runs renders in worker processes; nil renders in-process.
	workers *pool
}

// New returns a Generator with opts, defaults filled in.
func New(opts Options) *Generator {
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.Queue < 0 {
		opts.Queue = 0
	} else if opts.Queue == 0 {
		opts.Queue = 256
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	base, abandon := context.WithCancel(context.Background())
	g := &Generator{sched: newScheduler(opts.Workers, opts.Queue, opts.MemoryBudget), timeout: opts.Timeout,
		base: base, abandon: abandon, sources: statCache{ttl: opts.SourceStatTTL}, budget: opts.MemoryBudget}
	if opts.Isolation != nil {
		g.workers = newPool(*opts.Isolation)
	}
	return g
}

// Waiting returns how many generations are waiting for a slot.
func (g *Generator) Waiting() int64 { return int64(g.sched.waiting()) }

// Running returns how many generations are running or waiting.
func (g *Generator) Running() int64 { return g.running.Load() }

// InFlight returns how many generations are running now: admitted, holding
// a slot and their memory.
func (g *Generator) InFlight() int64 { return int64(g.sched.admitted()) }

// Shutdown lets running generations finish until ctx is done, then abandons
// the rest at their next step (nothing is written for them) and waits for
// them to return. Generations asked for afterwards fail, and worker
// processes end. It returns ctx's error when generations had to be
// abandoned.
func (g *Generator) Shutdown(ctx context.Context) error {
	if g.workers != nil {
		defer g.workers.shutdown()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for g.running.Load() > 0 {
		select {
		case <-ctx.Done():
			g.abandon()
			for g.running.Load() > 0 {
				<-tick.C
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
	g.abandon()
	return nil
}

// Thumbnail returns the file job describes, generating it when it does not
// exist yet, is empty, or is older than its original (spec §5.2, Q12); an
// existing file — v8's own included — is otherwise reused as is. Concurrent
// calls for the same output share one generation. Errors: a *v8err.Error
// with code 12 for what v8 answered 422 (missing original, undecodable or
// oversized image, bad quality, unsupported format); ErrBusy; ErrTimeout;
// storage.ErrOutsideRoot for a source name that leaves the root.
func (g *Generator) Thumbnail(ctx context.Context, originals, thumbs storage.Store, job Job) (Result, error) {
	obj, res, err := g.Open(ctx, originals, thumbs, job)
	if err != nil {
		return res, err
	}
	obj.Close()
	return res, nil
}

// Open is Thumbnail that also returns the file open for reading; the
// caller closes it. A hit costs one open and one fstat of the thumbnail
// (and a stat of the original only when SourceStatTTL is 0 or has passed).
func (g *Generator) Open(ctx context.Context, originals, thumbs storage.Store, job Job) (storage.Object, Result, error) {
	orig, err := g.sources.stat(ctx, originals, job.Source)
	if errors.Is(err, storage.ErrNotExist) {
		return nil, Result{}, v8err.Wrap(v8err.Unprocessable, job.Source+" does not exist.", err)
	}
	if err != nil {
		return nil, Result{}, err
	}
	obj, info, err := thumbs.Open(ctx, job.Path)
	switch {
	case err == nil && info.Size > 0 && !info.ModTime.Before(orig.ModTime):
		return obj, Result{Info: info}, nil
	case err == nil:
		obj.Close()
	case !errors.Is(err, storage.ErrNotExist):
		return nil, Result{}, err
	}
	res, err := g.generateShared(ctx, originals, thumbs, job)
	if err != nil {
		return nil, res, err
	}
	obj, info, err = thumbs.Open(ctx, job.Path)
	if err != nil {
		return nil, res, err
	}
	res.Info = info
	return obj, res, nil
}

// generateShared runs one generation of job for every concurrent caller.
func (g *Generator) generateShared(ctx context.Context, originals, thumbs storage.Store, job Job) (Result, error) {
	// Only the caller whose function runs sets leader; the channel receive
	// orders that write before the read below.
	leader := false
	ch := g.group.DoChan(thumbs.String()+"\x00"+job.Path, func() (any, error) {
		leader = true
		// The generation belongs to every caller sharing it, so it runs
		// under the generator's context, not the first caller's.
		return g.generate(g.base, originals, thumbs, job)
	})
	// Counted once DoChan has returned: the call has joined the group.
	g.callers.Add(1)
	defer g.callers.Add(-1)
	select {
	case r := <-ch:
		if r.Err != nil {
			return Result{}, r.Err
		}
		res := r.Val.(Result)
		res.Shared = res.Generated && !leader
		res.Generated = res.Generated && leader
		return res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// existing describes the file at path: whether there is one, and whether
// it is fresh — not empty and not older than its original. Only "does not
// exist" means absent; any other failure (permissions, an S3 error) is
// returned, never taken for a missing file to generate again.
func existing(ctx context.Context, thumbs storage.Store, path string, orig storage.Info) (info storage.Info, fresh, present bool, err error) {
	info, err = thumbs.Stat(ctx, path)
	if errors.Is(err, storage.ErrNotExist) {
		return storage.Info{}, false, false, nil
	}
	if err != nil {
		return storage.Info{}, false, false, fmt.Errorf("stat thumbnail: %w", err)
	}
	return info, info.Size > 0 && !info.ModTime.Before(orig.ModTime), true, nil
}

func (g *Generator) generate(ctx context.Context, originals, thumbs storage.Store, job Job) (Result, error) {
	g.running.Add(1)
	defer g.running.Add(-1)
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("generator shut down: %w", err)
	}
	if err := precheck(job); err != nil {
		return Result{}, err
	}
	f, orig, err := originals.Open(ctx, job.Source)
	if errors.Is(err, storage.ErrNotExist) {
		return Result{}, v8err.Wrap(v8err.Unprocessable, job.Source+" does not exist.", err)
	}
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	// Header first: size, kind, dimensions and the memory it will take are
	// known before the rest of the original is read or anything decoded.
	if job.MaxSourceBytes > 0 && orig.Size > job.MaxSourceBytes {
		return Result{}, unprocessable(fmt.Sprintf("Image is too large: %d bytes exceeds %d.", orig.Size, job.MaxSourceBytes), nil)
	}
	hdr, prefix, err := readHeader(f, orig.Size)
	if err != nil {
		return Result{}, err
	}
	if err := checkPixels(hdr.Width, hdr.Height, job); err != nil {
		return Result{}, err
	}
	est := Estimate(hdr, orig.Size, job)
	if g.budget > 0 && est > g.budget {
		return Result{}, unprocessable(fmt.Sprintf("Image is too large: generating it takes about %d MiB, more than max_generation_memory (%d MiB).",
			est>>20, g.budget>>20), nil)
	}
	// An original that failed a moment ago fails again: a hostile file
	// costs one generation, not one per request.
	fkey := failureKey{originals, job.Source, orig.Size, orig.ModTime}
	if err := g.failures.get(fkey); err != nil {
		return Result{}, err
	}
	release, err := g.sched.admit(ctx, share{job.Tenant, job.Format}, est)
	if err != nil {
		return Result{}, err
	}
	defer release()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()

	buf := bytes.NewBuffer(prefix)
	buf.Grow(int(max(orig.Size-int64(len(prefix)), 0)) + bytes.MinRead)
	if _, err := buf.ReadFrom(f); err != nil {
		return Result{}, fmt.Errorf("read original: %w", err)
	}
	// Another request, or another instance, may have finished this file
	// while we waited.
	info, fresh, present, err := existing(ctx, thumbs, job.Path, orig)
	if errors.Is(err, context.DeadlineExceeded) {
		return Result{}, ErrTimeout
	}
	if err != nil {
		return Result{}, err
	}
	if fresh {
		return Result{Info: info}, nil
	}
	var out bytes.Buffer
	if g.workers != nil {
		err = g.workers.render(ctx, buf.Bytes(), job, est, &out)
	} else {
		err = Render(ctx, buf.Bytes(), job, &out)
	}
	if err == nil {
		err = ctx.Err()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		g.failures.put(fkey, ErrTimeout)
		return Result{}, ErrTimeout
	case err != nil:
		if aboutOriginal(err) {
			g.failures.put(fkey, err)
		}
		return Result{}, err
	}
	// A stale or empty file is replaced; a new one is created only if no
	// other instance created it meanwhile.
	info, err = thumbs.Create(ctx, job.Path, out.Bytes(), present)
	if err != nil {
		return Result{}, fmt.Errorf("write thumbnail: %w", err)
	}
	return Result{Info: info, Generated: true, Duration: time.Since(start)}, nil
}
