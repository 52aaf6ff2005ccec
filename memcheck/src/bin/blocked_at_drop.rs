//! Tasks blocked at the moment a multi-worker runtime is dropped.
//!
//! A two-worker runtime gets tasks parked on every kind of wait gorun has: channel
//! receives and sends (unbuffered, and buffered with the buffer full of values that
//! own heap memory), `select!` over several channels, a send case and timers
//! (`after`, `tick`, a `sleep` future arm), long sleeps and a `Timer`, TCP accept
//! and read over loopback, a `JoinHandle` of another blocked task; plus tasks
//! spawned but never polled (queued behind workers busy in a poll, and spawned by a
//! destructor while the runtime shuts down). The task dump must show each parked on
//! what it should be. Then the runtime is dropped.
//!
//! What must hold: the drop returns; every value a task owned (a counted `Guard`,
//! the clones of an `Arc`, sockets, channel buffers, timers) was freed exactly once;
//! the tasks spawned during shutdown were never polled; the `JoinHandle`s that
//! outlive the runtime report cancellation; and memcheck sees no error and no
//! definitely lost block.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gorun::io::AsyncReadExt;
use gorun::net::{TcpListener, TcpStream};
use gorun::time::{after, sleep, tick, Timer};
use gorun::{chan, select, Handle, JoinHandle, Runtime, WaitReason};
use gorun_memcheck::{after_runtime, report, wait_for_waits, wait_until, Guard, Tracker, HOUR};

/// Pairs of tasks per channel shape (each pair: one blocked receiving, one sending).
const PAIRS: usize = 12;
const SELECTS: usize = 20;
const SLEEPERS: usize = 20;
const LISTENERS: usize = 4;
const READERS: usize = 8;
const JOINERS: usize = 12;
const QUEUED: usize = 40;
const SPAWNED_IN_SHUTDOWN: usize = 30;

/// Spawns a task from its destructor, which shutdown runs: that task must be
/// dropped without ever being polled.
struct SpawnOnDrop {
    handle: Handle,
    tracker: Tracker,
    polled: Arc<AtomicUsize>,
}

impl Drop for SpawnOnDrop {
    fn drop(&mut self) {
        let g = self.tracker.guard("spawned during shutdown");
        let polled = self.polled.clone();
        let h = self.handle.spawn(async move {
            polled.fetch_add(1, SeqCst);
            let _g = g;
            std::future::pending::<()>().await
        });
        drop(h);
    }
}

