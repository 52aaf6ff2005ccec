//! Aborting tasks, `JoinSet`s, and timeouts around channel operations.
//!
//! `JoinHandle::abort` and `AbortHandle::abort` of tasks that are running (yielding
//! in a loop), blocked (on a receive, a send into a rendezvous or a full buffer, a
//! `select!` with a send case and a timer, a sleep, a TCP read, a join), not yet
//! polled (on a one-worker runtime, from its only task), and already finished;
//! `JoinSet`s dropped, `abort_all`ed and `shutdown` with blocked, finished and fresh
//! tasks in them; `time::timeout` expiring around receives, sends and a `select!`,
//! `send_timeout`/`recv_timeout`, and a producer/consumer race in which the
//! consumer's receives keep timing out; aborts racing the runtime's drop.
//!
//! What must hold: an aborted task reports `is_cancelled()` (an unpolled one never
//! runs, a running one stops polling), and its values are freed; an aborted or
//! timed-out send withdraws its value (freed, never received later) and an aborted
//! or timed-out receive leaves no waiter that could swallow a later value; a
//! finished task's output survives `abort`; every message of the race arrives
//! exactly once, in order; every value is freed exactly once; and memcheck sees no
//! error and no definitely lost block.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gorun::io::AsyncReadExt;
use gorun::net::{TcpListener, TcpStream};
use gorun::prelude::*;
use gorun::task::JoinSet;
use gorun::time::{after, sleep, timeout};
use gorun::{
    chan, go, select, yield_now, AbortHandle, JoinHandle, Runtime, SendTimeoutError, TryRecvError,
    TrySendError, WaitReason,
};
use gorun_memcheck::{report, tally, wait_for_waits, wait_until, Guard, Tracker, HOUR};

const MS: Duration = Duration::from_millis(1);

