package main

import (
	"strings"
	"testing"
	"time"
)

// Off a terminal, progress is a plain line per interval with the count,
// rate, ETA, failures and the note.
func TestProgressLines(t *testing.T) {
	defer func(d time.Duration) { progressInterval = d }(progressInterval)
	progressInterval = 5 * time.Millisecond
	var out syncBuffer
	p := startProgress(&out, "warm", 10)
	p.Add(3, 1)
	p.Note("resume with -since 4")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "\n"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no progress line")
		}
	}
	p.Stop()
	line, _, _ := strings.Cut(out.String(), "\n")
	if !strings.HasPrefix(line, "warm: 3/10, ") || !strings.Contains(line, "/s, ETA ") || !strings.HasSuffix(line, ", 1 failed, resume with -since 4") {
		t.Errorf("line %q", line)
	}
}
