//! Channels closed with values in flight, timers that lose and are dropped, the
//! blocking pool at shutdown, and the current-thread runtime.
//!
//! Channels: a buffered channel closed with values in it (drained, then `None`;
//! later sends fail with their value back), a channel whose two ends are dropped
//! with values buffered, senders blocked on a full buffer when the last receiver
//! goes, receivers blocked when the channel closes. `select!` loops in which
//! `after`, `tick` and `sleep` cases lose to a channel and are dropped every round,
//! and loops in which `after`/`tick` win. `Ticker` and `Timer` `stop`/`reset`,
//! `interval`, `after_func` fired, stopped, and pending at the runtime's drop.
//! `spawn_blocking` closures finished, and running or queued when the runtime is
//! dropped (one blocking thread). A current-thread runtime: `block_on` with tasks,
//! channels and timers, then dropped with tasks blocked and tasks never polled.
//!
//! What must hold: no value is lost or duplicated (each comes out of a channel
//! once, or back from a failed send, or is freed with the channel); a lost timer
//! case never fires and a stopped or reset timer delivers no stale value; a queued
//! blocking closure either ran or was dropped unrun, and its `JoinHandle` says
//! which; every value is freed exactly once; and memcheck sees no error and no
//! definitely lost block.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gorun::time::{after, after_func, interval, sleep, tick, Ticker, Timer};
use gorun::{chan, go, select, Builder, Runtime, TryRecvError, WaitReason};
use gorun_memcheck::{
    after_runtime, report, tally, wait_for_waits, wait_until, Guard, Tracker, HOUR,
};

const MS: Duration = Duration::from_millis(1);

