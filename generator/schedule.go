package generator

import (
	"context"
	"sync"
)

// share names who a generation is for, so that admission can be fair: a
// project, and within it the output format (an AVIF encode costs fifty
// JPEGs).
type share struct{ tenant, format string }

// scheduler admits generations: at most slots at once, their memory
// estimates summing to at most budget (0: no bound), at most queue waiting.
// Whenever room frees, the waiter that goes first is the one whose tenant
// has the fewest generations running, then was served least recently,
// then the same two for its format within the tenant, then the oldest: one
// project flooding the generator takes every idle slot, but never the next
// one another project waits for.
type scheduler struct {
	mu      sync.Mutex
	slots   int
	queue   int
	budget  int64
	used    int64
	active  int
	running map[share]int
	tenants map[string]int
	// served counts admissions; lastShare and lastTenant hold its value at
	// each one's latest (one entry per project and format ever seen).
	served     int64
	lastShare  map[share]int64
	lastTenant map[string]int64
	waiters    []*waiter
}

type waiter struct {
	share share
	est   int64
	// admitted is closed once the waiter holds its slot and memory.
	admitted chan struct{}
}

func newScheduler(slots, queue int, budget int64) *scheduler {
	return &scheduler{slots: slots, queue: queue, budget: budget, running: map[share]int{}, tenants: map[string]int{},
		lastShare: map[share]int64{}, lastTenant: map[string]int64{}}
}

// admit waits for a slot and est bytes of the budget and returns the
// function that gives both back. It returns ErrBusy when queue generations
// already wait, and ctx's error when ctx ends first.
func (s *scheduler) admit(ctx context.Context, sh share, est int64) (func(), error) {
	w := &waiter{share: sh, est: est, admitted: make(chan struct{})}
	s.mu.Lock()
	s.waiters = append(s.waiters, w)
	s.dispatch()
	select {
	case <-w.admitted:
		s.mu.Unlock()
		return s.releaser(w), nil
	default:
	}
	if len(s.waiters) > s.queue {
		s.remove(w)
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.mu.Unlock()
	select {
	case <-w.admitted:
		return s.releaser(w), nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.admitted:
		// Admitted while giving up: hand the room on.
		s.free(w)
	default:
		s.remove(w)
	}
	s.dispatch()
	return nil, ctx.Err()
}

// waiting returns how many generations wait for admission.
func (s *scheduler) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

// admitted returns how many generations hold a slot.
func (s *scheduler) admitted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

func (s *scheduler) releaser(w *waiter) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.free(w)
			s.dispatch()
			s.mu.Unlock()
		})
	}
}

func (s *scheduler) free(w *waiter) {
	s.active--
	s.used -= w.est
	s.running[w.share]--
	if s.running[w.share] == 0 {
		delete(s.running, w.share)
	}
	s.tenants[w.share.tenant]--
	if s.tenants[w.share.tenant] == 0 {
		delete(s.tenants, w.share.tenant)
	}
}

func (s *scheduler) remove(w *waiter) {
	for i, x := range s.waiters {
		if x == w {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

// dispatch admits waiters while there is room, the first in fairness order
// each time. When that one's estimate does not fit the memory left, nobody
// behind it is admitted either: memory then accumulates for it instead of
// being taken by a stream of smaller generations.
func (s *scheduler) dispatch() {
	for s.active < s.slots && len(s.waiters) > 0 {
		best := 0
		for i, w := range s.waiters[1:] {
			if s.before(w, s.waiters[best]) {
				best = i + 1
			}
		}
		w := s.waiters[best]
		if s.budget > 0 && s.used+w.est > s.budget {
			return
		}
		s.waiters = append(s.waiters[:best], s.waiters[best+1:]...)
		s.active++
		s.used += w.est
		s.running[w.share]++
		s.tenants[w.share.tenant]++
		s.served++
		s.lastShare[w.share], s.lastTenant[w.share.tenant] = s.served, s.served
		close(w.admitted)
	}
}

// before reports whether a goes before b; waiters are kept oldest first,
// so equal ones keep their order.
func (s *scheduler) before(a, b *waiter) bool {
	if ta, tb := s.tenants[a.share.tenant], s.tenants[b.share.tenant]; ta != tb {
		return ta < tb
	}
	if la, lb := s.lastTenant[a.share.tenant], s.lastTenant[b.share.tenant]; la != lb {
		return la < lb
	}
	if ra, rb := s.running[a.share], s.running[b.share]; ra != rb {
		return ra < rb
	}
	return s.lastShare[a.share] < s.lastShare[b.share]
}
