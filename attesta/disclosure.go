package attesta

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Disclosure: a private key sent where a public key belongs.
//
// # The proof rule
//
// A key id is banned only when the server holds proof of its private
// half: a private key it has read, whose public key it computed from the
// private material itself — for RSA the modulus as p·q from the primes,
// with the rest of the key consistent (proveRSA); for X25519 the point
// from the scalar; for MLKEM768-X25519 the encapsulation key from the
// seed. A public key written in clear beside the private material (the
// public part of an OpenSSH container, the publicKey field of PKCS#8 v2,
// the modulus of a PKCS#1 key) is never what is banned: a public key is
// public, and anyone can put a victim's into a container. A ban on such
// a key would let anyone lock any account forever.
//
// A container the server cannot open — an encrypted OpenSSH key (any
// cipher, any KDF), an encrypted PKCS#8 or PEM block, a "… PRIVATE KEY"
// block that is no key, an RSA key whose numbers do not agree, a key of a
// type with no packed form — is still a disclosure (its sender has
// published something it calls a private key, and the answer is
// ErrPrivateKeyDisclosed), but it proves nothing and bans nothing.
//
// # Bounded work
//
// Every number is checked for size before it becomes a number (rsa.go),
// no exponentiation runs (proveRSA), no KDF runs (an encrypted container
// is reported as such), at most maxPEMBlocks PEM blocks and
// MaxKeyFileSize bytes are read. A number over its bound is refused with
// ErrKeyTooLarge before any arithmetic, and bans nothing: no key the
// protocol accepts can have such a part.

// maxPEMBlocks bounds the PEM blocks DetectPrivateKey reads from one
// input, private or not. A key file holds one key; four leave room for a
// key beside its certificate chain, and bound the work to four proofs.
const maxPEMBlocks = 4

// DetectPrivateKey reports whether data is a private key in a form the
// server recognises, where a public key was expected: the packed private
// forms; PKCS#1, PKCS#8 or SEC 1 DER; a raw OpenSSH container
// ("openssh-key-v1\0…"); or PEM blocks whose type contains "PRIVATE KEY"
// (of these, the first maxPEMBlocks blocks). Input over MaxKeyFileSize is
// not read.
//
// It returns:
//   - nil, nil: data is none of these.
//   - proven, ErrPrivateKeyDisclosed with proven non-empty: data holds the
//     private half of each key in proven (see the proof rule above); the
//     server bans them.
//   - nil, an error matching ErrPrivateKeyDisclosed: data is a private key
//     container that proves nothing (encrypted, malformed, inconsistent,
//     or of a foreign type such as ECDSA or Ed25519); nothing is banned.
//   - nil, an error matching ErrKeyTooLarge: data has the form of an RSA
//     private key with a number over its bound (MaxRSABits,
//     MaxRSAPrimeBits); it was refused before any arithmetic, and nothing
//     is banned.
//
// A disclosure that proves a key wins over one that does not, and both
// over a refusal for size, when data holds several PEM blocks. The cost
// is bounded: at most maxPEMBlocks proofs of a few multiplications of
// MaxRSABits-bit numbers (BenchmarkWorstKeyInput).
func DetectPrivateKey(data []byte) (proven []*PublicKey, err error) {
	if len(data) > MaxKeyFileSize {
		return nil, nil
	}
	var d detection
	if d.add(detectRaw(data)) {
		return d.result()
	}
	rest := data
	for range maxPEMBlocks {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			d.add(detectPEMBlock(b))
		}
	}
	return d.result()
}

// detection gathers what the readings of one input found.
type detection struct {
	proven   []*PublicKey
	unproven error // the first disclosure that proved nothing
	tooLarge error // the first refusal for size
}

// add records one reading: a proven key (err nil), errNotPrivate
// (nothing), a refusal for size, or a disclosure without proof (any other
// error, the reason). It reports whether the reading found something.
func (d *detection) add(pub *PublicKey, err error) bool {
	switch {
	case err == nil:
		for _, k := range d.proven {
			if k.id == pub.id {
				return true
			}
		}
		d.proven = append(d.proven, pub)
	case errors.Is(err, errNotPrivate):
		return false
	case errors.Is(err, ErrKeyTooLarge):
		if d.tooLarge == nil {
			d.tooLarge = err
		}
	default:
		if d.unproven == nil {
			// %v, not %w: the answer is a disclosure, not the reason's
			// sentinel (ErrBadKey would win in transport's table).
			d.unproven = fmt.Errorf("%w; nothing proven, nothing banned: %v", ErrPrivateKeyDisclosed, strings.TrimPrefix(err.Error(), "attesta: "))
		}
	}
	return true
}

