// Timer benchmarks in Go: the workloads of benches/timer.rs. Run from benches/go with
// `go test -run XXX -bench Timer -benchtime 3x` (the 1M x 1s workload reports its
// wall time; peak RSS: `/usr/bin/time -v go test -run XXX -bench Sleep1M -benchtime 1x`).
package benches

import (
	"sync"
	"testing"
	"time"
)

const (
	numArm       = 1_000_000
	numSleep10ms = 100_000
	numSleep1s   = 1_000_000
	numZero      = 1_000_000
)

func dur(i int) time.Duration {
	return time.Duration(1+(i*7919)%60_000) * time.Millisecond
}

// Arm 1M timers, then stop them all (Go's timers live in per-P heaps).
func BenchmarkTimerArmCancelBatch(b *testing.B) {
	for n := 0; n < b.N; n++ {
		ts := make([]*time.Timer, numArm)
		for i := range ts {
			ts[i] = time.NewTimer(dur(i))
		}
		for _, t := range ts {
			t.Stop()
		}
	}
}

// Arm and stop one timer at a time.
func BenchmarkTimerArmCancelSequential(b *testing.B) {
	for n := 0; n < b.N; n++ {
		for i := 0; i < numArm; i++ {
			time.NewTimer(dur(i)).Stop()
		}
	}
}

// Go's TestZeroTimer as a benchmark: a zero-duration timer and a receive, 1M times.
func BenchmarkTimerZero1M(b *testing.B) {
	for n := 0; n < b.N; n++ {
		for i := 0; i < numZero; i++ {
			t := time.NewTimer(0)
			<-t.C
		}
	}
}

func sleepMany(n int, d time.Duration) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			time.Sleep(d)
			wg.Done()
		}()
	}
	wg.Wait()
}

func BenchmarkTimerSleep100k10ms(b *testing.B) {
	for n := 0; n < b.N; n++ {
		sleepMany(numSleep10ms, 10*time.Millisecond)
	}
}

func BenchmarkTimerSleep1M1s(b *testing.B) {
	for n := 0; n < b.N; n++ {
		sleepMany(numSleep1s, time.Second)
	}
}
