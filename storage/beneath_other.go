//go:build !linux

package storage

import (
	"errors"
	"os"
)

var errNoOpenBeneath = errors.New("openat2 unavailable")

// openBeneath is Linux-only; elsewhere os.Root does the confinement.
func openBeneath(*os.File, string) (*os.File, error) { return nil, errNoOpenBeneath }
