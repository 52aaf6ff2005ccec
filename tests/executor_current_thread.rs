//! The current-thread runtime (`Builder::new_current_thread`, tokio's
//! `current_thread` flavor): tasks, timers and sockets run on the thread in
//! `block_on` and nowhere else; nothing runs between `block_on` calls; wakes from
//! other threads reach a thread asleep in the reactor; a second thread's `block_on`
//! waits for its own future while the first drives; a drop cancels every task once.
//! Also `shutdown_timeout`/`shutdown_background` on both flavors, and the thread
//! hooks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gorun::net::{TcpListener, TcpStream};

fn rt() -> gorun::Runtime {
    gorun::Builder::new_current_thread().build().unwrap()
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The names of this process's threads (Linux), to see which the runtime started.
fn thread_names() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .map(|s| s.trim().to_owned())
        .collect()
}

#[test]
fn tasks_run_on_the_block_on_thread_and_no_worker_starts() {
    let rt = gorun::Builder::new_current_thread()
        .thread_name("ctnothreads")
        .build()
        .unwrap();
    assert_eq!(rt.procs(), 1);
    let here = std::thread::current().id();
    let ids = rt.block_on(async {
        let hs: Vec<_> = (0..100)
            .map(|_| gorun::go(async { std::thread::current().id() }))
            .collect();
        let mut ids = Vec::new();
        for h in hs {
            ids.push(h.await.unwrap());
        }
        ids
    });
    assert!(ids.iter().all(|&id| id == here));
    // Thread names are cut to 15 bytes by Linux: the prefix is shorter.
    assert!(
        !thread_names().iter().any(|n| n.starts_with("ctnothreads")),
        "a current-thread runtime started a thread: {:?}",
        thread_names()
    );
}

#[test]
fn nothing_runs_between_block_ons() {
    let rt = rt();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let h = rt.spawn(async move { r.store(true, Ordering::SeqCst) });
    std::thread::sleep(Duration::from_millis(30));
    assert!(
        !ran.load(Ordering::SeqCst),
        "a task ran with nobody in block_on"
    );
    rt.block_on(h).unwrap();
    assert!(ran.load(Ordering::SeqCst));
    // Spawned from another thread, between two block_ons: queued, then run.
    let handle = rt.handle().clone();
    let h = std::thread::spawn(move || handle.spawn(async { 7 }))
        .join()
        .unwrap();
    assert_eq!(rt.block_on(h).unwrap(), 7);
}

#[test]
fn ping_pong_with_a_task_counts_every_message() {
    rt().block_on(async {
        let (to_task, from_main) = gorun::chan::<u64>(0);
        let (to_main, from_task) = gorun::chan::<u64>(0);
        let echo = gorun::go(async move {
            let mut n = 0u64;
            while let Some(v) = from_main.recv().await {
                to_main.send(v + 1).await.unwrap();
                n += 1;
            }
            n
        });
        let mut sum = 0;
        for i in 0..20_000u64 {
            to_task.send(i).await.unwrap();
            sum += from_task.recv().await.unwrap() - i;
        }
        drop(to_task);
        assert_eq!(sum, 20_000);
        assert_eq!(echo.await.unwrap(), 20_000);
    });
}

#[test]
fn a_wake_from_another_thread_reaches_a_thread_asleep_in_the_reactor() {
    let rt = rt();
    for round in 0..50u32 {
        let (tx, rx) = gorun::chan::<u32>(1);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(200 + u64::from(round) * 20));
            tx.try_send(round).unwrap();
        });
        // A timer far away keeps the thread parked in the reactor, not on a condvar.
        let got = rt.block_on(async {
            gorun::select! {
                v = rx.recv() => v,
                _ = gorun::time::sleep(Duration::from_secs(30)) => None,
            }
        });
        assert_eq!(got, Some(round));
        sender.join().unwrap();
    }
}

