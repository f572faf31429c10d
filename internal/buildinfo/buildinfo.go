// Package buildinfo says which build of Attesta a command is, from what
// the go command stamped into the binary (runtime/debug.ReadBuildInfo):
// the module version and the VCS commit.
//
// # What a build knows
//
// "go install github.com/attesta-go/attesta/cmd/attesta@v1.2.3" stamps
// the version v1.2.3. A build in a clone stamps "(devel)", or with Go 1.24
// and later a pseudo-version made from the commit, and the commit itself
// (vcs.revision, vcs.time, vcs.modified) unless VCS stamping is off
// (-buildvcs=false, which some CI environments set in GOFLAGS) or the tree
// is not a git checkout: then the commit is "unknown".
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// String is one line for "attesta version" and "attesta-server -version":
//
//	attesta v1.2.3 (commit 0123456789ab, 2026-11-22T06:24:12Z) go1.26.8 linux/amd64
//	attesta (devel) (commit unknown) go1.26.8 linux/amd64
func String(command string) string {
	bi, ok := debug.ReadBuildInfo()
	return format(command, bi, ok)
}

func format(command string, bi *debug.BuildInfo, ok bool) string {
	version, commit := "(devel)", "unknown"
	goVersion := runtime.Version()
	if ok && bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		var when string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
				if len(commit) > 12 {
					commit = commit[:12]
				}
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if when != "" && commit != "unknown" {
			commit += ", " + when
		}
		if modified && commit != "unknown" {
			commit += ", modified"
		}
	}
	return fmt.Sprintf("%s %s (commit %s) %s %s/%s", command, version, commit, goVersion, runtime.GOOS, runtime.GOARCH)
}
