package kdf

import (
	"fmt"
	"math/bits"
)

// policyErr is a sentinel that also matches its umbrella, so that
// errors.Is(ErrMemoryAboveCeiling, ErrAboveCeiling) holds.
type policyErr struct {
	msg      string
	umbrella error
}

func (e *policyErr) Error() string { return e.msg }
func (e *policyErr) Unwrap() error { return e.umbrella }

var (
	// ErrAboveCeiling matches every ceiling refusal.
	ErrAboveCeiling error = &policyErr{msg: "kdf: parameters above ceiling"}
	// ErrBelowFloor matches every floor refusal.
	ErrBelowFloor error = &policyErr{msg: "kdf: parameters below floor"}

	// ErrMemoryAboveCeiling: Argon2id m, or scrypt's 128·r·N bytes.
	ErrMemoryAboveCeiling error = &policyErr{"kdf: memory above ceiling", ErrAboveCeiling}
	// ErrTimeAboveCeiling: Argon2id t.
	ErrTimeAboveCeiling error = &policyErr{"kdf: time above ceiling", ErrAboveCeiling}
	// ErrThreadsAboveCeiling: Argon2id p, or scrypt p.
	ErrThreadsAboveCeiling error = &policyErr{"kdf: parallelism above ceiling", ErrAboveCeiling}
	// ErrScryptNAboveCeiling: scrypt N.
	ErrScryptNAboveCeiling error = &policyErr{"kdf: scrypt N above ceiling", ErrAboveCeiling}
	// ErrIterationsAboveCeiling: PBKDF2 iterations.
	ErrIterationsAboveCeiling error = &policyErr{"kdf: iterations above ceiling", ErrAboveCeiling}

	// ErrMemoryBelowFloor: Argon2id m.
	ErrMemoryBelowFloor error = &policyErr{"kdf: memory below floor", ErrBelowFloor}
	// ErrTimeBelowFloor: Argon2id t.
	ErrTimeBelowFloor error = &policyErr{"kdf: time below floor", ErrBelowFloor}
	// ErrScryptNBelowFloor: scrypt N.
	ErrScryptNBelowFloor error = &policyErr{"kdf: scrypt N below floor", ErrBelowFloor}
	// ErrScryptRBelowFloor: scrypt r.
	ErrScryptRBelowFloor error = &policyErr{"kdf: scrypt r below floor", ErrBelowFloor}
	// ErrIterationsBelowFloor: PBKDF2 iterations.
	ErrIterationsBelowFloor error = &policyErr{"kdf: iterations below floor", ErrBelowFloor}
)

// PolicyError reports parameters refused by Ceilings.Check or Floors.Check.
// It matches, with errors.Is, the sentinel of the field that failed (such as
// ErrMemoryAboveCeiling) and the umbrella ErrAboveCeiling or ErrBelowFloor.
type PolicyError struct {
	Algorithm Algorithm
	// Field is the cost that failed: "memoryKiB", "time", "threads" (Argon2id),
	// "logN", "r", "p", "memoryBytes" (scrypt, memoryBytes = 128·r·N) or
	// "iterations" (PBKDF2).
	Field string
	// Limit is the policy's bound and Got the parameters' value, both in
	// Field's unit.
	Limit, Got uint64

	err error
}

func (e *PolicyError) Error() string {
	if e.err == nil {
		return "kdf: parameters refused by policy"
	}
	dir := "above ceiling"
	if e.err.(*policyErr).umbrella == ErrBelowFloor {
		dir = "below floor"
	}
	return fmt.Sprintf("kdf: %v %s %d %s %d", e.Algorithm, e.Field, e.Got, dir, e.Limit)
}

// Unwrap returns the field's sentinel, which in turn matches the umbrella.
func (e *PolicyError) Unwrap() error { return e.err }

// Ceilings bound the work a client will do for one derivation. Parameters
// come with the data they protect, so whoever stored the data chose them;
// check them against Ceilings before Derive. A zero field allows nothing: an
// algorithm can be refused altogether by leaving its fields zero.
type Ceilings struct {
	Argon2idMaxMemoryKiB uint32
	Argon2idMaxTime      uint32
	Argon2idMaxThreads   uint8

	ScryptMaxLogN uint8
	// ScryptMaxMemoryBytes bounds 128·r·N, the size of scrypt's table.
	ScryptMaxMemoryBytes uint64
	// ScryptMaxP bounds p: x/crypto/scrypt runs the p lanes one after the
	// other, so p multiplies the time.
	ScryptMaxP uint32

	PBKDF2MaxIterations uint32
}

