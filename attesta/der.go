package attesta

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// The DER private-key containers: PKCS#1 RSAPrivateKey (RFC 8017 §A.1.2),
// PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208, RFC 5958) and SEC 1
// ECPrivateKey (RFC 5915).
//
// readDER reads their structure with cryptobyte, and the size of every
// INTEGER from its encoding, before anything turns it into a number:
// x509.ParsePKCS1PrivateKey and ParsePKCS8PrivateKey build big integers of
// any size and then precompute and validate with them (an exponentiation
// modulo p when the CRT values are absent), which is where a 2 KB key with
// a 16384-bit prime cost 8.7 s. readDER is a length check and a shape
// check, not a second implementation of x509: the converters still hand
// the bytes to x509 once readDER has passed them, and the disclosure
// check only ever computes with the numbers through proveRSA.

// errNotPrivate: the bytes are not a private key in the form a reader
// looks for (they may still be in another form).
var errNotPrivate = errors.New("attesta: not a private key in this form")

// derKind is the container readDER found.
type derKind int

const (
	derPKCS1        derKind = iota + 1 // RSAPrivateKey
	derPKCS8RSA                        // PKCS#8 holding an RSAPrivateKey
	derPKCS8X25519                     // PKCS#8 holding an X25519 scalar (RFC 8410)
	derPKCS8Foreign                    // PKCS#8 of another algorithm (Ed25519, ECDSA, …)
	derSEC1                            // ECPrivateKey: a foreign type
)

// derKey is what readDER read.
type derKey struct {
	kind   derKind
	rsa    rsaParts // derPKCS1, derPKCS8RSA
	scalar []byte   // derPKCS8X25519
}

var (
	oidRSA    = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01} // 1.2.840.113549.1.1.1
	oidX25519 = []byte{0x2b, 0x65, 0x6e}                                     // 1.3.101.110
)

// readDER reads a DER private key: errNotPrivate if der is none of the
// containers, an error matching ErrKeyTooLarge if an RSA number is over
// its bound, another error (ErrBadKey, ErrUnsupportedKey) if the
// container is recognised but not a key this package can read: a
// multi-prime RSA key, a PKCS#8 key whose inner key is malformed.
func readDER(der []byte) (derKey, error) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, asn1.SEQUENCE) || !s.Empty() {
		return derKey{}, errNotPrivate
	}
	var version cryptobyte.String
	if !seq.ReadASN1(&version, asn1.INTEGER) {
		return derKey{}, errNotPrivate
	}
	switch {
	case seq.PeekASN1Tag(asn1.INTEGER):
		r, err := readPKCS1Body(version, seq)
		return derKey{kind: derPKCS1, rsa: r}, err
	case seq.PeekASN1Tag(asn1.SEQUENCE):
		return readPKCS8Body(version, seq)
	case seq.PeekASN1Tag(asn1.OCTET_STRING):
		// SEC 1: version 1, the private scalar, optional [0] curve and [1]
		// public point. Nothing is computed from it: an elliptic-curve key
		// has no packed form, so there is nothing to prove or ban.
		var scalar cryptobyte.String
		if !isSmallInt(version, 1) || !seq.ReadASN1(&scalar, asn1.OCTET_STRING) || len(scalar) == 0 || len(scalar) > 66 {
			return derKey{}, errNotPrivate
		}
		return derKey{kind: derSEC1}, nil
	}
	return derKey{}, errNotPrivate
}

// readPKCS1Body reads the rest of an RSAPrivateKey after its version:
// the eight INTEGERs of a two-prime key (n, e, d, p, q, dP, dQ, qInv),
// their sizes checked only once the whole structure has been read. All
// five CRT numbers are required, as RFC 8017 has them: x509 would
// otherwise recompute them with an exponentiation. A multi-prime key
// (version 1 and otherPrimeInfos) is refused as unsupported.
func readPKCS1Body(version, seq cryptobyte.String) (rsaParts, error) {
	var ints [8][]byte
	for i := range ints {
		var err error
		if ints[i], err = readDERUint(&seq); err != nil {
			return rsaParts{}, errNotPrivate
		}
	}
	switch {
	case isSmallInt(version, 0) && seq.Empty():
	case isSmallInt(version, 1) && seq.PeekASN1Tag(asn1.SEQUENCE):
		return rsaParts{}, fmt.Errorf("%w: multi-prime rsa", ErrUnsupportedKey)
	default:
		return rsaParts{}, errNotPrivate
	}
	return rsaPartsOf([]rsaField{fieldN, fieldE, fieldD, fieldP, fieldQ, fieldDP, fieldDQ, fieldQInv}, ints[:])
}

