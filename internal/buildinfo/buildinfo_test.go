package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFormat(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/attesta-go/attesta", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-22T06:24:12Z"},
			{Key: "vcs.modified", Value: "false"},
		},
	}
	assert.Equal(t, "attesta v1.2.3 (commit 0123456789ab, 2026-11-22T06:24:12Z) go1.26.8"+platform, format("attesta", stamped, true))

	stamped.Settings[4].Value = "true"
	assert.Equal(t, "attesta v1.2.3 (commit 0123456789ab, 2026-11-22T06:24:12Z, modified) go1.26.8"+platform, format("attesta", stamped, true))

	// -buildvcs=false, or not a git checkout: no vcs settings.
	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/attesta-go/attesta", Version: "(devel)"}}
	assert.Equal(t, "attesta-server (devel) (commit unknown) go1.26.8"+platform, format("attesta-server", devel, true))

	// A binary without build information (or a test's empty Main).
	assert.Equal(t, "attesta (devel) (commit unknown) "+runtime.Version()+platform, format("attesta", nil, false))
	assert.Equal(t, "attesta (devel) (commit unknown) go1.26.8"+platform, format("attesta", &debug.BuildInfo{GoVersion: "go1.26.8"}, true))

	// The real thing, whatever this test binary was stamped with.
	assert.True(t, strings.HasPrefix(String("attesta"), "attesta "), String("attesta"))
}
