package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

func TestGCPercentFor(t *testing.T) {
	for name, c := range map[string]struct {
		live, floor uint64
		want        int
	}{
		"small heap raises GOGC":    {live: 2 << 20, floor: 32 << 20, want: 1500},
		"rounded to tens":           {live: 3 << 20, floor: 32 << 20, want: 960},
		"half the floor is enough":  {live: 16 << 20, floor: 32 << 20, want: 100},
		"large heap keeps default":  {live: 300 << 20, floor: 32 << 20, want: 100},
		"nothing measured yet":      {live: 0, floor: 32 << 20, want: 100},
		"just under half the floor": {live: 15 << 20, floor: 32 << 20, want: 110},
	} {
		if got := gcPercentFor(c.live, c.floor); got != c.want {
			t.Errorf("%s: gcPercentFor(%d, %d) = %d, want %d", name, c.live, c.floor, got, c.want)
		}
	}
}

// gogc reads the collector's current GOGC from the runtime.
func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitGOGC collects until GOGC satisfies ok or five seconds pass.
func waitGOGC(t *testing.T, ok func(uint64) bool) uint64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if v := gogc(); ok(v) || time.Now().After(deadline) {
			return v
		}
	}
}

// With a small live heap the runtime's GOGC rises so the heap goal is the
// floor; with a live heap above half the floor it is back to 100; stop
// restores 100.
func TestKeepHeapFloor(t *testing.T) {
	stop := keepHeapFloor(256 << 20)
	if v := waitGOGC(t, func(v uint64) bool { return v > 1000 }); v <= 1000 {
		t.Fatalf("GOGC with a small live heap = %d, want far above 100", v)
	}
	live := make([]byte, 200<<20)
	if v := waitGOGC(t, func(v uint64) bool { return v == 100 }); v != 100 {
		t.Errorf("GOGC with a 200 MB live heap = %d, want 100", v)
	}
	runtime.KeepAlive(live)
	stop()
	if v := gogc(); v != 100 {
		t.Errorf("GOGC after stop = %d, want 100", v)
	}
}

// serve keeps the heap floor while it runs (unless GOGC is set) and gives
// GOGC back when it stops.
func TestServeKeepsTheHeapFloor(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: serve leaves the collector alone")
	}
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	th := fixture.NewThumper(t)
	addr := freeAddr(t)
	startServe(t, mysqlConfig(t, th, addr), addr)
	// The floor is set from a finalizer after a collection: collect until
	// it has run.
	for deadline := time.Now().Add(30 * time.Second); gcPercent() == 100; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("serve runs with GOGC 100: no heap floor")
		}
		runtime.GC()
	}
}
