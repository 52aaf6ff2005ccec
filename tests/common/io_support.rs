//! What the I/O locality tests share: a watchdog per test (lost readiness fails
//! with its progress instead of hanging CI), one test at a time (exact descriptor
//! counts), a seeded xorshift (`IO_LOCALITY_SEED=<hex>` replays a run), byte
//! patterns, descriptor and RSS counts, and an echo server.
#![allow(dead_code)] // each test binary uses a subset

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use gorun::net::{TcpListener, TcpStream};
use gorun::time::sleep;

pub static SERIAL: Mutex<()> = Mutex::new(());

pub type Progress = Arc<AtomicUsize>;

/// Runs `body` on its own thread, one test at a time; fails the test if `body` has
/// not returned within `limit_s` seconds (a task waiting for readiness that never
/// comes), naming the progress it had made.
pub fn guarded(name: &str, limit_s: u64, body: fn(Progress)) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let progress = Progress::default();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let p = progress.clone();
    let body = std::thread::spawn(move || {
        body(p);
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(limit_s)) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = body.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{name}: not done after {limit_s} s (progress {}, seed {:#x}): readiness lost?",
            progress.load(SeqCst),
            seed()
        ),
    }
}

pub fn seed() -> u64 {
    let var = std::env::var("IO_LOCALITY_SEED").unwrap_or_default();
    u64::from_str_radix(var.trim_start_matches("0x"), 16).unwrap_or(0x5eed_10ca_1175)
}

/// xorshift64*: a few lines, no dependency, the same sequence on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Byte `off` of connection `conn`'s stream: a lost, duplicated, reordered or
/// foreign chunk shows as a mismatch at a known offset.
pub fn pattern(conn: u64, off: u64) -> u8 {
    ((conn << 40 ^ off).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8
}

pub fn fill(conn: u64, off: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| pattern(conn, off + i)).collect()
}

pub fn check(what: &str, conn: u64, off: u64, buf: &[u8]) {
    if let Some(i) = (0..buf.len()).find(|&i| buf[i] != pattern(conn, off + i as u64)) {
        let at = off + i as u64;
        panic!("{what}: conn {conn}: byte {at} wrong (seed {:#x})", seed());
    }
}

/// Open descriptors: (sockets, the rest: pollers, eventfds, pipes, files).
pub type Fds = (usize, usize);

pub fn fds() -> Fds {
    let (mut sockets, mut other) = (0, 0);
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        match std::fs::read_link(entry.path()) {
            Ok(t) if t.to_string_lossy().starts_with("socket:") => sockets += 1,
            Ok(_) => other += 1,
            Err(_) => {} // closed since the listing (the listing's own)
        }
    }
    (sockets, other)
}

/// [`fds`] once the process-wide services a runtime starts are up. With the
/// `tokio-compat` feature the first worker to start brings up the tokio runtime
/// that every later gorun runtime shares and that lives as long as the process, so
/// a count taken before any runtime ran would charge its descriptors to the
/// runtime under test (whether it did depended on which test ran first).
pub fn fds_after_first_runtime() -> Fds {
    runtime(1).block_on(async { gorun::spawn(async {}).await.unwrap() });
    fds()
}

/// Sockets back to `base` exactly; the runtime's own descriptors may have grown by
/// two per worker (a poller and its waker, made when the worker first needs them).
pub fn assert_fds_back(base: Fds, procs: usize, when: &str) {
    let now = fds();
    let msg = format!("{when}: leaked descriptors: {base:?} -> {now:?}");
    assert_eq!(now.0, base.0, "{msg}");
    assert!(now.1 <= base.1 + 2 * procs, "{msg}");
}

pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit.
pub fn raise_fd_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct we pass, setrlimit reads it.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    lim.rlim_cur as usize
}

pub fn runtime(procs: usize) -> gorun::Runtime {
    gorun::Runtime::builder().procs(procs).build().unwrap()
}

/// Accepts forever, each connection on its own task running `handler`.
pub fn serve<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    gorun::go(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            gorun::go(handler(s));
        }
    });
}

pub async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Echoes until EOF or an error.
pub async fn echo(s: TcpStream) {
    let (mut r, mut w) = s.into_split();
    let _ = gorun::io::copy(&mut r, &mut w).await;
}

/// Waits (1 ms timer sleeps) until `done()`.
pub async fn until(done: impl Fn() -> bool) {
    while !done() {
        sleep(Duration::from_millis(1)).await;
    }
}

/// Nothing, a timer sleep of 0-300 µs, a yield, a hop through the blocking pool
/// or through another task: workers park and unpark, tasks change workers.
pub async fn pause(rng: &mut Rng) {
    match rng.below(8) {
        0 | 1 => {}
        2 | 3 => sleep(Duration::from_micros(rng.below(300))).await,
        4 => gorun::yield_now().await,
        5 => gorun::spawn_blocking(|| ()).await.unwrap(),
        6 => {
            let nap = Duration::from_micros(rng.below(100));
            gorun::spawn_blocking(move || std::thread::sleep(nap))
                .await
                .unwrap();
        }
        _ => gorun::go(async {}).await.unwrap(),
    }
}
