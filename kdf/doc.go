// Package kdf turns a password into a key, with parameters that describe
// themselves.
//
// A [Params] value names the algorithm (Argon2id, scrypt or PBKDF2-SHA-256),
// carries the salt and the costs, and encodes to a short CBOR array that is
// stored next to whatever the key protects. Whoever later holds the password
// reads the parameters back with [Parse] and calls [Params.Derive]; nothing
// about the derivation is configured out of band.
//
// [Default] is Argon2id with m = 64 MiB, t = 3, p = 4, the second
// recommended option of [RFC 9106, Section 4], for devices that cannot afford
// the first (2 GiB). [Calibrate] raises those costs to what this machine can
// do in a given time. scrypt and PBKDF2-SHA-256 can be read and derived for
// compatibility; new parameters should use Argon2id.
//
// # Encoding
//
// Parameters are a CBOR array ([RFC 8949]) in core deterministic encoding
// (Section 4.2.1), so that a value has exactly one encoding. In CDDL
// ([RFC 8610]):
//
//	kdf-params = argon2id / scrypt / pbkdf2-sha256
//	salt       = bstr .size (16..64)
//	argon2id      = [1, salt, memory-kib: uint .size 4, time: uint .size 4, threads: 1..255]
//	scrypt        = [2, salt, log-n: 1..63, r: uint .size 4, p: uint .size 4]
//	pbkdf2-sha256 = [3, salt, iterations: uint .size 4]
//
// [Parse] is strict: indefinite lengths, tags, non-minimal integers, extra or
// missing elements, trailing bytes, salts outside 16..64 bytes and costs that
// the algorithm cannot run (Argon2id memory below 8 KiB per thread, scrypt
// r·p ≥ 2³⁰, zero passes or iterations) are all [ErrMalformed]; an unknown
// type code is [ErrUnknownAlgorithm]. An accepted input re-encodes to the
// same bytes.
//
// # Ceilings and floors
//
// Parameters travel with the data, so whoever stores the data chooses the
// work that whoever opens it must do. Two policies bound that choice, one on
// each side.
//
// [Ceilings] are the client's: the most work a device will do for one
// derivation. A hostile or broken server can hand a client parameters that ask
// for 64 GiB of memory or a billion iterations; without a ceiling the client
// would try, and exhaust its memory or hang. A client checks the parameters
// against its ceilings before it derives, as age does with its scrypt work
// factor (SetMaxWorkFactor). [DefaultCeilings] allows Argon2id up to 1 GiB,
// 16 passes and 16 lanes, scrypt up to N = 2²² and 128·r·N = 1 GiB with
// p ≤ 16, and PBKDF2 up to 10,000,000 iterations.
//
// [Floors] are the server's: the least work a server will accept before it
// stores something protected by a password. A sealed registry can be
// downloaded by anyone who knows a login name, so its KDF is the only thing
// between an offline attacker and the keys inside; a server that stored a
// block derived with 1,000 PBKDF2 iterations would be publishing its user's
// keys. [DefaultFloors] are the minimums of the [OWASP Password Storage Cheat
// Sheet]: Argon2id m ≥ 19 MiB and t ≥ 2; scrypt N ≥ 2¹⁷ and r ≥ 8 (OWASP
// names r = 8; a larger block size only costs more, so it is accepted);
// PBKDF2-SHA-256 ≥ 600,000 iterations. Floors cannot judge the password
// itself; they only make each guess expensive.
//
// Every refusal is a [*PolicyError] that matches, with [errors.Is], both the
// sentinel for the field that failed (such as [ErrMemoryAboveCeiling]) and
// the umbrella [ErrAboveCeiling] or [ErrBelowFloor].
//
// [RFC 9106, Section 4]: https://www.rfc-editor.org/rfc/rfc9106#section-4
// [RFC 8949]: https://www.rfc-editor.org/rfc/rfc8949
// [RFC 8610]: https://www.rfc-editor.org/rfc/rfc8610
// [OWASP Password Storage Cheat Sheet]: https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
package kdf
