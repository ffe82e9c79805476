package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// errNoOpenBeneath says the kernel cannot confine an open to a directory
// (no openat2, or a filter refuses it); callers fall back to os.Root.
var errNoOpenBeneath = errors.New("openat2 unavailable")

// openBeneath opens name relative to dir with openat2(2) and
// RESOLVE_BENEATH: the kernel refuses any resolution — "..", an absolute or
// escaping symbolic link — that leaves dir, in a single system call.
func openBeneath(dir *os.File, name string) (*os.File, error) {
	how := unix.OpenHow{
		// O_NONBLOCK: opening a FIFO (or a device) must not wait for a
		// writer; Open then refuses it as no regular file. Reads of a
		// regular file ignore the flag.
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	var fd int
	var err error
	for {
		fd, err = unix.Openat2(int(dir.Fd()), name, &how)
		if err != unix.EINTR && err != unix.EAGAIN {
			break
		}
	}
	runtime.KeepAlive(dir)
	switch err {
	case nil:
		return os.NewFile(uintptr(fd), name), nil
	case unix.ENOSYS, unix.EPERM:
		return nil, errNoOpenBeneath
	case unix.EXDEV:
		return nil, fmt.Errorf("%w: %q", ErrOutsideRoot, name)
	}
	return nil, &fs.PathError{Op: "openat2", Path: name, Err: err}
}
