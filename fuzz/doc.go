// Package fuzz holds the fuzz targets for every Attesta decoder that sees
// untrusted bytes. Their seed corpora run in every `go test ./...`; longer
// runs: `go test -fuzz FuzzName ./fuzz` (see .ci/run for the short bursts).
//
// Each target checks two properties where they apply: a failed parse
// returns no value, and a successful parse re-encodes to the same bytes. A
// target fails if its seed corpus is empty.
package fuzz
