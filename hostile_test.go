package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/generator"
	"github.com/v8assets/v8assets/internal/fixture"
)

// hostileFiles are small, well-formed originals that lie about their cost,
// by name under the originals root.
func hostileFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"zbomb.png": fixture.TextBombPNG(fixture.HalfTransparent(64, 64), 3, 1000),
		"scans.jpg": fixture.ProgressiveJPEG(4096, 8192, 1, 2000),
		"flat.jpg":  fixture.ProgressiveJPEG(4096, 4096, 3, 1),
		"cmyk.jpg":  fixture.ProgressiveJPEG(4096, 4096, 4, 1),
	}
	var b bytes.Buffer
	if err := generator.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 2048, 2048)), "avif", 50); err != nil {
		t.Fatal(err)
	}
	lie := b.Bytes()
	i := bytes.Index(lie, []byte("ispe"))
	binary.BigEndian.PutUint32(lie[i+8:], 64)
	binary.BigEndian.PutUint32(lie[i+12:], 64)
	files["lie.avif"] = lie
	return files
}

// peakRSS returns VmHWM of pid and of each of its live children (the
// generation workers), in bytes.
func peakRSS(pid int) (self int64, children map[int]int64) {
	field := func(pid int) int64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0
		}
		i := bytes.Index(b, []byte("VmHWM:"))
		if i < 0 {
			return 0
		}
		line, _, _ := strings.Cut(string(b[i+6:]), "\n")
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), "kB")), 10, 64)
		return kb << 10
	}
	children = map[int]int64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			children[child] = field(child)
		}
	}
	return field(pid), children
}

// Hostile uploads in one project, while another project is served: every
// hostile request gets its answer (made, or v8's 422), none hangs; the
// server and each of its workers stay within max_generation_memory + 64
// MiB; the other project's requests all succeed; the server is alive and
// ready afterwards.
func TestHostileUploadsKeepTheServerUp(t *testing.T) {
	if !generator.Native {
		t.Skip("the pure-Go build runs in-process; its decoders are Go's")
	}
	site, other := fixture.NewThumper(t), fixture.NewThumper(t)
	files := hostileFiles(t)
	id := 7
	hashes := map[string]string{}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(site.Root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		hash := fmt.Sprintf("hostile%09d", id)
		typ := "image/jpeg"
		switch filepath.Ext(name) {
		case ".png":
			typ = "image/png"
		case ".avif":
			typ = "image/avif"
		}
		fixture.Exec(t, site.DB, fmt.Sprintf(`INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on)
			VALUES (%d, '%s', '%s', '%s', '%s', 1, NOW())`, id, hash, name, name, typ))
		hashes[name] = hash
		id++
	}
	if err := syscall.Mkfifo(filepath.Join(site.Root, "fifo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	fixture.Exec(t, site.DB, `INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on)
		VALUES (99, 'hostilefifo00001', 'fifo.jpg', 'fifo.jpg', 'image/jpeg', 1, NOW())`)
	hashes["fifo.jpg"] = "hostilefifo00001"

	admin := fixture.AdminConfig(t)
	conn := fmt.Sprintf("socket = %q", admin.Addr)
	if admin.Net == "tcp" {
		host, port, _ := net.SplitHostPort(admin.Addr)
		conn = fmt.Sprintf("host = %q\nport = %s", host, port)
	}
	const budget = 64 << 20
	addr := freeAddr(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "[server]\nlisten = %q\nmax_generations = 2\nmax_generation_memory = \"64MiB\"\ngeneration_timeout = \"5s\"\nisolate_generations = true\n", addr)
	for _, p := range []struct {
		name string
		th   *fixture.Thumper
	}{{"site", site}, {"other", other}} {
		fmt.Fprintf(&cfg, "[projects.%s.database]\ntype = \"mysql\"\nname = %q\nusername = %q\npassword = %q\n%s\n[projects.%s.storage]\nroot = %q\nthumb_root = %q\n",
			p.name, p.th.DBName, admin.User, admin.Passwd, conn, p.name, p.th.Root, p.th.ThumbRoot)
	}
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	proc := startProcess(t, path, addr)
	pid := proc.cmd.Process.Pid

	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) (int, string, error) {
		res, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), nil
	}

	var peakServer, peakWorker int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			self, children := peakRSS(pid)
			peakServer = max(peakServer, self)
			for _, hwm := range children {
				peakWorker = max(peakWorker, hwm)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	var served sync.WaitGroup
	otherFailures := make(chan string, 100)
	done := make(chan struct{})
	served.Go(func() {
		keys := []string{"thumbnail", "directus-small-crop", "directus-small-contain", "directus-medium-crop", "directus-medium-contain"}
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			url := "/other/assets/" + fixture.AvatarHash
			if i%2 == 1 {
				url += "?key=" + keys[i/2%len(keys)]
			}
			if status, body, err := get(url); status != 200 {
				otherFailures <- fmt.Sprintf("%s: %d %v %.100s", url, status, err, body)
			}
		}
	})

	var hostile sync.WaitGroup
	for name, hash := range hashes {
		for _, key := range []string{"thumbnail", "thumbnail", "directus-medium-crop"} {
			hostile.Go(func() {
				status, body, err := get("/site/assets/" + hash + "?key=" + key)
				switch {
				case err != nil:
					t.Errorf("%s: %v", name, err)
				case status != 200 && status != 422:
					t.Errorf("%s ?key=%s: %d %s, want the thumbnail or v8's 422", name, key, status, body)
				}
			})
		}
	}
	hostile.Wait()
	close(done)
	served.Wait()
	close(stop)
	watch.Wait()
	close(otherFailures)
	for f := range otherFailures {
		t.Errorf("the other project failed meanwhile: %s", f)
	}
	t.Logf("peak RSS: server %d MiB, largest worker %d MiB (budget %d MiB)", peakServer>>20, peakWorker>>20, budget>>20)
	if limit := int64(budget + 64<<20); peakServer > limit || peakWorker > limit {
		t.Errorf("peak RSS: server %d MiB, a worker %d MiB; each must stay within %d MiB", peakServer>>20, peakWorker>>20, limit>>20)
	}
	if status, _, err := get("/readyz"); status != 200 {
		t.Errorf("readyz after the hostile uploads: %d %v", status, err)
	}
	if err := proc.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("server gone: %v", err)
	}
}
