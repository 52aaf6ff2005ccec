//! Work handed between tasks spreads over the workers.
//!
//! Four tasks pass items down capacity-1 channels, each doing a few microseconds of
//! computation per item, so they wake each other all the time and never spawn or
//! yield. Every such wake goes through `runnext` and the task it displaces is pushed
//! to the local queue, where the other worker must get it: woken by the push if it
//! sleeps, at its next look if it naps (scheduler/worker.rs, `nap`). A rule
//! that kept a lone displaced task on its worker (tried on 2026-12-03, for a faster
//! channel hand-off) ran this pipeline on one worker while the other slept (with
//! 20,000 items: 230 ms instead of 130).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const ITEMS: u64 = 5_000;

/// A few microseconds of arithmetic the optimizer cannot remove.
fn stage_work(x: u64) -> u64 {
    let mut v = x;
    for i in 0..2_000 {
        v = std::hint::black_box(v.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
    v
}

/// Counts one stage run on the calling worker (named `spread-<index>`).
fn count_here(per_worker: &[AtomicUsize; 2]) {
    let name = std::thread::current().name().unwrap_or_default().to_owned();
    let index = name
        .rsplit('-')
        .next()
        .and_then(|i| i.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("stage ran off the workers, on thread {name:?}"));
    per_worker[index].fetch_add(1, Ordering::Relaxed);
}

#[test]
fn a_cpu_heavy_pipeline_uses_both_workers() {
    let rt = gorun::Runtime::builder()
        .procs(2)
        .thread_name("spread")
        .build()
        .unwrap();
    let per_worker = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let pw = per_worker.clone();
    let received = rt.run(async move {
        let (tx1, rx1) = gorun::chan::<u64>(1);
        let (tx2, rx2) = gorun::chan::<u64>(1);
        let (tx3, rx3) = gorun::chan::<u64>(1);
        let p = pw.clone();
        gorun::go(async move {
            for i in 0..ITEMS {
                count_here(&p);
                tx1.send(stage_work(i)).await.unwrap();
            }
        });
        for (rx, tx) in [(rx1, tx2), (rx2, tx3)] {
            let p = pw.clone();
            gorun::go(async move {
                while let Some(v) = rx.recv().await {
                    count_here(&p);
                    tx.send(stage_work(v)).await.unwrap();
                }
            });
        }
        let mut n = 0;
        while let Some(v) = rx3.recv().await {
            count_here(&pw);
            std::hint::black_box(stage_work(v));
            n += 1;
        }
        n
    });
    assert_eq!(received, ITEMS, "every item came through");
    let counts = [
        per_worker[0].load(Ordering::Relaxed),
        per_worker[1].load(Ordering::Relaxed),
    ];
    let total = counts[0] + counts[1];
    assert_eq!(total as u64, 4 * ITEMS);
    assert!(
        counts.iter().all(|&c| c * 10 >= total),
        "stage runs per worker {counts:?}: one worker did over 90 % of the work while \
         the other had tasks to steal"
    );
}
