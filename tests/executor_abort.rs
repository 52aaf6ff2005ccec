//! `JoinHandle::abort` of idle, running and finished tasks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gorun::Runtime;

struct SetOnDrop(Arc<AtomicUsize>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn abort_idle_task_drops_its_future_once() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let h = rt.spawn(async move {
        let _g = SetOnDrop(d);
        std::future::pending::<()>().await;
    });
    // Let it start and go idle.
    std::thread::sleep(Duration::from_millis(20));
    h.abort();
    h.abort(); // twice is harmless
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(rt.num_tasks(), 0);
}

#[test]
fn abort_before_first_poll() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    // `run`, not `block_on`: the body must be a task on the only worker, so the
    // spawned task cannot run before the body yields. (Under `block_on` the body
    // runs on this thread, and the worker could run the task at once: this test
    // failed that way once in CI.)
    rt.run(async move {
        let h = gorun::go(async move { r.store(true, Ordering::SeqCst) });
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
    });
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn abort_running_task_takes_effect_at_its_next_yield() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let (s, p) = (started.clone(), polls.clone());
    let h = rt.spawn(async move {
        loop {
            s.store(true, Ordering::SeqCst);
            p.fetch_add(1, Ordering::SeqCst);
            // Busy for a while inside one poll, then yield.
            let t = std::time::Instant::now();
            while t.elapsed() < Duration::from_micros(200) {}
            gorun::yield_now().await;
        }
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_cancelled());
    let after = polls.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(10));
    assert_eq!(
        polls.load(Ordering::SeqCst),
        after,
        "aborted task kept running"
    );
}

#[test]
fn abort_after_completion_keeps_the_output() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let h = rt.spawn(async { 9 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 9);
}

#[test]
fn abort_handle_outlives_join_handle() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let g = SetOnDrop(drops.clone());
    let h = rt.spawn(async move {
        let _g = g;
        std::future::pending::<()>().await
    });
    let ah = h.abort_handle();
    let ah2 = ah.clone();
    drop(h); // detached
    assert!(!ah.is_finished());
    ah2.abort();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !ah.is_finished() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn aborting_many_tasks_concurrently_with_their_wakes() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        let mut hs = Vec::new();
        for _ in 0..2000 {
            // Made outside the future: counted even if it is aborted before its first poll.
            let g = SetOnDrop(drops.clone());
            hs.push(gorun::go(async move {
                let _g = g;
                loop {
                    gorun::yield_now().await;
                }
            }));
        }
        gorun::yield_now().await;
        for h in &hs {
            h.abort();
        }
        for h in hs {
            assert!(h.await.unwrap_err().is_cancelled());
        }
    });
    assert_eq!(drops.load(Ordering::SeqCst), 2000);
}
