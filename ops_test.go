package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/internal/fixture"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// childCoverEnv names a directory: when set, the binary is built for
// coverage and the processes tests start write their coverage there
// (GOCOVERDIR), for `go tool covdata` — the README's coverage figure.
const childCoverEnv = "V8ASSETS_CHILD_COVERDIR"

// childEnv returns the environment of a child process: this one's, extra,
// and GOCOVERDIR when childCoverEnv is set.
func childEnv(extra ...string) []string {
	env := append(os.Environ(), extra...)
	if dir := os.Getenv(childCoverEnv); dir != "" {
		env = append(env, "GOCOVERDIR="+dir)
	}
	return env
}

// buildBinary builds v8assets once per test run and returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "v8assets-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "v8assets")
		args := []string{"build", "-o", binPath}
		if os.Getenv(childCoverEnv) != "" {
			args = append(args, "-cover", "-coverpkg=./...")
		}
		buildOut, buildErr = exec.Command("go", append(args, ".")...).CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// process is a v8assets serve process started for a test.
type process struct {
	cmd  *exec.Cmd
	logs chan string
}

// startProcess runs the binary's serve with cfg and extra environment, and
// waits until addr answers /readyz with 200.
func startProcess(t *testing.T, cfg, addr string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(buildBinary(t), "serve", "-config", cfg)
	cmd.Env = childEnv(env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: make(chan string, 1)}
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		p.logs <- b.String()
	}()
	t.Cleanup(func() {
		// SIGTERM first: a graceful exit also writes coverage data.
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("server did not become ready:\n%s", <-p.logs)
		}
	}
}

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
	if code, out, errOut := runCLI(t, "purge", "-config", cfg, "-project", "thumper", "-dir", "../../etc"); code != 1 || out != "" || !strings.Contains(errOut, "not a generated directory") {
		t.Errorf("purge -dir ../../etc: exit %d, out %q, err %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "purge", "-config", cfg, "-project", "thumper", "-dir", "../uploads"); code != 1 || !strings.Contains(errOut, "not a generated directory") {
		t.Errorf("bad -dir: exit %d %q", code, errOut)
	}
}

// SIGTERM to the real binary during a slow generation: the generation is
// abandoned at the shutdown timeout, nothing is left in
// the thumb root, and the process exits 0.
func TestSIGTERMDuringGeneration(t *testing.T) {
	th := fixture.NewThumper(t)
	empty := "[]"
	th.SetSetting(t, "asset_whitelist", &empty)
	os.WriteFile(filepath.Join(th.Root, "big.png"), fixture.PNG(fixture.HalfTransparent(3000, 3000)), 0o644)
	fixture.Exec(t, th.DB, "INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES (10, 'bigpng0000000001', 'big.png', 'big.png', 'image/png', 1, NOW())")
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	cfg := mysqlConfig(t, th, addr)
	p := startProcess(t, cfg, addr, "V8ASSETS_SERVER_SHUTDOWN_TIMEOUT=100ms", "V8ASSETS_SERVER_METRICS_LISTEN="+metricsAddr,
		"V8ASSETS_SERVER_LOG_FORMAT=text")
	cmd := p.cmd
	base := "http://" + addr
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
	out := <-p.logs
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