/// Sends on a std channel when dropped: lets a blocking closure end when the
/// runtime's shutdown drops the task that owns this.
struct ReleaseOnDrop(std::sync::mpsc::Sender<()>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

fn main() {
    let tracker = Tracker::new();
    let rt = Runtime::builder()
        .procs(2)
        .max_blocking_threads(1)
        .on_blocking_poll(|_| {})
        .build()
        .expect("runtime");

    // 1. Closed with values in flight.
    rt.block_on(async {
        let (tx, rx) = chan::<Guard>(8);
        for i in 0..5 {
            tx.send(tracker.guard(format!("in flight {i}")))
                .await
                .unwrap();
        }
        assert!(tx.close());
        let back = tx.send(tracker.guard("after close")).await.unwrap_err();
        assert_eq!(back.into_inner().tag(), "after close");
        for i in 0..5 {
            assert_eq!(rx.recv().await.unwrap().tag(), format!("in flight {i}"));
        }
        assert!(rx.recv().await.is_none());

        // Both ends dropped with values buffered: the values are freed.
        let (tx, rx) = chan::<Guard>(8);
        for _ in 0..6 {
            tx.try_send(tracker.guard("buffered, never received"))
                .unwrap();
        }
        drop((tx, rx));
        tracker.assert_live(0, "a dropped channel's buffer");

        // Senders blocked on a full buffer when the last receiver goes: each send
        // fails with its own value back, and the buffered values are freed.
        let (tx, rx) = chan::<Guard>(2);
        tx.try_send(tracker.guard("full 0")).unwrap();
        tx.try_send(tracker.guard("full 1")).unwrap();
        let senders: Vec<_> = (0..10)
            .map(|i| {
                let (tx, g) = (tx.clone(), tracker.guard(format!("blocked sender {i}")));
                go(async move { tx.send(g).await.unwrap_err().into_inner() })
            })
            .collect();
        while rt_blocked(WaitReason::ChanSend) < 10 {
            sleep(MS).await;
        }
        drop(rx);
        for (i, h) in senders.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().tag(), format!("blocked sender {i}"));
        }
        tracker.assert_live(0, "the blocked senders' values");

        // Receivers blocked when the channel closes (unbuffered and buffered).
        for cap in [0, 3] {
            let (tx, rx) = chan::<Guard>(cap);
            let receivers: Vec<_> = (0..10)
                .map(|_| {
                    let rx = rx.clone();
                    go(async move { rx.recv().await })
                })
                .collect();
            while rt_blocked(WaitReason::ChanRecv) < 10 {
                sleep(MS).await;
            }
            tx.close();
            for h in receivers {
                assert!(h.await.unwrap().is_none());
            }
        }
    });

    // 2. select! loops: timers that lose every round, then timers that win.
    const ROUNDS: usize = 200;
    let (timed_out, ticked) = rt.block_on(async {
        let (tx, rx) = chan::<Guard>(0);
        let t = tracker.clone();
        let producer = go(async move {
            for i in 0..ROUNDS {
                tx.send(t.guard(format!("round {i}"))).await.unwrap();
                if i % 20 == 0 {
                    gorun::yield_now().await;
                }
            }
        });
        let mut got = 0;
        loop {
            select! {
                recv(rx) -> v => match v {
                    Some(g) => {
                        assert_eq!(g.tag(), format!("round {got}"));
                        got += 1;
                    }
                    None => break,
                },
                recv(after(HOUR)) -> v => unreachable!("after(1h) fired: {v:?}"),
                recv(tick(HOUR)) -> v => unreachable!("tick(1h) ticked: {v:?}"),
                _ = sleep(HOUR) => unreachable!("sleep(1h) elapsed"),
            }
        }
        assert_eq!(got, ROUNDS);
        producer.await.unwrap();

        let (_tx, never) = chan::<Guard>(0);
        let mut timed_out = 0;
        for _ in 0..20 {
            select! {
                recv(never) -> v => unreachable!("{v:?}"),
                recv(after(MS)) -> v => {
                    assert!(v.is_some());
                    timed_out += 1;
                }
                recv(after(HOUR)) -> v => unreachable!("{v:?}"),
            }
        }
        let mut ticked = 0;
        for _ in 0..10 {
            let t = tick(MS);
            select! {
                recv(never) -> v => unreachable!("{v:?}"),
                recv(t) -> v => {
                    assert!(v.is_some());
                    ticked += 1;
                }
                recv(after(HOUR)) -> v => unreachable!("{v:?}"),
            }
        }
        (timed_out, ticked)
    });
    tracker.assert_live(0, "the select loops' values");

    // 3. Ticker, Timer, interval and after_func.
    let funcs_ran = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let ticker = Ticker::new(2 * MS);
        let a = ticker.c().recv().await.unwrap();
        let b = ticker.c().recv().await.unwrap();
        assert!(b >= a + 2 * MS);
        ticker.stop();
        sleep(10 * MS).await;
        assert!(ticker.c().try_recv().is_err(), "a stopped ticker ticked");
        ticker.reset(MS);
        ticker.c().recv().await.unwrap();
        drop(ticker); // armed

        let timer = Timer::new(HOUR);
        assert!(timer.stop(), "stopped before it fired");
        assert!(!timer.stop(), "already stopped");
        assert!(!timer.reset(MS), "reset of a stopped timer");
        timer.c().recv().await.unwrap();
        let timer = Timer::new(MS);
        sleep(5 * MS).await; // it fired: the value waits in its channel
        assert!(timer.reset(HOUR), "its value was unreceived");
        assert_eq!(
            timer.c().try_recv().unwrap_err(),
            TryRecvError::Empty,
            "reset left a stale value"
        );
        drop(timer); // armed for an hour

        let mut iv = interval(MS);
        for _ in 0..3 {
            iv.tick().await;
        }

        let ran = funcs_ran.clone();
        let g = tracker.guard("after_func fired");
        let f = after_func(MS, move || {
            assert!(g.check());
            ran.fetch_add(1, SeqCst);
        });
        while funcs_ran.load(SeqCst) == 0 {
            sleep(MS).await;
        }
        assert!(!f.stop(), "it already ran");
        let g = tracker.guard("after_func stopped");
        let f = after_func(HOUR, move || unreachable!("stopped after_func ran: {g:?}"));
        assert!(f.stop());
        drop(f);
        // Pending at the runtime's drop, handle dropped (that does not stop it).
        let g = tracker.guard("after_func pending at drop");
        drop(after_func(HOUR, move || unreachable!("ran: {g:?}")));
    });

    // 4. spawn_blocking: finished, then running and queued at the runtime's drop.
    let finished = rt.block_on(async {
        let hs: Vec<_> = (0..10)
            .map(|i| {
                let g = tracker.guard(format!("blocking {i}"));
                gorun::spawn_blocking(move || g)
            })
            .collect();
        let mut n = 0;
        for (i, h) in hs.into_iter().enumerate() {
            assert_eq!(h.await.unwrap().tag(), format!("blocking {i}"));
            n += 1;
        }
        n
    });
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let g = tracker.guard("released by shutdown");
    rt.spawn(async move {
        let _own = (g, ReleaseOnDrop(release_tx));
        sleep(HOUR).await
    });
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let g = tracker.guard("running blocking closure");
    let running = rt.spawn_blocking(move || {
        let _g = g;
        s.fetch_add(1, SeqCst);
        release_rx.recv().expect("released by the shutdown");
    });
    wait_until("the blocking closure to start", || {
        started.load(SeqCst) == 1
    });
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..20)
        .map(|i| {
            let (g, ran) = (tracker.guard(format!("queued blocking {i}")), ran.clone());
            rt.spawn_blocking(move || {
                ran.fetch_add(1, SeqCst);
                g
            })
        })
        .collect();
    wait_for_waits(rt.handle(), &[(WaitReason::Sleep, 1)]);
    drop(rt);
    let ran = ran.load(SeqCst);
    let (ok, cancelled) = after_runtime(async move {
        running.await.expect("the running closure finished");
        let mut counts = (0, 0);
        for h in queued {
            tally(h.await, &mut counts);
        }
        counts
    });
    assert_eq!(
        (ok, ok + cancelled),
        (ran, 20),
        "each queued closure ran or was dropped"
    );
    assert_eq!(funcs_ran.load(SeqCst), 1);
    tracker.assert_live(0, "after the multi-thread runtime's drop");

    // 5. A current-thread runtime.
    let ct = Builder::new_current_thread()
        .build()
        .expect("current-thread runtime");
    let pings = ct.block_on(async {
        let (ping_tx, ping_rx) = chan::<Guard>(0);
        let (pong_tx, pong_rx) = chan::<Guard>(0);
        let ponger = go(async move {
            while let Some(g) = ping_rx.recv().await {
                pong_tx.send(g).await.unwrap();
            }
        });
        for i in 0..100 {
            ping_tx
                .send(tracker.guard(format!("ping {i}")))
                .await
                .unwrap();
            select! {
                recv(pong_rx) -> g => assert_eq!(g.unwrap().tag(), format!("ping {i}")),
                recv(after(HOUR)) -> v => unreachable!("{v:?}"),
            }
        }
        drop(ping_tx);
        ponger.await.unwrap();
        sleep(MS).await;
        100
    });
    // Tasks left blocked inside a block_on, and tasks spawned outside any block_on
    // (never polled: nothing runs between block_on calls).
    let (_keep_tx, keep_rx) = chan::<Guard>(0);
    let blocked: Vec<_> = (0..10)
        .map(|i| {
            let (g, rx) = (tracker.guard("current-thread blocked"), keep_rx.clone());
            ct.spawn(async move {
                let _g = g;
                if i % 2 == 0 {
                    sleep(HOUR).await;
                } else {
                    rx.recv().await;
                }
            })
        })
        .collect();
    ct.block_on(async { sleep(5 * MS).await });
    wait_for_waits(
        ct.handle(),
        &[(WaitReason::Sleep, 5), (WaitReason::ChanRecv, 5)],
    );
    let polled = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        let (g, p) = (tracker.guard("current-thread never polled"), polled.clone());
        ct.spawn(async move {
            p.fetch_add(1, SeqCst);
            drop(g);
        });
    }
    drop(ct);
    assert_eq!(polled.load(SeqCst), 0, "a task ran outside block_on");
    after_runtime(async move {
        for h in blocked {
            assert!(h.await.unwrap_err().is_cancelled());
        }
    });
    drop(keep_rx);
    tracker.assert_all_dropped("after both runtimes' drop");
    report(
        "channels_and_timers",
        format_args!(
            "{ROUNDS} select rounds with losing timers, {timed_out}+{ticked} won by timers; \
             blocking: {finished} finished, 1 running + 20 queued at drop ({ran} ran, \
             {cancelled} dropped unrun); current-thread: {pings} ping-pongs, 10 blocked + 10 \
             unpolled at drop; {} values freed",
            tracker.made()
        ),
    );
}

/// Tasks of the current runtime waiting on `reason` now.
fn rt_blocked(reason: WaitReason) -> usize {
    gorun::Handle::current()
        .dump()
        .tasks
        .iter()
        .filter(|t| t.state == gorun::TaskState::Waiting && t.wait == Some(reason))
        .count()
}
