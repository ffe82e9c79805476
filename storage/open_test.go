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

// An open that hangs in the kernel answers ErrUnavailable at the deadline
// (or when the request ends); past maxStuckOpens hung ones, every open
// fails at once, and once they return the root works again.
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
	for range maxStuckOpens {
		if _, _, err := l.Open(context.Background(), "a.jpg"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("hung open: %v, want ErrUnavailable", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	openTimeout = time.Hour
	if _, _, err := l.Open(ctx, "a.jpg"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("open %d: %v, want ErrUnavailable without waiting", maxStuckOpens+1, err)
	}
	close(hang)
	for deadline := time.Now().Add(30 * time.Second); l.stuck.Load() > 0; time.Sleep(time.Millisecond) {
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
