//go:build race

package crashtest

// raceEnabled: the test runs under the race detector, so the binaries it
// builds are built with -race too (and reuse the cache).
const raceEnabled = true
