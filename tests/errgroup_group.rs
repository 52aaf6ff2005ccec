//! `gorun::errgroup::Group`: first error, context cancellation, limits, panics.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gorun::context::{Context, ContextError};
use gorun::errgroup::Group;

#[gorun::test]
async fn all_ok() {
    let g = Group::<String>::new();
    let hits = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let hits = hits.clone();
        g.go(async move {
            hits.fetch_add(1, SeqCst);
            Ok(())
        })
        .await;
    }
    assert_eq!(g.wait().await, Ok(()));
    assert_eq!(hits.load(SeqCst), 100);
}

#[gorun::test]
async fn first_error_wins_and_all_members_finish() {
    let g = Group::<u32>::new();
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 0..10u32 {
        let finished = finished.clone();
        g.go(async move {
            // Member 4 fails first; the others fail later.
            let d = if i == 4 { 0 } else { 5 + u64::from(i) };
            gorun::time::sleep(Duration::from_millis(d)).await;
            finished.fetch_add(1, SeqCst);
            if i % 2 == 0 {
                Err(i)
            } else {
                Ok(())
            }
        })
        .await;
    }
    assert_eq!(g.wait().await, Err(4));
    assert_eq!(finished.load(SeqCst), 10, "wait waits for every member");
    assert_eq!(g.wait().await, Ok(()), "the error is handed out once");
}

#[gorun::test]
async fn first_error_cancels_the_context() {
    let (g, ctx) = Group::<&'static str>::with_context(&Context::background());
    let saw_cancel = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        let (ctx, saw) = (ctx.clone(), saw_cancel.clone());
        g.go(async move {
            ctx.done().await;
            saw.fetch_add(1, SeqCst);
            Ok(())
        })
        .await;
    }
    g.go(async { Err("boom") }).await;
    assert_eq!(g.wait().await, Err("boom"));
    assert_eq!(saw_cancel.load(SeqCst), 5);
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
}

#[gorun::test]
async fn wait_cancels_the_context_even_on_success() {
    let (g, ctx) = Group::<()>::with_context(&Context::background());
    g.go(async { Ok(()) }).await;
    assert!(g.wait().await.is_ok());
    assert!(ctx.is_done());
}

#[gorun::test]
async fn limit_bounds_concurrency() {
    let g = Group::<()>::new();
    g.set_limit(3);
    let (running, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    for _ in 0..40 {
        let (running, max) = (running.clone(), max.clone());
        g.go(async move {
            let now = running.fetch_add(1, SeqCst) + 1;
            max.fetch_max(now, SeqCst);
            gorun::time::sleep(Duration::from_micros(200)).await;
            running.fetch_sub(1, SeqCst);
            Ok(())
        })
        .await;
    }
    g.wait().await.unwrap();
    assert_eq!(
        max.load(SeqCst),
        3,
        "never more than the limit, and the limit reached"
    );
}

#[gorun::test]
async fn try_go_respects_the_limit() {
    let g = Group::<()>::new();
    g.set_limit(1);
    let (tx, rx) = gorun::chan::<()>(0);
    assert!(g.try_go(async move {
        rx.recv().await;
        Ok(())
    }));
    assert!(!g.try_go(async { Ok(()) }));
    tx.send(()).await.unwrap();
    g.wait().await.unwrap();
    assert!(g.try_go(async { Ok(()) }));
    g.wait().await.unwrap();
}

#[gorun::test]
async fn go_waiting_for_a_slot_is_cancel_safe() {
    let g = Group::<()>::new();
    g.set_limit(1);
    let (tx, rx) = gorun::chan::<()>(0);
    g.go(async move {
        rx.recv().await;
        Ok(())
    })
    .await;
    let ran = Arc::new(AtomicUsize::new(0));
    let r2 = ran.clone();
    let r = gorun::time::timeout(
        Duration::from_millis(5),
        g.go(async move {
            r2.fetch_add(1, SeqCst);
            Ok(())
        }),
    )
    .await;
    assert!(r.is_err(), "go waited for a slot");
    tx.send(()).await.unwrap();
    g.wait().await.unwrap();
    assert_eq!(ran.load(SeqCst), 0, "the cancelled member never ran");
    assert!(g.try_go(async { Ok(()) }), "no slot was leaked");
    g.wait().await.unwrap();
}

#[gorun::test]
#[should_panic(expected = "set_limit while")]
async fn set_limit_while_active_panics() {
    let g = Group::<()>::new();
    let (tx, rx) = gorun::chan::<()>(0);
    g.go(async move {
        let _ = rx.recv().await;
        Ok(())
    })
    .await;
    let _tx = tx;
    g.set_limit(2);
}

#[gorun::test]
async fn panic_cancels_and_resumes_in_wait() {
    let (g, ctx) = Group::<()>::with_context(&Context::background());
    let other_finished = Arc::new(AtomicUsize::new(0));
    let of = other_finished.clone();
    let c2 = ctx.clone();
    g.go(async move {
        c2.done().await;
        of.fetch_add(1, SeqCst);
        Ok(())
    })
    .await;
    g.go(async { panic!("member exploded") }).await;
    let waiter = gorun::go({
        let g = g.clone();
        async move { g.wait().await }
    });
    let err = waiter.await.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("member exploded"));
    assert_eq!(other_finished.load(SeqCst), 1, "others finished first");
    assert!(ctx.is_done());
}

#[gorun::test]
async fn members_can_add_members() {
    let g = Group::<()>::new();
    let hits = Arc::new(AtomicUsize::new(0));
    let (g2, h2) = (g.clone(), hits.clone());
    g.go(async move {
        for _ in 0..10 {
            let h = h2.clone();
            g2.go(async move {
                h.fetch_add(1, SeqCst);
                Ok(())
            })
            .await;
        }
        Ok(())
    })
    .await;
    g.wait().await.unwrap();
    assert_eq!(hits.load(SeqCst), 10);
}
