//! A task woken into a busy worker's `runnext` slot does not wait out that worker's
//! poll while another worker idles.
//!
//! A task that sends on a channel wakes the receiver into its own worker's `runnext`
//! (it runs next, warm in the cache); if the sender then computes for long without
//! yielding, the receiver used to wait for the whole computation: no other worker
//! could take it (tokio's LIFO slot has the same flaw). Go's idle Ps steal a running
//! P's `runnext` after a 3 µs nap. Here the watchdog wakes a searcher for it and the
//! searcher takes it once the sender's poll has run a while.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the sender computes at most after its send: far beyond any wake-up delay
/// on a loaded machine, so the receiver running within it is no race.
const SPIN: Duration = Duration::from_secs(5);

/// The sender sends, then spins until the receiver has run (or `SPIN` ends); returns
/// whether the receiver ran while the sender's poll was still running.
fn receiver_runs_during_sender_spin(rt: &gorun::Runtime) -> bool {
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    rt.run(async move {
        let (tx, rx) = gorun::chan::<u32>(0);
        let receiver = gorun::go(async move {
            assert_eq!(rx.recv().await, Some(7));
            r.store(true, Ordering::Release);
        });
        // Let the receiver park on the channel first.
        gorun::time::sleep(Duration::from_millis(20)).await;
        let sender = gorun::go(async move {
            tx.send(7).await.unwrap();
            let start = Instant::now();
            while !ran.load(Ordering::Acquire) && start.elapsed() < SPIN {
                std::hint::spin_loop();
            }
            ran.load(Ordering::Acquire)
        });
        let during = sender.await.unwrap();
        receiver.await.unwrap();
        during
    })
}

#[test]
fn a_task_in_runnext_is_taken_from_a_worker_stuck_in_one_poll() {
    let rt = gorun::Runtime::builder()
        .procs(2)
        .on_blocking_poll(|_| {}) // the sender blocks its worker on purpose
        .build()
        .unwrap();
    for round in 0..3 {
        assert!(
            receiver_runs_during_sender_spin(&rt),
            "round {round}: the receiver waited for the sender's whole poll"
        );
    }
}
