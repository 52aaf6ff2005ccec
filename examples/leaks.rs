//! Goroutine leaks, the seeds' examples, each with its fix, and how gorun differs
//! from Go:
//!
//! 1. A send nobody receives. In Go the sender blocks forever. In gorun, once every
//!    `Receiver` is dropped the send fails and gives the value back, so the
//!    classic version does not leak. It still leaks if a receiver is kept alive and
//!    never read. Fix: a buffer of one, or select on `ctx.done()`.
//! 2. A forgotten receiver: ranging over a channel nobody closes. In gorun dropping
//!    the last `Sender` closes the channel, so it leaks only while a sender is kept
//!    somewhere. Fix: `close()`, or drop the sender.
//! 3. A missing cancel: a worker watching a context that is never cancelled. Fix:
//!    `with_cancel` plus a guard that cancels on drop (Go's `defer cancel()`).
//!
//! `num_tasks()` (Go's `runtime.NumGoroutine`) and `Handle::dump()` (the goroutine
//! dump) make a leak visible, and `#[gorun::test]` fails a test that leaks (the
//! tests below check that too). Run it with `cargo run --release --example leaks`.

use std::time::Duration;

use gorun::context::{self, CancelFn, Context, ContextError};
use gorun::{chan, select, JoinHandle, Receiver, Sender};

/// Stands in for `expensiveComputation()`.
async fn expensive() -> u64 {
    gorun::time::sleep(Duration::from_millis(5)).await;
    42
}

/// Leak 1, Go's way: the caller returns without receiving. gorun's twist: the
/// receiver is dropped, so the send fails and the goroutine ends with the value.
fn send_nobody_receives() -> JoinHandle<Result<(), u64>> {
    let (tx, rx) = chan::<u64>(0);
    let h = gorun::go(async move { tx.send(expensive().await).await.map_err(|e| e.0) });
    drop(rx); // "function returns without reading from ch"
    h
}

/// Leak 1 as it still happens in gorun: the receiver is kept (here, handed back to
/// a caller that stores it) but never read, so the sender waits forever.
fn send_receiver_kept(keep: &mut Vec<Receiver<u64>>) -> JoinHandle<()> {
    let (tx, rx) = chan::<u64>(0);
    keep.push(rx);
    gorun::go(async move {
        let _ = tx.send(expensive().await).await;
    })
}

/// Fix 1: a buffer of one lets the goroutine finish even if we stop waiting, and
/// the caller gives up when `ctx` is done.
async fn send_fixed(ctx: &Context) -> Result<u64, ContextError> {
    let (tx, rx) = chan::<u64>(1);
    gorun::go(async move {
        let _ = tx.send(expensive().await).await; // never blocks: the buffer is free
    });
    select! {
        recv(rx) -> v => Ok(v.expect("the goroutine sends before it ends")),
        _ = ctx.done() => Err(ctx.err().unwrap_or(ContextError::Canceled)),
    }
}

