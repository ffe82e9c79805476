package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A FIFO under the root (a hung NFS mount behaves alike) is no regular
// file: Open refuses it at once instead of waiting for a writer.
func TestOpenFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.jpg"), 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := l.Open(context.Background(), "pipe.jpg")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotExist) {
			t.Fatalf("FIFO: %v, want ErrNotExist", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Open of a FIFO is still waiting for a writer")
	}
}

// Opens of a root that hangs in the kernel: the first ones wait (they run
// in the caller), but once one has waited openTimeout, later ones give up
// at openTimeout with ErrUnavailable; with maxStuckOpens in progress every
// open fails at once; once they return the root works again.
func TestOpenDeadline(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("x"), 0o644)
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	hang := make(chan struct{})
	defer func(open func(*rootDir, string) (*os.File, error), timeout time.Duration) {
		openInRoot, openTimeout = open, timeout
	}(openInRoot, openTimeout)
	real := openInRoot
	openInRoot = func(r *rootDir, name string) (*os.File, error) {
		<-hang
		return real(r, name)
	}
	openTimeout = 20 * time.Millisecond
	inProgress := func() int {
		n := 0
		for i := range l.opens {
			if l.opens[i].Load() != 0 {
				n++
			}
		}
		return n
	}
	first := make(chan error, 1)
	go func() {
		f, _, err := l.Open(context.Background(), "a.jpg")
		if f != nil {
			f.Close()
		}
		first <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); inProgress() != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first open is not in progress")
		}
	}
	time.Sleep(openTimeout) // the first open has now hung for openTimeout
	for i := 1; i < maxStuckOpens; i++ {
		if _, _, err := l.Open(context.Background(), "a.jpg"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("open %d of a hung root: %v, want ErrUnavailable", i+1, err)
		}
	}
	openTimeout = time.Hour
	start := time.Now()
	if _, _, err := l.Open(context.Background(), "a.jpg"); !errors.Is(err, ErrUnavailable) || time.Since(start) > 10*time.Second {
		t.Fatalf("open %d: %v after %v, want ErrUnavailable at once", maxStuckOpens+1, err, time.Since(start))
	}
	close(hang)
	if err := <-first; err != nil {
		t.Errorf("the first open, once the root answered: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); inProgress() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("hung opens never counted as returned")
		}
	}
	f, _, err := l.Open(context.Background(), "a.jpg")
	if err != nil {
		t.Fatalf("after the mount recovered: %v", err)
	}
	f.Close()
}

// A root directory deleted and made again (a volume remounted, a purge by
// hand) is found again by Open: the open handle of the old one is renewed.
func TestOpenRenewsAReplacedRoot(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "originals")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "a.jpg"), []byte("old"), 0o644)
	l, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := l.Open(context.Background(), "a.jpg")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Rename(dir, filepath.Join(parent, "gone")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("new"), 0o644)
	f, _, err = l.Open(context.Background(), "b.jpg")
	if err != nil {
		t.Fatalf("a file of the new root: %v", err)
	}
	f.Close()
}
