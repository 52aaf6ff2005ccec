//! `mixed`: one streaming connection beside many request/response connections whose
//! server burns CPU on some requests, on each runtime. The client marks a request
//! heavy in its first byte (every `heavy_every`th of a connection, staggered over
//! the connections); the server burns `BURN` on those and echoes every request.

use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::common::{gorun_rt, tokio_rt, workers};

pub const BURN: Duration = Duration::from_millis(5);
const MSG: usize = 64;
const CHUNK: usize = 64 * 1024;

#[derive(Clone, Copy)]
pub struct Config {
    pub secs: Duration,
    /// Request/response connections.
    pub conns: usize,
    /// Every this many requests of a connection burns `BURN` on the server.
    pub heavy_every: u64,
    /// A client pauses a uniform 0..=this after each reply.
    pub think_max: Duration,
}

/// What one runtime (or one monoio thread) measured.
#[derive(Default)]
pub struct Outcome {
    /// Light requests' round trips, in microseconds.
    pub light_us: Vec<u32>,
    pub stream_bytes: u64,
    pub stream_secs: f64,
}

fn is_heavy(cfg: &Config, conn: usize, req: u64) -> bool {
    (req + conn as u64) % cfg.heavy_every.max(1) == 0
}

/// The server's CPU burn: a spin on `Instant::now()`, holding its thread.
fn burn() {
    let start = Instant::now();
    while start.elapsed() < BURN {
        std::hint::spin_loop();
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// SplitMix64, seeded per connection: the same pauses on every runtime.
struct Rng(u64);

impl Rng {
    fn think(&mut self, max: Duration) -> Duration {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Duration::from_micros((z ^ (z >> 31)) % (max.as_micros() as u64 + 1))
    }
}

/// The mixed load on a poll-based runtime whose API has tokio's shape (gorun and
/// tokio), all connections on one scheduler.
macro_rules! poll_mixed {
    ($name:ident, $rt:ident) => {
        mod $name {
            use super::*;
            use $rt::io::{AsyncReadExt, AsyncWriteExt};
            use $rt::net::{TcpListener, TcpStream};

            async fn rr_server(mut s: TcpStream) {
                let mut buf = [0u8; MSG];
                while s.read_exact(&mut buf).await.is_ok() {
                    if buf[0] == 1 {
                        burn();
                    }
                    if s.write_all(&buf).await.is_err() {
                        break;
                    }
                }
            }

            async fn rr_client(mut c: TcpStream, conn: usize, cfg: Config, deadline: Instant) -> Vec<u32> {
                let (mut rng, mut lat) = (Rng(conn as u64), Vec::new());
                let (mut req, mut rep) = ([0u8; MSG], [0u8; MSG]);
                let mut n = 0;
                // A staggered start: 1,000 first requests at once would measure the
                // burst, not the steady load.
                $rt::time::sleep(rng.think(cfg.think_max)).await;
                while Instant::now() < deadline {
                    let heavy = is_heavy(&cfg, conn, n);
                    n += 1;
                    req[0] = u8::from(heavy);
                    let t = Instant::now();
                    c.write_all(&req).await.unwrap();
                    c.read_exact(&mut rep).await.unwrap();
                    if !heavy {
                        lat.push(micros(t.elapsed()));
                    }
                    $rt::time::sleep(rng.think(cfg.think_max)).await;
                }
                lat
            }

            async fn stream_server(mut s: TcpStream) {
                let mut buf = vec![0u8; CHUNK];
                while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
            }

            async fn stream_client(mut c: TcpStream, deadline: Instant) -> (u64, Duration) {
                let (chunk, start, mut sent) = (vec![1u8; CHUNK], Instant::now(), 0);
                while Instant::now() < deadline {
                    c.write_all(&chunk).await.unwrap();
                    sent += CHUNK as u64;
                }
                (sent, start.elapsed())
            }

            pub async fn run(cfg: Config) -> Outcome {
                let rr = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let st = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let (rr_addr, st_addr): (SocketAddr, SocketAddr) =
                    (rr.local_addr().unwrap(), st.local_addr().unwrap());
                $rt::spawn(async move {
                    while let Ok((s, _)) = rr.accept().await {
                        s.set_nodelay(true).unwrap();
                        $rt::spawn(rr_server(s));
                    }
                });
                $rt::spawn(async move {
                    if let Ok((s, _)) = st.accept().await {
                        stream_server(s).await;
                    }
                });
                let mut clients = Vec::with_capacity(cfg.conns);
                for _ in 0..cfg.conns {
                    let c = TcpStream::connect(rr_addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    clients.push(c);
                }
                let stream = TcpStream::connect(st_addr).await.unwrap();

                let deadline = Instant::now() + cfg.secs;
                let st = $rt::spawn(stream_client(stream, deadline));
                let hs: Vec<_> = clients
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| $rt::spawn(rr_client(c, i, cfg, deadline)))
                    .collect();
                let mut out = Outcome::default();
                for h in hs {
                    out.light_us.extend(h.await.unwrap());
                }
                let (bytes, t) = st.await.unwrap();
                (out.stream_bytes, out.stream_secs) = (bytes, t.as_secs_f64());
                out
            }
        }
    };
}

poll_mixed!(on_gorun, gorun);
poll_mixed!(on_tokio, tokio);

pub fn gorun(cfg: &Config) -> Outcome {
    gorun_rt().run(on_gorun::run(*cfg))
}

pub fn tokio(cfg: &Config) -> Outcome {
    let cfg = *cfg;
    tokio_rt().block_on(async move { tokio::spawn(on_tokio::run(cfg)).await.unwrap() })
}

mod on_monoio {
    use super::*;
    use monoio::io::{AsyncReadRent, AsyncReadRentExt, AsyncWriteRentExt};
    use monoio::net::{TcpListener, TcpStream};

    async fn rr_server(mut s: TcpStream) {
        let mut buf: Box<[u8]> = vec![0u8; MSG].into();
        loop {
            let (r, b) = s.read_exact(buf).await;
            if r.is_err() {
                break;
            }
            if b[0] == 1 {
                burn();
            }
            let (r, b) = s.write_all(b).await;
            buf = b;
            if r.is_err() {
                break;
            }
        }
    }

    async fn rr_client(mut c: TcpStream, conn: usize, cfg: Config, deadline: Instant) -> Vec<u32> {
        let (mut rng, mut lat) = (Rng(conn as u64), Vec::new());
        let mut req: Box<[u8]> = vec![0u8; MSG].into();
        let mut rep: Box<[u8]> = vec![0u8; MSG].into();
        let mut n = 0;
        monoio::time::sleep(rng.think(cfg.think_max)).await; // staggered, as above
        while Instant::now() < deadline {
            let heavy = is_heavy(&cfg, conn, n);
            n += 1;
            req[0] = u8::from(heavy);
            let t = Instant::now();
            let (r, b) = c.write_all(req).await;
            r.unwrap();
            req = b;
            let (r, b) = c.read_exact(rep).await;
            r.unwrap();
            rep = b;
            if !heavy {
                lat.push(micros(t.elapsed()));
            }
            monoio::time::sleep(rng.think(cfg.think_max)).await;
        }
        lat
    }

    async fn stream_server(mut s: TcpStream) {
        let mut buf: Box<[u8]> = vec![0u8; CHUNK].into();
        loop {
            let (r, b) = s.read(buf).await;
            buf = b;
            if !matches!(r, Ok(n) if n > 0) {
                break;
            }
        }
    }

    async fn stream_client(mut c: TcpStream, deadline: Instant) -> (u64, Duration) {
        let (mut chunk, start, mut sent) = (vec![1u8; CHUNK], Instant::now(), 0);
        while Instant::now() < deadline {
            let (r, b) = c.write_all(chunk).await;
            r.unwrap();
            chunk = b;
            sent += CHUNK as u64;
        }
        (sent, start.elapsed())
    }

    /// One thread: its own listener and the request connections `ids`, plus the
    /// stream if `stream`; starts the clock when every thread is connected.
    pub async fn run(ids: Vec<usize>, stream: bool, cfg: Config, go: &Barrier) -> Outcome {
        let rr = TcpListener::bind("127.0.0.1:0").unwrap();
        let rr_addr: SocketAddr = rr.local_addr().unwrap();
        monoio::spawn(async move {
            while let Ok((s, _)) = rr.accept().await {
                s.set_nodelay(true).unwrap();
                monoio::spawn(rr_server(s));
            }
        });
        let mut clients = Vec::with_capacity(ids.len());
        for i in ids {
            let c = TcpStream::connect(rr_addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            clients.push((i, c));
        }
        let mut stream_conn = None;
        if stream {
            let st = TcpListener::bind("127.0.0.1:0").unwrap();
            let st_addr = st.local_addr().unwrap();
            monoio::spawn(async move {
                if let Ok((s, _)) = st.accept().await {
                    stream_server(s).await;
                }
            });
            stream_conn = Some(TcpStream::connect(st_addr).await.unwrap());
        }

        go.wait();
        let deadline = Instant::now() + cfg.secs;
        let st = stream_conn.map(|c| monoio::spawn(stream_client(c, deadline)));
        let hs: Vec<_> = clients
            .into_iter()
            .map(|(i, c)| monoio::spawn(rr_client(c, i, cfg, deadline)))
            .collect();
        let mut out = Outcome::default();
        for h in hs {
            out.light_us.extend(h.await);
        }
        if let Some(st) = st {
            let (bytes, t) = st.await;
            (out.stream_bytes, out.stream_secs) = (bytes, t.as_secs_f64());
        }
        out
    }
}

/// monoio thread-per-core with the legacy (epoll) driver: connection `i` on thread
/// `i % workers()`, the stream on thread 0.
pub fn monoio(cfg: &Config) -> Outcome {
    let n = workers();
    let go = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|t| {
            let (go, cfg) = (go.clone(), *cfg);
            let ids: Vec<usize> = (t..cfg.conns).step_by(n).collect();
            std::thread::spawn(move || {
                let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                    .enable_timer()
                    .build()
                    .expect("monoio legacy runtime");
                rt.block_on(on_monoio::run(ids, t == 0, cfg, &go))
            })
        })
        .collect();
    let mut all = Outcome::default();
    for t in threads {
        let out = t.join().unwrap();
        all.light_us.extend(out.light_us);
        all.stream_bytes += out.stream_bytes;
        all.stream_secs += out.stream_secs;
    }
    all
}
