package generator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/v8assets/v8assets/v8err"
)

// Isolation runs every decode and encode in a worker process: a fresh copy
// of the same binary started with Command, speaking over two pipes. Each
// job runs under a hard ceiling of its own (RLIMIT_DATA: the worker's
// current data size plus the job's memory estimate plus workerSlack) and
// is killed at the generation timeout, so an original that lies about its
// cost ends its worker, not the server.
type Isolation struct {
	// Command is the worker's argv: a program whose main calls ServeWorker.
	Command []string
	// Env is added to the worker's environment.
	Env []string
	// MaxJobs retires a worker after that many jobs (default 1000).
	MaxJobs int
	// RecycleGrowth retires a worker whose data size grew by more than
	// this since it started (default 64 MiB): memory a large job took, the
	// Go heap and the C allocators keep, goes back to the system.
	RecycleGrowth int64
}

// workerSlack is what a job may take beyond its estimate: the runtime's
// own growth (thread stacks, collector metadata) while it runs.
const workerSlack = 48 << 20

// The worker's ends of the two pipes: it reads jobs from workerIn and
// writes answers to workerOut (descriptors 3 and 4, after stdin, stdout and
// stderr), so nothing the process prints can corrupt an answer.
const (
	workerIn  = 3
	workerOut = 4
)

// maxWorkerOutput bounds an answer a worker may send: far more than any
// thumbnail within max_source_pixels encodes to.
const maxWorkerOutput = 1 << 30

type workerRequest struct {
	Job    Job
	Size   int
	Memory int64
}

type workerReply struct {
	Size int
	// Code and Message are a *v8err.Error's; Cause is the error's text
	// when it is no such error, or its internal cause.
	Code    v8err.Code
	Message string
	Cause   string
	Failed  bool
	// Growth is how much the worker's data size grew since it started.
	Growth int64
}

// ServeWorker is the main of a worker process (see Isolation): it renders
// the jobs that arrive on descriptor 3 and answers each on descriptor 4
// until descriptor 3 closes, and returns the process's exit code.
func ServeWorker() int {
	// A terminal's Ctrl-C reaches the whole process group: the server
	// shuts down gracefully and ends its workers itself.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	// The ceiling and the memory limit bound the heap; collecting less
	// often saves a few percent of a thumbnail.
	debug.SetGCPercent(400)
	in := bufio.NewReader(os.NewFile(workerIn, "jobs"))
	out := os.NewFile(workerOut, "answers")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "generate-worker: run by the server only")
		return 2
	}
	base := dataSize()
	for {
		var req workerRequest
		if err := readFrame(in, &req); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintln(os.Stderr, "generate-worker:", err)
			return 2
		}
		reply, body := work(in, req)
		reply.Growth = dataSize() - base
		if err := writeFrame(out, reply, body); err != nil {
			return 0 // the server has gone
		}
	}
}

// work reads one job's original from in and renders it under the job's
// ceiling.
func work(in io.Reader, req workerRequest) (workerReply, []byte) {
	data := dataSize()
	if req.Memory > 0 && data > 0 {
		limit := data + req.Memory + workerSlack
		setDataLimit(uint64(limit))
		// The collector works harder before the ceiling ends the process.
		debug.SetMemoryLimit(req.Memory + workerSlack/2)
	}
	src := make([]byte, req.Size)
	if _, err := io.ReadFull(in, src); err != nil {
		os.Exit(2)
	}
	var out bytes.Buffer
	err := Render(context.Background(), src, req.Job, &out)
	src = nil
	setDataLimit(unlimited)
	debug.SetMemoryLimit(-1)
	var reply workerReply
	if err != nil {
		reply.Failed = true
		reply.Cause = err.Error()
		if e := v8err.As(err); e != nil {
			reply.Code, reply.Message, reply.Cause = e.Code, e.Message, ""
			if e.Err != nil {
				reply.Cause = e.Err.Error()
			}
		}
		return reply, nil
	}
	reply.Size = out.Len()
	return reply, out.Bytes()
}

// unlimited is RLIM_INFINITY.
const unlimited = ^uint64(0)

func setDataLimit(n uint64) {
	lim := syscall.Rlimit{Cur: n, Max: unlimited}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &lim); err != nil {
		fmt.Fprintln(os.Stderr, "generate-worker: setrlimit:", err)
	}
}

// dataSize returns this process's data size (VmData, the size RLIMIT_DATA
// bounds) in bytes, or 0 when /proc does not tell.
func dataSize() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return statusField(b, "VmData:")
}

// statusField returns a "kB" field of /proc/<pid>/status in bytes.
func statusField(status []byte, name string) int64 {
	i := bytes.Index(status, []byte(name))
	if i < 0 {
		return 0
	}
	line, _, _ := strings.Cut(string(status[i+len(name):]), "\n")
	kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), "kB")), 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}

// A frame is a 4-byte big-endian length, that many bytes of JSON, then the
// raw body the JSON announces.
func writeFrame(w io.Writer, head any, body []byte) error {
	j, err := json.Marshal(head)
	if err != nil {
		return err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(j)))
	bw := bufio.NewWriter(w)
	bw.Write(n[:])
	bw.Write(j)
	if _, err := bw.Write(body); err != nil {
		return err
	}
	return bw.Flush()
}

func readFrame(r io.Reader, head any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 1<<20 {
		return fmt.Errorf("frame header of %d bytes", size)
	}
	j := make([]byte, size)
	if _, err := io.ReadFull(r, j); err != nil {
		return fmt.Errorf("frame header: %w", io.ErrUnexpectedEOF)
	}
	return json.Unmarshal(j, head)
}

