package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
)

// Accept headers as browsers send them for <img>.
const (
	acceptChromium = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
	acceptSafari   = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"
)

// warm -formats makes the variants auto_format serves, at the paths serve
// looks for, none for what cannot benefit; purge -file removes them too.
func TestWarmFormats(t *testing.T) {
	if !generator.CanEncode("avif") {
		t.Skip("the pure-Go build encodes neither AVIF nor WebP")
	}
	th := fixture.NewThumper(t)
	fixture.Exec(t, th.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on)
		VALUES (7, 'animatedgif00001', 'anim.gif', 'anim.gif', 'image/gif', 1, NOW())`)
	if err := os.WriteFile(filepath.Join(th.Root, "anim.gif"), fixture.AnimatedGIF(120, 80), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := mysqlConfig(t, th, "127.0.0.1:0")
	code, out, errOut := runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-keys", "thumbnail", "-formats", "avif,webp", "-since", "1")
	// small.png: normal, avif, webp; missing.jpg and notype.jpg: 3 each
	// (one missing original, notype is no image/* type so it is not a
	// candidate); anim.gif: normal only.
	want := []string{
		"w200,h200,fcontain,q80,avif/small.png", "w200,h200,fcontain,q80,webp/small.png",
		"w200,h200,fcontain,q80/anim.gif", "w200,h200,fcontain,q80/small.png",
	}
	if got := generatedFiles(t, th.ThumbRoot); !slices.Equal(got, want) {
		t.Errorf("generated:\n%s\nwant:\n%s\n(exit %d, %q, %q)", strings.Join(got, "\n"), strings.Join(want, "\n"), code, out, errOut)
	}
	if code != 1 || !strings.HasPrefix(out, "generated 4 thumbnails (") || !strings.Contains(out, "failed 3\n") {
		t.Errorf("exit %d, out %q, err %q", code, out, errOut)
	}

	code, out, _ = runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-keys", "thumbnail", "-formats", "webp", "-file", "1")
	if code != 0 || !strings.HasPrefix(out, "generated 2 thumbnails (") {
		t.Errorf("-file 1 -formats webp: exit %d, out %q", code, out)
	}
	if !slices.Contains(generatedFiles(t, th.ThumbRoot), "w200,h200,fcontain,q80,webp/"+fixture.AvatarDisk) {
		t.Error("no webp variant of the avatar")
	}
	code, out, _ = runCLI(t, "purge", "-config", cfg, "-project", "thumper", "-file", "2")
	if left := generatedFiles(t, th.ThumbRoot); code != 0 || slices.ContainsFunc(left, func(s string) bool { return strings.HasSuffix(s, "/small.png") }) {
		t.Errorf("purge -file 2: exit %d, out %q, left %v", code, out, left)
	}
	for _, bad := range []string{"jxl", "avif,png"} {
		if code, _, errOut := runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-formats", bad); code != 2 || !strings.Contains(errOut, "-formats may list avif and webp") {
			t.Errorf("-formats %s: exit %d, %q", bad, code, errOut)
		}
	}
}

// The pure-Go build cannot encode AVIF or WebP: check-config says that
// auto_format is ignored (serve logs the same line once at start); the cgo
// build does not.
func TestAutoFormatPureBuild(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "v8assets-purego")
	if out, err := exec.Command("go", "build", "-tags", "purego", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -tags purego: %v\n%s", err, out)
	}
	th := fixture.NewThumper(t)
	cfg := mysqlConfig(t, th, "127.0.0.1:0")
	body, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append(body, "\n[projects.thumper]\nauto_format = [\"avif\", \"webp\"]\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "check-config", "-config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# warning: auto_format is ignored: this pure-Go build encodes neither AVIF nor WebP") ||
		!strings.Contains(string(out), "projects: thumper") {
		t.Errorf("check-config did not warn:\n%s", out)
	}
	if cgo, _ := exec.Command(buildBinary(t), "check-config", "-config", cfg).CombinedOutput(); generator.CanEncode("avif") && strings.Contains(string(cgo), "warning: auto_format") {
		t.Errorf("the cgo build warns too:\n%s", cgo)
	}

	// serve warns once and answers as without auto_format: JPEG, no Vary:
	// Accept.
	addr := freeAddr(t)
	var logs bytes.Buffer
	serve := exec.Command(bin, "serve", "-config", cfg, "-listen", addr)
	serve.Stderr = &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
	}()
	url := "http://" + addr + "/thumper/assets/" + fixture.AvatarHash + "?key=thumbnail"
	var res *http.Response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept", acceptChromium)
		if res, err = http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer: %v\n%s", err, logs.String())
		}
	}
	if ct, vary := res.Header.Get("Content-Type"), res.Header.Get("Vary"); res.StatusCode != http.StatusOK || ct != "image/jpeg" || strings.Contains(vary, "Accept") {
		t.Errorf("pure build with auto_format: %d %s, Vary %q", res.StatusCode, ct, vary)
	}
	serve.Process.Signal(syscall.SIGTERM)
	serve.Wait()
	if n := strings.Count(logs.String(), "auto_format is ignored"); n != 1 {
		t.Errorf("serve warned %d times:\n%s", n, logs.String())
	}
}
