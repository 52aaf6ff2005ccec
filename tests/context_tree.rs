//! `gorun::context`: cancel trees, deadlines on the paused clock, values, causes,
//! `done()` in `select!`, and no leaks.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as Cx, Poll, Waker};
use std::time::Duration;

use gorun::context::{self, Context, ContextError};
use gorun::time::Instant;

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Cx::from_waker(Waker::noop()))
}

#[test]
fn background_is_never_done() {
    let bg = Context::background();
    assert_eq!(bg.err(), None);
    assert!(bg.cause().is_none());
    assert!(bg.deadline().is_none());
    assert!(poll_once(pin!(bg.done())).is_pending());
    assert!(bg.done_chan().try_recv().is_err());
    assert!(!bg.done_chan().is_closed());
}

#[test]
fn cancel_parent_cancels_all_descendants() {
    let (root, cancel_root) = context::with_cancel(&Context::background());
    let (a, _ca) = context::with_cancel(&root);
    let v = context::with_value(&a, 5u8);
    let (b, _cb) = context::with_cancel(&v);
    let (c, _cc) = context::with_cancel(&root);
    let mut waits: Vec<_> = [&a, &v, &b, &c]
        .iter()
        .map(|x| Box::pin(x.done()))
        .collect();
    for w in &mut waits {
        assert!(poll_once(w.as_mut()).is_pending());
    }
    let chan = b.done_chan();
    cancel_root.cancel();
    for x in [&root, &a, &v, &b, &c] {
        assert_eq!(x.err(), Some(ContextError::Canceled));
    }
    for w in &mut waits {
        assert!(poll_once(w.as_mut()).is_ready());
    }
    assert!(chan.is_closed());
    assert_eq!(chan.try_recv(), Err(gorun::TryRecvError::Closed));
}

#[test]
fn child_cancel_does_not_touch_parent_or_siblings() {
    let (root, _cancel) = context::with_cancel(&Context::background());
    let (a, cancel_a) = context::with_cancel(&root);
    let (a1, _c) = context::with_cancel(&a);
    let (b, _cb) = context::with_cancel(&root);
    cancel_a.cancel();
    cancel_a.cancel(); // idempotent
    assert!(a.is_done() && a1.is_done());
    assert!(!root.is_done() && !b.is_done());
    assert_eq!(root.__children(), 1, "a cancelled child leaves its parent");
}

#[test]
fn child_of_cancelled_parent_starts_cancelled() {
    let (root, cancel) = context::with_cancel(&Context::background());
    cancel.cancel_with_cause(std::io::Error::other("shutting down"));
    let (c, _cc) = context::with_timeout(&root, Duration::from_secs(5));
    assert_eq!(c.err(), Some(ContextError::Canceled));
    assert_eq!(c.cause().unwrap().to_string(), "shutting down");
    assert!(poll_once(pin!(c.done())).is_ready());
    assert!(c.done_chan().is_closed());
}

#[test]
fn cause_defaults_to_err_and_propagates() {
    let (root, cancel) = context::with_cancel(&Context::background());
    let (child, _c) = context::with_cancel(&root);
    assert!(child.cause().is_none());
    cancel.cancel_with_cause(std::io::Error::other("db down"));
    assert_eq!(root.cause().unwrap().to_string(), "db down");
    assert_eq!(child.cause().unwrap().to_string(), "db down");
    let (other, c2) = context::with_cancel(&Context::background());
    c2.cancel();
    assert_eq!(other.cause().unwrap().to_string(), "context canceled");
}

#[test]
fn values_nearest_wins() {
    #[derive(Debug, PartialEq)]
    struct RequestId(u32);
    let bg = Context::background();
    let a = context::with_value(&bg, RequestId(1));
    let b = context::with_value(&a, "user");
    let (c, _cancel) = context::with_cancel(&b);
    let d = context::with_value(&c, RequestId(2));
    assert_eq!(a.value::<RequestId>(), Some(&RequestId(1)));
    assert_eq!(c.value::<RequestId>(), Some(&RequestId(1)));
    assert_eq!(c.value::<&str>(), Some(&"user"));
    assert_eq!(d.value::<RequestId>(), Some(&RequestId(2)));
    assert_eq!(bg.value::<RequestId>(), None);
    assert_eq!(d.value::<u64>(), None);
}

#[test]
fn dropped_children_leave_the_parent() {
    let (root, _cancel) = context::with_cancel(&Context::background());
    for _ in 0..1000 {
        let (c, cancel) = context::with_timeout(&root, Duration::from_secs(3600));
        let (gc, _gcancel) = context::with_cancel(&c);
        drop((c, cancel, gc));
    }
    assert_eq!(root.__children(), 0);
    // Dropping only the cancel handle keeps the child registered and live.
    let (c, cancel) = context::with_cancel(&root);
    drop(cancel);
    assert_eq!(root.__children(), 1);
    assert!(!c.is_done());
    drop(c);
    assert_eq!(root.__children(), 0);
}

