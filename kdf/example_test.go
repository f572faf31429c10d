package kdf_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/attesta-go/attesta/kdf"
)

func ExampleParams_Derive() {
	ctx := context.Background()
	// Real code uses kdf.Default() or kdf.Calibrate; these costs keep the
	// example fast.
	params, err := kdf.Argon2idParams(1024, 1, 1)
	if err != nil {
		panic(err)
	}
	key, err := params.Derive(ctx, []byte("correct horse battery staple"), 32)
	if err != nil {
		panic(err)
	}

	// Store params.Bytes() next to what key protects. Later:
	stored := params.Bytes()
	again, err := kdf.Parse(stored)
	if err != nil {
		panic(err)
	}
	if err := kdf.DefaultCeilings().Check(again); err != nil {
		panic(err)
	}
	key2, err := again.Derive(ctx, []byte("correct horse battery staple"), 32)
	if err != nil {
		panic(err)
	}
	fmt.Println(again, len(key2), bytes.Equal(key, key2))
	// Output: argon2id(m=1024KiB,t=1,p=1) 32 true
}

func ExampleCeilings_Check() {
	// A hostile server asks for 64 GiB.
	params, err := kdf.Argon2idParams(64<<20, 1, 4)
	if err != nil {
		panic(err)
	}
	err = kdf.DefaultCeilings().Check(params)
	fmt.Println(err)
	fmt.Println(errors.Is(err, kdf.ErrMemoryAboveCeiling), errors.Is(err, kdf.ErrAboveCeiling))
	// Output:
	// kdf: argon2id memoryKiB 67108864 above ceiling 1048576
	// true true
}

func ExampleFloors_Check() {
	params, err := kdf.PBKDF2Params(100_000)
	if err != nil {
		panic(err)
	}
	err = kdf.DefaultFloors().Check(params)
	fmt.Println(err)
	fmt.Println(errors.Is(err, kdf.ErrBelowFloor))
	fmt.Println(kdf.DefaultFloors().Check(kdf.Default()))
	// Output:
	// kdf: pbkdf2-sha256 iterations 100000 below floor 600000
	// true
	// <nil>
}
