package benches

// Twins of benches/sync.rs: 10,000 lock/unlock (acquire/release) operations an
// iteration, and a WaitGroup of 100,000 goroutines.

import (
	"sync"
	"sync/atomic"
	"testing"
)

const syncOps = 10000

func mutexWork(tasks int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	n := 0
	for t := 0; t < tasks; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < syncOps/tasks; i++ {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// A buffered channel is Go's idiomatic semaphore.
func semWork(tasks, permits int) {
	sem := make(chan struct{}, permits)
	var wg sync.WaitGroup
	var n atomic.Int64
	for t := 0; t < tasks; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < syncOps/tasks; i++ {
				sem <- struct{}{}
				n.Add(1)
				<-sem
			}
		}()
	}
	wg.Wait()
}

func BenchmarkMutexUncontended(b *testing.B) {
	for i := 0; i < b.N; i++ {
		mutexWork(1)
	}
}

func BenchmarkMutexContended(b *testing.B) {
	for i := 0; i < b.N; i++ {
		mutexWork(8)
	}
}

func BenchmarkSemaphoreUncontended(b *testing.B) {
	for i := 0; i < b.N; i++ {
		semWork(1, 4)
	}
}

func BenchmarkSemaphoreContended(b *testing.B) {
	for i := 0; i < b.N; i++ {
		semWork(8, 2)
	}
}

func BenchmarkWaitGroup100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		var n atomic.Int64
		for t := 0; t < 100000; t++ {
			wg.Add(1)
			go func() {
				n.Add(1)
				wg.Done()
			}()
		}
		wg.Wait()
	}
}
