package kdf

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock times a run as perKiBPass per KiB·pass, and records the runs.
type fakeClock struct {
	perKiBPass time.Duration
	runs       []Params
}

func (c *fakeClock) run(_ context.Context, p Params) (time.Duration, error) {
	c.runs = append(c.runs, p)
	return time.Duration(p.memoryKiB) * time.Duration(p.time) * c.perKiBPass, nil
}

func TestCalibrateMethod(t *testing.T) {
	// Default costs 65536·3 KiB·passes; at 1µs each, 196.6ms.
	for _, tc := range []struct {
		target    time.Duration
		memoryKiB uint32
		time      uint32
		runs      int
	}{
		{time.Millisecond, DefaultMemoryKiB, DefaultTime, 2}, // never below Default
		{200 * time.Millisecond, DefaultMemoryKiB, 3, 2},     // about Default
		{300 * time.Millisecond, DefaultMemoryKiB, 5, 3},     // passes only
		{time.Second, 256 << 10, 4, 3},                       // memory first, then passes
		{3 * time.Second, 256 << 10, 11, 3},                  // memory capped at 256 MiB
		{time.Hour, 256 << 10, 16, 3},                        // passes capped at 16
	} {
		c := &fakeClock{perKiBPass: time.Microsecond}
		p, err := calibrate(t.Context(), tc.target, c.run)
		require.NoError(t, err)
		assert.Equal(t, tc.memoryKiB, p.memoryKiB, tc.target)
		assert.Equal(t, tc.time, p.time, tc.target)
		assert.Equal(t, uint8(DefaultThreads), p.threads)
		assert.Len(t, c.runs, tc.runs, tc.target)
		assert.NoError(t, DefaultCeilings().Check(p))
		assert.NoError(t, DefaultFloors().Check(p))
	}

	// Memory slower per KiB than the linear model: the last run corrects t.
	slow := func(_ context.Context, p Params) (time.Duration, error) {
		d := time.Duration(p.memoryKiB) * time.Duration(p.time) * time.Microsecond
		if p.memoryKiB > DefaultMemoryKiB {
			d = d * 3 / 2
		}
		return d, nil
	}
	p, err := calibrate(t.Context(), 3*time.Second, slow)
	require.NoError(t, err)
	assert.Equal(t, uint32(256<<10), p.memoryKiB)
	assert.Equal(t, uint32(8), p.time) // 11 passes took 4.3s; 11·3/4.3 ≈ 7.6
}

func TestCalibrateContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p, err := Calibrate(ctx, time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, Params{}, p)
}

func TestCalibrate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Argon2id with 64 MiB twice")
	}
	p, err := Calibrate(t.Context(), time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, Argon2id, p.Algorithm())
	assert.GreaterOrEqual(t, p.MemoryKiB(), uint32(DefaultMemoryKiB))
	assert.GreaterOrEqual(t, p.Time(), uint32(DefaultTime))
	assert.Equal(t, uint8(DefaultThreads), p.Threads())
	assert.Len(t, p.Salt(), SaltSize)
}
