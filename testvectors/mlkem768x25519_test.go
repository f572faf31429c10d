package testvectors_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/attesta-go/attesta/attesta"
	"github.com/attesta-go/attesta/internal/testkeys"
)

// The HPKE KEM MLKEM768-X25519 (KEM id 0x647a; the X-Wing KEM) step by
// step, for an implementer whose library has ML-KEM-768 and X25519 but
// not this KEM: docs/PROTOCOL.md §3.1 describes each step, and every
// intermediate value is in mlkem768x25519.json. The generator encrypts
// with Go's crypto/hpke and then recomputes each step from the
// primitives (crypto/mlkem, crypto/ecdh, crypto/sha3, crypto/hkdf), so
// that the file says what Go does and the description is checked against
// it.

type mlkemFile struct {
	Description string `json:"description"`
	// Suite is the HPKE suite of challenge encryption to these keys.
	Suite hpkeSuite `json:"suite"`
	// Info is HPKE's info string, the label of challenge encryption.
	Info string `json:"info"`
	// CombinerLabel is the last input of the shared-secret combiner.
	CombinerLabel Hex           `json:"combiner_label"`
	Vectors       []mlkemVector `json:"vectors"`
}

// mlkemVector decrypts encrypted_token with the packed private key. A
// positive vector has every intermediate value; a negative one only the
// ciphertext and its error.
type mlkemVector struct {
	vectorBase
	Private Hex `json:"private"`
	Public  Hex `json:"public"`
	// Seed is the private key's 32 bytes; Expanded is SHAKE256(seed) to 96
	// bytes: the ML-KEM-768 seed d || z (64), then the X25519 private key.
	Seed     Hex `json:"seed,omitempty"`
	Expanded Hex `json:"expanded,omitempty"`
	// EncryptedToken is enc (the ML-KEM-768 ciphertext, 1088 bytes, then
	// the X25519 ephemeral public key, 32) followed by the AEAD ciphertext.
	EncryptedToken Hex `json:"encrypted_token"`
	// The KEM's decapsulation: each component's shared secret, then the
	// combined one, which is HPKE's shared_secret.
	MLKEMSharedSecret  Hex `json:"mlkem_shared_secret,omitempty"`
	X25519SharedSecret Hex `json:"x25519_shared_secret,omitempty"`
	SharedSecret       Hex `json:"shared_secret,omitempty"`
	// Key and BaseNonce come from RFC 9180's key schedule in mode_base.
	Key       Hex    `json:"key,omitempty"`
	BaseNonce Hex    `json:"base_nonce,omitempty"`
	Token     Hex    `json:"token,omitempty"`
	Error     string `json:"error,omitempty"`
}

const (
	mlkemKEMID = 0x647a
	// xwingLabel is the X-Wing combiner label, the ASCII bytes \.//^\ .
	xwingLabel = "\\.//^\\"
)

var mlkemSuite = hpkeSuite{KEM: mlkemKEMID, KDF: 0x0001, AEAD: 0x0003}

// xwingParts are the keys a 32-byte seed expands to.
type xwingParts struct {
	expanded []byte
	dk       *mlkem.DecapsulationKey768
	sk       *ecdh.PrivateKey
	public   []byte // ML-KEM-768 encapsulation key || X25519 public key
}

func expandSeed(t *testing.T, seed []byte) xwingParts {
	t.Helper()
	expanded := make([]byte, 96)
	h := sha3.NewSHAKE256()
	h.Write(seed)
	h.Read(expanded)
	dk, err := mlkem.NewDecapsulationKey768(expanded[:64])
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ecdh.X25519().NewPrivateKey(expanded[64:])
	if err != nil {
		t.Fatal(err)
	}
	return xwingParts{expanded, dk, sk, cat(dk.EncapsulationKey().Bytes(), sk.PublicKey().Bytes())}
}

// combiner is a way to combine the two shared secrets: the right one,
// xwingCombiner, and the wrong ones of the negative vectors.
type combiner func(ssM, ssX, ctX, pkX, enc, pkR []byte) []byte

func xwingCombiner(ssM, ssX, ctX, pkX, _, _ []byte) []byte {
	return sha3Sum(ssM, ssX, ctX, pkX, []byte(xwingLabel))
}

func sha3Sum(parts ...[]byte) []byte {
	s := sha3.Sum256(cat(parts...))
	return s[:]
}

