package attesta

import (
	"crypto/ecdh"
	"errors"
	"testing"
)

// TestLowOrderPoints proves the lowOrder table: crypto/ecdh refuses every
// point in it (an all-zero shared secret), and x25519Point refuses it
// before any multiplication.
func TestLowOrderPoints(t *testing.T) {
	probe, err := ecdh.X25519().NewPrivateKey([]byte("attesta/v1 x25519 low-order test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, lo := range lowOrder {
		pk, err := ecdh.X25519().NewPublicKey(lo[:])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := probe.ECDH(pk); err == nil {
			t.Errorf("%x: not a low-order point", lo)
		}
		if _, err := x25519Point(lo[:]); !errors.Is(err, ErrBadKey) {
			t.Errorf("%x: accepted", lo)
		}
	}
}
