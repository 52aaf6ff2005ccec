//! The reactor under many connections, and `AsyncFd`: gorun against tokio, in the
//! same run.
//!
//! - `tcp_echo_50x2000`: one echo server and 50 client tasks in one process, each
//!   client doing 2,000 round trips of 64 bytes on its own connection (100,000 round
//!   trips an iteration; connections made outside the measured time). Go's version
//!   is `BenchmarkTCPEcho50x2000` in `benches/go/net_test.go`.
//! - `async_fd_pipe_ping_pong`: two pipes between two tasks, each end an `AsyncFd`,
//!   10,000 round trips of one byte (a wake through the reactor each way).
//!
//! Run with `cargo bench --bench os_io -- --warm-up-time 1 --measurement-time 5`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

mod common;
use common::*;
#[path = "common/tcp_echo.rs"]
mod tcp_echo;
use tcp_echo::{CLIENTS, ROUND_TRIPS};

const PIPE_ROUND_TRIPS: usize = 10_000;

/// A non-blocking pipe: (read end, write end).
fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a live array of two c_ints, as pipe2 requires.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
    assert_eq!(r, 0, "{}", io::Error::last_os_error());
    // SAFETY: pipe2 succeeded: both fds are open and owned by nobody else.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    (File::from(rd), File::from(wr))
}

mod on_gorun {
    use super::*;
    use gorun::io::unix::AsyncFd;

    async fn read_byte(fd: &AsyncFd<File>) -> u8 {
        let mut b = [0u8; 1];
        loop {
            let mut g = fd.readable().await.unwrap();
            if let Ok(r) = g.try_io(|f| f.get_ref().read(&mut b)) {
                assert_eq!(r.unwrap(), 1);
                return b[0];
            }
        }
    }

    async fn write_byte(fd: &AsyncFd<File>, v: u8) {
        loop {
            let mut g = fd.writable().await.unwrap();
            if let Ok(r) = g.try_io(|f| f.get_ref().write(&[v])) {
                assert_eq!(r.unwrap(), 1);
                return;
            }
        }
    }

    pub async fn pipe_ping_pong() -> Duration {
        let ((a_rd, b_wr), (b_rd, a_wr)) = (pipe(), pipe());
        let ponger = gorun::go(async move {
            let (rd, wr) = (AsyncFd::new(a_rd).unwrap(), AsyncFd::new(a_wr).unwrap());
            for _ in 0..PIPE_ROUND_TRIPS {
                let v = read_byte(&rd).await;
                write_byte(&wr, v).await;
            }
        });
        let (rd, wr) = (AsyncFd::new(b_rd).unwrap(), AsyncFd::new(b_wr).unwrap());
        let start = Instant::now();
        for i in 0..PIPE_ROUND_TRIPS {
            write_byte(&wr, i as u8).await;
            assert_eq!(read_byte(&rd).await, i as u8);
        }
        let t = start.elapsed();
        ponger.await.unwrap();
        t
    }
}

mod on_tokio {
    use super::*;
    use tokio::io::unix::AsyncFd;

    async fn read_byte(fd: &AsyncFd<File>) -> u8 {
        let mut b = [0u8; 1];
        loop {
            let mut g = fd.readable().await.unwrap();
            if let Ok(r) = g.try_io(|f| f.get_ref().read(&mut b)) {
                assert_eq!(r.unwrap(), 1);
                return b[0];
            }
        }
    }

    async fn write_byte(fd: &AsyncFd<File>, v: u8) {
        loop {
            let mut g = fd.writable().await.unwrap();
            if let Ok(r) = g.try_io(|f| f.get_ref().write(&[v])) {
                assert_eq!(r.unwrap(), 1);
                return;
            }
        }
    }

    fn register(f: File) -> AsyncFd<File> {
        // SAFETY: the `File` owns its open fd and nothing replaces or closes it
        // while the `AsyncFd` holds it (tokio's `register` contract).
        unsafe { AsyncFd::register(f) }.unwrap()
    }

    pub async fn pipe_ping_pong() -> Duration {
        let ((a_rd, b_wr), (b_rd, a_wr)) = (pipe(), pipe());
        let ponger = tokio::spawn(async move {
            let (rd, wr) = (register(a_rd), register(a_wr));
            for _ in 0..PIPE_ROUND_TRIPS {
                let v = read_byte(&rd).await;
                write_byte(&wr, v).await;
            }
        });
        let (rd, wr) = (register(b_rd), register(b_wr));
        let start = Instant::now();
        for i in 0..PIPE_ROUND_TRIPS {
            write_byte(&wr, i as u8).await;
            assert_eq!(read_byte(&rd).await, i as u8);
        }
        let t = start.elapsed();
        ponger.await.unwrap();
        t
    }
}

fn tcp_echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_echo_50x2000");
    g.throughput(Throughput::Elements((CLIENTS * ROUND_TRIPS) as u64));
    g.sample_size(10);
    let rt = gorun_rt();
    let mut clients = Some(rt.run(tcp_echo::on_gorun::connect()));
    g.bench_function("gorun", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (back, t) = rt.run(tcp_echo::on_gorun::round(clients.take().unwrap()));
                clients = Some(back);
                total += t;
            }
            total
        })
    });
    drop(clients);
    drop(rt);
    let rt = tokio_rt();
    let mut clients =
        Some(rt.block_on(async { tokio::spawn(tcp_echo::on_tokio::connect()).await.unwrap() }));
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cs = clients.take().unwrap();
                let (back, t) = rt.block_on(async move {
                    tokio::spawn(tcp_echo::on_tokio::round(cs)).await.unwrap()
                });
                clients = Some(back);
                total += t;
            }
            total
        })
    });
    g.finish();
}

fn async_fd_pipe(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_fd_pipe_ping_pong");
    g.throughput(Throughput::Elements(PIPE_ROUND_TRIPS as u64));
    g.sample_size(20);
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.run(on_gorun::pipe_ping_pong())).sum())
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    rt.block_on(async { tokio::spawn(on_tokio::pipe_ping_pong()).await.unwrap() })
                })
                .sum()
        })
    });
    g.finish();
}

// `criterion_group!` would generate an undocumented `pub fn`; this is its expansion.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    tcp_echo(&mut c);
    async_fd_pipe(&mut c);
    c.final_summary();
}
