package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

func TestHealthCommand(t *testing.T) {
	th := fixture.NewThumper(t)
	addr := freeAddr(t)
	cfg := mysqlConfig(t, th, addr)
	if code, _, _ := runCLI(t, "health", "-config", cfg); code != 1 {
		t.Errorf("nothing listening: exit %d, want 1", code)
	}
	startServe(t, cfg, addr)
	code, out, errOut := runCLI(t, "health", "-config", cfg)
	if code != 0 || !strings.Contains(out, `"status":"ok"`) {
		t.Errorf("ready server: exit %d out %q err %q", code, out, errOut)
	}
}

func TestPurgeCommand(t *testing.T) {
	th := fixture.NewThumper(t)
	cfg := mysqlConfig(t, th, "127.0.0.1:0")
	files := []string{
		"w200,h200,fcontain,q80/" + fixture.AvatarDisk,
		"w200,h200,fcrop,q80/" + fixture.AvatarDisk,
		"w200,h200,fcrop,q80/a88c3b72-ac58-5436-a4ec-b2858531333a.png",
		"w200,h200,fcrop,q80/small.png",
		"w64,h64,fcrop,q80/small.png",
		"w0200,h2e2,ffoo,q80/" + fixture.AvatarDisk, // a directory v8 itself made
	}
	kept := []string{"README.txt", "backup/" + fixture.AvatarDisk}
	for _, f := range append(append([]string{}, files...), kept...) {
		p := filepath.Join(th.ThumbRoot, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	exists := func(f string) bool {
		_, err := os.Stat(filepath.Join(th.ThumbRoot, f))
		return err == nil
	}
	purge := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"purge", "-config", cfg, "-project", "thumper"}, args...)...)
		if code != 0 {
			t.Fatalf("purge %v: exit %d %s", args, code, errOut)
		}
		return out
	}

	out := purge("-file", "1", "-dry-run")
	if !strings.HasSuffix(out, "would delete 4 files\n") || !exists(files[0]) {
		t.Fatalf("dry run: %q", out)
	}
	out = purge("-file", "1", "-dir", "w200,h200,fcrop,q80")
	if !strings.HasSuffix(out, "deleted 2 files\n") || exists(files[1]) || exists(files[2]) || !exists(files[0]) || !exists(files[3]) {
		t.Fatalf("file and dir: %q", out)
	}
	out = purge("-file", "1")
	if !strings.HasSuffix(out, "deleted 2 files\n") || exists(files[0]) || exists(files[5]) || !exists(files[3]) {
		t.Fatalf("file: %q", out)
	}
	if _, err := os.Stat(filepath.Join(th.ThumbRoot, "w0200,h2e2,ffoo,q80")); !os.IsNotExist(err) {
		t.Errorf("emptied directory kept")
	}
	out = purge()
	if !strings.HasSuffix(out, "deleted 2 files\n") || exists(files[3]) || exists(files[4]) {
		t.Fatalf("all: %q", out)
	}
	for _, f := range kept {
		if !exists(f) {
			t.Errorf("purge deleted %s, which is not a generated variant", f)
		}
	}
	if code, _, errOut := runCLI(t, "purge", "-config", cfg, "-project", "thumper", "-dir", "../uploads"); code != 1 || !strings.Contains(errOut, "not a generated directory") {
		t.Errorf("bad -dir: exit %d %q", code, errOut)
	}
}

// SIGTERM to the real binary during a slow generation: the generation is
// abandoned at the shutdown timeout, nothing is left in
// the thumb root, and the process exits 0.
func TestSIGTERMDuringGeneration(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "v8assets")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	th := fixture.NewThumper(t)
	empty := "[]"
	th.SetSetting(t, "asset_whitelist", &empty)
	os.WriteFile(filepath.Join(th.Root, "big.png"), fixture.PNG(fixture.HalfTransparent(3000, 3000)), 0o644)
	fixture.Exec(t, th.DB, "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES (10, 'bigpng0000000001', 'big.png', 'big.png', 'image/png', 1, NOW())")
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := mysqlConfig(t, th, addr)
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "V8ASSETS_SERVER_SHUTDOWN_TIMEOUT=100ms", "V8ASSETS_SERVER_METRICS_LISTEN="+metricsAddr,
		"V8ASSETS_SERVER_LOG_FORMAT=text")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		logs <- b.String()
	}()
	defer cmd.Process.Kill()
	base := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not become ready")
		}
	}
	go func() {
		if res, err := http.Get(base + "/thumper/assets/bigpng0000000001?w=5000&h=5000&f=crop&q=80"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}()
	// Wait until the generation runs, as the metrics listener reports.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		res, err := http.Get("http://" + metricsAddr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.Contains(string(b), "v8assets_generations_in_flight 1") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("generation never started")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	out := <-logs
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(out, "abandoned at the shutdown timeout") {
		t.Errorf("no abandon warning:\n%s", out)
	}
	var left []string
	filepath.Walk(th.ThumbRoot, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("left in the thumb root: %v", left)
	}
}
