//go:build race

package main

// raceEnabled: the test binary runs under the race detector, so the server
// binary the tests build is built with -race too (and reuses the cache).
const raceEnabled = true