fn main() {
    let tracker = Tracker::new();
    let rt = Runtime::builder()
        .procs(2)
        .on_blocking_poll(|_| {})
        .build()
        .expect("runtime");
    let mut aborted = 0usize;

    // 1. Running tasks: each yields in a loop; abort stops it at its next yield.
    let polls: Vec<Arc<AtomicUsize>> = (0..20).map(|_| Arc::default()).collect();
    let hs: Vec<JoinHandle<()>> = polls
        .iter()
        .map(|p| {
            let (p, g) = (p.clone(), tracker.guard("running"));
            rt.spawn(async move {
                let _g = g;
                loop {
                    p.fetch_add(1, SeqCst);
                    let t = std::time::Instant::now();
                    while t.elapsed() < Duration::from_micros(20) {
                        std::hint::spin_loop();
                    }
                    yield_now().await;
                }
            })
        })
        .collect();
    wait_until("every spinner polled", || {
        polls.iter().all(|p| p.load(SeqCst) > 0)
    });
    for h in &hs {
        h.abort();
    }
    for h in hs {
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        aborted += 1;
    }
    let counts: Vec<usize> = polls.iter().map(|p| p.load(SeqCst)).collect();
    std::thread::sleep(10 * MS);
    assert_eq!(
        counts,
        polls.iter().map(|p| p.load(SeqCst)).collect::<Vec<_>>(),
        "an aborted task kept running"
    );
    tracker.assert_live(0, "the aborted spinners' values");

    // 2. Blocked tasks of every kind, aborted through JoinHandles and AbortHandles.
    let (recv_tx, recv_rx) = chan::<Guard>(0); // tasks receive; nobody sends
    let (send_tx, send_rx) = chan::<Guard>(0); // tasks send; nobody receives
    let (full_tx, full_rx) = chan::<Guard>(2); // tasks send into a full buffer
    full_tx.try_send(tracker.guard("buffered 0")).unwrap();
    full_tx.try_send(tracker.guard("buffered 1")).unwrap();
    let (conns, kept_conns) = rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().unwrap();
        let (mut conns, mut kept) = (Vec::new(), Vec::new());
        for _ in 0..4 {
            kept.push(TcpStream::connect(addr).await.expect("connect"));
            conns.push(l.accept().await.expect("accept").0);
        }
        (conns, kept)
    });
    let mut blocked: Vec<JoinHandle<()>> = Vec::new();
    let mut by_abort_handle: Vec<AbortHandle> = Vec::new();
    let mut inner_tasks: Vec<AbortHandle> = Vec::new();
    for i in 0..10 {
        let (rx, g) = (recv_rx.clone(), tracker.guard("blocked recv"));
        blocked.push(rt.spawn(async move {
            let _g = g;
            let v = rx.recv().await;
            unreachable!("received {v:?}");
        }));
        let (tx, g) = (send_tx.clone(), tracker.guard(format!("blocked send {i}")));
        blocked.push(rt.spawn(async move {
            tx.send(g).await.expect("the send was aborted, not failed");
            unreachable!("sent with nobody receiving");
        }));
        let (tx, g) = (
            full_tx.clone(),
            tracker.guard(format!("send into full {i}")),
        );
        blocked.push(rt.spawn(async move {
            tx.send(g).await.unwrap();
            unreachable!("sent into a full buffer");
        }));
        let (rx, tx) = (recv_rx.clone(), send_tx.clone());
        let (g, v) = (tracker.guard("select"), tracker.guard("select send"));
        let h = rt.spawn(async move {
            let _g = g;
            select! {
                recv(rx) -> v => unreachable!("received {v:?}"),
                send(tx, v) -> r => unreachable!("sent: {:?}", r.is_ok()),
                recv(after(HOUR)) -> v => unreachable!("after fired: {v:?}"),
            }
        });
        by_abort_handle.push(h.abort_handle());
        blocked.push(h);
        let g = tracker.guard("sleeper");
        blocked.push(rt.spawn(async move {
            let _g = g;
            sleep(HOUR).await;
        }));
    }
    for mut conn in conns {
        let g = tracker.guard("reader");
        let h = rt.spawn(async move {
            let _g = g;
            let mut buf = [0u8; 64];
            let r = conn.read(&mut buf).await;
            unreachable!("read returned {r:?}");
        });
        by_abort_handle.push(h.abort_handle());
        drop(h); // detached: only the AbortHandle can stop it
    }
    for _ in 0..5 {
        let (g, ig) = (tracker.guard("joiner"), tracker.guard("joined"));
        let inner = rt.spawn(async move {
            let _g = ig;
            sleep(HOUR).await;
        });
        inner_tasks.push(inner.abort_handle());
        blocked.push(rt.spawn(async move {
            let _g = g;
            let r = inner.await;
            unreachable!("joined: {r:?}");
        }));
    }
    wait_for_waits(
        rt.handle(),
        &[
            (WaitReason::ChanRecv, 10),
            (WaitReason::ChanSend, 20),
            (WaitReason::Select, 10),
            (WaitReason::Sleep, 15),
            (WaitReason::IoRead, 4),
            (WaitReason::Join, 5),
        ],
    );
    for (i, h) in blocked.iter().enumerate() {
        if i % 2 == 0 {
            h.abort();
        }
    }
    for a in &by_abort_handle {
        a.abort(); // the select tasks a second time for half of them: harmless
    }
    for h in &blocked {
        h.abort();
    }
    for h in blocked {
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        aborted += 1;
    }
    wait_until("the detached readers cancelled", || {
        by_abort_handle.iter().all(AbortHandle::is_finished)
    });
    aborted += 4;
    // The joined tasks outlived their joiners (a dropped JoinHandle detaches).
    assert!(inner_tasks.iter().all(|a| !a.is_finished()));
    for a in &inner_tasks {
        a.abort();
    }
    wait_until("the joined tasks cancelled", || {
        inner_tasks.iter().all(AbortHandle::is_finished)
    });
    aborted += inner_tasks.len();
    match recv_tx.try_send(tracker.guard("after the aborted receives")) {
        Err(TrySendError::Full(g)) => drop(g),
        other => panic!("an aborted receive took a value: {other:?}"),
    }
    assert_eq!(
        send_rx.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "an aborted send delivered its value"
    );
    for k in 0..2 {
        assert_eq!(full_rx.try_recv().unwrap().tag(), format!("buffered {k}"));
    }
    assert_eq!(
        full_rx.try_recv().unwrap_err(),
        TryRecvError::Empty,
        "an aborted send into a full buffer delivered its value"
    );
    drop(kept_conns);
    tracker.assert_live(0, "the aborted blocked tasks' values");

    // 3. Not yet polled: on a one-worker runtime, tasks spawned and aborted by its
    //    only running task cannot have been polled.
    let rt1 = Runtime::builder()
        .procs(1)
        .on_blocking_poll(|_| {})
        .build()
        .expect("runtime");
    let polled = Arc::new(AtomicUsize::new(0));
    let (t, p) = (tracker.clone(), polled.clone());
    let unpolled = rt1.run(async move {
        let mut handles = Vec::new();
        let mut aborts = Vec::new();
        for i in 0..40 {
            let (g, p) = (t.guard("never polled"), p.clone());
            let h = go(async move {
                p.fetch_add(1, SeqCst);
                drop(g);
            });
            if i % 2 == 0 {
                h.abort();
                handles.push(h);
            } else {
                let a = h.abort_handle();
                drop(h);
                a.abort();
                aborts.push(a);
            }
        }
        for h in handles {
            assert!(h.await.unwrap_err().is_cancelled());
        }
        while !aborts.iter().all(AbortHandle::is_finished) {
            yield_now().await;
        }
        40
    });
    aborted += unpolled;
    assert_eq!(polled.load(SeqCst), 0, "an aborted task was polled");
    tracker.assert_live(0, "the never-polled tasks' values");

    // 4. Finished tasks: abort does not take the output.
    let (t, t2) = (tracker.clone(), tracker.clone());
    let h = rt.spawn(async move { t.guard("output kept") });
    let h2 = rt.spawn(async move { t2.guard("output dropped with its handle") });
    wait_until("both finished", || h.is_finished() && h2.is_finished());
    h.abort();
    h2.abort();
    let out = rt.block_on(h).expect("the output survives abort");
    assert_eq!(out.tag(), "output kept");
    drop(out);
    tracker.assert_live(1, "the second output is still in its task");
    drop(h2);
    tracker.assert_live(0, "the output is freed with its handle");

    // 5. JoinSets: dropped, `abort_all`ed, and `shutdown` with blocked, finished
    //    and fresh tasks in them.
    let joinset_tasks = rt.block_on(async {
        let mut total = 0;
        let finished = Arc::new(AtomicUsize::new(0));
        for round in 0..3 {
            let mut set = JoinSet::new();
            for i in 0..30 {
                let g = tracker.guard(format!("set {round} task {i}"));
                let finished = finished.clone();
                set.spawn(async move {
                    match i % 3 {
                        0 => {
                            sleep(HOUR).await;
                            unreachable!();
                        }
                        1 => {
                            finished.fetch_add(1, SeqCst);
                            g
                        }
                        _ => {
                            let _g = g;
                            std::future::pending().await
                        }
                    }
                });
            }
            total += set.len();
            while finished.load(SeqCst) < 10 * (round + 1) {
                sleep(MS).await; // a third of the tasks finish, their guards in outputs
            }
            sleep(MS).await; // and the others block
            match round {
                0 => drop(set),
                1 => {
                    set.abort_all();
                    let mut counts = (0, 0);
                    while let Some(r) = set.join_next().await {
                        tally(r, &mut counts);
                    }
                    assert_eq!(counts, (10, 20));
                }
                _ => {
                    set.shutdown().await;
                    assert!(set.is_empty());
                }
            }
            while tracker.live() > 0 {
                sleep(MS).await;
            }
        }
        total
    });
    tracker.assert_live(0, "the JoinSets' values");

    // 6. Timeouts around channel operations.
    let (tx, rx) = chan::<Guard>(0);
    rt.block_on(async {
        // A receive that times out leaves no waiter: the next value goes to the
        // next receive.
        assert!(timeout(2 * MS, rx.recv()).await.is_err());
        let tx2 = tx.clone();
        let g = tracker.guard("after a timed-out receive");
        let sender = go(async move { tx2.send(g).await.unwrap() });
        assert_eq!(
            rx.recv().await.unwrap().tag(),
            "after a timed-out receive"
        );
        sender.await.unwrap();

        // A send that times out (nobody receives) withdraws and frees its value.
        assert!(timeout(2 * MS, tx.send(tracker.guard("timed-out send")))
            .await
            .is_err());
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
        tracker.assert_live(0, "the timed-out send's value");

        // send_timeout gives the value back; recv_timeout reports the timeout.
        match tx.send_timeout(tracker.guard("given back"), 2 * MS).await {
            Err(SendTimeoutError::Timeout(g)) => assert_eq!(g.tag(), "given back"),
            other => panic!("send_timeout: {other:?}"),
        }
        assert!(rx.recv_timeout(2 * MS).await.is_err());

        // A select! inside a timeout: its send case withdraws its value.
        let r = timeout(2 * MS, async {
            select! {
                recv(rx) -> v => unreachable!("received {v:?}"),
                send(tx, tracker.guard("select in a timeout")) -> r => unreachable!("{:?}", r.is_ok()),
            }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    });
    tracker.assert_live(0, "the timeouts' values");

    // 7. The race: the consumer's receives keep timing out while the producer's
    //    rendezvous sends go through; every value arrives exactly once, in order.
    const RACE: u32 = 300;
    let (timeouts, resent) = rt.block_on(async {
        let (tx, rx) = chan::<(u32, Guard)>(0);
        let t = tracker.clone();
        let producer = go(async move {
            let mut resent = 0;
            for i in 0..RACE {
                if i % 10 == 0 {
                    sleep(MS).await; // the consumer's receives time out meanwhile
                }
                let mut v = (i, t.guard(format!("race {i}")));
                if i % 2 == 0 {
                    tx.send(v).await.unwrap();
                    continue;
                }
                // The other half with send_timeout, sending the value back again.
                loop {
                    match tx.send_timeout(v, Duration::from_micros(30)).await {
                        Ok(()) => break,
                        Err(e) => {
                            v = e.into_inner();
                            resent += 1;
                        }
                    }
                }
            }
            resent
        });
        let mut next = 0;
        let mut timeouts = 0;
        loop {
            match timeout(Duration::from_micros(50), rx.recv()).await {
                Ok(Some((i, g))) => {
                    assert_eq!(i, next, "a value lost, duplicated or reordered");
                    assert_eq!(g.tag(), format!("race {i}"));
                    next += 1;
                    if i % 7 == 0 {
                        sleep(MS).await; // the producer's send_timeouts expire meanwhile
                    }
                }
                Ok(None) => break,
                Err(_) => timeouts += 1,
            }
        }
        assert_eq!(next, RACE);
        (timeouts, producer.await.unwrap())
    });
    tracker.assert_live(0, "the race's values");

    // 8. Aborts racing the runtime's drop.
    for i in 0..30 {
        let g = tracker.guard("aborted at drop");
        let h = rt.spawn(async move {
            let _g = g;
            if i % 2 == 0 {
                sleep(HOUR).await;
            } else {
                loop {
                    yield_now().await;
                }
            }
        });
        h.abort();
    }
    drop(rt);
    drop(rt1);
    drop((tx, rx, recv_tx, send_tx, full_tx));
    tracker.assert_all_dropped("after the runtimes' drop");
    report(
        "aborts",
        format_args!(
            "{aborted} tasks aborted (running, blocked, unpolled), {joinset_tasks} in JoinSets, \
             race of {RACE} exact with {timeouts} timed-out receives and {resent} resends, \
             30 aborted at drop; {} values freed",
            tracker.made()
        ),
    );
}
