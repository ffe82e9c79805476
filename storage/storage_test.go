package storage

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestCleanName(t *testing.T) {
	for name, want := range map[string]string{
		"a.jpg": "a.jpg", "dir/a.jpg": "dir/a.jpg", "w200,h200,fcrop,q80/a.jpg": "w200,h200,fcrop,q80/a.jpg", "..a.jpg": "..a.jpg",
		"sub/../a.jpg": "a.jpg", "./a//b.jpg": "a/b.jpg", "w1,h1,fcrop,q1/sub/../a.jpg": "w1,h1,fcrop,q1/a.jpg",
		"": "", "/etc/passwd": "", "../a.jpg": "", "a/../../b": "", "..": "", "a\x00b": "",
	} {
		got, err := CleanName(name)
		if got != want || (want == "") != (err != nil) || (err != nil && !errors.Is(err, ErrOutsideRoot)) {
			t.Errorf("CleanName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "a.jpg"), []byte("data"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("secret"), 0o644)
	os.Symlink("../secret", filepath.Join(root, "out"))
	os.Symlink("a.jpg", filepath.Join(root, "in"))
	l, err := NewLocal(root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]error{"a.jpg": nil, "in": nil, "out": ErrOutsideRoot, "../secret": ErrOutsideRoot, "nope": ErrNotExist, "sub": ErrNotExist} {
		f, info, err := l.Open(context.Background(), name)
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("Open(%q) = %v, want %v", name, err, want)
			continue
		}
		if err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			if string(b) != "data" || info.Size != 4 {
				t.Errorf("Open(%q) read %q size %d", name, b, info.Size)
			}
		}
	}
	if _, err := NewLocal(filepath.Join(dir, "missing")); err == nil {
		t.Error("NewLocal accepted a missing directory")
	}
}

func TestWriteAtomic(t *testing.T) {
	l, err := CreateLocal(filepath.Join(t.TempDir(), "gen"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	info, err := l.Create(ctx, "w1,h1,fcrop,q1/x.jpg", []byte("hello"), false)
	if err != nil || info.Size != 5 {
		t.Fatalf("WriteAtomic = %+v, %v", info, err)
	}
	if b, _ := os.ReadFile(filepath.Join(l.String(), "w1,h1,fcrop,q1/x.jpg")); string(b) != "hello" {
		t.Errorf("content %q", b)
	}
	st, _ := os.Stat(filepath.Join(l.String(), "w1,h1,fcrop,q1"))
	if st.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v", st.Mode().Perm())
	}
	if info, err := l.Create(ctx, "w1,h1,fcrop,q1/x.jpg", []byte("other"), false); err != nil || info.Size != 5 {
		t.Errorf("create without replace: %+v %v", info, err)
	}
	if b, _ := os.ReadFile(filepath.Join(l.String(), "w1,h1,fcrop,q1/x.jpg")); string(b) != "hello" {
		t.Errorf("create without replace overwrote: %q", b)
	}
	if _, err := l.Create(ctx, "w1,h1,fcrop,q1/x.jpg", []byte("replaced"), true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(l.String(), "w1,h1,fcrop,q1/x.jpg")); string(b) != "replaced" {
		t.Errorf("replace: %q", b)
	}
	// A directory where the file should go makes the rename fail: nothing
	// of the attempt may stay behind.
	os.MkdirAll(filepath.Join(l.String(), "w1,h1,fcrop,q1/dir.jpg/x"), 0o755)
	if _, err := l.Create(ctx, "w1,h1,fcrop,q1/dir.jpg", []byte("partial"), true); err == nil {
		t.Fatal("rename over a directory succeeded")
	}
	entries, _ := os.ReadDir(filepath.Join(l.String(), "w1,h1,fcrop,q1"))
	if len(entries) != 2 {
		t.Errorf("failed write left %v", entries)
	}
	if _, err := l.Create(ctx, "../escape.jpg", nil, true); !errors.Is(err, ErrOutsideRoot) {
		t.Errorf("escape: %v", err)
	}
}
