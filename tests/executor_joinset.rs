//! `task::JoinSet` and task ids, as tokio's: outputs in the order tasks finish,
//! `abort_all`, abort on drop, `try_join_next`, `shutdown`, cancel-safe
//! `join_next`, ids that match between handles, the set and the task itself.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gorun::task::{self, JoinSet};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_output_comes_out_once() {
    rt().block_on(async {
        let mut set = JoinSet::new();
        for i in 0..1000u32 {
            set.spawn(async move { i });
        }
        assert_eq!(set.len(), 1000);
        let mut seen = HashSet::new();
        while let Some(r) = set.join_next().await {
            assert!(seen.insert(r.unwrap()));
            assert_eq!(set.len(), 1000 - seen.len());
        }
        assert_eq!(seen.len(), 1000);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[gorun::test(start_paused = true)]
async fn outputs_come_in_finishing_order() {
    let mut set = JoinSet::new();
    for ms in [50u64, 10, 40, 20, 30] {
        set.spawn(async move {
            gorun::time::sleep(Duration::from_millis(ms)).await;
            ms
        });
    }
    let mut order = vec![];
    while let Some(r) = set.join_next().await {
        order.push(r.unwrap());
    }
    assert_eq!(order, [10, 20, 30, 40, 50]);
}

#[gorun::test]
async fn abort_all_cancels_and_drop_aborts() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let d = CountDrop(dropped.clone());
        set.spawn(async move {
            let _d = d;
            std::future::pending::<()>().await
        });
    }
    set.abort_all();
    let mut cancelled = 0;
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap_err().is_cancelled());
        cancelled += 1;
    }
    assert_eq!(cancelled, 10);
    assert_eq!(dropped.load(Ordering::SeqCst), 10);
    // Dropping a set aborts what is left in it.
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let d = CountDrop(dropped.clone());
        set.spawn(async move {
            let _d = d;
            std::future::pending::<()>().await
        });
    }
    drop(set);
    for _ in 0..1000 {
        if dropped.load(Ordering::SeqCst) == 20 {
            break;
        }
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        20,
        "dropping the set aborts"
    );
}

#[gorun::test]
async fn detach_all_lets_tasks_run_on() {
    let (tx, rx) = gorun::chan::<u32>(1);
    let mut set = JoinSet::new();
    let (gate_tx, gate_rx) = gorun::chan::<()>(0);
    set.spawn(async move {
        gate_rx.recv().await;
        tx.send(7).await.unwrap();
    });
    set.detach_all();
    assert!(set.is_empty());
    drop(set);
    gate_tx.send(()).await.unwrap();
    assert_eq!(rx.recv().await, Some(7));
}

#[gorun::test]
async fn try_join_next_and_shutdown() {
    let mut set = JoinSet::new();
    let (gate_tx, gate_rx) = gorun::chan::<()>(0);
    set.spawn(async move {
        gate_rx.recv().await;
        1
    });
    assert!(set.try_join_next().is_none(), "nothing finished yet");
    gate_tx.send(()).await.unwrap();
    let mut got = None;
    for _ in 0..1000 {
        if let Some(r) = set.try_join_next() {
            got = Some(r.unwrap());
            break;
        }
        gorun::yield_now().await;
    }
    assert_eq!(got, Some(1));
    for _ in 0..5 {
        set.spawn(std::future::pending());
    }
    set.shutdown().await;
    assert!(set.is_empty());
}

/// `join_next` in a `select!` against a timer: a round the timer wins loses no
/// output; every value comes out exactly once.
#[gorun::test]
async fn join_next_is_cancel_safe() {
    let mut set = JoinSet::new();
    for i in 0..200u64 {
        set.spawn(async move {
            gorun::time::sleep(Duration::from_micros(i * 37 % 2000)).await;
            i
        });
    }
    let mut seen = HashSet::new();
    let mut timeouts = 0;
    while !set.is_empty() {
        gorun::select! {
            r = set.join_next() => { assert!(seen.insert(r.unwrap().unwrap())); }
            recv(gorun::time::after(Duration::from_micros(100))) -> _ => timeouts += 1,
        }
    }
    assert_eq!(seen.len(), 200);
    let _ = timeouts;
}

#[gorun::test]
async fn panics_and_blocking_tasks() {
    let mut set = JoinSet::new();
    set.spawn(async { panic!("boom") });
    set.spawn_blocking(|| 5);
    let mut panics = 0;
    let mut fives = 0;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(v) => {
                assert_eq!(v, 5);
                fives += 1;
            }
            Err(e) => {
                assert!(e.is_panic());
                assert_eq!(e.panic_message(), Some("boom"));
                panics += 1;
            }
        }
    }
    assert_eq!((panics, fives), (1, 1));
}

/// Ids: a task's `task::id()` equals its `JoinHandle::id()`, its `AbortHandle::id()`
/// and the id `join_next_with_id` reports; live tasks have distinct ids; there is
/// none outside a task.
#[test]
fn ids_match_everywhere() {
    assert!(task::try_id().is_none(), "no id on a plain thread");
    let rt = rt();
    rt.block_on(async {
        assert!(task::try_id().is_none(), "a block_on future is not a task");
        let h = gorun::go(async { task::id() });
        let hid = h.id();
        assert_eq!(h.abort_handle().id(), hid);
        assert_eq!(h.await.unwrap(), hid);
        let mut set = JoinSet::new();
        let (gate_tx, gate_rx) = gorun::chan::<()>(0);
        let mut ids = HashSet::new();
        for _ in 0..50 {
            let g = gate_rx.clone();
            let abort = set.spawn(async move {
                let _ = g.recv().await;
                task::id()
            });
            assert!(ids.insert(abort.id()), "live tasks have distinct ids");
        }
        gate_tx.close();
        while let Some(r) = set.join_next_with_id().await {
            let (id, inner) = r.unwrap();
            assert_eq!(id, inner);
            assert!(ids.remove(&id));
        }
        assert!(ids.is_empty());
    });
}

#[gorun::test]
async fn collect_and_join_all() {
    let set: JoinSet<u32> = (0..10u32).map(|i| async move { i * 2 }).collect();
    let mut out = set.join_all().await;
    out.sort_unstable();
    assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());
}
