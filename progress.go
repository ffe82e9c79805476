package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressInterval is how often a long command reports when its output is
// not a terminal (a log, a CI job).
var progressInterval = 10 * time.Second

// progress shows how far a long command (warm, rotate-hash -all, purge) is:
// a progress bar with count, rate and ETA on a terminal, else one plain line
// every progressInterval. It is safe for concurrent use.
type progress struct {
	what         string
	total        atomic.Int64
	done, failed atomic.Int64
	note         atomic.Pointer[string]
	terminal     bool
	stop         chan struct{}
	wg           sync.WaitGroup
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress starts reporting on w the progress of what, out of total
// steps (SetTotal may set it later). Stop ends it.
func startProgress(w io.Writer, what string, total int) *progress {
	p := &progress{what: what, terminal: isTerminal(w), stop: make(chan struct{})}
	p.total.Store(int64(total))
	start := time.Now()
	if p.terminal {
		bar := progressbar.NewOptions64(int64(total), progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish())
		p.wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				bar.ChangeMax64(p.total.Load())
				bar.Describe(what + p.suffix())
				bar.Set64(p.done.Load())
				select {
				case <-p.stop:
					bar.Finish()
					return
				case <-tick.C:
				}
			}
		})
		return p
	}
	p.wg.Go(func() {
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			done, total := p.done.Load(), p.total.Load()
			rate := float64(done) / time.Since(start).Seconds()
			eta := "?"
			if rate > 0 {
				eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
			}
			fmt.Fprintf(w, "%s: %d/%d, %.1f/s, ETA %s%s\n", what, done, total, rate, eta, p.suffix())
		}
	})
	return p
}

// suffix is the failures and the note, for display.
func (p *progress) suffix() string {
	s := ""
	if n := p.failed.Load(); n > 0 {
		s += fmt.Sprintf(", %d failed", n)
	}
	if note := p.note.Load(); note != nil {
		s += ", " + *note
	}
	return s
}

// Add counts done more steps, failed of them failures.
func (p *progress) Add(done, failed int) {
	p.done.Add(int64(done))
	p.failed.Add(int64(failed))
}

// SetTotal sets how many steps there are.
func (p *progress) SetTotal(total int) { p.total.Store(int64(total)) }

// Note sets a short text shown with the count, such as where to resume.
func (p *progress) Note(s string) { p.note.Store(&s) }

// Stop ends the report.
func (p *progress) Stop() {
	close(p.stop)
	p.wg.Wait()
}
