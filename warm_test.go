package main

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/v8assets/v8assets/hashes"
	"github.com/v8assets/v8assets/internal/fixture"
)

// generatedFiles returns the paths below root, relative and sorted.
func generatedFiles(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(names)
	return names
}

// The presets of the §12 project: v8's six system keys and its user key.
var thumperPresets = []string{
	"w64,h64,fcrop,q80", "w64,h64,fcontain,q80", "w300,h300,fcrop,q80", "w300,h300,fcontain,q80",
	"w800,h600,fcrop,q80", "w800,h600,fcontain,q80", "w200,h200,fcontain,q80",
}

// warm on the §12 project makes every preset of every image file that has
// an original, and reports the one whose original is missing; a second run
// makes nothing; -dry-run writes nothing; -keys and -file narrow it.
func TestWarmCommand(t *testing.T) {
	th := fixture.NewThumper(t)
	cfg := mysqlConfig(t, th, "127.0.0.1:0")

	code, out, errOut := runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-dry-run")
	if code != 1 || !strings.HasPrefix(out, "would generate 14 thumbnails (0 B), reused 0, failed 7") || len(generatedFiles(t, th.ThumbRoot)) != 0 {
		t.Fatalf("dry run: exit %d out %q err %q, files %v", code, out, errOut, generatedFiles(t, th.ThumbRoot))
	}

	code, out, errOut = runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-concurrency", "2")
	var want []string
	for _, dir := range thumperPresets {
		want = append(want, dir+"/"+fixture.AvatarDisk, dir+"/small.png")
	}
	slices.Sort(want)
	if got := generatedFiles(t, th.ThumbRoot); !slices.Equal(got, want) {
		t.Errorf("generated files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// missing.jpg (file 4) has no original: one failure per preset, exit 1.
	if code != 1 || !strings.HasPrefix(out, "generated 14 thumbnails (") || !strings.Contains(out, "reused 0, failed 7\n") ||
		!strings.Contains(out, "  7 × original missing\n") {
		t.Errorf("first run: exit %d out %q err %q", code, out, errOut)
	}

	code, out, _ = runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-file", "1")
	if code != 0 || out != "generated 0 thumbnails (0 B), reused 7, failed 0\n" {
		t.Errorf("second run: exit %d out %q", code, out)
	}
	code, out, errOut = runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-keys", "thumbnail,directus-small-crop", "-since", "1")
	if code != 1 || !strings.HasPrefix(out, "generated 0 thumbnails (0 B), reused 2, failed 2") {
		t.Errorf("-keys -since 1: exit %d out %q err %q", code, out, errOut)
	}
	for name, c := range map[string]struct {
		args []string
		code int
	}{
		"unknown preset":  {[]string{"-keys", "huge"}, 2},
		"keys and all":    {[]string{"-keys", "thumbnail", "-all-keys"}, 2},
		"not an image":    {[]string{"-file", "3"}, 1},
		"no concurrency":  {[]string{"-concurrency", "0"}, 2},
		"file and since":  {[]string{"-file", "1", "-since", "1"}, 2},
		"missing project": {[]string{"-project", "nope"}, 2},
	} {
		args := append([]string{"warm", "-config", cfg, "-project", "thumper"}, c.args...)
		if code, _, errOut := runCLI(t, args...); code != c.code || errOut == "" {
			t.Errorf("%s: exit %d (%q), want %d", name, code, errOut, c.code)
		}
	}
}

// SIGINT in the middle of a run stops it cleanly: no partial or temporary
// file is left, every file written decodes, and the printed -since resumes
// the run to the same complete set.
func TestWarmInterrupt(t *testing.T) {
	th := fixture.NewThumper(t)
	cfg := mysqlConfig(t, th, "127.0.0.1:0")
	// 60 more images, so that the run is still going when
	// interrupted.
	big := fixture.JPEG(fixture.Photo(600, 400, 9), 90)
	var rows []string
	for i := range 60 {
		name := fmt.Sprintf("big%02d.jpg", i)
		if err := os.WriteFile(filepath.Join(th.Root, name), big, 0o644); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, fmt.Sprintf("(%d, 'bighash%09d', '%s', '%s', 'image/jpeg', 1, NOW())", 100+i, i, name, name))
	}
	th.DB.MustExec("INSERT INTO directus_files (id, private_hash, filename_disk, filename_download, type, uploaded_by, uploaded_on) VALUES " + strings.Join(rows, ","))

	cmd := exec.Command(buildBinary(t), "warm", "-config", cfg, "-project", "thumper", "-concurrency", "1", "-keys", "thumbnail,directus-small-crop")
	cmd.Env = childEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); len(generatedFiles(t, th.ThumbRoot)) < 6; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("warm made no progress")
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d after SIGINT, want 130\n%s%s", code, stdout.String(), stderr.String())
	}
	// Only missing.jpg's two presets failed; what the interrupt abandoned
	// is redone on resume, not counted.
	if !strings.Contains(stdout.String(), ", failed 2\n") {
		t.Errorf("interrupted run's summary: %q", stdout.String())
	}
	m := regexp.MustCompile(`resume with -since (\d+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no -since in %q", stderr.String())
	}
	since, _ := strconv.Atoi(m[1])
	files := generatedFiles(t, th.ThumbRoot)
	if len(files) >= 2*62 || since < 1 || since >= 159 {
		t.Fatalf("interrupt came too late to test anything: %d files, -since %d", len(files), since)
	}
	for _, name := range files {
		f, err := os.Open(filepath.Join(th.ThumbRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = image.Decode(f)
		f.Close()
		if err != nil || strings.Contains(filepath.Base(name), ".tmp") || strings.HasPrefix(filepath.Base(name), ".") {
			t.Errorf("left behind: %s (%v)", name, err)
		}
	}

	code, out, errOut := runCLI(t, "warm", "-config", cfg, "-project", "thumper", "-keys", "thumbnail,directus-small-crop", "-since", m[1])
	if code != 0 || !strings.Contains(out, "failed 0") {
		t.Errorf("resume: exit %d out %q err %q", code, out, errOut)
	}
	// Every image with an original, in both presets: the avatar, small.png
	// and the 60 added ones (missing.jpg, id 4, has none).
	if got := generatedFiles(t, th.ThumbRoot); len(got) != 2*62 {
		t.Errorf("%d files after resuming, want %d", len(got), 2*62)
	}
}

// The variants warm makes of one original: its own format, plus each
// negotiated format but the original's own; a GIF only its own.
func TestWarmVariants(t *testing.T) {
	for disk, want := range map[string][]string{
		"a.jpg":  {"", "avif", "webp"},
		"a.webp": {"", "avif"},
		"A.AVIF": {"", "webp"},
		"a.gif":  {""},
	} {
		if got := warmVariants(hashes.File{FilenameDisk: disk}, []string{"avif", "webp"}); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", disk, got, want)
		}
	}
}
