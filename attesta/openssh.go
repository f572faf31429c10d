package attesta

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// The OpenSSH private-key container, openssh-key-v1 (OpenSSH's
// PROTOCOL.key):
//
//	"openssh-key-v1\0"
//	string ciphername, string kdfname, string kdfoptions
//	uint32 number of keys (1)
//	string public key (in clear)
//	string private section, encrypted unless ciphername is "none":
//	    uint32 check, uint32 check (equal)
//	    string key type, the key's fields, string comment
//	    padding 1, 2, 3, … to a multiple of the cipher's block size (8)
//
// with RSA's fields the mpints n, e, d, q⁻¹ mod p, p, q (RFC 4251 §5).
//
// readOpenSSH reads it with cryptobyte, checking every length, instead of
// handing it to x/crypto/ssh: ssh.ParseRawPrivateKey validates an RSA key
// with crypto/rsa, which recomputes q⁻¹ mod p by an exponentiation modulo
// p (0.78 s for the 8192-bit primes ssh allows), for any odd numbers an
// attacker writes. The disclosure check needs only the numbers, for
// proveRSA. It never decrypts: a server holds no passphrase, so an
// encrypted container is reported as such without reading its KDF
// parameters, and no KDF ever runs for an attacker, whatever rounds it
// asks for. FuzzOpenSSHContainer checks readOpenSSH against x/crypto/ssh.

const opensshMagic = "openssh-key-v1\x00"

// opensshKey is what readOpenSSH read.
type opensshKey struct {
	encrypted bool     // a cipher other than "none": nothing else was read
	keyType   string   // of the private section
	rsa       rsaParts // for "ssh-rsa"
}

// readOpenSSH reads an openssh-key-v1 container: errNotPrivate if b does
// not start with the magic; an error matching ErrKeyTooLarge if an RSA
// number is over its bound; ErrBadKey if the container is malformed. The
// public key in clear is skipped: it is never the key banned.
func readOpenSSH(b []byte) (opensshKey, error) {
	rest, ok := bytes.CutPrefix(b, []byte(opensshMagic))
	if !ok {
		return opensshKey{}, errNotPrivate
	}
	s := cryptobyte.String(rest)
	var cipher, kdf, kdfOpts, pub, priv cryptobyte.String
	var nkeys uint32
	if !readSSHString(&s, &cipher) || !readSSHString(&s, &kdf) || !readSSHString(&s, &kdfOpts) ||
		!s.ReadUint32(&nkeys) || nkeys != 1 || !readSSHString(&s, &pub) || !readSSHString(&s, &priv) || !s.Empty() {
		return opensshKey{}, fmt.Errorf("%w: openssh container", ErrBadKey)
	}
	if string(cipher) != "none" {
		return opensshKey{encrypted: true}, nil
	}
	if string(kdf) != "none" || len(kdfOpts) != 0 || len(priv)%8 != 0 {
		return opensshKey{}, fmt.Errorf("%w: openssh container", ErrBadKey)
	}
	var check1, check2 uint32
	var keyType cryptobyte.String
	if !priv.ReadUint32(&check1) || !priv.ReadUint32(&check2) || check1 != check2 || !readSSHString(&priv, &keyType) {
		return opensshKey{}, fmt.Errorf("%w: openssh private section", ErrBadKey)
	}
	k := opensshKey{keyType: string(keyType)}
	if k.keyType != "ssh-rsa" {
		// Ed25519, ECDSA, security keys, DSA: no packed form, nothing to
		// prove or ban; their fields are not read.
		return k, nil
	}
	// The six mpints, then the comment and the padding: the structure is
	// read whole before any size is judged.
	var ints [6][]byte
	for i := range ints {
		var err error
		if ints[i], err = readMPInt(&priv); err != nil {
			return opensshKey{}, err
		}
	}
	var comment cryptobyte.String
	if !readSSHString(&priv, &comment) || len(priv) >= 8 {
		return opensshKey{}, fmt.Errorf("%w: openssh private section", ErrBadKey)
	}
	for i, c := range priv {
		if c != byte(i+1) {
			return opensshKey{}, fmt.Errorf("%w: openssh padding", ErrBadKey)
		}
	}
	var err error
	k.rsa, err = rsaPartsOf([]rsaField{fieldN, fieldE, fieldD, fieldQInv, fieldP, fieldQ}, ints[:])
	if err != nil {
		return opensshKey{}, err
	}
	return k, nil
}

// readMPInt reads a non-negative mpint (RFC 4251 §5: two's complement,
// big-endian, no unneeded leading byte, zero as the empty string) and
// returns its magnitude.
func readMPInt(s *cryptobyte.String) ([]byte, error) {
	var b cryptobyte.String
	if !readSSHString(s, &b) {
		return nil, fmt.Errorf("%w: openssh mpint", ErrBadKey)
	}
	if len(b) > 0 && b[0]&0x80 != 0 {
		return nil, fmt.Errorf("%w: negative openssh mpint", ErrBadKey)
	}
	if len(b) > 0 && b[0] == 0 {
		if len(b) == 1 || b[1]&0x80 == 0 {
			return nil, fmt.Errorf("%w: openssh mpint not minimally encoded", ErrBadKey)
		}
		b = b[1:]
	}
	return b, nil
}

// readSSHString reads an SSH string (RFC 4251 §5: a uint32 length, then
// the bytes) into out.
func readSSHString(s *cryptobyte.String, out *cryptobyte.String) bool {
	var n uint32
	var b []byte
	if !s.ReadUint32(&n) || uint64(n) > uint64(len(*s)) || !s.ReadBytes(&b, int(n)) {
		return false
	}
	*out = b
	return true
}
