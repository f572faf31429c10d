package registry_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/attesta-go/attesta/kdf"
	"github.com/attesta-go/attesta/registry"
)

func Example() {
	ctx := context.Background()
	// Real code seals with kdf.Default() or kdf.Calibrate; these costs keep
	// the example fast.
	params, err := kdf.Argon2idParams(1024, 1, 1)
	if err != nil {
		panic(err)
	}
	block, err := registry.Seal(ctx, registry.Plaintext{
		PartyID: "party-1",
		Keys:    [][]byte{[]byte("packed private key")},
	}, []byte("correct horse battery staple"), params)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(block))

	// On a new device, with the block fetched from the server.
	pt, err := registry.Open(ctx, block, []byte("correct horse battery staple"), kdf.DefaultCeilings())
	if err != nil {
		panic(err)
	}
	fmt.Println(pt.PartyID, string(pt.Keys[0]))

	_, err = registry.Open(ctx, block, []byte("wrong"), kdf.DefaultCeilings())
	fmt.Println(errors.Is(err, registry.ErrWrongPassword))
	// Output:
	// 4169
	// party-1 packed private key
	// true
}

func ExampleInspect() {
	// A client seals with weak parameters...
	weak, err := kdf.PBKDF2Params(1000)
	if err != nil {
		panic(err)
	}
	block, err := registry.Seal(context.Background(), registry.Plaintext{PartyID: "party-1"}, []byte("hunter2"), weak)
	if err != nil {
		panic(err)
	}

	// ...and the server, which has no password, refuses to store the block.
	h, err := registry.Inspect(block)
	if err != nil {
		panic(err)
	}
	err = kdf.DefaultFloors().Check(h.KDF)
	fmt.Println(h.KDF)
	fmt.Println(err)
	fmt.Println(errors.Is(err, kdf.ErrBelowFloor))
	// Output:
	// pbkdf2-sha256(i=1000)
	// kdf: pbkdf2-sha256 iterations 1000 below floor 600000
	// true
}
