// Executor benchmarks in Go: the workloads of benches/executor.rs, with goroutines,
// sync.WaitGroup and channels. Run from benches/go with
// `go test -bench . -benchtime 2s`.
package benches

import (
	"runtime"
	"sync"
	"testing"
)

const (
	numSpawn      = 10_000
	numYieldTasks = 1_000
	numYields     = 200
	numPings      = 1_000
	chainLen      = 1_000
	num1M         = 1_000_000
)

//go:noinline
func work(i int) int { return i }

func spawnMany(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			work(i)
			wg.Done()
		}(i)
	}
	wg.Wait()
}

// onGoroutine runs f on a new goroutine and waits for it (the Rust benches' rt.run).
func onGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	<-done
}

// BenchmarkSpawnManyLocal spawns 10,000 goroutines from a goroutine and waits for them.
func BenchmarkSpawnManyLocal(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onGoroutine(func() { spawnMany(numSpawn) })
	}
}

// BenchmarkSpawnManyRemote spawns them from the benchmark's own goroutine: Go has no
// "outside the runtime", so this differs from the local case only by one hand-off.
func BenchmarkSpawnManyRemote(b *testing.B) {
	for i := 0; i < b.N; i++ {
		spawnMany(numSpawn)
	}
}

// BenchmarkYieldMany: 1,000 goroutines each calling runtime.Gosched 200 times.
func BenchmarkYieldMany(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onGoroutine(func() {
			var wg sync.WaitGroup
			wg.Add(numYieldTasks)
			for t := 0; t < numYieldTasks; t++ {
				go func() {
					for y := 0; y < numYields; y++ {
						runtime.Gosched()
					}
					wg.Done()
				}()
			}
			wg.Wait()
		})
	}
}

// BenchmarkPingPong: 1,000 pingers, each spawning a ponger and exchanging one message
// each way through one-slot channels (the oneshot of the Rust version).
func BenchmarkPingPong(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onGoroutine(func() {
			var wg sync.WaitGroup
			wg.Add(numPings)
			for p := 0; p < numPings; p++ {
				go func() {
					ping := make(chan struct{}, 1)
					pong := make(chan struct{}, 1)
					ponged := make(chan struct{})
					go func() {
						<-ping
						pong <- struct{}{}
						close(ponged)
					}()
					ping <- struct{}{}
					<-pong
					<-ponged
					wg.Done()
				}()
			}
			wg.Wait()
		})
	}
}

func chain(done chan struct{}, n int) {
	if n == 0 {
		done <- struct{}{}
		return
	}
	go chain(done, n-1)
}

// BenchmarkChainedSpawn: a chain of 1,000 goroutines, each starting the next.
func BenchmarkChainedSpawn(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onGoroutine(func() {
			done := make(chan struct{}, 1)
			chain(done, chainLen)
			<-done
		})
	}
}

// BenchmarkSpawnJoin1M: the seed workload, 1,000,000 empty goroutines spawned and joined.
func BenchmarkSpawnJoin1M(b *testing.B) {
	for i := 0; i < b.N; i++ {
		onGoroutine(func() {
			var wg sync.WaitGroup
			wg.Add(num1M)
			for t := 0; t < num1M; t++ {
				go func() { wg.Done() }()
			}
			wg.Wait()
		})
	}
}
