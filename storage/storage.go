// Package storage owns where asset bytes live: it opens, stores, lists and
// removes originals and generated files by name under a project's root — a
// local directory or an S3 key prefix — and guarantees that no name, from a
// URL, a database row or a config value, reaches outside that root. It knows
// nothing of HTTP, SQL or images. It is shared by middleware (reading) and
// generator (writing) so the root check lives in one place.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/v8assets/v8assets/v8err"
)

// ErrNotExist is returned when no regular file has the name.
var ErrNotExist = errors.New("file does not exist")

// ErrOutsideRoot is returned when a name is absolute, climbs out with "..",
// or resolves outside the root through a symbolic link.
var ErrOutsideRoot = errors.New("path is outside the storage root")

// ErrUnavailable is returned when the storage does not answer in time (a
// hung network mount); it is v8err's Unavailable, a 503 with Retry-After.
var ErrUnavailable = v8err.New(v8err.Unavailable, "Storage unavailable")

// Info describes a stored file.
type Info struct {
	Size    int64
	ModTime time.Time
}

// Object is an open stored file.
type Object interface {
	io.ReadSeekCloser
}

// Store is one storage root: v8's `root` (originals) or `thumb_root`
// (generated files) of a project. Implementations are safe for concurrent
// use.
type Store interface {
	// Open opens name for reading. Errors: ErrNotExist, ErrOutsideRoot.
	Open(ctx context.Context, name string) (Object, Info, error)
	// Stat describes name, with Open's errors.
	Stat(ctx context.Context, name string) (Info, error)
	// Create stores data as name, so that no reader ever sees part of it.
	// With replace false an existing file wins: when another writer got
	// there first, Create leaves its file and returns its Info.
	Create(ctx context.Context, name string, data []byte, replace bool) (Info, error)
	// List returns the names of the files below dir ("." for all).
	List(ctx context.Context, dir string) ([]string, error)
	// Remove deletes name.
	Remove(ctx context.Context, name string) error
	// Check returns an error unless the root can be read, and written when
	// write is true.
	Check(ctx context.Context, write bool) error
	// String names the root for logs: a directory or s3://bucket/prefix.
	String() string
}

// CleanName returns name with "." and "dir/.." segments and doubled
// slashes resolved, as v8's Flysystem normalised every path (a
// filename_disk of "sub/../a.jpg" named a.jpg), or ErrOutsideRoot unless
// name is a relative path that stays inside a root by its own components.
func CleanName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || !filepath.IsLocal(name) {
		return "", fmt.Errorf("%w: %q", ErrOutsideRoot, name)
	}
	return filepath.Clean(name), nil
}