/// Leak 2: the consumer ranges over a channel whose sender is kept and never closed.
fn forgotten_close(keep: &mut Vec<Sender<u64>>) -> JoinHandle<u64> {
    let (tx, rx) = chan::<u64>(0);
    let consumer = gorun::go(async move {
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    keep.push(tx); // "sender stops sending but doesn't close(ch)"
    consumer
}

/// Fix 2: the sender closes the channel when it is done sending.
async fn close_fixed(items: &[u64]) -> u64 {
    let (tx, rx) = chan::<u64>(0);
    let consumer = gorun::go(async move {
        let mut sum = 0;
        while let Some(v) = rx.recv().await {
            sum += v;
        }
        sum
    });
    for &v in items {
        tx.send(v).await.unwrap();
    }
    tx.close(); // close(ch); dropping `tx` would do as well
    consumer.await.unwrap()
}

/// A worker that runs until its context is done; returns how many rounds it did.
async fn worker(ctx: Context) -> u64 {
    let mut rounds = 0;
    loop {
        select! {
            _ = ctx.done() => return rounds,
            _ = gorun::time::sleep(Duration::from_millis(1)) => rounds += 1,
        }
    }
}

/// Leak 3: the worker's context can never be cancelled.
fn missing_cancel() -> JoinHandle<u64> {
    gorun::go(worker(Context::background()))
}

/// Go's `defer cancel()`: cancels when it goes out of scope, on every path.
struct CancelOnDrop(CancelFn);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Fix 3: a cancellable context, cancelled when this function returns.
async fn cancel_fixed() -> JoinHandle<u64> {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    let _cancel = CancelOnDrop(cancel);
    let h = gorun::go(worker(ctx));
    gorun::time::sleep(Duration::from_millis(5)).await; // "... do some work ..."
    h
}

/// Waits (up to a second) for the live task count to fall to `n`, and returns it.
async fn tasks_settle_to(n: usize) -> usize {
    for _ in 0..1000 {
        if gorun::num_tasks() <= n {
            break;
        }
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
    gorun::num_tasks()
}

/// The live tasks spawned from this file, as the task dump lists them.
fn leaked_here() -> Vec<String> {
    let dump = gorun::Handle::current().dump();
    (dump.tasks.iter())
        .filter(|t| t.location.file().ends_with("leaks.rs"))
        .map(|t| format!("{}:{} {:?}", t.location.file(), t.location.line(), t.state))
        .collect()
}

#[gorun::main]
async fn main() {
    let base = gorun::num_tasks();
    let r = send_nobody_receives().await.unwrap();
    println!("1. send with every receiver dropped: fails, value back ({r:?}); no leak");
    assert_eq!(r, Err(42));

    let (mut rxs, mut txs) = (Vec::new(), Vec::new());
    let leaks = [
        send_receiver_kept(&mut rxs).abort_handle(),
        forgotten_close(&mut txs).abort_handle(),
        missing_cancel().abort_handle(),
    ];
    gorun::time::sleep(Duration::from_millis(20)).await;
    let leaked = gorun::num_tasks() - base;
    println!("leaky versions: num_tasks() is {leaked} above the baseline; the dump:");
    for t in leaked_here() {
        println!("    {t}");
    }
    assert_eq!(leaked, 3);
    // Go cannot kill a goroutine; gorun can abort a task.
    leaks.iter().for_each(|h| h.abort());
    assert_eq!(tasks_settle_to(base).await, base);

    assert_eq!(send_fixed(&Context::background()).await, Ok(42));
    assert_eq!(close_fixed(&[1, 2, 3]).await, 6);
    let rounds = cancel_fixed().await.await.unwrap(); // returns: the cancel reached it
    println!("the worker with a cancelled context stopped after {rounds} rounds");
    assert_eq!(tasks_settle_to(base).await, base);
    println!("fixed versions: num_tasks() back at the baseline ({base})");
}

#[cfg(test)]
mod tests {
    use super::*;
    use gorun::__private::{run_test, Options};

    /// Runs `body` under #[gorun::test]'s harness; the leak report if it fails.
    fn leak_report<F: std::future::Future<Output = ()> + Send + 'static>(body: F) -> String {
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_test(Options::default(), body)
        }))
        .expect_err("the leak check should have failed");
        p.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn the_test_harness_catches_each_leak() {
        let msg = leak_report(async {
            let mut keep = Vec::new();
            drop(send_receiver_kept(&mut keep));
            std::mem::forget(keep); // the receiver lives on, unread
        });
        assert!(
            msg.contains("1 task(s) still alive") && msg.contains("leaks.rs"),
            "{msg}"
        );
        let msg = leak_report(async {
            let mut keep = Vec::new();
            drop(forgotten_close(&mut keep));
            std::mem::forget(keep); // the sender lives on, never closed
        });
        assert!(msg.contains("1 task(s) still alive"), "{msg}");
        let msg = leak_report(async {
            drop(missing_cancel());
        });
        assert!(msg.contains("1 task(s) still alive"), "{msg}");
    }

    #[gorun::test]
    async fn a_send_with_no_receiver_fails_instead_of_leaking() {
        let base = gorun::num_tasks();
        assert_eq!(send_nobody_receives().await.unwrap(), Err(42));
        assert_eq!(tasks_settle_to(base).await, base);
    }

    #[gorun::test]
    async fn the_fixes_leave_num_tasks_at_the_baseline() {
        let base = gorun::num_tasks();
        assert_eq!(send_fixed(&Context::background()).await, Ok(42));
        let (ctx, cancel) = context::with_cancel(&Context::background());
        cancel.cancel();
        assert_eq!(send_fixed(&ctx).await, Err(ContextError::Canceled));
        assert_eq!(close_fixed(&[1, 2, 3, 4]).await, 10);
        cancel_fixed().await.await.unwrap(); // the worker returned: cancelled on drop
        assert_eq!(tasks_settle_to(base).await, base);
    }

    #[gorun::test]
    async fn num_tasks_and_the_dump_reveal_a_leak() {
        let base = gorun::num_tasks();
        let mut keep = Vec::new();
        let leak = forgotten_close(&mut keep);
        gorun::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(gorun::num_tasks(), base + 1);
        let dump = leaked_here();
        assert_eq!(dump.len(), 1, "{dump:?}");
        // `examples/leaks.rs:LINE Waiting`: the `go` inside `forgotten_close`.
        assert!(dump[0].ends_with("Waiting"), "{dump:?}");
        // Closing the kept sender ends the leak: the consumer returns its sum.
        keep[0].send(5).await.unwrap();
        keep.clear();
        assert_eq!(leak.await.unwrap(), 5);
    }
}