#[test]
fn timers_fire_for_the_main_future_and_for_tasks() {
    rt().block_on(async {
        let start = Instant::now();
        let hs: Vec<_> = (1..=20u64)
            .map(|i| {
                gorun::go(async move {
                    gorun::time::sleep(Duration::from_millis(i)).await;
                    i
                })
            })
            .collect();
        gorun::time::sleep(Duration::from_millis(5)).await;
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        assert_eq!(total, 210);
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

#[test]
fn paused_clock_jumps_when_the_thread_is_idle() {
    let rt = gorun::Builder::new_current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    let wall = Instant::now();
    rt.block_on(async {
        let t0 = gorun::time::Instant::now();
        let h = gorun::go(async {
            gorun::time::sleep(Duration::from_secs(3600)).await;
            1
        });
        gorun::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(h.await.unwrap(), 1);
        assert!(t0.elapsed() >= Duration::from_secs(3600));
    });
    assert!(wall.elapsed() < Duration::from_secs(10));
}

#[test]
fn tcp_echo_on_one_thread() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gorun::go(async move {
            let mut served = 0;
            for _ in 0..20 {
                let (conn, _) = listener.accept().await.unwrap();
                let (r, mut w) = conn.into_split();
                futures::io::copy(r, &mut w).await.unwrap();
                served += 1;
            }
            served
        });
        let clients: Vec<_> = (0..20)
            .map(|i| {
                gorun::go(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    let msg = format!("client {i}").into_bytes();
                    c.write_all(&msg).await.unwrap();
                    c.shutdown_std(std::net::Shutdown::Write).unwrap();
                    let mut back = Vec::new();
                    c.read_to_end(&mut back).await.unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), 20);
    });
}

#[test]
fn a_second_block_on_waits_for_its_own_future_while_the_first_drives() {
    let rt = Arc::new(rt());
    let (driving_tx, driving_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = gorun::chan::<u32>(0);
    // The driver: runs the tasks until the other thread is done.
    let driver = {
        let rt = rt.clone();
        std::thread::spawn(move || {
            rt.block_on(async move {
                driving_tx.send(std::thread::current().id()).unwrap();
                done_rx.recv().await.unwrap()
            })
        })
    };
    let driver_id = driving_rx.recv().unwrap();
    rt.block_on(async {
        // This block_on found the core taken: our tasks run on the driving thread.
        let driver_thread = gorun::go(async { std::thread::current().id() });
        assert_eq!(driver_thread.await.unwrap(), driver_id);
        done_tx.send(5).await.unwrap();
    });
    assert_eq!(driver.join().unwrap(), 5);
}

#[test]
fn drop_cancels_every_task_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = rt();
    for _ in 0..100 {
        let guard = CountDrop(drops.clone());
        rt.spawn(async move {
            let _g = guard;
            std::future::pending::<()>().await;
        });
    }
    // Half of them got to run once (and wait), half never ran.
    rt.block_on(gorun::yield_now());
    for _ in 0..100 {
        let guard = CountDrop(drops.clone());
        rt.spawn(async move {
            let _g = guard;
        });
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 200);
}

#[test]
fn procs_above_one_is_an_error() {
    let err = gorun::Builder::new_current_thread()
        .procs(2)
        .build()
        .unwrap_err();
    assert!(matches!(err, gorun::BuildError::CurrentThreadProcs(2)));
    assert!(err.to_string().contains("procs(2)"));
    assert_eq!(
        gorun::Builder::new_current_thread()
            .worker_threads(1)
            .build()
            .unwrap()
            .procs(),
        1
    );
}

/// Random aborts while producers feed the main future: each producer's messages
/// arrive in order, none twice; one that finished delivered all of them, and one
/// that was cancelled delivered every send it saw complete, plus at most the one
/// it was cancelled in (a rendezvous hands the value over before the sender is
/// polled again, as in Go).
#[test]
fn stress_with_random_aborts_counts_every_message() {
    const PRODUCERS: usize = 8;
    let rt = rt();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _round in 0..20 {
        let sent: Arc<Vec<AtomicUsize>> =
            Arc::new((0..PRODUCERS).map(|_| AtomicUsize::new(0)).collect());
        let (tx, rx) = gorun::chan::<u64>((rand() % 4) as usize);
        let mut producers = Vec::new();
        let mut planned = Vec::new();
        for p in 0..PRODUCERS {
            let tx = tx.clone();
            let sent = sent.clone();
            let n = rand() % 200;
            planned.push(n as usize);
            producers.push(rt.spawn(async move {
                for i in 0..n {
                    tx.send((p as u64) << 32 | i).await.unwrap();
                    sent[p].fetch_add(1, Ordering::SeqCst);
                    if i % 7 == 0 {
                        gorun::yield_now().await;
                    }
                }
            }));
        }
        drop(tx);
        let abort_after = (rand() % 300) as usize;
        let victims: Vec<_> = producers
            .iter()
            .filter(|_| rand() % 3 == 0)
            .map(|h| h.abort_handle())
            .collect();
        let received = rt.block_on(async move {
            let mut got = Vec::new();
            while let Some(v) = rx.recv().await {
                got.push(v);
                if got.len() == abort_after {
                    for v in &victims {
                        v.abort();
                    }
                }
            }
            got
        });
        let mut delivered = [0usize; PRODUCERS];
        for v in &received {
            let (p, i) = ((v >> 32) as usize, (v & 0xffff_ffff) as usize);
            assert_eq!(
                i, delivered[p],
                "producer {p}: lost, repeated or out of order"
            );
            delivered[p] += 1;
        }
        // The channel is closed, so every producer finished or was cancelled.
        let outcomes = rt.block_on(async {
            let mut out = Vec::new();
            for h in producers {
                out.push(h.await);
            }
            out
        });
        for (p, outcome) in outcomes.into_iter().enumerate() {
            let seen = sent[p].load(Ordering::SeqCst);
            match outcome {
                Ok(()) => assert_eq!((delivered[p], seen), (planned[p], planned[p])),
                Err(e) => {
                    assert!(e.is_cancelled());
                    assert!(
                        delivered[p] == seen || delivered[p] == seen + 1,
                        "producer {p}: {seen} sends completed, {} delivered",
                        delivered[p]
                    );
                }
            }
        }
    }
    assert_eq!(rt.num_tasks(), 0);
}

#[test]
fn shutdown_timeout_leaves_a_stuck_blocking_closure_behind() {
    for current in [true, false] {
        let builder = if current {
            gorun::Builder::new_current_thread()
        } else {
            gorun::Builder::new_multi_thread().procs(2)
        };
        let rt = builder.build().unwrap();
        let release = Arc::new(AtomicBool::new(false));
        let r = release.clone();
        let drops = Arc::new(AtomicUsize::new(0));
        let guard = CountDrop(drops.clone());
        rt.spawn(async move {
            let _g = guard;
            std::future::pending::<()>().await;
        });
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            while !r.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        started_rx.recv().unwrap();
        let start = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(100),
            "returned before the deadline"
        );
        assert!(
            took < Duration::from_secs(5),
            "waited for the stuck closure"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the task was not cancelled"
        );
        release.store(true, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_background_returns_at_once() {
    let rt = gorun::Builder::new_multi_thread().procs(2).build().unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        while !r.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    started_rx.recv().unwrap();
    let start = Instant::now();
    rt.shutdown_background();
    assert!(start.elapsed() < Duration::from_secs(5));
    release.store(true, Ordering::SeqCst);
}

#[test]
fn thread_hooks_run_on_every_thread_the_runtime_starts() {
    let started = Arc::new(Mutex::new(Vec::new()));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (started.clone(), stopped.clone());
    let rt = gorun::Builder::new_multi_thread()
        .procs(2)
        .thread_name("hooked")
        .on_thread_start(move || {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            s.lock().unwrap().push(name);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    rt.block_on(rt.spawn_blocking(|| ())).unwrap();
    drop(rt);
    let mut names = started.lock().unwrap().clone();
    names.sort();
    assert_eq!(names, ["hooked-0", "hooked-1", "hooked-blocking-0"]);
    assert_eq!(stopped.load(Ordering::SeqCst), 3);
}
