//! Guards the reactor's readiness delivery at the edges of a worker's life: the
//! runtime dropped while tasks wait on sockets registered from different workers,
//! workers hogged by polls that never yield, and wake-ups from a plain thread while
//! every worker is parked (see `io_locality.rs` for the harness and the rest).
#![cfg(target_os = "linux")]

use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::io::{AsyncReadExt, AsyncWriteExt};
use gorun::net::TcpStream;
use gorun::time::sleep;

#[path = "common/io_support.rs"]
mod io_support;
use io_support::*;

// ---- 4: runtime shutdown with tasks blocked on sockets ---------------------------

/// procs 4: tasks blocked in `read` (sockets made on one task, read on another),
/// in `write` (to a peer outside the runtime that never reads) and in `accept` when
/// the runtime drops. The drop returns within 2 s, every descriptor the runtime
/// held is closed (its own too), and peers outside the runtime see EOF.
#[test]
fn runtime_drop_with_tasks_blocked_on_sockets_closes_everything() {
    guarded("runtime_drop_with_tasks_blocked_on_sockets", 30, t4);
}

fn t4(progress: Progress) {
    let outside = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let outside_addr = outside.local_addr().unwrap();
    let before = fds_after_first_runtime();
    let rt = runtime(4);
    static BLOCKED: AtomicUsize = AtomicUsize::new(0);
    let blocked = || BLOCKED.fetch_add(1, SeqCst);
    let outside = &outside;
    let peers: Vec<std::net::TcpStream> = rt.block_on(async move {
        let (listener, addr) = bind().await;
        serve(listener, move |mut s| async move {
            blocked();
            let _ = s.read(&mut [0; 16]).await;
            unreachable!("nobody writes to the accepted sockets");
        });
        let (tx, rx) = gorun::chan::<TcpStream>(0);
        for _ in 0..16 {
            let (tx, rx) = (tx.clone(), rx.clone());
            gorun::go(async move { tx.send(TcpStream::connect(addr).await.unwrap()).await });
            gorun::go(async move {
                let mut c = rx.recv().await.unwrap();
                blocked();
                let _ = c.read(&mut [0; 16]).await;
                unreachable!("nobody writes to the clients");
            });
        }
        for _ in 0..8 {
            gorun::go(async move {
                let mut c = TcpStream::connect(outside_addr).await.unwrap();
                blocked();
                let chunk = vec![7; 64 * 1024];
                loop {
                    c.write_all(&chunk).await.unwrap();
                }
            });
        }
        let (idle, _) = bind().await;
        gorun::go(async move {
            blocked();
            let _ = idle.accept().await;
            unreachable!("nobody connects");
        });
        let connect = |_| std::net::TcpStream::connect(addr).unwrap();
        let mut peers: Vec<_> = (0..8).map(connect).collect();
        peers.extend((0..8).map(|_| outside.accept().unwrap().0));
        until(|| {
            progress.store(BLOCKED.load(SeqCst), SeqCst);
            progress.load(SeqCst) == 16 + 16 + 8 + 8 + 1
        })
        .await;
        sleep(Duration::from_millis(50)).await; // workers park, writers fill buffers
        peers
    });
    let t = Instant::now();
    drop(rt);
    let took = t.elapsed();
    assert!(took.as_secs() < 2, "dropping the runtime took {took:?}");
    let (now, want) = (fds(), (before.0 + peers.len(), before.1));
    assert_eq!(now, want, "(sockets, other fds) left open by the runtime");
    for (i, mut p) in peers.into_iter().enumerate() {
        p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        match p.read_to_end(&mut Vec::new()) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("outside peer {i}: {e} instead of EOF"),
        }
    }
    assert_eq!(fds(), before);
}

// ---- 5: workers hogged by tasks that never yield ---------------------------------

/// procs 4: while two workers are stuck in polls that do not yield (200 ms each,
/// three times), every one of 8 ping-pong connections keeps moving (at least 3
/// round trips; unhindered ones make thousands): readiness of sockets registered on
/// a hogged worker reaches its tasks, and tasks queued there are stolen.
#[test]
fn readiness_reaches_tasks_while_workers_are_hogged() {
    guarded("readiness_reaches_tasks_while_workers_are_hogged", 30, t5);
}