// pool keeps idle workers, starts new ones when none is idle, and retires
// them as Isolation says.
type pool struct {
	iso  Isolation
	mu   sync.Mutex
	idle []*worker
	// closed is set by Shutdown: no worker is kept or started after it.
	closed bool
}

type worker struct {
	cmd  *exec.Cmd
	jobs *os.File
	// answers is the server's end of the worker's descriptor 4.
	answers *bufio.Reader
	ansFile *os.File
	stderr  *head
	// done counts the jobs it answered.
	done int
	exit chan struct{}
}

func newPool(iso Isolation) *pool {
	if iso.MaxJobs <= 0 {
		iso.MaxJobs = 1000
	}
	if iso.RecycleGrowth <= 0 {
		iso.RecycleGrowth = 64 << 20
	}
	return &pool{iso: iso}
}

// errWorkerCrashed is the cause of a job whose worker ended without
// answering: it crossed its memory ceiling, or a decoder crashed.
var errWorkerCrashed = errors.New("generation worker ended without answering")

// render runs Render(src, job) in a worker under a ceiling of est bytes and
// writes the thumbnail to out. When ctx ends first the worker is killed and
// ctx's error returned; a worker that dies answers v8's 422.
func (p *pool) render(ctx context.Context, src []byte, job Job, est int64, out *bytes.Buffer) error {
	w, err := p.get()
	if err != nil {
		return err
	}
	type result struct {
		reply workerReply
		err   error
	}
	done := make(chan result, 1)
	go func() {
		reply, err := w.exchange(src, job, est, out)
		done <- result{reply, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		w.kill()
		<-done
		return ctx.Err()
	}
	if r.err != nil {
		w.kill()
		said := w.stderr.firstLine()
		cause := fmt.Errorf("%w (%s): %v: %s", errWorkerCrashed, w.cmd.ProcessState, r.err, said)
		if strings.Contains(said, "out of memory") {
			return unprocessable("Image is too large: generating it takes more memory than its estimate allows.", cause)
		}
		return unprocessable(msgUndecodable, cause)
	}
	p.put(w, r.reply.Growth)
	if !r.reply.Failed {
		return nil
	}
	if r.reply.Message != "" {
		e := v8err.New(r.reply.Code, r.reply.Message)
		if r.reply.Cause != "" {
			e.Err = errors.New(r.reply.Cause)
		}
		return e
	}
	return errors.New(r.reply.Cause)
}

// exchange sends one job and reads its answer.
func (w *worker) exchange(src []byte, job Job, est int64, out *bytes.Buffer) (workerReply, error) {
	if err := writeFrame(w.jobs, workerRequest{Job: job, Size: len(src), Memory: est}, src); err != nil {
		return workerReply{}, err
	}
	var reply workerReply
	if err := readFrame(w.answers, &reply); err != nil {
		return reply, err
	}
	if reply.Size < 0 || reply.Size > maxWorkerOutput {
		return reply, fmt.Errorf("answer of %d bytes", reply.Size)
	}
	out.Grow(reply.Size)
	if _, err := io.CopyN(out, w.answers, int64(reply.Size)); err != nil {
		return reply, err
	}
	w.done++
	return reply, nil
}

func (p *pool) get() (*worker, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("generator shut down")
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	return p.start()
}

// put keeps w for the next job, or retires it when it has done its share
// or grown past RecycleGrowth.
func (p *pool) put(w *worker, growth int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || w.done >= p.iso.MaxJobs || growth > p.iso.RecycleGrowth {
		go w.stop()
		return
	}
	p.idle = append(p.idle, w)
}

// shutdown stops the idle workers; busy ones are killed by their jobs'
// contexts, and no worker is kept or started afterwards.
func (p *pool) shutdown() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		w.stop()
	}
}

func (p *pool) start() (*worker, error) {
	if len(p.iso.Command) == 0 {
		return nil, errors.New("isolation: no worker command")
	}
	jobsR, jobsW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start generation worker: %w", err)
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		jobsR.Close()
		jobsW.Close()
		return nil, fmt.Errorf("start generation worker: %w", err)
	}
	// An original crosses the pipe in one go instead of 64 KiB at a time
	// (a context switch each); the kernel may grant less.
	for _, f := range []*os.File{jobsW, ansW} {
		if rc, err := f.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
		}
	}
	cmd := exec.Command(p.iso.Command[0], p.iso.Command[1:]...)
	cmd.Env = append(os.Environ(), p.iso.Env...)
	cmd.ExtraFiles = []*os.File{jobsR, ansW}
	w := &worker{cmd: cmd, jobs: jobsW, ansFile: ansR, answers: bufio.NewReader(ansR), stderr: &head{max: 4 << 10}, exit: make(chan struct{})}
	cmd.Stderr = w.stderr
	err = cmd.Start()
	jobsR.Close()
	ansW.Close()
	if err != nil {
		jobsW.Close()
		ansR.Close()
		return nil, fmt.Errorf("start generation worker: %w", err)
	}
	go func() {
		cmd.Wait()
		close(w.exit)
	}()
	return w, nil
}

// stop ends an idle worker: its job pipe closes, and it exits.
func (w *worker) stop() {
	w.jobs.Close()
	<-w.exit
	w.ansFile.Close()
}

// kill ends a worker at once and waits for it.
func (w *worker) kill() {
	w.cmd.Process.Kill()
	w.jobs.Close()
	<-w.exit
	w.ansFile.Close()
}

// head keeps the first max bytes written to it: a crash's reason comes
// first, its goroutine dump after.
type head struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (h *head) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.b = append(h.b, p[:min(len(p), h.max-len(h.b))]...)
	return len(p), nil
}

// firstLine returns the first line that says something.
func (h *head) firstLine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for line := range strings.Lines(string(h.b)) {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
