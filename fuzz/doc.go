// Package fuzz holds the fuzz targets for every Attesta decoder that sees
// untrusted bytes. It has no code of its own, only tests.
//
// # Targets
//
//   - FuzzParsePublicKey, FuzzParsePrivateKey, FuzzParsePEM: packed keys
//     and PEM key files.
//   - FuzzDetectPrivateKey: the server's check for a private key sent
//     where a public one belongs; FuzzOpenSSHContainer and
//     FuzzPrivateKeyDER: its OpenSSH and DER readers, each against
//     x/crypto/ssh and crypto/x509 (the same key or none). The key
//     targets' seeds include numbers over their bounds in every form.
//   - FuzzKDFParams: the self-describing KDF parameters (kdf.Parse).
//   - FuzzRegistryInspect, FuzzRegistryOpen: the registry block and its
//     header; FuzzRegistryPlaintext: the plaintext inside, which the
//     target seals itself so that mutations get past the AEAD.
//   - FuzzIdentifier: identifier normalisation and ParseLogin.
//   - FuzzBearerTokens: sessions, application tokens, party and key ids.
//   - FuzzHandler: any request to any route of transport.Handler over a
//     real Service and Pebble store; FuzzBodiesJSON and FuzzBodiesCBOR:
//     the request bodies of every route, through the handler's strict
//     decoders.
//   - FuzzClientAnswers: any answer to every call of the Go client.
//
// # Properties
//
// Each parser target checks two properties where they apply: a failed
// parse returns no value, and a successful parse re-encodes to the same
// bytes. The HTTP targets check that the handler never panics, never
// answers 5xx, and answers every refusal as application/problem+json with
// a code from transport's table. A target fails if its seed corpus is
// empty.
//
// # Seeds
//
// Seeds come from the fixtures (internal/testkeys, blocks sealed with
// cheap KDF parameters, the wire types of every request body in JSON and
// CBOR) and from the byte fields of the published vectors
// (testvectors/**/*.json), plus the regression inputs kept in
// testdata/fuzz/<Target>/. They run in every go test ./....
//
// # Running
//
// CI (.ci/run) fuzzes each target for a fixed count of inputs, about ten
// seconds' worth (fuzz/run-long.sh ci; the counts are in the script).
// Counts, not durations: in Go 1.26 a duration -fuzztime can fail a target
// with "context deadline exceeded" and no crasher (golang/go#75804), and a
// count has no deadline to race. For longer runs:
//
//	go test -run '^$' -fuzz '^FuzzHandler$' -fuzztime 10m ./fuzz
//	fuzz/run-long.sh 1h        # every target in turn, with a summary
//	fuzz/run-long.sh 2000000x  # every target for two million inputs
//
// A failing input is written to testdata/fuzz/<Target>/: fix the bug and
// keep the file as a regression seed.
package fuzz
