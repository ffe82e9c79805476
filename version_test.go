package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVersionCommand builds the binary as the Dockerfile does, with the
// version and build time set at link time, and without them.
func TestVersionCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "v8assets")
	tests := []struct {
		name    string
		ldflags string
		want    string
	}{
		{"stamped", "-X main.version=v1.2.3-4-gabcdef -X main.buildTime=2026-11-28T15:00:00Z",
			"v8assets v1.2.3-4-gabcdef (built 2026-11-28T15:00:00Z, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
		{"unstamped", "", "v8assets devel (built unknown, " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", tt.ldflags, "-o", bin, ".")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			for _, arg := range []string{"version", "--version"} {
				out, err := exec.Command(bin, arg).Output()
				if err != nil {
					t.Fatalf("%s: %v", arg, err)
				}
				if got := strings.TrimSpace(string(out)); got != tt.want {
					t.Errorf("%s printed %q, want %q", arg, got, tt.want)
				}
			}
		})
	}
}

func TestVersionInUsage(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"help"}, &stdout, os.Stderr); code != 0 {
		t.Fatalf("help exited %d", code)
	}
	if !strings.Contains(stdout.String(), "\n  version ") {
		t.Errorf("usage does not list the version command:\n%s", stdout.String())
	}
}
