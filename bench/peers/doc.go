// Package peers benchmarks, on the same machine and in the same run as
// Attesta's own benchmarks, the server side of a login with the systems a
// user would otherwise pick:
//
//   - WebAuthn (github.com/go-webauthn/webauthn), an ES256 assertion:
//     BeginLogin, then ParseCredentialRequestResponseBytes and
//     ValidateLogin, the relying party's whole per-login work in that
//     library.
//   - OPAQUE (RFC 9807) with ristretto255-SHA512: the server's
//     GenerateKE2 (credential response with the OPRF evaluation, and the
//     3DH key exchange) and ServerFinish, composed over
//     github.com/cloudflare/circl's oprf and group packages.
//
// It is a module of its own so that Attesta's go.mod stays clean; run it
// with
//
//	cd bench/peers && go test -run X -bench .
//
// Every benchmark runs its timed phases with about 64 goroutines and keeps
// the client's work (signing, unblinding, the client's key exchange) out of
// the timer, as Attesta's BenchmarkConnect does. Each has a "store=sync"
// variant that adds, to the step that logs the user in, one synced Pebble
// batch of six sets, the store part of Attesta's primitive floor, so that
// the costs compare with Attesta's, which always include its synced
// commit.
package peers
