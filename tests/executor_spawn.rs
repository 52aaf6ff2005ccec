//! Spawning, joining, detaching and counting goroutines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use gorun::{Handle, Runtime};

fn rt(procs: usize) -> Runtime {
    Runtime::builder().procs(procs).build().unwrap()
}

#[test]
fn one_million_tasks_spawned_and_joined() {
    let rt = rt(2);
    let sum = rt.run(async {
        let mut handles = Vec::with_capacity(1_000_000);
        for i in 0..1_000_000u64 {
            handles.push(gorun::go(async move { i }));
        }
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, (0..1_000_000u64).sum::<u64>());
    assert_eq!(rt.num_tasks(), 0);
}

#[test]
fn nested_spawns() {
    fn fan(depth: u32) -> gorun::JoinHandle<u64> {
        gorun::go(async move {
            if depth == 0 {
                return 1;
            }
            let a = fan(depth - 1);
            let b = fan(depth - 1);
            a.await.unwrap() + b.await.unwrap()
        })
    }
    let rt = rt(2);
    let leaves = rt.block_on(async { fan(12).await.unwrap() });
    assert_eq!(leaves, 1 << 12);
}

/// A future that completes once a flag is set, registering its waker for a foreign
/// thread to call. Every waiting task's waker is kept, so `open` wakes them all.
struct Gate {
    state: Mutex<(bool, Vec<Waker>)>,
}

impl Gate {
    fn new() -> Arc<Gate> {
        Arc::new(Gate {
            state: Mutex::new((false, Vec::new())),
        })
    }
    fn open(&self) {
        let ws = {
            let mut s = self.state.lock().unwrap();
            s.0 = true;
            std::mem::take(&mut s.1)
        };
        for w in ws {
            w.wake();
        }
    }
    async fn wait(self: Arc<Self>) {
        std::future::poll_fn(|cx| {
            let mut s = self.state.lock().unwrap();
            if s.0 {
                Poll::Ready(())
            } else {
                s.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn wakes_from_foreign_threads() {
    let rt = rt(2);
    let gates: Vec<_> = (0..200).map(|_| Gate::new()).collect();
    let handles: Vec<_> = gates.iter().map(|g| rt.spawn(g.clone().wait())).collect();
    let openers: Vec<_> = gates
        .chunks(50)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || {
                for g in chunk {
                    g.open();
                }
            })
        })
        .collect();
    for o in openers {
        o.join().unwrap();
    }
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
}

#[test]
fn dropped_handle_detaches_task() {
    let rt = rt(2);
    let done = Arc::new(AtomicUsize::new(0));
    let gate = Gate::new();
    {
        let (done, gate) = (done.clone(), gate.clone());
        drop(rt.spawn(async move {
            gate.wait().await;
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    assert_eq!(rt.num_tasks(), 1, "a detached task keeps running");
    gate.open();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while done.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "detached task never ran"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn num_tasks_counts_live_tasks() {
    let rt = rt(2);
    assert_eq!(rt.num_tasks(), 0);
    let gate = Gate::new();
    let handles: Vec<_> = (0..100).map(|_| rt.spawn(gate.clone().wait())).collect();
    assert_eq!(rt.num_tasks(), 100);
    assert_eq!(rt.handle().metrics().num_tasks, 100);
    gate.open();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(rt.num_tasks(), 0);
}

#[test]
fn spawn_from_plain_thread_through_handle() {
    let rt = rt(1);
    let handle = rt.handle().clone();
    let out = std::thread::spawn(move || {
        let _g = handle.enter();
        let h = gorun::go(async { 7 });
        assert!(Handle::try_current().is_ok());
        h
    })
    .join()
    .unwrap();
    assert_eq!(rt.block_on(out).unwrap(), 7);
}

#[test]
fn go_outside_any_runtime_uses_the_global_one() {
    assert!(Handle::try_current().is_err());
    let h = gorun::go(async { gorun::procs() });
    let procs = futures::executor::block_on(h).unwrap();
    assert!(procs >= 1);
}

#[test]
fn handle_current_outside_runtime_is_a_clear_error() {
    let err = Handle::try_current().unwrap_err();
    assert!(err.to_string().contains("no gorun runtime"));
    let panic = std::panic::catch_unwind(Handle::current).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("no gorun runtime"), "{msg}");
}

#[test]
fn block_on_inside_a_runtime_panics_instead_of_deadlocking() {
    let rt = Arc::new(rt(2));
    let inner = rt.clone();
    let res =
        rt.block_on(async move { gorun::go(async move { inner.block_on(async { 1 }) }).await });
    let err = res.unwrap_err();
    assert!(err.is_panic());
    assert!(
        err.panic_message()
            .unwrap()
            .contains("cannot block_on from within a runtime"),
        "{err}"
    );
    // Nested block_on on the same thread panics too.
    let rt2 = Runtime::builder().procs(1).build().unwrap();
    let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt2.block_on(async { rt2.block_on(async {}) })
    }));
    assert!(p.is_err());
}

#[test]
fn zero_procs_is_an_error() {
    let err = Runtime::builder().procs(0).build().unwrap_err();
    assert!(matches!(err, gorun::BuildError::ZeroProcs));
    assert!(err.to_string().contains("at least 1"));
    let err = Runtime::builder()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, gorun::BuildError::ZeroBlockingThreads));
}

#[test]
fn procs_reports_the_configuration() {
    let rt = rt(3);
    assert_eq!(rt.procs(), 3);
    assert_eq!(rt.block_on(async { gorun::procs() }), 3);
}

#[test]
fn run_resumes_a_panic_of_the_main_task() {
    let rt = rt(1);
    let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.run(async { panic!("main failed") })
    }))
    .unwrap_err();
    assert_eq!(*p.downcast_ref::<&str>().unwrap(), "main failed");
}
