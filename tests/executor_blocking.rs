//! `spawn_blocking`: the blocking pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::Runtime;

#[test]
fn blocking_closures_do_not_block_workers() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Blocks its pool thread until the task below, on the only worker, runs.
        let blocked =
            gorun::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)).is_ok());
        gorun::go(async move { tx.send(()).unwrap() })
            .await
            .unwrap();
        assert!(blocked.await.unwrap());
    });
}

#[test]
fn blocking_pool_is_bounded_and_threads_retire() {
    let rt = Runtime::builder()
        .procs(1)
        .max_blocking_threads(3)
        .blocking_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let hs: Vec<_> = (0..12)
            .map(|i| {
                let (running, peak) = (running.clone(), peak.clone());
                gorun::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    running.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, (0..12).sum::<i32>());
    });
    assert!(peak.load(Ordering::SeqCst) <= 3);
    assert!(rt.handle().metrics().blocking_threads <= 3);
    let t = Instant::now();
    while rt.handle().metrics().blocking_threads > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "idle threads never retired"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn blocking_panic_reaches_handle() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let err = rt
        .block_on(gorun::Handle::spawn_blocking(rt.handle(), || -> () {
            panic!("blocking boom")
        }))
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("blocking boom"));
}

#[test]
fn blocking_tasks_are_counted_and_waited_for_at_shutdown() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    let (started_tx, started) = std::sync::mpsc::channel();
    let _h = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        d.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(rt.num_tasks(), 1);
    // A closure already running is waited for (one still queued would be cancelled,
    // as tokio does).
    started.recv().unwrap();
    drop(rt);
    assert_eq!(
        done.load(Ordering::SeqCst),
        1,
        "drop waits for running closures"
    );
}