// decapsulate is the KEM's Decap, for a combiner.
func (x xwingParts) decapsulate(t *testing.T, enc []byte, comb combiner) (ssM, ssX, ss []byte, ok bool) {
	t.Helper()
	if len(enc) != mlkem.CiphertextSize768+32 {
		return nil, nil, nil, false
	}
	ssM, err := x.dk.Decapsulate(enc[:mlkem.CiphertextSize768])
	if err != nil {
		return nil, nil, nil, false
	}
	ctX := enc[mlkem.CiphertextSize768:]
	eph, err := ecdh.X25519().NewPublicKey(ctX)
	if err != nil {
		return nil, nil, nil, false
	}
	if ssX, err = x.sk.ECDH(eph); err != nil { // the all-zero output of a low-order point
		return nil, nil, nil, false
	}
	return ssM, ssX, comb(ssM, ssX, ctX, x.public[mlkem.EncapsulationKeySize768:], enc, x.public), true
}

// labeledExtract and labeledExpand are RFC 9180 §4 for a suite id. HKDF
// fails only for lengths these calls never ask for.
func labeledExtract(suite []byte, salt []byte, label string, ikm []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, cat([]byte("HPKE-v1"), suite, []byte(label), ikm), salt)
	if err != nil {
		panic(err)
	}
	return prk
}

func labeledExpand(suite, prk []byte, label string, info []byte, n int) []byte {
	out, err := hkdf.Expand(sha256.New, prk, string(cat(binary.BigEndian.AppendUint16(nil, uint16(n)), []byte("HPKE-v1"), suite, []byte(label), info)), n)
	if err != nil {
		panic(err)
	}
	return out
}

// keySchedule is RFC 9180 §5.1 in mode_base (no PSK) with HKDF-SHA256
// and ChaCha20-Poly1305 (Nk 32, Nn 12).
func keySchedule(ss, info []byte) (key, baseNonce []byte) {
	suite := cat([]byte("HPKE"), binary.BigEndian.AppendUint16(nil, mlkemSuite.KEM), binary.BigEndian.AppendUint16(nil, mlkemSuite.KDF), binary.BigEndian.AppendUint16(nil, mlkemSuite.AEAD))
	context := cat([]byte{0}, labeledExtract(suite, nil, "psk_id_hash", nil), labeledExtract(suite, nil, "info_hash", info))
	secret := labeledExtract(suite, ss, "secret", nil)
	return labeledExpand(suite, secret, "key", context, 32), labeledExpand(suite, secret, "base_nonce", context, 12)
}

// openWith decrypts a ciphertext as the specification says, with comb as
// the combiner; ok is false if it does not decrypt.
func (x xwingParts) openWith(t *testing.T, ct []byte, comb combiner) (token []byte, ok bool) {
	t.Helper()
	n := mlkem.CiphertextSize768 + 32
	if len(ct) < n {
		return nil, false
	}
	_, _, ss, ok := x.decapsulate(t, ct[:n], comb)
	if !ok {
		return nil, false
	}
	key, nonce := keySchedule(ss, []byte(attesta.TokenLabel))
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := aead.Open(nil, nonce, ct[n:], nil)
	return pt, err == nil
}

// sealWith encrypts token to x's public key with comb as the combiner:
// Encap by hand (ML-KEM-768 encapsulation, an ephemeral X25519 key), then
// the key schedule and the AEAD.
func (x xwingParts) sealWith(t *testing.T, token []byte, comb combiner) []byte {
	t.Helper()
	ek, err := mlkem.NewEncapsulationKey768(x.public[:mlkem.EncapsulationKeySize768])
	if err != nil {
		t.Fatal(err)
	}
	ssM, ctM := ek.Encapsulate()
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkX, err := ecdh.X25519().NewPublicKey(x.public[mlkem.EncapsulationKeySize768:])
	if err != nil {
		t.Fatal(err)
	}
	ssX, err := eph.ECDH(pkX)
	if err != nil {
		t.Fatal(err)
	}
	ctX := eph.PublicKey().Bytes()
	enc := cat(ctM, ctX)
	key, nonce := keySchedule(comb(ssM, ssX, ctX, pkX.Bytes(), enc, x.public), []byte(attesta.TokenLabel))
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return aead.Seal(enc, nonce, token, nil)
}

