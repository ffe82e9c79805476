package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/v8assets/v8assets/storage"
)

// `rotate-hash -all` on the embedded database succeeds while a serve
// process answers 16 concurrent readers, none of whom gets an error: WAL
// mode, a busy timeout and retried busy transactions (before: "database is
// locked", a partial rotation).
func TestSQLiteRotateAllWhileServing(t *testing.T) {
	dir := t.TempDir()
	const n = 20000
	var seed strings.Builder
	seed.WriteString("INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES\n")
	for i := 1; i <= n; i++ {
		if i > 1 {
			seed.WriteString(",\n")
		}
		fmt.Fprintf(&seed, "(%d, 'h%015d', 'a.jpg', 'a.jpg', 'image/jpeg', 1, '2020-01-01 00:00:00')", i, i)
	}
	seed.WriteString(";\n")
	os.WriteFile(filepath.Join(dir, "seed.sql"), []byte(seed.String()), 0o644)
	os.MkdirAll(filepath.Join(dir, "originals"), 0o755)
	os.WriteFile(filepath.Join(dir, "originals", "a.jpg"), []byte("jpeg bytes"), 0o644)
	addr := freeAddr(t)
	cfg := sqliteConfig(t, dir, fmt.Sprintf("listen = %q\nlog_level = \"warn\"", addr), "site", "", true)
	base := startServe(t, cfg, addr)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, failures atomic.Int64
	var firstFailure atomic.Value
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res, err := http.Get(fmt.Sprintf("%s/site/assets/h%015d", base, 1+(g*1250+i)%n))
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 200, 404:
					reads.Add(1)
				case 503:
					// The query deadline under overload (the race
					// detector slows SQLite tenfold): an answer, not a
					// lock error.
				default:
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", res.StatusCode, body))
				}
			}
		}()
	}
	rotate := exec.Command(buildBinary(t), "rotate-hash", "-config", cfg, "-project", "site", "-all")
	rotate.Env = childEnv()
	out, err := rotate.CombinedOutput()
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("rotated %d files", n)) {
		t.Fatalf("rotate-hash -all: %v\n%s", err, out)
	}
	if reads.Load() == 0 || failures.Load() != 0 {
		t.Errorf("%d reads, %d failed; first: %v", reads.Load(), failures.Load(), firstFailure.Load())
	}
}

// serve removes the temporary files a killed process left in a thumb root
// (older than ten minutes) when it starts, and keeps young ones; the metrics
// listener's /readyz gives the details the public one hides.
func TestServeSweepsStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "originals"), 0o755)
	variant := filepath.Join(dir, "generated", "w200,h200,fcrop,q80")
	os.MkdirAll(variant, 0o755)
	stale := filepath.Join(variant, storage.TempPrefix+"killed")
	young := filepath.Join(variant, storage.TempPrefix+"writing")
	for _, p := range []string{stale, young} {
		os.WriteFile(p, []byte("partial"), 0o644)
	}
	old := time.Now().Add(-11 * time.Minute)
	os.Chtimes(stale, old, old)
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := sqliteConfig(t, dir, fmt.Sprintf("listen = %q\nmetrics_listen = %q\nmin_free_space = \"1TiB\"", addr, metricsAddr), "site", "", false)
	base := startServe(t, cfg, addr)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(stale); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stale temporary file still there")
		}
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("young temporary file removed: %v", err)
	}
	res, body := get(t, base+"/readyz")
	if res.StatusCode != 503 || string(body) != `{"projects":{"site":"thumbs"},"status":"unavailable"}` {
		t.Errorf("public readyz: %d %s", res.StatusCode, body)
	}
	res, body = get(t, "http://"+metricsAddr+"/readyz")
	if res.StatusCode != 503 || !strings.Contains(string(body), "below min_free_space") {
		t.Errorf("private readyz: %d %s", res.StatusCode, body)
	}
}

// A serve that cannot bind its metrics listener exits 1 and leaves nothing
// running: the main port it had bound is free again.
func TestServeReleasesWhatItStartedOnFailure(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "originals"), 0o755)
	addr := freeAddr(t)
	cfg := sqliteConfig(t, dir, fmt.Sprintf("listen = %q\nmetrics_listen = %q", addr, busy.Addr().String()), "site", "", false)
	logs := &syncBuffer{}
	if code := run(context.Background(), []string{"serve", "-config", cfg}, io.Discard, logs); code != 1 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the main port is still bound after the failed start: %v", err)
	}
	ln.Close()
	if !strings.Contains(logs.String(), busy.Addr().String()) {
		t.Errorf("the log does not name the busy address:\n%s", logs.String())
	}
}

// A project whose directus_files is empty is named in a warning at start:
// otherwise every URL answers 404 with nothing in the log.
func TestServeWarnsAboutAnEmptyProject(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "originals"), 0o755)
	addr := freeAddr(t)
	cfg := sqliteConfig(t, dir, fmt.Sprintf("listen = %q", addr), "empty", "", false)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-config", cfg}, io.Discard, logs) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), `"msg":"serving"`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "directus_files is empty") || !strings.Contains(logs.String(), `"project":"empty"`) {
		t.Errorf("no warning about the empty project:\n%s", logs.String())
	}
}

// sqliteConfig writes dir/config.toml: the [server] lines given, and one
// project on the embedded database (dir/directus.db, seeded from
// dir/seed.sql when seed is set) with its originals in dir/originals
// (created) and extra lines under [projects.<name>]. It returns the path.
func sqliteConfig(t *testing.T, dir, server, name, extra string, seed bool) string {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "originals"), 0o755)
	seedLine := ""
	if seed {
		seedLine = "seed = \"seed.sql\"\n"
	}
	cfg := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf("[server]\n%s\n[projects.%s]\n%s\n[projects.%s.database]\ntype = \"sqlite\"\npath = \"directus.db\"\n%s"+
		"[projects.%s.storage]\nroot = \"originals\"\nthumb_root = \"generated\"\n", server, name, extra, name, seedLine, name)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}
