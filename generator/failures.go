package generator

import (
	"errors"
	"sync"
	"time"

	"github.com/v8assets/v8assets/storage"
	"github.com/v8assets/v8assets/v8err"
)

// failureTTL is how long an original whose generation failed is refused
// without trying again: long enough that a hostile file costs one
// generation a minute, short enough that a file fixed in place (its size
// or mtime change the key anyway) or a load spike is soon forgotten.
const failureTTL = time.Minute

// failureCacheMax bounds the remembered failures; past it the cache starts
// over.
const failureCacheMax = 10_000

// msgUndecodable is v8's answer for bytes its image library could not read.
const msgUndecodable = "Unable to init from given binary data."

// failureCache remembers, per original as it is now (size and mtime),
// the failure of its last generation, when that failure was the
// original's doing: it could not be decoded, its worker died, or it ran
// out of time.
type failureCache struct {
	mu      sync.Mutex
	entries map[failureKey]failure
}

type failureKey struct {
	root    storage.Store
	name    string
	size    int64
	modTime time.Time
}

type failure struct {
	err error
	at  time.Time
}

// aboutOriginal reports whether err says something about the original
// itself rather than about the thumbnail asked of it (those are refused
// before decoding, at no cost worth remembering).
func aboutOriginal(err error) bool {
	if errors.Is(err, errWorkerCrashed) || errors.Is(err, ErrTimeout) {
		return true
	}
	e := v8err.As(err)
	return e != nil && e.Message == msgUndecodable
}

// get returns the remembered failure of key, or nil.
func (c *failureCache) get(key failureKey) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.entries[key]
	if !ok {
		return nil
	}
	if time.Since(f.at) >= failureTTL {
		delete(c.entries, key)
		return nil
	}
	return f.err
}

func (c *failureCache) put(key failureKey, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= failureCacheMax {
		c.entries = make(map[failureKey]failure)
	}
	c.entries[key] = failure{err: err, at: time.Now()}
}