fn main() {
    let tracker = Tracker::new();
    let shared = Arc::new(String::from("shared by every task"));
    let rt = Runtime::builder()
        .procs(2)
        .on_blocking_poll(|_| {}) // the hogs below block their worker on purpose
        .build()
        .expect("runtime");
    let mut kept: Vec<JoinHandle<()>> = Vec::new();
    let mut spawned = 0usize;

    // Channel pairs, cross-linked so that neither side can ever proceed: the
    // receiver R waits on channel X and keeps Y's receiver alive; the sender S
    // waits to send on Y (its buffer already full) and keeps X's sender alive.
    for (xcap, ycap) in [(0, 0), (3, 4), (0, 2), (1, 0)] {
        for i in 0..PAIRS {
            let (x_tx, x_rx) = chan::<Guard>(xcap);
            let (y_tx, y_rx) = chan::<(Guard, String)>(ycap);
            for k in 0..ycap {
                y_tx.try_send((tracker.guard("buffered"), format!("parked value {k}")))
                    .expect("the buffer has room");
            }
            let (g, s) = (tracker.guard("receiver"), shared.clone());
            kept.push(rt.spawn(async move {
                let _own = (g, s, y_rx);
                let v = x_rx.recv().await;
                unreachable!("the receive completed: {v:?}");
            }));
            let (g, s) = (tracker.guard("sender"), shared.clone());
            let value = (tracker.guard("in the send"), format!("send of pair {i}"));
            rt.spawn(async move {
                let _own = (g, s, x_tx);
                let r = y_tx.send(value).await;
                unreachable!("the send completed: {:?}", r.is_ok());
            });
            spawned += 2;
        }
    }

    // select! over two receives, a send, and three timers that never fire.
    for _ in 0..SELECTS {
        let (a_tx, a_rx) = chan::<Guard>(0);
        let (b_tx, b_rx) = chan::<Guard>(2);
        let (c_tx, c_rx) = chan::<Guard>(0);
        b_tx.try_send(tracker.guard("select buffer")).unwrap();
        b_tx.try_send(tracker.guard("select buffer")).unwrap();
        let (g, s) = (tracker.guard("select"), shared.clone());
        let value = tracker.guard("select send value");
        let value_b = tracker.guard("select send value (full buffer)");
        rt.spawn(async move {
            let _own = (g, s, &a_tx, &c_rx, b_rx);
            // `b` is full and nobody receives from it: a send case on it blocks too.
            select! {
                recv(a_rx) -> v => unreachable!("a: {v:?}"),
                send(c_tx, value) -> r => unreachable!("c: {:?}", r.is_ok()),
                send(b_tx, value_b) -> r => unreachable!("b: {:?}", r.is_ok()),
                recv(after(HOUR)) -> v => unreachable!("after: {v:?}"),
                recv(tick(HOUR)) -> v => unreachable!("tick: {v:?}"),
                _ = sleep(HOUR) => unreachable!("sleep"),
            }
        });
        spawned += 1;
    }

    // Long sleeps, and Go-style timers that never fire.
    for i in 0..SLEEPERS {
        let (g, s) = (tracker.guard("sleeper"), shared.clone());
        rt.spawn(async move {
            let _own = (g, s);
            if i % 2 == 0 {
                sleep(HOUR).await;
            } else {
                let t = Timer::new(HOUR);
                let v = t.c().recv().await;
                unreachable!("the timer fired: {v:?}");
            }
        });
        spawned += 1;
    }

    // Sockets: listeners blocked in accept; streams blocked in read, each task
    // owning both ends of its connection (so no EOF comes). One client is kept by
    // this thread and dropped only after the runtime.
    let (servers, clients, kept_client) = rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().unwrap();
        let mut servers = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..READERS {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
            servers.push(l.accept().await.expect("accept").0);
        }
        let kept_client = TcpStream::connect(addr).await.expect("connect");
        let _ = l.accept().await.expect("accept");
        (servers, clients, kept_client)
    });
    for _ in 0..LISTENERS {
        let (g, s) = (tracker.guard("acceptor"), shared.clone());
        rt.spawn(async move {
            let _own = (g, s);
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let r = l.accept().await;
            unreachable!("accepted: {:?}", r.is_ok());
        });
        spawned += 1;
    }
    for (mut server, client) in servers.into_iter().zip(clients) {
        let (g, s) = (tracker.guard("reader"), shared.clone());
        kept.push(rt.spawn(async move {
            let _own = (g, s, client);
            let mut buf = vec![0u8; 4096];
            let r = server.read(&mut buf).await;
            unreachable!("read returned: {r:?}");
        }));
        spawned += 1;
    }

    // Tasks awaiting the JoinHandle of another blocked task.
    for _ in 0..JOINERS {
        let (g, s) = (tracker.guard("joiner"), shared.clone());
        let (ig, is) = (tracker.guard("joined"), shared.clone());
        rt.spawn(async move {
            let _own = (g, s);
            let inner = gorun::go(async move {
                let _own = (ig, is);
                let (_tx, rx) = chan::<u8>(0);
                rx.recv().await
            });
            let r = inner.await;
            unreachable!("the joined task finished: {r:?}");
        });
        spawned += 2;
    }

    // Tasks whose drop at shutdown spawns a task.
    let polled_in_shutdown = Arc::new(AtomicUsize::new(0));
    for _ in 0..SPAWNED_IN_SHUTDOWN {
        let spawner = SpawnOnDrop {
            handle: rt.handle().clone(),
            tracker: tracker.clone(),
            polled: polled_in_shutdown.clone(),
        };
        rt.spawn(async move {
            let _own = spawner;
            std::future::pending::<()>().await
        });
        spawned += 1;
    }

    let n = PAIRS * 4;
    wait_for_waits(
        rt.handle(),
        &[
            // The joined tasks, and the `Timer` sleepers (on the timer's channel).
            (WaitReason::ChanRecv, n + JOINERS + SLEEPERS / 2),
            (WaitReason::ChanSend, n),
            (WaitReason::Select, SELECTS),
            (WaitReason::Sleep, SLEEPERS / 2),
            (WaitReason::IoAccept, LISTENERS),
            (WaitReason::IoRead, READERS),
            (WaitReason::Join, JOINERS),
            (WaitReason::Other, SPAWNED_IN_SHUTDOWN),
        ],
    );
    assert_eq!(rt.num_tasks(), spawned, "every task is alive and blocked");

    // Both workers busy in a poll (a hog each), then tasks queued behind them.
    let hogging = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(false));
    for _ in 0..2 {
        let (hogging, release) = (hogging.clone(), release.clone());
        let g = tracker.guard("hog");
        rt.spawn(async move {
            let _g = g;
            hogging.fetch_add(1, SeqCst);
            while !release.load(SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::future::pending::<()>().await
        });
    }
    wait_until("both workers hogged", || hogging.load(SeqCst) == 2);
    let polled_queued = Arc::new(AtomicUsize::new(0));
    for i in 0..QUEUED {
        let (g, p) = (tracker.guard(format!("queued {i}")), polled_queued.clone());
        rt.spawn(async move {
            p.fetch_add(1, SeqCst);
            let _g = g;
            std::future::pending::<()>().await
        });
    }
    assert_eq!(
        polled_queued.load(SeqCst),
        0,
        "queued tasks ran on hogged workers"
    );
    // The hogs let go a little after the drop has begun (the drop joins the
    // workers, so it cannot return before).
    let releaser = {
        let release = release.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            release.store(true, SeqCst);
        })
    };

    let made = tracker.made();
    drop(rt);
    releaser.join().unwrap();

    drop(kept_client);
    assert_eq!(
        polled_in_shutdown.load(SeqCst),
        0,
        "a task spawned during shutdown ran"
    );
    assert_eq!(
        tracker.made(),
        made + SPAWNED_IN_SHUTDOWN,
        "each shutdown-time destructor spawned its task"
    );
    assert_eq!(Arc::strong_count(&shared), 1, "a task's Arc clone leaked");
    let handles = kept.len();
    after_runtime(async move {
        for h in kept {
            let e = h.await.expect_err("a blocked task finished");
            assert!(e.is_cancelled(), "{e}");
        }
    });
    tracker.assert_all_dropped("after the runtime drop");
    report(
        "blocked_at_drop",
        format_args!(
            "{spawned} blocked + 2 hogs + {QUEUED} queued ({} polled) + {SPAWNED_IN_SHUTDOWN} \
             spawned in shutdown; {} values freed; {handles} handles cancelled",
            polled_queued.load(SeqCst),
            tracker.made()
        ),
    );
}
