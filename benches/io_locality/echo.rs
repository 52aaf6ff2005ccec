//! `echo`: TCP echo rounds on each runtime. A round is `CLIENTS` clients each doing
//! `ROUND_TRIPS` round trips of `MSG` bytes on a connection made before the round;
//! each runtime runs one warm-up round and `RUNS` timed ones.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::common::{gorun_rt, tokio_rt, workers};

use crate::tcp_echo::{on_gorun, on_tokio};
pub use crate::tcp_echo::{CLIENTS, MSG, ROUND_TRIPS};
pub const RUNS: usize = 5;

/// The timed rounds on gorun (the warm-up dropped).
pub fn gorun() -> Vec<Duration> {
    let rt = gorun_rt();
    let mut clients = rt.run(on_gorun::connect());
    let mut times = Vec::with_capacity(RUNS + 1);
    for _ in 0..=RUNS {
        let (back, t) = rt.run(on_gorun::round(clients));
        clients = back;
        times.push(t);
    }
    times.split_off(1)
}

/// The timed rounds on tokio's multi-thread runtime (the warm-up dropped). Each runs
/// as a spawned task, as gorun's `run` does, so neither has its driver on the
/// main thread.
pub fn tokio() -> Vec<Duration> {
    let rt = tokio_rt();
    let mut clients = rt.block_on(async { tokio::spawn(on_tokio::connect()).await.unwrap() });
    let mut times = Vec::with_capacity(RUNS + 1);
    for _ in 0..=RUNS {
        let (back, t) =
            rt.block_on(async move { tokio::spawn(on_tokio::round(clients)).await.unwrap() });
        clients = back;
        times.push(t);
    }
    times.split_off(1)
}

mod on_monoio {
    use super::*;
    use monoio::io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRentExt};
    use monoio::net::{TcpListener, TcpStream};

    async fn serve(mut s: TcpStream) {
        let mut buf = Vec::with_capacity(4096);
        loop {
            let (r, b) = s.read(buf).await;
            buf = b;
            if !matches!(r, Ok(n) if n > 0) {
                break;
            }
            let (r, b) = s.write_all(buf).await;
            buf = b;
            if r.is_err() {
                break;
            }
            buf.clear();
        }
    }

    /// This thread's listener and its `share` of the clients.
    async fn connect(share: usize) -> Vec<TcpStream> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        monoio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                s.set_nodelay(true).unwrap();
                monoio::spawn(serve(s));
            }
        });
        let mut clients = Vec::with_capacity(share);
        for _ in 0..share {
            let c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            clients.push(c);
        }
        clients
    }

    async fn round(clients: Vec<TcpStream>) -> Vec<TcpStream> {
        let hs: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                monoio::spawn(async move {
                    let mut out: Box<[u8]> = vec![7u8; MSG].into();
                    let mut back: Box<[u8]> = vec![0u8; MSG].into();
                    for _ in 0..ROUND_TRIPS {
                        let (r, b) = c.write_all(out).await;
                        r.unwrap();
                        out = b;
                        let (r, b) = c.read_exact(back).await;
                        r.unwrap();
                        back = b;
                    }
                    c
                })
            })
            .collect();
        let mut clients = Vec::with_capacity(hs.len());
        for h in hs {
            clients.push(h.await);
        }
        clients
    }

    /// One thread of the thread-per-core server: connects, then runs each round
    /// between two waits on `barrier` (go, done), the main thread timing between.
    pub fn thread<D: monoio::Driver>(mut rt: monoio::Runtime<D>, share: usize, barrier: &Barrier) {
        let mut clients = rt.block_on(connect(share));
        for _ in 0..=RUNS {
            barrier.wait();
            clients = rt.block_on(round(clients));
            barrier.wait();
        }
    }
}

/// The timed rounds on monoio thread-per-core, legacy (epoll) or io_uring driver
/// (the warm-up dropped).
pub fn monoio(uring: bool) -> Vec<Duration> {
    let n = workers();
    let barrier = Arc::new(Barrier::new(n + 1));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let share = CLIENTS / n + usize::from(i < CLIENTS % n);
            std::thread::spawn(move || {
                if uring {
                    let rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
                        .build()
                        .expect("monoio io_uring runtime");
                    on_monoio::thread(rt, share, &barrier);
                } else {
                    let rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                        .build()
                        .expect("monoio legacy runtime");
                    on_monoio::thread(rt, share, &barrier);
                }
            })
        })
        .collect();
    let mut times = Vec::with_capacity(RUNS + 1);
    for _ in 0..=RUNS {
        barrier.wait();
        let start = Instant::now();
        barrier.wait();
        times.push(start.elapsed());
    }
    for t in threads {
        t.join().unwrap();
    }
    times.split_off(1)
}
