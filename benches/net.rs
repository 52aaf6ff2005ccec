//! Network benchmarks: gorun's reactor against tokio's, in the same run.
//!
//! - `tcp_ping_pong_64b`: one loopback connection, 64-byte messages echoed back,
//!   one round trip at a time (latency of a wake through the reactor);
//! - `tcp_stream_64mib`: 64 MiB written through an echo server and read back on
//!   one connection, the writer and the reader two tasks (throughput).
//!
//! The echo server, the client loops and the buffer sizes are the same code shape
//! on both runtimes (a 64 KiB read, then `write_all` of what was read); only the
//! runtime and its socket types differ. Both runtimes have the same worker count
//! (`common::workers`), the connection is made outside the measured time, and
//! `TCP_NODELAY` is set on both ends. The HTTP benchmark (hyper under `wrk`) is
//! `benches/http_wrk.sh`.
//!
//! Run with `cargo bench --bench net -- --warm-up-time 1 --measurement-time 3`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

mod common;
use common::*;

/// Bytes per ping-pong message.
const MSG: usize = 64;
/// Bytes streamed per iteration of the throughput benchmark.
const STREAM: usize = 64 << 20;
/// The read buffer of the echo servers and the streaming client.
const BUF: usize = 64 << 10;

mod on_gorun {
    use super::*;
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use gorun::net::{TcpListener, TcpStream};

    /// Echoes each connection until EOF; returns the address.
    pub async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        gorun::go(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                s.set_nodelay(true).unwrap();
                gorun::go(async move {
                    let mut buf = vec![0; BUF];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    pub async fn ping_pong(addr: SocketAddr, iters: u64) -> Duration {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        let (out, mut back) = ([7u8; MSG], [0u8; MSG]);
        let start = Instant::now();
        for _ in 0..iters {
            c.write_all(&out).await.unwrap();
            c.read_exact(&mut back).await.unwrap();
        }
        start.elapsed()
    }

    pub async fn stream(addr: SocketAddr, iters: u64) -> Duration {
        let c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        let (mut r, mut w) = c.into_split();
        let start = Instant::now();
        let total = STREAM * iters as usize;
        let writer = gorun::go(async move {
            let chunk = vec![1u8; BUF];
            let mut left = total;
            while left > 0 {
                let n = left.min(BUF);
                w.write_all(&chunk[..n]).await.unwrap();
                left -= n;
            }
            w
        });
        let mut buf = vec![0u8; BUF];
        let mut got = 0;
        while got < total {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0, "echo closed early");
            got += n;
        }
        let elapsed = start.elapsed();
        drop(writer.await.unwrap());
        elapsed
    }
}

mod on_tokio {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    pub async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                s.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut buf = vec![0; BUF];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    pub async fn ping_pong(addr: SocketAddr, iters: u64) -> Duration {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        let (out, mut back) = ([7u8; MSG], [0u8; MSG]);
        let start = Instant::now();
        for _ in 0..iters {
            c.write_all(&out).await.unwrap();
            c.read_exact(&mut back).await.unwrap();
        }
        start.elapsed()
    }

    pub async fn stream(addr: SocketAddr, iters: u64) -> Duration {
        let c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        let (mut r, mut w) = c.into_split();
        let start = Instant::now();
        let total = STREAM * iters as usize;
        let writer = tokio::spawn(async move {
            let chunk = vec![1u8; BUF];
            let mut left = total;
            while left > 0 {
                let n = left.min(BUF);
                w.write_all(&chunk[..n]).await.unwrap();
                left -= n;
            }
            w
        });
        let mut buf = vec![0u8; BUF];
        let mut got = 0;
        while got < total {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0, "echo closed early");
            got += n;
        }
        let elapsed = start.elapsed();
        drop(writer.await.unwrap());
        elapsed
    }
}

fn tcp_ping_pong_64b(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_ping_pong_64b");
    g.throughput(Throughput::Elements(1));
    let rt = gorun_rt();
    let addr = rt.block_on(on_gorun::echo_server());
    g.bench_function("gorun", |b| {
        b.iter_custom(|iters| rt.run(on_gorun::ping_pong(addr, iters)))
    });
    drop(rt);
    let rt = tokio_rt();
    let addr = rt.block_on(on_tokio::echo_server());
    g.bench_function("tokio", |b| {
        // Inside a task, as gorun's `run` is: the client is on a worker thread too.
        b.iter_custom(|iters| {
            rt.block_on(async move {
                tokio::spawn(on_tokio::ping_pong(addr, iters))
                    .await
                    .unwrap()
            })
        })
    });
    g.finish();
}

fn tcp_stream_64mib(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_stream_64mib");
    g.throughput(Throughput::Bytes(STREAM as u64));
    g.sample_size(10);
    let rt = gorun_rt();
    let addr = rt.block_on(on_gorun::echo_server());
    g.bench_function("gorun", |b| {
        b.iter_custom(|iters| rt.run(on_gorun::stream(addr, iters)))
    });
    drop(rt);
    let rt = tokio_rt();
    let addr = rt.block_on(on_tokio::echo_server());
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async move { tokio::spawn(on_tokio::stream(addr, iters)).await.unwrap() })
        })
    });
    g.finish();
}

// `criterion_group!` would generate an undocumented `pub fn`; this is its expansion.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    tcp_ping_pong_64b(&mut c);
    tcp_stream_64mib(&mut c);
    c.final_summary();
}
