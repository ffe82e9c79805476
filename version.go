package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time by the Dockerfile (and anyone building a release):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.buildTime=2026-11-28T15:00:00Z"
//
// Left empty, versionString falls back to what the Go toolchain stamped into
// the binary.
var (
	version   string
	buildTime string
)

// versionString returns "v8assets VERSION (built TIME, GOVERSION OS/ARCH)".
// VERSION is the linker-set version, else the module version of a
// `go install`ed binary, else the VCS revision the toolchain stamped, else
// "devel". TIME is the linker-set build time, else the commit time, else
// "unknown".
func versionString() string {
	v, t := version, buildTime
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				if t == "" {
					t = s.Value
				}
			case "vcs.modified":
				if s.Value == "true" {
					modified = "-dirty"
				}
			}
		}
		if v == "" && rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			v = rev + modified
		}
	}
	if v == "" {
		v = "devel"
	}
	if t == "" {
		t = "unknown"
	}
	return fmt.Sprintf("v8assets %s (built %s, %s %s/%s)", v, t, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