// readPKCS8Body reads the rest of a PrivateKeyInfo after its version: the
// algorithm, the private key, and optional attributes and public key,
// which are skipped (a public key in clear is never what is banned).
func readPKCS8Body(version, seq cryptobyte.String) (derKey, error) {
	var alg, oid, inner cryptobyte.String
	if !isSmallInt(version, 0) && !isSmallInt(version, 1) ||
		!seq.ReadASN1(&alg, asn1.SEQUENCE) || !alg.ReadASN1(&oid, asn1.OBJECT_IDENTIFIER) ||
		!seq.ReadASN1(&inner, asn1.OCTET_STRING) {
		return derKey{}, errNotPrivate
	}
	if !seq.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) ||
		!seq.SkipOptionalASN1(asn1.Tag(1).ContextSpecific()) || !seq.Empty() {
		return derKey{}, errNotPrivate
	}
	switch {
	case string(oid) == string(oidRSA):
		// The parameters are NULL (RFC 8017 §A.1) or, from some encoders,
		// absent.
		var rsaSeq, v, null cryptobyte.String
		if alg.PeekASN1Tag(asn1.NULL) && (!alg.ReadASN1(&null, asn1.NULL) || len(null) != 0) || !alg.Empty() {
			return derKey{}, fmt.Errorf("%w: pkcs#8 rsa parameters", ErrBadKey)
		}
		if !inner.ReadASN1(&rsaSeq, asn1.SEQUENCE) || !inner.Empty() || !rsaSeq.ReadASN1(&v, asn1.INTEGER) || !rsaSeq.PeekASN1Tag(asn1.INTEGER) {
			return derKey{}, fmt.Errorf("%w: pkcs#8 rsa key", ErrBadKey)
		}
		r, err := readPKCS1Body(v, rsaSeq)
		if errors.Is(err, errNotPrivate) {
			err = fmt.Errorf("%w: pkcs#8 rsa key", ErrBadKey)
		}
		return derKey{kind: derPKCS8RSA, rsa: r}, err
	case string(oid) == string(oidX25519):
		var scalar cryptobyte.String
		if !alg.Empty() || !inner.ReadASN1(&scalar, asn1.OCTET_STRING) || !inner.Empty() || len(scalar) != x25519Size {
			return derKey{}, fmt.Errorf("%w: pkcs#8 x25519 key", ErrBadKey)
		}
		return derKey{kind: derPKCS8X25519, scalar: scalar}, nil
	}
	return derKey{kind: derPKCS8Foreign}, nil
}

// readDERUint reads a DER INTEGER that must not be negative and returns
// its magnitude without the sign byte (empty for zero). cryptobyte has
// already checked the length encoding; this checks the minimal encoding
// of the value.
func readDERUint(s *cryptobyte.String) ([]byte, error) {
	var b cryptobyte.String
	if !s.ReadASN1(&b, asn1.INTEGER) || len(b) == 0 {
		return nil, fmt.Errorf("%w: asn.1 integer", ErrBadKey)
	}
	if b[0]&0x80 != 0 {
		return nil, fmt.Errorf("%w: negative asn.1 integer", ErrBadKey)
	}
	if len(b) > 1 && b[0] == 0 && b[1]&0x80 == 0 {
		return nil, fmt.Errorf("%w: asn.1 integer not minimally encoded", ErrBadKey)
	}
	if b[0] == 0 {
		b = b[1:]
	}
	return b, nil
}

// isSmallInt reports whether the content of a DER INTEGER is the value v
// (0 ≤ v < 128).
func isSmallInt(b cryptobyte.String, v byte) bool { return len(b) == 1 && b[0] == v }
