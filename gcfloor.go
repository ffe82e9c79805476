package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// heapFloor is the smallest heap goal serve lets the collector aim for.
// Between generations the live heap is a few megabytes, so with GOGC=100
// alone a stream of cache hits (some kilobytes of garbage each) starts a
// collection dozens of times a second; with the floor it is a few times a
// second, for at most this many bytes of extra garbage. Once the live heap
// is above half the floor (a generation running), GOGC is 100 again.
const heapFloor = 32 << 20

// keepHeapFloor adjusts GOGC after every collection so that the next heap
// goal is at least floor bytes, and never below the default of 100. It
// returns a function that stops the adjustment and restores GOGC to 100.
// serve does not call it when the operator set GOGC.
func keepHeapFloor(floor uint64) (stop func()) {
	var stopped atomic.Bool
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	last := -1
	var arm func()
	arm = func() {
		// A finalizer on a fresh object runs once after the next
		// collection; it re-arms itself until stopped.
		sentinel := new([16]byte)
		runtime.SetFinalizer(sentinel, func(*[16]byte) {
			if stopped.Load() {
				return
			}
			metrics.Read(sample)
			if p := gcPercentFor(sample[0].Value.Uint64(), floor); p != last {
				debug.SetGCPercent(p)
				last = p
			}
			arm()
		})
	}
	arm()
	return func() {
		stopped.Store(true)
		debug.SetGCPercent(100)
	}
}

// gcPercentFor returns the GOGC that puts the heap goal of a live heap at
// floor bytes, or 100 when that is already the case.
func gcPercentFor(live, floor uint64) int {
	if live == 0 || live*2 >= floor {
		return 100
	}
	// Round to tens so that small changes in the live heap do not call
	// SetGCPercent after every collection.
	return int((floor-live)*100/live) / 10 * 10
}
