package middleware

import (
	"net/netip"
	"testing"
	"time"
)

func addrN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// A client is braked after max failures until its window ends, and then
// starts over with a fresh count.
func TestFailureLimiterWindow(t *testing.T) {
	l := newFailureLimiter(3, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	a := addrN(1)
	for i := range 3 {
		if l.blocked(a, t0) != 0 {
			t.Fatalf("braked after %d failures", i)
		}
		l.fail(a, t0.Add(time.Duration(i)*time.Second))
	}
	if got := l.blocked(a, t0.Add(10*time.Second)); got != 50*time.Second {
		t.Fatalf("wait %v after 3 failures, want the rest of the window (50s)", got)
	}
	if l.blocked(addrN(2), t0) != 0 {
		t.Error("another client braked")
	}
	later := t0.Add(time.Minute)
	if l.blocked(a, later) != 0 {
		t.Fatal("still braked after the window ended")
	}
	l.fail(a, later)
	if l.blocked(a, later) != 0 || l.counts[a].n != 1 {
		t.Errorf("the count did not start over: %+v", l.counts[a])
	}
}

// A spray of fresh addresses fills the table; past it, the untracked ones
// share one window and are braked together, tracked ones keep their own,
// and once the windows end the table is empty again.
func TestFailureLimiterSpray(t *testing.T) {
	l := newFailureLimiter(3, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range maxTracked {
		l.fail(addrN(i), t0)
	}
	if len(l.counts) != maxTracked {
		t.Fatalf("%d tracked", len(l.counts))
	}
	for i := range 3 {
		l.fail(addrN(maxTracked+i), t0.Add(time.Second))
	}
	if l.blocked(addrN(maxTracked+100), t0.Add(2*time.Second)) == 0 {
		t.Error("a fresh address of the spray is not braked once the overflow window is full")
	}
	if l.blocked(addrN(5), t0.Add(2*time.Second)) != 0 {
		t.Error("a tracked address with one failure is braked")
	}
	end := t0.Add(time.Minute + time.Second)
	if l.blocked(addrN(maxTracked+100), end) != 0 {
		t.Error("the overflow window never ends")
	}
	l.fail(addrN(7), end)
	if len(l.counts) != 1 || len(l.order)-l.head != 1 {
		t.Errorf("after the windows ended: %d tracked, %d queued", len(l.counts), len(l.order)-l.head)
	}
}

// BenchmarkFailureSpray is one failure of a fresh address while the table
// is full: constant time, where a scan of the table took ~2.9 ms.
func BenchmarkFailureSpray(b *testing.B) {
	l := newFailureLimiter(10, time.Minute)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range maxTracked {
		l.fail(addrN(i), t0)
	}
	b.ResetTimer()
	for i := range b.N {
		l.fail(addrN(maxTracked+i%1000), t0.Add(time.Second))
	}
}
