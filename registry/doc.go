// Package registry seals a party's registry (its party id, packed private
// keys and application data) under a password, in a block that can be
// stored on a server and fetched by anyone, and opens it again.
//
// [Seal] encrypts a [Plaintext] under a key derived from a password with the
// given [kdf.Params]; [Open] reads the parameters back from the block,
// checks them against the caller's [kdf.Ceilings], derives and decrypts.
// [Inspect] parses a block without a password, so that a server can hold its
// KDF to [kdf.Floors] before storing it, and a client can see what it is
// about to run. [ChangePassword] reseals under a new password.
//
// # Format
//
// A block is CBOR ([RFC 8949]) in core deterministic encoding. In CDDL
// ([RFC 8610]):
//
//	block = [
//	  header,
//	  ciphertext: bstr,        ; k·4096 + 16 bytes, k ≥ 1
//	]
//	header = [
//	  version: 1,
//	  kdf: kdf-params,         ; see package kdf, salt included
//	  aead: 1,                 ; XChaCha20-Poly1305
//	  nonce: bstr .size 24,
//	]
//	plaintext = {
//	  ? 1 => tstr,             ; party id
//	  ? 2 => [+ bstr],         ; packed private keys, in order
//	  ? 3 => int,              ; created, seconds since 1970-01-01 UTC
//	  ? 4 => { + tstr => bstr }, ; application data
//	}
//
// Empty fields are left out, so each Plaintext has one encoding. Every later
// version keeps the skeleton [[version, ...], ...], so that a reader can tell
// a block it does not support ([ErrUnsupportedVersion]) from a damaged one
// ([ErrMalformed]).
//
// The ciphertext is XChaCha20-Poly1305 of the padded plaintext, with a random
// 24-byte nonce, and with the exact encoded bytes of the header as associated
// data. The header therefore needs no authentication of its own: a changed
// version, KDF algorithm, cost, salt, AEAD or nonce makes Open fail, and no
// field can be downgraded without detection. The key is
//
//	HKDF-Expand-SHA-256(PRK = KDF(password, 32 bytes), info = "attesta registry v1 key", L = 32)
//
// ([RFC 5869]); the HKDF step binds the key to this format and version, so
// the same password and parameters used for another purpose give another key.
//
// # Padding
//
// The encoded plaintext is followed by zero bytes up to the next multiple of
// [PadBlock] (4096 bytes; no padding when it already is one). Open decodes
// exactly one CBOR item, which delimits itself, and requires every byte after
// it to be zero. A block's size therefore says only how many 4 KiB buckets
// its plaintext needs, not how many keys or how much application data it
// holds. A block may not exceed [MaxBlockSize] (64 KiB): 15 buckets.
//
// # Decoding
//
// Both the envelope and the plaintext are decoded with limits on nesting,
// array and map lengths and total size; indefinite lengths, tags, duplicate
// map keys and unknown plaintext keys are refused; and the accepted value
// must re-encode to the bytes it came from, so non-minimal integers and
// unsorted maps are refused too. An accepted block has exactly one encoding.
//
// # Errors
//
// Open cannot tell a wrong password from a changed header or ciphertext:
// the AEAD check fails the same way, and [ErrWrongPassword] stands for both.
// A block that does not parse is [ErrMalformed]; it never reaches the KDF.
// Ceiling refusals are returned as the kdf package's errors, wrapped.
//
// [RFC 8949]: https://www.rfc-editor.org/rfc/rfc8949
// [RFC 8610]: https://www.rfc-editor.org/rfc/rfc8610
// [RFC 5869]: https://www.rfc-editor.org/rfc/rfc5869
package registry
