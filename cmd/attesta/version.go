package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/attesta-go/attesta/internal/buildinfo"
)

var versionCmd = &command{
	name:    "version",
	summary: "print the version and commit this binary was built from",
	usage: `Usage: attesta version

Prints one line: the module version ("(devel)" for a build in a clone),
the commit ("unknown" when the build had no VCS information, as with
-buildvcs=false), the Go version and the platform:
  attesta (devel) (commit 0123456789ab, 2026-11-22T06:24:12Z) go1.26.8 linux/amd64
`,
	setup: func(fs *flag.FlagSet) func(context.Context, *env) int {
		return func(ctx context.Context, e *env) int {
			fmt.Fprintln(e.stdout, buildinfo.String("attesta"))
			return 0
		}
	},
}
