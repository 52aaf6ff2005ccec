//! The blocking forms of the channel and `sync` operations (`blocking_send`,
//! `blocking_lock`, ...): they work from plain threads and `spawn_blocking`, and a call
//! inside a task panics with a clear message instead of stalling its worker (tokio's
//! `blocking_*` refuse the same), however many workers the runtime has.

use gorun::sync::{oneshot, Mutex, WaitGroup};

const MESSAGE: &str = "cannot block a thread that is running gorun tasks";

fn runtime(procs: usize) -> gorun::Runtime {
    gorun::Runtime::builder().procs(procs).build().unwrap()
}

/// Runs `f` inside a task on `procs` workers and returns its panic message.
fn panic_inside_task(procs: usize, f: impl FnOnce() + Send + 'static) -> String {
    let rt = runtime(procs);
    let err = rt
        .block_on(rt.spawn(async move { f() }))
        .expect_err("the blocking call inside a task did not panic");
    assert!(err.is_panic());
    err.panic_message().unwrap_or_default().to_string()
}

#[test]
fn channel_blocking_calls_inside_a_task_panic() {
    for procs in [1, 2] {
        let (tx, rx) = gorun::chan::<u32>(0);
        let msg = panic_inside_task(procs, move || {
            let _ = tx.blocking_send(1);
        });
        assert!(msg.contains(MESSAGE), "{msg}");
        let msg = panic_inside_task(procs, move || {
            let _ = rx.blocking_recv();
        });
        assert!(msg.contains(MESSAGE), "{msg}");
    }
}

#[test]
fn sync_blocking_calls_inside_a_task_panic() {
    let m = std::sync::Arc::new(Mutex::new(0));
    let msg = panic_inside_task(2, move || drop(m.blocking_lock()));
    assert!(msg.contains(MESSAGE), "{msg}");
    let (_tx, rx) = oneshot::channel::<u8>();
    let msg = panic_inside_task(2, move || drop(rx.blocking_recv()));
    assert!(msg.contains(MESSAGE), "{msg}");
    let wg = WaitGroup::new();
    let msg = panic_inside_task(2, move || wg.blocking_wait());
    assert!(msg.contains(MESSAGE), "{msg}");
}

#[test]
fn inside_runtime_block_on_panics_too() {
    let rt = runtime(1);
    let (tx, _rx) = gorun::chan::<u32>(1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { tx.blocking_send(1) })
    }));
    let err = r.expect_err("blocking_send inside block_on did not panic");
    let msg = err
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains(MESSAGE), "{msg}");
}

#[test]
fn spawn_blocking_and_plain_threads_may_block_while_tasks_run() {
    let rt = runtime(1);
    let (tx, rx) = gorun::chan::<u32>(0);
    let (back_tx, back_rx) = gorun::chan::<u32>(0);
    // A task sends to a blocking closure, which answers through a plain thread's
    // blocking send: every message is counted back.
    let answered = std::thread::spawn(move || {
        let mut n = 0;
        for v in back_rx.iter() {
            assert_eq!(v, n * 2);
            n += 1;
        }
        n
    });
    rt.block_on(async move {
        let pool = gorun::spawn_blocking(move || {
            while let Some(v) = rx.blocking_recv() {
                back_tx.blocking_send(v * 2).unwrap();
            }
        });
        for i in 0..100 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        pool.await.unwrap();
    });
    assert_eq!(answered.join().unwrap(), 100);
}

#[test]
fn block_in_place_may_block() {
    let rt = runtime(2);
    let (tx, rx) = gorun::chan::<u32>(0);
    let got = rt.block_on(rt.spawn(async move {
        let sender = gorun::go(async move { tx.send(5).await.unwrap() });
        let v = gorun::task::block_in_place(|| rx.blocking_recv());
        sender.await.unwrap();
        v
    }));
    assert_eq!(got.unwrap(), Some(5));
}
