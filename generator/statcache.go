package generator

import (
	"context"
	"sync"
	"time"

	"github.com/v8assets/v8assets/storage"
)

// statCacheMax bounds the remembered originals; past it the cache starts
// over, which costs one stat per original and nothing else.
const statCacheMax = 100_000

// statCache remembers the Info of originals for ttl.
type statCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[statKey]statEntry
}

type statKey struct {
	root storage.Store
	name string
}

type statEntry struct {
	info storage.Info
	at   time.Time
}

// stat returns name's Info under originals, from memory while younger than
// ttl. Errors are never remembered.
func (c *statCache) stat(ctx context.Context, originals storage.Store, name string) (storage.Info, error) {
	if c.ttl <= 0 {
		return originals.Stat(ctx, name)
	}
	key := statKey{originals, name}
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.info, nil
	}
	info, err := originals.Stat(ctx, name)
	if err != nil {
		return info, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= statCacheMax {
		c.entries = make(map[statKey]statEntry)
	}
	c.entries[key] = statEntry{info: info, at: time.Now()}
	c.mu.Unlock()
	return info, nil
}
