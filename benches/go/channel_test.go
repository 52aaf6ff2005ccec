// Channel benchmarks in Go: the workloads of benches/channel.rs (ping-pong round
// trips; SPSC, MPSC 4:1 and MPMC 4:4 over cap 0, 1 and 128, a fixed message
// count per iteration). Run from benches/go with
// `GOMAXPROCS=2 go test -bench Chan -benchtime 2s`.
package benches

import (
	"fmt"
	"sync"
	"testing"
)

const (
	numMsgs  = 10_000
	numRound = 2_000
)

func chanWorkload(capacity, producers, consumers int) {
	c := make(chan int, capacity)
	per := numMsgs / producers
	var wp sync.WaitGroup
	wp.Add(producers)
	for p := 0; p < producers; p++ {
		go func() {
			for v := 0; v < per; v++ {
				c <- v
			}
			wp.Done()
		}()
	}
	counts := make(chan int, consumers)
	for k := 0; k < consumers; k++ {
		go func() {
			n := 0
			for range c {
				n++
			}
			counts <- n
		}()
	}
	wp.Wait()
	close(c)
	total := 0
	for k := 0; k < consumers; k++ {
		total += <-counts
	}
	if total != per*producers {
		panic("lost messages")
	}
}

func BenchmarkChanThroughput(b *testing.B) {
	for _, w := range []struct {
		name string
		p, c int
	}{{"spsc", 1, 1}, {"mpsc_4x1", 4, 1}, {"mpmc_4x4", 4, 4}} {
		for _, capacity := range []int{0, 1, 128} {
			b.Run(fmt.Sprintf("%s/cap%d", w.name, capacity), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					chanWorkload(capacity, w.p, w.c)
				}
			})
		}
	}
}

func BenchmarkChanPingPong(b *testing.B) {
	for _, capacity := range []int{0, 1} {
		b.Run(fmt.Sprintf("cap%d", capacity), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c1 := make(chan int, capacity)
				c2 := make(chan int, capacity)
				done := make(chan struct{})
				go func() {
					for v := range c1 {
						c2 <- v
					}
					close(done)
				}()
				for r := 0; r < numRound; r++ {
					c1 <- r
					if <-c2 != r {
						panic("wrong value")
					}
				}
				close(c1)
				<-done
			}
		})
	}
}