func (d *detection) result() ([]*PublicKey, error) {
	switch {
	case len(d.proven) > 0:
		return d.proven, ErrPrivateKeyDisclosed
	case d.unproven != nil:
		return nil, d.unproven
	}
	return nil, d.tooLarge
}

// detectRaw reads data as one private key in a binary form: packed, an
// OpenSSH container, or DER.
func detectRaw(data []byte) (*PublicKey, error) {
	if bytes.HasPrefix(data, []byte(opensshMagic)) {
		return detectOpenSSH(data)
	}
	if pub, err := detectPacked(data); !errors.Is(err, errNotPrivate) {
		return pub, err
	}
	return detectDER(data)
}

// detectPacked reads a packed private key of the right shape (the field
// count and lengths of its type, canonical magnitudes); anything else is
// errNotPrivate, and left to ParsePublicKey's answer.
func detectPacked(data []byte) (*PublicKey, error) {
	typ, f, err := decodePacked(data)
	if err != nil {
		return nil, errNotPrivate
	}
	switch typ {
	case RSAPrivate:
		r, err := rsaPackedParts(f)
		switch {
		case errors.Is(err, ErrKeyTooLarge), errors.Is(err, ErrBadExponent):
			return nil, err
		case err != nil:
			return nil, errNotPrivate
		}
		return proveRSA(r)
	case X25519Private:
		k, err := parseX25519Private(f)
		if err != nil {
			return nil, errNotPrivate
		}
		return k.pub, nil
	case MLKEM768X25519Private:
		k, err := parseMLKEMPrivate(f)
		if err != nil {
			return nil, errNotPrivate
		}
		return k.pub, nil
	}
	return nil, errNotPrivate
}

// detectDER reads a PKCS#1, PKCS#8 or SEC 1 private key.
func detectDER(der []byte) (*PublicKey, error) {
	k, err := readDER(der)
	if err != nil {
		return nil, err
	}
	switch k.kind {
	case derPKCS1, derPKCS8RSA:
		return proveRSA(k.rsa)
	case derPKCS8X25519:
		key, err := x25519FromScalar(k.scalar)
		if err != nil {
			return nil, err
		}
		return key.pub, nil
	}
	return nil, errors.New("a private key of a type with no packed form")
}

// detectOpenSSH reads an openssh-key-v1 container. Everything that starts
// with its magic is a disclosure; only an unencrypted RSA key that
// proveRSA accepts proves one, and the key banned is the one computed
// from its private section, never the public key in clear.
func detectOpenSSH(data []byte) (*PublicKey, error) {
	k, err := readOpenSSH(data)
	switch {
	case errors.Is(err, ErrKeyTooLarge):
		return nil, err
	case err != nil:
		return nil, err
	case k.encrypted:
		return nil, errors.New("an encrypted openssh container (it is never decrypted)")
	case k.keyType != "ssh-rsa":
		return nil, errors.New("an openssh key of a type with no packed form")
	}
	return proveRSA(k.rsa)
}

// detectPEMBlock reads one PEM block whose type says private key. Every
// failure to prove is a disclosure without proof, except a refusal for
// size.
func detectPEMBlock(b *pem.Block) (*PublicKey, error) {
	if len(b.Headers) != 0 {
		// RFC 1421 encryption (Proc-Type: 4,ENCRYPTED, DEK-Info): the body
		// is ciphertext.
		return nil, errors.New("an encrypted pem block")
	}
	var (
		pub *PublicKey
		err error
	)
	switch b.Type {
	case pemPrivate:
		pub, err = detectPacked(b.Bytes)
	case "OPENSSH PRIVATE KEY":
		pub, err = detectOpenSSH(b.Bytes)
	default:
		pub, err = detectDER(b.Bytes)
	}
	if errors.Is(err, errNotPrivate) {
		return nil, errors.New("a private key pem block that holds no key this server reads")
	}
	return pub, err
}