// wrongCombiners are the mistakes of the negative vectors, each a way an
// implementation could read the combiner wrong.
var wrongCombiners = []struct {
	id, comment string
	comb        combiner
}{
	{"combiner-label-first", "sealed with the combiner label first, SHA3-256(label || ss_M || ss_X || ct_X || pk_X), as early X-Wing drafts had it", func(ssM, ssX, ctX, pkX, _, _ []byte) []byte {
		return sha3Sum([]byte(xwingLabel), ssM, ssX, ctX, pkX)
	}},
	{"combiner-no-label", "sealed with the combiner without its label, SHA3-256(ss_M || ss_X || ct_X || pk_X)", func(ssM, ssX, ctX, pkX, _, _ []byte) []byte {
		return sha3Sum(ssM, ssX, ctX, pkX)
	}},
	{"combiner-x25519-first", "sealed with the two shared secrets swapped, SHA3-256(ss_X || ss_M || ct_X || pk_X || label)", func(ssM, ssX, ctX, pkX, _, _ []byte) []byte {
		return sha3Sum(ssX, ssM, ctX, pkX, []byte(xwingLabel))
	}},
	{"combiner-sha256", "sealed with SHA-256 in place of SHA3-256 in the combiner", func(ssM, ssX, ctX, pkX, _, _ []byte) []byte {
		s := sha256.Sum256(cat(ssM, ssX, ctX, pkX, []byte(xwingLabel)))
		return s[:]
	}},
	{"combiner-then-dhkem-extract-and-expand", "sealed with the combined secret run once more through DHKEM's ExtractAndExpand (RFC 9180 §4.1, suite id \"KEM\" || 0x647a, kem_context enc || pkR): the combiner's output is HPKE's shared_secret as it is", func(ssM, ssX, ctX, pkX, enc, pkR []byte) []byte {
		suite := cat([]byte("KEM"), binary.BigEndian.AppendUint16(nil, mlkemKEMID))
		prk := labeledExtract(suite, nil, "eae_prk", xwingCombiner(ssM, ssX, ctX, pkX, nil, nil))
		return labeledExpand(suite, prk, "shared_secret", cat(enc, pkR), 32)
	}},
}

func genMLKEM(t *testing.T) any {
	f := &mlkemFile{
		Description:   "The HPKE KEM MLKEM768-X25519 (0x647a, X-Wing) step by step (docs/PROTOCOL.md, Challenge encryption): the 32-byte seed of a packed private key expands with SHAKE256 to 96 bytes, the ML-KEM-768 seed (64) then the X25519 private key (32); decapsulating enc gives each component's shared secret, combined with SHA3-256 into HPKE's shared_secret; RFC 9180's key schedule in mode_base gives the AEAD key and nonce that open the rest of encrypted_token. Encrypted with Go's crypto/hpke; the negative vectors are sealed with a wrong combiner, and must fail to decrypt. Binary fields are hex.",
		Suite:         mlkemSuite,
		Info:          attesta.TokenLabel,
		CombinerLabel: Hex(xwingLabel),
	}
	kem, kdf, aead := hpkeKEM(t, "hpke-mlkem768x25519")
	for i, size := range []int{32, 156} {
		k := testkeys.Key(t, attesta.MLKEM768X25519, i)
		_, fs := packedFields(t, k.Pack())
		seed := fs[0]
		x := expandSeed(t, seed)
		pk, err := kem.NewPublicKey(x.public)
		if err != nil {
			t.Fatal(err)
		}
		token := make([]byte, size)
		rand.Read(token)
		ct, err := hpke.Seal(pk, kdf, aead, []byte(attesta.TokenLabel), token)
		if err != nil {
			t.Fatal(err)
		}
		enc := ct[:mlkem.CiphertextSize768+32]
		ssM, ssX, ss, ok := x.decapsulate(t, enc, xwingCombiner)
		if !ok {
			t.Fatal("decapsulation failed")
		}
		key, nonce := keySchedule(ss, []byte(attesta.TokenLabel))
		f.Vectors = append(f.Vectors, mlkemVector{
			vectorBase: vectorBase{fmt.Sprintf("fixture-%d", i), fmt.Sprintf("fixture key mlkem768x25519-%d and a %d-byte token, encrypted with crypto/hpke", i, size)},
			Private:    k.Pack(), Public: k.Public().Pack(), Seed: seed, Expanded: x.expanded, EncryptedToken: ct,
			MLKEMSharedSecret: ssM, X25519SharedSecret: ssX, SharedSecret: ss, Key: key, BaseNonce: nonce, Token: token,
		})
	}
	k := testkeys.Key(t, attesta.MLKEM768X25519, 0)
	_, fs := packedFields(t, k.Pack())
	x := expandSeed(t, fs[0])
	token := make([]byte, 32)
	rand.Read(token)
	for _, w := range wrongCombiners {
		ct := x.sealWith(t, token, w.comb)
		_, err := k.DecryptToken(ct)
		f.Vectors = append(f.Vectors, mlkemVector{
			vectorBase: vectorBase{w.id, w.comment}, Private: k.Pack(), Public: k.Public().Pack(),
			EncryptedToken: ct, Error: expect(t, w.id, err, "attesta.ErrDecrypt"),
		})
	}
	return f
}

