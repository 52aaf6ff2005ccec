//! Where a woken task runs when its waker's worker is busy.
//!
//! A task woken by a running task takes its worker's `runnext` slot, and the task it
//! displaces joins that worker's queue. One such task alone in the queue stays with
//! its worker, which runs it after the current task (a receiver that wakes both of
//! its senders and then blocks keeps the three on one core). A second one wakes a
//! sleeping worker to steal. These tests hold the waking task's worker on purpose
//! (a blocking loop inside a poll) to see which tasks the other worker takes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::{Receiver, Sender};

/// Starts `n` tasks that each wait on their own channel and count themselves in
/// `ran` once they get a value. Returns the senders once every task has started
/// and had time to park on its receive.
async fn waiting_tasks(n: usize, ran: &Arc<AtomicUsize>) -> Vec<Sender<()>> {
    let started = Arc::new(AtomicUsize::new(0));
    let mut txs = Vec::new();
    for _ in 0..n {
        let (tx, rx): (Sender<()>, Receiver<()>) = gorun::chan(1);
        let (ran, started) = (ran.clone(), started.clone());
        drop(gorun::go(async move {
            started.fetch_add(1, Ordering::SeqCst);
            if rx.recv().await.is_some() {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        }));
        txs.push(tx);
    }
    while started.load(Ordering::SeqCst) < n {
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
    // Let every worker finish its poll and go to sleep.
    gorun::time::sleep(Duration::from_millis(20)).await;
    txs
}

/// Wakes one waiting task per sender, then holds this worker (without returning
/// from the poll) until `ran` reaches `want` or `patience` ends. Returns `ran` then.
async fn wake_all_then_hold(
    txs: Vec<Sender<()>>,
    ran: &AtomicUsize,
    want: usize,
    patience: Duration,
) -> usize {
    for tx in &txs {
        tx.send(()).await.unwrap();
    }
    let t = Instant::now();
    while ran.load(Ordering::SeqCst) < want && t.elapsed() < patience {
        std::thread::sleep(Duration::from_millis(1));
    }
    ran.load(Ordering::SeqCst)
}

/// On a fresh two-worker runtime: starts `tasks` waiting tasks, wakes them all from
/// one task that then holds its worker until `want` of them ran or `patience` ends.
/// Returns how many ran while the worker was held, and how many ran in all once it
/// was free (waiting up to 10 s for every one).
fn wake_from_a_held_worker(tasks: usize, want: usize, patience: Duration) -> (usize, usize) {
    let rt = gorun::Runtime::builder()
        .procs(2)
        .watchdog(None) // the waking task holds its worker on purpose
        .build()
        .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let during = rt.run(async move {
        let txs = waiting_tasks(tasks, &r).await;
        wake_all_then_hold(txs, &r, want, patience).await
    });
    let t = Instant::now();
    while ran.load(Ordering::SeqCst) < tasks && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(1));
    }
    (during, ran.load(Ordering::SeqCst))
}

#[test]
fn two_woken_tasks_behind_a_busy_worker_are_stolen() {
    for round in 0..5 {
        // Three wakes: the last takes runnext, the first two wait in the queue, where
        // the other worker must come and take them.
        let (during, all) = wake_from_a_held_worker(3, 2, Duration::from_secs(10));
        assert!(
            during >= 2,
            "round {round}: only {during} of the 2 queued woken tasks ran in 10 s while \
             their worker was held and the other one slept"
        );
        assert_eq!(
            all, 3,
            "round {round}: the one in runnext runs once the worker is free"
        );
    }
}

#[test]
fn one_woken_task_stays_with_its_worker_and_runs_after_it() {
    // Two wakes: the second takes runnext, the first waits alone in the queue for this
    // worker; the sleeping worker is not woken for it.
    let (during, all) = wake_from_a_held_worker(2, 1, Duration::from_millis(200));
    assert_eq!(during, 0, "a lone woken task was moved to the other worker");
    assert_eq!(all, 2, "both ran once the worker was free");
}
