//! `task::block_in_place`: the worker is handed to a stand-in while a task blocks,
//! so the other tasks of that worker (timers and sockets included) keep running,
//! even on one P; `block_on` inside it; nesting; panics; shutdown meanwhile; the
//! watchdog stays quiet; a current-thread runtime refuses it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use gorun::task::block_in_place;
use gorun::{Builder, Handle, Runtime};

fn one_p() -> Runtime {
    Runtime::builder().procs(1).build().unwrap()
}

#[test]
fn the_other_tasks_of_the_only_worker_keep_running() {
    one_p().run(async {
        let (tx, rx) = mpsc::channel();
        // Runs only if the worker is handed off: there is one P, and this task
        // blocks it until the value arrives. A timer, so the stand-in drives them.
        let sender = gorun::go(async move {
            gorun::time::sleep(Duration::from_millis(10)).await;
            tx.send(42).unwrap();
        });
        let v = block_in_place(|| rx.recv().unwrap());
        assert_eq!(v, 42);
        sender.await.unwrap();
    });
}

#[test]
fn block_on_inside_reaches_the_runtime() {
    one_p().run(async {
        let v = block_in_place(|| {
            Handle::current().block_on(async {
                let h = gorun::go(async {
                    gorun::yield_now().await;
                    5
                });
                h.await.unwrap() * 2
            })
        });
        assert_eq!(v, 10);
    });
}

#[test]
fn outside_a_worker_it_just_calls_the_closure() {
    assert_eq!(block_in_place(|| 3), 3);
    let rt = one_p();
    // In block_on, on a thread that is no worker.
    assert_eq!(rt.block_on(async { block_in_place(|| 4) }), 4);
    // Nested: the inner call runs off the worker already.
    assert_eq!(rt.run(async { block_in_place(|| block_in_place(|| 5)) }), 5);
}

#[test]
fn a_current_thread_runtime_refuses_it() {
    let rt = Builder::new_current_thread().build().unwrap();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            gorun::go(async { block_in_place(|| ()) })
                .await
                .unwrap_err()
        })
    }))
    .map(|e| e.into_panic());
    let payload = err.unwrap();
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap();
    assert!(msg.contains("current-thread"), "{msg}");
}

#[test]
fn a_panic_in_the_closure_comes_back_after_the_worker_does() {
    let rt = one_p();
    let h = rt.spawn(async {
        block_in_place(|| panic!("boom in block_in_place"));
    });
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
    // The worker came back: tasks still run on the only P.
    assert_eq!(rt.run(async { gorun::go(async { 9 }).await.unwrap() }), 9);
}

#[test]
fn a_task_on_the_stand_in_may_block_in_place_too() {
    one_p().run(async {
        let (tx1, rx1) = mpsc::channel::<u32>();
        let (tx2, rx2) = mpsc::channel::<u32>();
        // B runs on the stand-in for A, and hands that worker to a second one,
        // where C runs.
        let b = gorun::go(async move { block_in_place(|| rx2.recv().unwrap()) });
        let c = gorun::go(async move {
            gorun::time::sleep(Duration::from_millis(5)).await;
            tx2.send(2).unwrap();
            gorun::time::sleep(Duration::from_millis(5)).await;
            tx1.send(1).unwrap();
        });
        let a = block_in_place(|| rx1.recv().unwrap());
        assert_eq!((a, b.await.unwrap()), (1, 2));
        c.await.unwrap();
    });
}

#[test]
fn the_watchdog_does_not_report_a_handed_off_poll() {
    let rt = Runtime::builder()
        .procs(1)
        .watchdog(Some(Duration::from_millis(5)))
        .on_blocking_poll(|_| {})
        .build()
        .unwrap();
    rt.run(async {
        block_in_place(|| std::thread::sleep(Duration::from_millis(60)));
    });
    assert_eq!(rt.handle().metrics().blocking_polls, 0);
}

#[test]
fn dropping_the_runtime_meanwhile_waits_for_the_closure() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.spawn(async move {
        block_in_place(|| {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        d.fetch_add(1, Ordering::SeqCst);
    });
    started_rx.recv().unwrap();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        release_tx.send(()).unwrap();
    });
    drop(rt);
    releaser.join().unwrap();
    // The poll went on after the closure, then the worker saw the shutdown.
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

/// Tasks blocking in place over and over beside a ping-pong on channels: every
/// message arrives, every hand-off returns.
#[test]
fn stress_hand_offs_beside_channel_traffic() {
    for procs in [1, 2, 3] {
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let delivered = rt.run(async move {
            let (tx, rx) = gorun::chan::<u64>(0);
            let blockers: Vec<_> = (0..8u64)
                .map(|i| {
                    gorun::go(async move {
                        let mut sum = 0;
                        for j in 0..20u64 {
                            sum += block_in_place(|| {
                                if (i + j) % 4 == 0 {
                                    std::thread::sleep(Duration::from_micros(200));
                                }
                                i * j
                            });
                            gorun::yield_now().await;
                        }
                        sum
                    })
                })
                .collect();
            let producers: Vec<_> = (0..4u64)
                .map(|p| {
                    let tx = tx.clone();
                    gorun::go(async move {
                        for k in 0..500 {
                            tx.send(p * 1000 + k).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut got = 0u64;
            let mut n = 0;
            while let Some(v) = rx.recv().await {
                got += v;
                n += 1;
            }
            for p in producers {
                p.await.unwrap();
            }
            for (i, b) in blockers.into_iter().enumerate() {
                let i = i as u64;
                assert_eq!(b.await.unwrap(), (0..20).map(|j| i * j).sum::<u64>());
            }
            (n, got)
        });
        let want: u64 = (0..4u64)
            .flat_map(|p| (0..500).map(move |k| p * 1000 + k))
            .sum();
        assert_eq!(delivered, (2000, want), "procs {procs}");
        // The stand-ins are blocking tasks: they finish just after their hand-off.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rt.num_tasks() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(rt.num_tasks(), 0, "{}", rt.handle().dump());
    }
}
