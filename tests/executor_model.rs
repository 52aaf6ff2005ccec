//! Property test: random mixes of task behaviours and handle operations, checked
//! against a simple model of what each JoinHandle must report.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Body {
    /// Returns its value after `yields` yields.
    Value { yields: u8 },
    /// Panics after `yields` yields.
    Panic { yields: u8 },
    /// Never finishes.
    Forever,
}

#[derive(Clone, Debug)]
enum Handle {
    Await,
    AbortThenAwait,
    Detach,
}

#[derive(Clone, Debug)]
struct Spec {
    body: Body,
    handle: Handle,
    nested: bool,
}

fn spec() -> impl Strategy<Value = Spec> {
    let body = prop_oneof![
        (0u8..4).prop_map(|yields| Body::Value { yields }),
        (0u8..4).prop_map(|yields| Body::Panic { yields }),
        Just(Body::Forever),
    ];
    let handle = prop_oneof![
        Just(Handle::Await),
        Just(Handle::AbortThenAwait),
        Just(Handle::Detach)
    ];
    (body, handle, any::<bool>()).prop_map(|(body, handle, nested)| {
        // Awaiting a task that never finishes would hang the test: detach it instead.
        let handle = match (&body, handle) {
            (Body::Forever, Handle::Await) => Handle::Detach,
            (_, h) => h,
        };
        Spec {
            body,
            handle,
            nested,
        }
    })
}

struct Count(Arc<AtomicUsize>);
impl Drop for Count {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `count` is made before the task is spawned, so a task aborted before its first
/// poll is counted too.
async fn run_body(i: usize, body: Body, count: Count) -> usize {
    let _c = count;
    match body {
        Body::Value { yields } => {
            for _ in 0..yields {
                gorun::yield_now().await;
            }
            i
        }
        Body::Panic { yields } => {
            for _ in 0..yields {
                gorun::yield_now().await;
            }
            panic!("task {i}");
        }
        Body::Forever => std::future::pending().await,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn join_results_match_the_model(specs in prop::collection::vec(spec(), 1..40), procs in 1usize..4) {
        let rt = gorun::Runtime::builder().procs(procs).build().unwrap();
        let drops = Arc::new(AtomicUsize::new(0));
        let specs2 = specs.clone();
        let d = drops.clone();
        let outcomes = rt.run(async move {
            let mut handles = Vec::new();
            for (i, s) in specs2.iter().enumerate() {
                let body = s.body.clone();
                let d = Count(d.clone());
                let h = if s.nested {
                    // Spawned from a child task: exercises spawns from other workers.
                    {
                        // The child spawns the task and hands its JoinHandle back.
                        #[allow(clippy::async_yields_async)]
                        let inner = async move { gorun::go(run_body(i, body, d)) };
                        gorun::go(inner).await.unwrap()
                    }
                } else {
                    gorun::go(run_body(i, body, d))
                };
                handles.push(h);
            }
            let mut out = Vec::new();
            for (h, s) in handles.into_iter().zip(&specs2) {
                match s.handle {
                    Handle::Await => out.push(Some(h.await)),
                    Handle::AbortThenAwait => {
                        h.abort();
                        out.push(Some(h.await));
                    }
                    Handle::Detach => out.push(None),
                }
            }
            out.into_iter()
                .map(|r| r.map(|r| r.map_err(|e| (e.is_cancelled(), e.is_panic()))))
                .collect::<Vec<_>>()
        });
        for (i, (s, o)) in specs.iter().zip(&outcomes).enumerate() {
            match (&s.handle, &s.body, o) {
                (Handle::Detach, _, None) => {}
                (Handle::Await, Body::Value { .. }, Some(Ok(v))) => prop_assert_eq!(*v, i),
                (Handle::Await, Body::Panic { .. }, Some(Err((false, true)))) => {}
                // Aborted: cancelled, unless it had already finished.
                (Handle::AbortThenAwait, _, Some(Err((true, false)))) => {}
                (Handle::AbortThenAwait, Body::Value { .. }, Some(Ok(v))) => prop_assert_eq!(*v, i),
                (Handle::AbortThenAwait, Body::Panic { .. }, Some(Err((false, true)))) => {}
                (h, b, o) => prop_assert!(false, "task {i}: {h:?} {b:?} gave {o:?}"),
            }
        }
        drop(rt);
        // Every future was dropped exactly once: finished, aborted or at shutdown.
        prop_assert_eq!(drops.load(Ordering::SeqCst), specs.len());
    }
}