#[test]
fn dropped_done_future_unregisters() {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    let mut a = Box::pin(ctx.done());
    assert!(poll_once(a.as_mut()).is_pending());
    drop(a);
    let mut b = pin!(ctx.done());
    assert!(poll_once(b.as_mut()).is_pending());
    cancel.cancel();
    assert!(poll_once(b.as_mut()).is_ready());
}

#[gorun::test(start_paused = true)]
async fn one_hour_timeout_runs_on_the_paused_clock() {
    let start = std::time::Instant::now();
    let t0 = Instant::now();
    let (ctx, _cancel) = context::with_timeout(&Context::background(), Duration::from_secs(3600));
    assert_eq!(ctx.deadline(), Some(t0 + Duration::from_secs(3600)));
    ctx.done().await;
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    assert!(Instant::now() >= t0 + Duration::from_secs(3600));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the paused clock jumped"
    );
}

#[gorun::test(start_paused = true)]
async fn deadline_propagates_and_earliest_wins() {
    let t0 = Instant::now();
    let (outer, _c1) = context::with_timeout(&Context::background(), Duration::from_secs(10));
    let (inner, _c2) = context::with_timeout(&outer, Duration::from_secs(60));
    assert_eq!(
        inner.deadline(),
        outer.deadline(),
        "the parent's deadline comes first"
    );
    let (short, _c3) = context::with_timeout(&outer, Duration::from_secs(1));
    short.done().await;
    assert_eq!(short.err(), Some(ContextError::DeadlineExceeded));
    assert!(!outer.is_done());
    inner.done().await;
    assert_eq!(inner.err(), Some(ContextError::DeadlineExceeded));
    assert!(Instant::now() >= t0 + Duration::from_secs(10));
}

#[gorun::test(start_paused = true)]
async fn past_deadline_is_done_at_once() {
    let (ctx, _c) = context::with_deadline(&Context::background(), Instant::now());
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}

#[gorun::test(start_paused = true)]
async fn cancel_before_deadline_stops_the_timer() {
    let (ctx, cancel) = context::with_timeout(&Context::background(), Duration::from_secs(60));
    cancel.cancel();
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    gorun::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        ctx.err(),
        Some(ContextError::Canceled),
        "the error never changes"
    );
}

#[gorun::test(start_paused = true)]
async fn dropped_timeout_context_leaks_no_task() {
    for _ in 0..100 {
        let (ctx, cancel) = context::with_timeout(&Context::background(), Duration::from_secs(1));
        drop((ctx, cancel));
    }
    // If a timer survived, it would fire here and run a task; goleak would see it.
    gorun::time::sleep(Duration::from_secs(2)).await;
}

#[gorun::test]
async fn done_in_select_both_forms() {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    let (tx, rx) = gorun::chan::<u32>(0);
    let worker = {
        let ctx = ctx.clone();
        gorun::go(async move {
            let mut got = 0;
            loop {
                gorun::select! {
                    recv(ctx.done_chan()) -> _ => return got,
                    recv(rx) -> v => got += v.unwrap(),
                }
            }
        })
    };
    let worker2 = {
        let ctx = ctx.clone();
        gorun::go(async move {
            gorun::select! {
                _ = ctx.done() => "done",
                _ = gorun::time::sleep(Duration::from_secs(30)) => "slept",
            }
        })
    };
    tx.send(2).await.unwrap();
    tx.send(3).await.unwrap();
    cancel.cancel();
    assert_eq!(worker.await.unwrap(), 5);
    assert_eq!(worker2.await.unwrap(), "done");
}

#[gorun::test]
async fn run_stops_work_at_cancel() {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    assert_eq!(ctx.run(async { 7 }).await, Ok(7));
    let canceller = gorun::go(async move {
        gorun::time::sleep(Duration::from_millis(5)).await;
        cancel.cancel();
    });
    let r = ctx.run(std::future::pending::<()>()).await;
    assert_eq!(r, Err(ContextError::Canceled));
    canceller.await.unwrap();
}

#[gorun::test]
async fn concurrent_cancel_and_derive() {
    for _ in 0..50 {
        let (root, cancel) = context::with_cancel(&Context::background());
        let root = Arc::new(root);
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let root = root.clone();
                gorun::go(async move {
                    let mut kids = vec![];
                    for _ in 0..50 {
                        kids.push(context::with_cancel(&root));
                    }
                    for (k, _) in &kids {
                        k.done().await;
                    }
                })
            })
            .collect();
        gorun::yield_now().await;
        cancel.cancel();
        for h in hs {
            h.await.unwrap();
        }
    }
}
