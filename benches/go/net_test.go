// The TCP echo workload of benches/os_io.rs in Go: one echo server and 50 client
// goroutines in one process, each doing 2,000 round trips of 64 bytes on its own
// connection. Run from benches/go with
// `GOMAXPROCS=2 go test -run '^$' -bench TCPEcho -benchtime 20x`.
package benches

import (
	"io"
	"net"
	"sync"
	"testing"
)

const (
	echoClients    = 50
	echoRoundTrips = 2_000
	echoMsg        = 64
)

func echoServer(b *testing.B) net.Addr {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return l.Addr()
}

// One op: 50 clients × 2,000 round trips (100,000 round trips).
func BenchmarkTCPEcho50x2000(b *testing.B) {
	addr := echoServer(b)
	conns := make([]net.Conn, echoClients)
	for i := range conns {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		wg.Add(echoClients)
		for _, c := range conns {
			go func(c net.Conn) {
				defer wg.Done()
				out, back := make([]byte, echoMsg), make([]byte, echoMsg)
				for j := 0; j < echoRoundTrips; j++ {
					if _, err := c.Write(out); err != nil {
						panic(err)
					}
					if _, err := io.ReadFull(c, back); err != nil {
						panic(err)
					}
				}
			}(c)
		}
		wg.Wait()
	}
}
