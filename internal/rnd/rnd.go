// Package rnd is the one place where Attesta draws randomness.
//
// Every secret the library makes (challenge tokens, session and app tokens,
// party ids, salts, nonces, verification codes) comes from Bytes, which reads
// crypto/rand. Tests that need reproducible output (the published vectors)
// replace the source for the whole process with
// testing/cryptotest.SetGlobalRandom, which also covers the randomness that
// crypto/rsa and crypto/hpke draw internally; that is the seam, and there is
// no other.
package rnd

import "crypto/rand"

// Bytes returns n bytes from crypto/rand. crypto/rand.Read never fails on
// supported platforms (it crashes the program rather than return short).
func Bytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Read fills b from crypto/rand.
func Read(b []byte) { rand.Read(b) }

// Reader is crypto/rand.Reader, for APIs that take an io.Reader.
var Reader = rand.Reader
