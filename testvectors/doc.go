// Package testvectors holds Attesta's published test vectors: one JSON file
// per format, each with positive vectors (inputs and the exact outputs) and
// negative ones (inputs and the exact error they must produce), for anyone
// who implements the protocol in another language. docs/PROTOCOL.md is the
// specification they illustrate; its examples are taken from these files,
// and a test keeps the two in step.
//
// The package has no code of its own: its tests check every vector against
// the library.
//
//	go test ./testvectors
//
// decodes every file strictly (an unknown field fails), runs one parallel
// subtest per vector, re-encodes every accepted structure and requires the
// identical bytes, checks each negative vector's error with errors.Is against
// the sentinel it names (and, where the server has one, its HTTP problem
// code), and fails if a file has no vectors or if the files differ from what
// the generator writes today.
//
// # Regenerating
//
// The files are written by a test, because only a test can make the
// library's randomness deterministic (testing/cryptotest.SetGlobalRandom,
// which also covers crypto/rsa and crypto/hpke internals; the library draws
// all its randomness through internal/rnd, from crypto/rand). Each file has
// a fixed seed, the keys are the committed fixtures of internal/testkeys,
// and the HTTP exchanges run on a fixed clock and a fixed server secret.
// Either command rewrites the files, and then the examples in
// docs/PROTOCOL.md:
//
//	go generate ./testvectors
//	go test ./testvectors -run 'TestGenerate|TestProtocolExamples' -args -update
//
// Regenerating without a format change leaves the files as they are, and
// TestGenerate checks that it does. Go does not promise that its crypto
// packages consume randomness the same way in every release, so a new Go
// version may change the ciphertexts, salts and nonces the generator
// writes: every vector still checks, and TestGenerate asks for the files
// to be regenerated.
//
//go:generate go test -run TestGenerate|TestProtocolExamples -args -update
package testvectors
