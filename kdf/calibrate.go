package kdf

import (
	"context"
	"runtime"
	"time"
)

// calibrateMaxMemoryKiB caps the memory Calibrate chooses. Parameters are
// derived again on whatever device later opens the data, often a phone, so
// Calibrate stops at a quarter of DefaultCeilings and spends the rest of the
// budget on passes.
const calibrateMaxMemoryKiB = 256 << 10

// Calibrate returns Argon2id parameters, with a fresh salt, whose derivation
// takes about target on this machine, and never less than Default: at least
// 64 MiB, 3 passes and 4 lanes. The result is within DefaultCeilings.
//
// The method: run Default once and throw the result away (the first Argon2id
// run in a process pays for page faults and costs 2.5 to 4 times a later
// one), then time a second run. Argon2id's cost is close to linear in m·t, so
// the budget is target/elapsed times Default's m·t. Following RFC 9106,
// Section 4, memory takes the budget first, doubling from 64 MiB while three
// passes still fit, up to 256 MiB; the passes take what is left, at most 16.
// The chosen parameters are timed once more and the passes corrected by the
// ratio of target to that time, because a larger memory is slower per KiB.
// Garbage is collected before each timed run, so that a run does not pay for
// the previous one's memory. Calibrate thus costs about two Default
// derivations plus target.
//
// The time measured is that of a warm process; the first derivation in a
// fresh process can take longer, as the operating system maps the memory.
//
// Calibrate returns ctx's error if ctx ends between runs.
func Calibrate(ctx context.Context, target time.Duration) (Params, error) {
	return calibrate(ctx, target, func(ctx context.Context, p Params) (time.Duration, error) {
		// Collect the previous run's memory now, not on this run's clock.
		runtime.GC()
		start := time.Now()
		if _, err := p.Derive(ctx, []byte("attesta kdf calibration"), 32); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	})
}

// calibrate is Calibrate with the clock replaceable in tests.
func calibrate(ctx context.Context, target time.Duration, run func(context.Context, Params) (time.Duration, error)) (Params, error) {
	p := Default()
	if _, err := run(ctx, p); err != nil { // warm-up
		return Params{}, err
	}
	elapsed, err := run(ctx, p)
	if err != nil {
		return Params{}, err
	}
	if elapsed <= 0 || elapsed >= target {
		return p, nil
	}

	// budget is in KiB·passes.
	budget := float64(target) / float64(elapsed) * DefaultMemoryKiB * DefaultTime
	for p.memoryKiB*2 <= calibrateMaxMemoryKiB && float64(p.memoryKiB)*2*DefaultTime <= budget {
		p.memoryKiB *= 2
	}
	p.time = clampTime(budget / float64(p.memoryKiB))
	if p.memoryKiB == DefaultMemoryKiB && p.time == DefaultTime {
		return p, nil
	}

	elapsed, err = run(ctx, p)
	if err != nil {
		return Params{}, err
	}
	if elapsed > 0 {
		p.time = clampTime(float64(p.time) * float64(target) / float64(elapsed))
	}
	return p, nil
}

// clampTime rounds a number of passes to the nearest integer within
// [DefaultTime, DefaultCeilings' 16].
func clampTime(t float64) uint32 {
	const maxTime = 16
	switch {
	case t < DefaultTime:
		return DefaultTime
	case t > maxTime:
		return maxTime
	}
	return uint32(t + 0.5)
}
