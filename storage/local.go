package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Local is a storage root on the local filesystem.
type Local struct {
	dir string
	// root is the directory, opened once: a hit then costs the open of its
	// path, not an open and close of the root as well. It is replaced when
	// the directory at dir is no longer the one it holds (deleted and
	// recreated); the old one is closed by its cleanup once unused.
	root atomic.Pointer[rootDir]
	// opens holds the start (Unix nanoseconds) of each open in progress;
	// 0 is a free slot.
	opens [maxStuckOpens]atomic.Int64
}

// rootDir is an open root directory: as an os.Root for every operation,
// and as a plain descriptor for the one-syscall open of openBeneath.
type rootDir struct {
	*os.Root
	dir *os.File
}

func openRootDir(path string) (*rootDir, error) {
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	d, err := os.Open(path)
	if err != nil {
		r.Close()
		return nil, err
	}
	return &rootDir{Root: r, dir: d}, nil
}

func (r *rootDir) Close() {
	r.Root.Close()
	r.dir.Close()
}

// open opens name for reading, never outside the root: in one openat2(2)
// confined beneath the root where the kernel has it, else through os.Root.
func (r *rootDir) open(name string) (*os.File, error) {
	f, err := openBeneath(r.dir, name)
	if errors.Is(err, errNoOpenBeneath) {
		return r.Root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	return f, err
}

// openTimeout bounds one open of a local file on a root whose opens hang:
// a stuck network mount blocks open(2) in the kernel, where no signal
// reaches it. Tests shorten it.
var openTimeout = 10 * time.Second

// openInRoot is the open that openWithin bounds; tests replace it with one
// that hangs.
var openInRoot = (*rootDir).open

// maxStuckOpens bounds the opens of one root in progress at once, each
// holding an OS thread while the kernel has it: past it every open fails at
// once until some return.
const maxStuckOpens = 64

// openWithin opens name like open. An open runs in the caller, at no cost,
// while the root answers; once some open of the root has been in progress
// for openTimeout, further ones run aside and give up at openTimeout or
// when ctx ends, answering ErrUnavailable (an open that returns later is
// closed). At most maxStuckOpens are in progress at once.
func (l *Local) openWithin(ctx context.Context, root *rootDir, name string) (*os.File, error) {
	now := time.Now().UnixNano()
	slot, hung := l.claimOpen(now)
	if slot == nil {
		return nil, fmt.Errorf("%w: %d opens under %s have not returned", ErrUnavailable, maxStuckOpens, l.dir)
	}
	if !hung {
		defer slot.Store(0)
		return openInRoot(root, name)
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := openInRoot(root, name)
		slot.Store(0)
		done <- opened{f, err}
	}()
	timer := time.NewTimer(openTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.f, r.err
	case <-timer.C:
	case <-ctx.Done():
	}
	go func() {
		if r := <-done; r.f != nil {
			r.f.Close()
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: opening %q took more than %v", ErrUnavailable, name, openTimeout)
}

// claimOpen takes a free slot of l's opens in progress, stamped with now
// (nil when none is free), and reports whether some open in progress has
// been so for openTimeout already.
func (l *Local) claimOpen(now int64) (slot *atomic.Int64, hung bool) {
	for i := range l.opens {
		s := &l.opens[i]
		v := s.Load()
		switch {
		case v == 0 && slot == nil:
			if s.CompareAndSwap(0, now) {
				slot = s
			}
		case v != 0 && now-v >= int64(openTimeout):
			hung = true
		}
	}
	return slot, hung
}

// handle returns the open root directory.
func (l *Local) handle() (*rootDir, error) {
	if r := l.root.Load(); r != nil {
		return r, nil
	}
	r, err := openRootDir(l.dir)
	if err != nil {
		return nil, err
	}
	if !l.root.CompareAndSwap(nil, r) {
		r.Close()
	}
	return l.root.Load(), nil
}

// renew replaces the root handle when it no longer holds the directory at
// dir (creating that first when create is set) and reports whether it did.
func (l *Local) renew(create bool) bool {
	old := l.root.Load()
	cur, err := os.Stat(l.dir)
	if errors.Is(err, fs.ErrNotExist) && create {
		if os.MkdirAll(l.dir, 0o755) == nil {
			cur, err = os.Stat(l.dir)
		}
	}
	if err != nil {
		return false
	}
	if old != nil {
		if held, err := old.Stat("."); err == nil && os.SameFile(held, cur) {
			return false
		}
	}
	r, err := openRootDir(l.dir)
	if err != nil {
		return false
	}
	if !l.root.CompareAndSwap(old, r) {
		r.Close()
	}
	return true
}

// NewLocal returns the root at dir, which must be an existing, readable
// directory.
func NewLocal(dir string) (*Local, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &Local{dir: dir}, nil
}

// CreateLocal returns the root at dir, creating it (0755) if it is missing,
// as v8 created its roots on first use.
func CreateLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return NewLocal(dir)
}

// String returns the root directory.
func (l *Local) String() string { return l.dir }

// Open opens the regular file name under the root for reading. It returns
// ErrOutsideRoot for a name that would leave the root (symbolic links are
// followed only while they stay inside it), ErrNotExist when there is no
// such regular file (a FIFO or a device is none, and opening one never
// waits), and ErrUnavailable when opens of the root hang (see openWithin).
func (l *Local) Open(ctx context.Context, name string) (Object, Info, error) {
	name, err := CleanName(name)
	if err != nil {
		return nil, Info{}, err
	}
	root, err := l.handle()
	if err != nil {
		return nil, Info{}, classify(name, err)
	}
	f, err := l.openWithin(ctx, root, name)
	if errors.Is(err, fs.ErrNotExist) && l.renew(false) {
		f, err = l.openWithin(ctx, l.root.Load(), name)
	}
	if err != nil {
		return nil, Info{}, classify(name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, fmt.Errorf("stat %q: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, fmt.Errorf("%w: %q is not a regular file", ErrNotExist, name)
	}
	return f, Info{Size: st.Size(), ModTime: st.ModTime()}, nil
}

func classify(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %q", ErrNotExist, name)
	// os.Root reports an escape only through this message (Go 1.24+).
	case strings.Contains(err.Error(), "path escapes from parent"):
		return fmt.Errorf("%w: %q", ErrOutsideRoot, name)
	}
	return fmt.Errorf("open %q: %w", name, err)
}

// Stat describes the regular file name under the root, with the same
// errors as Open.
func (l *Local) Stat(ctx context.Context, name string) (Info, error) {
	f, info, err := l.Open(ctx, name)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return info, nil
}

// Create stores data as the file name under the root. Missing directories
// are created (0755, as v8 did). The bytes go to a temporary file in the
// target directory that is renamed into place only after they are written
// and closed, so a reader never sees a partial file and a failure leaves
// nothing behind. Without replace an existing file is kept, atomically:
// of concurrent writers exactly one lands.
func (l *Local) Create(ctx context.Context, name string, data []byte, replace bool) (Info, error) {
	if !replace {
		if info, err := l.Stat(ctx, name); err == nil {
			return info, nil
		}
	}
	name, err := CleanName(name)
	if err != nil {
		return Info{}, err
	}
	// Someone may have deleted the root (a purge by hand, a cleaned
	// volume): recreate it rather than fail every write until an operator
	// notices.
	l.renew(true)
	root, err := l.handle()
	if err != nil {
		return Info{}, err
	}
	dir := filepath.Dir(name)
	if dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return Info{}, classify(name, err)
		}
	}
	tmpName, f, err := createTemp(root.Root, dir)
	if err != nil {
		return Info{}, classify(name, err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			root.Remove(tmpName)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return Info{}, err
	}
	st, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	if err := f.Close(); err != nil {
		return Info{}, err
	}
	if !replace {
		// link(2) fails when the name exists: the first writer wins
		// atomically, where a check followed by a rename would let a later
		// writer overwrite it.
		err := root.Link(tmpName, name)
		if errors.Is(err, fs.ErrExist) {
			return l.Stat(ctx, name)
		}
		if err != nil {
			return Info{}, classify(name, err)
		}
		return Info{Size: st.Size(), ModTime: st.ModTime()}, nil // the deferred cleanup removes the temporary name
	}
	if err := root.Rename(tmpName, name); err != nil {
		return Info{}, classify(name, err)
	}
	committed = true
	return Info{Size: st.Size(), ModTime: st.ModTime()}, nil
}

// TempPrefix starts the name of every temporary file Create writes before
// renaming it into place; SweepTemp removes those a crash left behind.
const TempPrefix = ".v8assets-tmp-"

func createTemp(root *os.Root, dir string) (string, *os.File, error) {
	for range 10000 {
		var rnd [6]byte
		rand.Read(rnd[:])
		name := filepath.Join(dir, TempPrefix+hex.EncodeToString(rnd[:]))
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, f, err
	}
	return "", nil, errors.New("no unused temporary name")
}

// Check returns an error unless the root is a directory this process can
// list and, with write, create a file in (the probe is removed).
func (l *Local) Check(_ context.Context, write bool) error {
	if _, err := NewLocal(l.dir); err != nil || !write {
		return err
	}
	f, err := os.CreateTemp(l.dir, TempPrefix+"ready-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// List returns the names of the regular files below dir (a directory name
// under the root, "." for all), in lexical order. Symbolic links are not
// followed.
func (l *Local) List(_ context.Context, dir string) ([]string, error) {
	if dir != "." {
		var err error
		if dir, err = CleanName(dir); err != nil {
			return nil, err
		}
	}
	var names []string
	err := fs.WalkDir(os.DirFS(l.dir), dir, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && name == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, name)
		}
		return nil
	})
	return names, err
}

// Remove deletes the file name under the root, then its parent directories
// up to the root as long as they are empty.
func (l *Local) Remove(_ context.Context, name string) error {
	name, err := CleanName(name)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(name); err != nil {
		return classify(name, err)
	}
	for dir := filepath.Dir(name); dir != "."; dir = filepath.Dir(dir) {
		if root.Remove(dir) != nil { // not empty: stop
			break
		}
	}
	return nil
}

// FreeSpace returns the bytes available to this process on the root's
// filesystem.
func (l *Local) FreeSpace() (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(l.dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
