// The select benchmark of benches/select.rs in Go: one receiver goroutine
// selecting over two channels, each fed by its own producer, until both close
// (numMsgs messages an iteration; numMsgs is in channel_test.go). Run from
// benches/go with `GOMAXPROCS=2 go test -run XXX -bench Select -benchtime 2s`.
package benches

import (
	"fmt"
	"testing"
)

func select2(capacity int) int {
	c1 := make(chan int, capacity)
	c2 := make(chan int, capacity)
	for _, c := range []chan int{c1, c2} {
		go func(c chan int) {
			for v := 0; v < numMsgs/2; v++ {
				c <- v
			}
			close(c)
		}(c)
	}
	done := make(chan int)
	go func() {
		n := 0
		for c1 != nil || c2 != nil {
			select {
			case _, ok := <-c1:
				if !ok {
					c1 = nil
				} else {
					n++
				}
			case _, ok := <-c2:
				if !ok {
					c2 = nil
				} else {
					n++
				}
			}
		}
		done <- n
	}()
	return <-done
}

func BenchmarkSelect2(b *testing.B) {
	for _, capacity := range []int{1, 128} {
		b.Run(fmt.Sprintf("cap%d", capacity), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if select2(capacity) != numMsgs {
					panic("lost messages")
				}
			}
		})
	}
}