const PAIRS: usize = 8;

fn t5(progress: Progress) {
    let quiet = gorun::Runtime::builder().on_blocking_poll(|_| {}); // hogs on purpose
    let rt = quiet.procs(4).build().unwrap();
    rt.block_on(async move {
        let (listener, addr) = bind().await;
        serve(listener, echo);
        let trips: Arc<[AtomicU64; PAIRS]> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..PAIRS)
            .map(|k| {
                let (trips, stop, progress) = (trips.clone(), stop.clone(), progress.clone());
                gorun::go(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    let mut b = [k as u8; 8];
                    while !stop.load(SeqCst) {
                        c.write_all(&b).await.unwrap();
                        c.read_exact(&mut b).await.unwrap();
                        assert_eq!(b, [k as u8; 8]);
                        trips[k].fetch_add(1, SeqCst);
                        progress.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        let snapshot = |t: &[AtomicU64; PAIRS]| t.each_ref().map(|n| n.load(SeqCst));
        until(|| snapshot(&trips).iter().all(|&n| n >= 20)).await;
        for rep in 0..3 {
            let hog = || {
                let trips = trips.clone();
                gorun::go(async move {
                    let (start, t) = (snapshot(&trips), Instant::now());
                    while t.elapsed() < Duration::from_millis(200) {
                        std::hint::spin_loop();
                    }
                    (start, snapshot(&trips))
                })
            };
            for h in [hog(), hog()] {
                let (start, end) = h.await.unwrap();
                let moved: Vec<u64> = (0..PAIRS).map(|k| end[k] - start[k]).collect();
                let msg = format!("rep {rep}: round trips per connection during a hog");
                assert!(moved.iter().all(|&n| n >= 3), "{msg}: {moved:?}");
            }
        }
        stop.store(true, SeqCst);
        for c in clients {
            c.await.unwrap();
        }
    });
}

// ---- 6: wake-ups from outside while every worker is parked -----------------------

/// procs 4: a plain thread writes one byte to each of 32 sockets, in a random
/// order, after pauses (0-5 ms) that let every worker park; gorun tasks waiting in
/// `read` echo it. 40 rounds; each byte comes back, once, within 5 s.
#[test]
fn wakes_from_a_plain_thread_reach_parked_workers() {
    guarded("wakes_from_a_plain_thread_reach_parked_workers", 30, t6);
}

fn t6(progress: Progress) {
    runtime(4).block_on(async move {
        let (listener, addr) = bind().await;
        serve(listener, echo);
        let driver = move || {
            let connect = |_| std::net::TcpStream::connect(addr).unwrap();
            let mut peers: Vec<_> = (0..32).map(connect).collect();
            let mut rng = Rng::new(seed() ^ 0x61);
            let mut order: Vec<usize> = (0..peers.len()).collect();
            for round in 0..40u8 {
                std::thread::sleep(Duration::from_micros(rng.below(5000)));
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                for &k in &order {
                    peers[k].write_all(&[round]).unwrap();
                    if rng.below(8) == 0 {
                        std::thread::sleep(Duration::from_micros(rng.below(500)));
                    }
                }
                for (k, p) in peers.iter_mut().enumerate() {
                    p.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut b = [0; 1];
                    p.read_exact(&mut b)
                        .unwrap_or_else(|e| panic!("round {round} conn {k}: {e}"));
                    assert_eq!(b[0], round, "round {round} conn {k}");
                }
                progress.fetch_add(1, SeqCst);
            }
            for mut p in peers {
                p.shutdown(std::net::Shutdown::Write).unwrap();
                let mut rest = Vec::new();
                p.read_to_end(&mut rest).unwrap();
                assert!(rest.is_empty(), "bytes echoed twice: {rest:?}");
            }
        };
        // On the blocking pool: the plain thread's calls block, the workers stay free.
        gorun::spawn_blocking(driver).await.unwrap();
    });
}