func TestMLKEM768X25519(t *testing.T) {
	var f mlkemFile
	loadFile(t, "mlkem768x25519.json", &f)
	if f.Suite != mlkemSuite || f.Info != attesta.TokenLabel || string(f.CombinerLabel) != xwingLabel {
		t.Fatalf("constants: %+v %q %x", f.Suite, f.Info, f.CombinerLabel)
	}
	if f.Suite != suites["hpke-mlkem768x25519"] {
		t.Fatal("the suite differs from challenge.json's")
	}
	kem, kdf, aead := hpkeKEM(t, "hpke-mlkem768x25519")
	for _, v := range f.Vectors {
		t.Run(v.ID, func(t *testing.T) {
			t.Parallel()
			k, err := attesta.ParsePrivateKey(v.Private)
			if err != nil {
				t.Fatal(err)
			}
			if k.Public().Type() != attesta.MLKEM768X25519Public || !bytes.Equal(k.Public().Pack(), v.Public) {
				t.Fatal("not the packed public key of the private key")
			}
			_, fs := packedFields(t, v.Private)
			x := expandSeed(t, fs[0])
			_, pub := packedFields(t, v.Public)
			if !bytes.Equal(x.public, pub[0]) {
				t.Fatal("the expanded seed does not give the public key")
			}
			// Go's own KEM agrees with the expansion.
			sk, err := kem.NewPrivateKey(fs[0])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sk.PublicKey().Bytes(), x.public) {
				t.Fatal("crypto/hpke derives another public key")
			}
			got, err := k.DecryptToken(v.EncryptedToken)
			checkError(t, err, v.Error)
			hpkeGot, hpkeErr := hpke.Open(sk, kdf, aead, []byte(f.Info), v.EncryptedToken)
			specGot, specOK := x.openWith(t, v.EncryptedToken, xwingCombiner)
			if v.Error != "" {
				if got != nil || hpkeErr == nil || specOK {
					t.Fatal("a negative vector decrypts")
				}
				if v.Seed != nil || v.Expanded != nil || v.Token != nil || v.SharedSecret != nil || v.MLKEMSharedSecret != nil || v.X25519SharedSecret != nil || v.Key != nil || v.BaseNonce != nil {
					t.Fatal("a negative vector with intermediate values")
				}
				// It is what its comment says: the wrong combiner opens it.
				for _, w := range wrongCombiners {
					if w.id == v.ID {
						if _, ok := x.openWith(t, v.EncryptedToken, w.comb); !ok {
							t.Fatal("the wrong combiner does not open it either")
						}
						return
					}
				}
				t.Fatal("no combiner of that name")
			}
			if !bytes.Equal(fs[0], v.Seed) || !bytes.Equal(x.expanded, v.Expanded) {
				t.Fatal("seed or expansion differs")
			}
			ssM, ssX, ss, ok := x.decapsulate(t, v.EncryptedToken[:mlkem.CiphertextSize768+32], xwingCombiner)
			if !ok || !bytes.Equal(ssM, v.MLKEMSharedSecret) || !bytes.Equal(ssX, v.X25519SharedSecret) || !bytes.Equal(ss, v.SharedSecret) {
				t.Fatal("shared secrets differ")
			}
			key, nonce := keySchedule(ss, []byte(f.Info))
			if !bytes.Equal(key, v.Key) || !bytes.Equal(nonce, v.BaseNonce) {
				t.Fatal("key schedule differs")
			}
			if !specOK || !bytes.Equal(specGot, v.Token) || hpkeErr != nil || !bytes.Equal(hpkeGot, v.Token) || !bytes.Equal(got, v.Token) {
				t.Fatal("decrypted token differs")
			}
			// The other direction: the library opens what the description
			// seals.
			if again, err := k.DecryptToken(x.sealWith(t, v.Token, xwingCombiner)); err != nil || !bytes.Equal(again, v.Token) {
				t.Fatalf("the library cannot decrypt the description's ciphertext: %v", err)
			}
		})
	}
}