// DefaultCeilings returns the ceilings of a device with about 1 GiB to spare:
// Argon2id m ≤ 1 GiB, t ≤ 16, p ≤ 16; scrypt N ≤ 2²², 128·r·N ≤ 1 GiB,
// p ≤ 16; PBKDF2 ≤ 10,000,000 iterations. Each allows several times Default,
// and none lets a derivation take more than about a minute on a laptop.
func DefaultCeilings() Ceilings {
	return Ceilings{
		Argon2idMaxMemoryKiB: 1 << 20,
		Argon2idMaxTime:      16,
		Argon2idMaxThreads:   16,
		ScryptMaxLogN:        22,
		ScryptMaxMemoryBytes: 1 << 30,
		ScryptMaxP:           16,
		PBKDF2MaxIterations:  10_000_000,
	}
}

// Check returns nil if deriving with p stays within c, a *PolicyError naming
// the first cost above its ceiling, or ErrUnknownAlgorithm.
func (c Ceilings) Check(p Params) error {
	if err := p.validate(); err != nil {
		return err
	}
	var e *PolicyError
	above := func(field string, limit, got uint64, err error) bool {
		if got > limit {
			e = &PolicyError{Algorithm: p.alg, Field: field, Limit: limit, Got: got, err: err}
		}
		return e != nil
	}
	switch p.alg {
	case Argon2id:
		_ = above("memoryKiB", uint64(c.Argon2idMaxMemoryKiB), uint64(p.memoryKiB), ErrMemoryAboveCeiling) ||
			above("time", uint64(c.Argon2idMaxTime), uint64(p.time), ErrTimeAboveCeiling) ||
			above("threads", uint64(c.Argon2idMaxThreads), uint64(p.threads), ErrThreadsAboveCeiling)
	case Scrypt:
		// 128·r·N overflows 64 bits for large r and logN (≤ 63); saturate.
		mem := uint64(1<<64 - 1)
		if bits.Len32(p.r)+7+int(p.logN) <= 64 {
			mem = 128 * uint64(p.r) << p.logN
		}
		_ = above("logN", uint64(c.ScryptMaxLogN), uint64(p.logN), ErrScryptNAboveCeiling) ||
			above("memoryBytes", c.ScryptMaxMemoryBytes, mem, ErrMemoryAboveCeiling) ||
			above("p", uint64(c.ScryptMaxP), uint64(p.p), ErrThreadsAboveCeiling)
	case PBKDF2SHA256:
		_ = above("iterations", uint64(c.PBKDF2MaxIterations), uint64(p.iterations), ErrIterationsAboveCeiling)
	}
	if e != nil {
		return e
	}
	return nil
}

// Floors bound the work a server requires before it stores data protected by
// a password: the data is downloadable, so the KDF is what an offline
// attacker must pay per guess. A zero field requires nothing.
type Floors struct {
	Argon2idMinMemoryKiB uint32
	Argon2idMinTime      uint32

	ScryptMinLogN uint8
	ScryptMinR    uint32

	PBKDF2MinIterations uint32
}

// DefaultFloors returns the minimums of the OWASP Password Storage Cheat
// Sheet: Argon2id m ≥ 19 MiB and t ≥ 2; scrypt N ≥ 2¹⁷ and r ≥ 8;
// PBKDF2-SHA-256 ≥ 600,000 iterations. Default and Calibrate's results are
// above them.
func DefaultFloors() Floors {
	return Floors{
		Argon2idMinMemoryKiB: 19 << 10,
		Argon2idMinTime:      2,
		ScryptMinLogN:        17,
		ScryptMinR:           8,
		PBKDF2MinIterations:  600_000,
	}
}

// Check returns nil if p meets f, a *PolicyError naming the first cost
// below its floor, or ErrUnknownAlgorithm.
func (f Floors) Check(p Params) error {
	if err := p.validate(); err != nil {
		return err
	}
	var e *PolicyError
	below := func(field string, limit, got uint64, err error) bool {
		if got < limit {
			e = &PolicyError{Algorithm: p.alg, Field: field, Limit: limit, Got: got, err: err}
		}
		return e != nil
	}
	switch p.alg {
	case Argon2id:
		_ = below("memoryKiB", uint64(f.Argon2idMinMemoryKiB), uint64(p.memoryKiB), ErrMemoryBelowFloor) ||
			below("time", uint64(f.Argon2idMinTime), uint64(p.time), ErrTimeBelowFloor)
	case Scrypt:
		_ = below("logN", uint64(f.ScryptMinLogN), uint64(p.logN), ErrScryptNBelowFloor) ||
			below("r", uint64(f.ScryptMinR), uint64(p.r), ErrScryptRBelowFloor)
	case PBKDF2SHA256:
		_ = below("iterations", uint64(f.PBKDF2MinIterations), uint64(p.iterations), ErrIterationsBelowFloor)
	}
	if e != nil {
		return e
	}
	return nil
}
