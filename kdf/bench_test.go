package kdf_test

import (
	"testing"
	"time"

	"github.com/attesta-go/attesta/kdf"
)

// BenchmarkDeriveDefault is the cost of one Default derivation (Argon2id,
// 64 MiB, t = 3, p = 4).
func BenchmarkDeriveDefault(b *testing.B) {
	p := kdf.Default()
	pw := []byte("correct horse battery staple")
	for b.Loop() {
		if _, err := p.Derive(b.Context(), pw, 32); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCalibrate reports what Calibrate(1s) picks on this machine (run
// it with -benchtime 1x): memory in KiB, passes, lanes.
func BenchmarkCalibrate(b *testing.B) {
	for b.Loop() {
		p, err := kdf.Calibrate(b.Context(), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(p.MemoryKiB()), "m-KiB")
		b.ReportMetric(float64(p.Time()), "t")
		b.ReportMetric(float64(p.Threads()), "p")
	}
}
