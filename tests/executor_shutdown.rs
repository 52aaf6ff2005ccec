//! Dropping the runtime drops every unfinished future exactly once and joins its
//! threads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gorun::Runtime;

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn shutdown_drops_each_pending_future_exactly_once() {
    for procs in [1, 2, 4] {
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = Runtime::builder().procs(procs).build().unwrap();
        let mut handles = Vec::new();
        // Idle tasks (waiting forever), queued tasks never polled, and tasks yielding.
        for i in 0..3000 {
            let c = Counted(drops.clone());
            handles.push(rt.spawn(async move {
                let _c = c;
                if i % 3 == 0 {
                    std::future::pending::<()>().await;
                } else {
                    loop {
                        gorun::yield_now().await;
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(5));
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 3000, "procs={procs}");
        // The handles report cancellation, and can still be polled after the runtime died.
        for h in handles {
            let err = futures::executor::block_on(h).unwrap_err();
            assert!(err.is_cancelled());
        }
    }
}

#[test]
fn spawn_during_shutdown_is_cancelled_not_leaked() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().procs(2).build().unwrap();
    struct SpawnOnDrop(Arc<AtomicUsize>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let c = Counted(self.0.clone());
            // The runtime is shutting down: this task must be dropped, not run or leaked.
            let h = gorun::go(async move {
                let _c = c;
                std::future::pending::<()>().await
            });
            drop(h);
        }
    }
    for _ in 0..100 {
        let s = SpawnOnDrop(drops.clone());
        rt.spawn(async move {
            let _s = s;
            std::future::pending::<()>().await
        });
    }
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 100);
}

#[test]
fn dropping_the_runtime_from_inside_a_task_does_not_deadlock() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = rt.handle().clone();
    h.spawn(async move {
        drop(rt);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn dropping_the_runtime_from_a_blocking_closure_does_not_deadlock() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = rt.handle().clone();
    h.spawn_blocking(move || {
        drop(rt);
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn worker_threads_are_joined() {
    fn count_threads(prefix: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter(|e| {
                let p = e.as_ref().unwrap().path().join("comm");
                std::fs::read_to_string(p).is_ok_and(|n| n.starts_with(prefix))
            })
            .count()
    }
    let rt = Runtime::builder()
        .procs(3)
        .thread_name("joincheck")
        .build()
        .unwrap();
    rt.block_on(async {
        gorun::spawn_blocking(|| std::thread::sleep(Duration::from_millis(5)))
            .await
            .unwrap()
    });
    // A thread names itself when it first runs, which under load can be after
    // block_on returns: wait (bounded) for all five to show.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count_threads("joincheck-") < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        count_threads("joincheck-"),
        5,
        "3 workers + 1 blocking thread + the watchdog's monitor"
    );
    drop(rt);
    // `drop` joins every thread. A joined thread can still show in /proc for a
    // moment: the kernel wakes the joiner when it clears the thread's tid, a little
    // before it unlists the thread (seen under load). So wait for the listing, with
    // a bound: a thread that is really left running stays listed and fails this.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while count_threads("joincheck-") > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(count_threads("joincheck-"), 0);
}
