//! errgroup: Go's `golang.org/x/sync/errgroup`: run tasks, wait for all, get the
//! first error, optionally cancel a context on it, optionally bound concurrency.
//!
//! | Go | gorun |
//! |---|---|
//! | `var g errgroup.Group` | [`Group::new`]`()` |
//! | `g, ctx := errgroup.WithContext(ctx)` | [`Group::with_context`]`(&ctx)` → ([`Group`], [`Context`]) |
//! | `g.Go(func() error {..})` | [`g.go(async move {..}).await`](Group::go) (waits for a slot under a limit, as `g.Go` blocks) |
//! | `g.TryGo(f)` | [`Group::try_go`] |
//! | `g.SetLimit(n)` | [`Group::set_limit`] |
//! | `err := g.Wait()` | [`g.wait().await`](Group::wait) → `Result<(), E>` |
//!
//! ```
//! # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
//! use gorun::context::Context;
//! use gorun::errgroup::Group;
//!
//! let (g, ctx) = Group::<String>::with_context(&Context::background());
//! g.set_limit(4);
//! for i in 0..10 {
//!     let ctx = ctx.clone();
//!     g.go(async move {
//!         if i == 3 {
//!             return Err(format!("job {i} failed"));
//!         }
//!         // Long work watches the context: the first error cancels it.
//!         let _ = ctx.run(gorun::time::sleep(std::time::Duration::from_millis(1))).await;
//!         Ok(())
//!     })
//!     .await;
//! }
//! assert_eq!(g.wait().await, Err("job 3 failed".to_string()));
//! assert!(ctx.err().is_some());
//! # });
//! ```
//!
//! Invariants: every member task holds a [`WaitGuard`] (and, under a limit, a
//! semaphore permit) for its whole life, released when it ends, however it ends.
//! The first error (or panic) is recorded once, under a lock, and cancels the
//! group's context right then, before the member's guard drops.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe, Location};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;

use crate::context::{self, CancelFn, Context};
use crate::sync::{Semaphore, WaitGroup, WaitGuard};

/// A group of tasks working on parts of one job (Go's `errgroup.Group`).
///
/// - [`go`](Group::go) spawns a member: a future returning `Result<(), E>`.
/// - [`wait`](Group::wait) waits for every member, then returns the first error.
/// - Made [`with_context`](Group::with_context), the group cancels its context on
///   the first error (or panic), and when `wait` returns.
/// - **Panics:** a panicking member counts as a failure (it cancels the context);
///   `wait` lets the other members finish, then resumes the first panic in the
///   caller of `wait` (with its original payload), as `sourcegraph/conc` does.
///   So a panic is never lost, and never kills a worker.
///
/// Cheap to clone; clones are the same group, so members can add members. Dropping
/// the group without waiting detaches the members (they keep running, as in Go).
pub struct Group<E = Box<dyn std::error::Error + Send + Sync>> {
    shared: Arc<Shared<E>>,
}

struct Shared<E> {
    wg: WaitGroup,
    cancel: Option<CancelFn>,
    state: Mutex<State<E>>,
}

struct State<E> {
    err: Option<E>,
    panic: Option<Box<dyn Any + Send>>,
    limit: Option<Arc<Semaphore>>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            shared: self.shared.clone(),
        }
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E: Send + 'static> Group<E> {
    /// An empty group, with no context and no limit.
    pub fn new() -> Group<E> {
        Group::build(None)
    }

    /// An empty group and a child of `ctx` that the group cancels on its first
    /// error or panic, or when [`wait`](Self::wait) returns (Go's
    /// `errgroup.WithContext`).
    pub fn with_context(ctx: &Context) -> (Group<E>, Context) {
        let (ctx, cancel) = context::with_cancel(ctx);
        (Group::build(Some(cancel)), ctx)
    }

    fn build(cancel: Option<CancelFn>) -> Group<E> {
        Group {
            shared: Arc::new(Shared {
                wg: WaitGroup::new(),
                cancel,
                state: Mutex::new(State {
                    err: None,
                    panic: None,
                    limit: None,
                }),
            }),
        }
    }

    /// At most `n` members run at once from now on (Go's `g.SetLimit(n)`): further
    /// [`go`](Self::go) calls wait for a member to finish. `n == 0` makes every
    /// `go` wait forever, as in Go.
    ///
    /// # Panics
    /// If members are running (as Go's `SetLimit`).
    pub fn set_limit(&self, n: usize) {
        let mut st = self.lock();
        let active = self.shared.wg.count();
        assert!(
            active == 0,
            "errgroup: set_limit while {active} member(s) are still active"
        );
        st.limit = Some(Arc::new(Semaphore::new(n)));
    }

    /// Spawns `fut` as a member. Under a [`limit`](Self::set_limit) it first waits
    /// for a free slot (as Go's `g.Go` blocks its caller), so `.await` it; without
    /// one it spawns at once. The member starts at once, whether or not the caller
    /// then awaits anything else.
    ///
    /// Cancel-safe: if this future is dropped while waiting for a slot, `fut` is
    /// dropped unstarted and no slot is taken.
    ///
    /// The member's spawn site (in task dumps, long-poll reports and traces) is
    /// where `go` was called.
    ///
    /// # Panics
    /// Outside a gorun runtime, like [`go`](crate::go).
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> impl Future<Output = ()> + Send + '_
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let site = std::panic::Location::caller();
        async move {
            let limit = self.lock().limit.clone();
            let permit = match limit {
                Some(sem) => Some(
                    sem.acquire_owned()
                        .await
                        .expect("an errgroup never closes its limit semaphore"),
                ),
                None => None,
            };
            self.spawn(fut, permit, self.shared.wg.add(1), site);
        }
    }

    /// Spawns `fut` as a member only if a slot is free now (Go's `g.TryGo`);
    /// returns whether it did (without a limit, always).
    #[track_caller]
    pub fn try_go<F>(&self, fut: F) -> bool
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let limit = self.lock().limit.clone();
        let permit = match limit {
            Some(sem) => match sem.try_acquire_owned() {
                Ok(p) => Some(p),
                Err(_) => return false,
            },
            None => None,
        };
        self.spawn(fut, permit, self.shared.wg.add(1), Location::caller());
        true
    }

    fn spawn<F>(
        &self,
        fut: F,
        permit: Option<crate::sync::OwnedSemaphorePermit>,
        guard: WaitGuard,
        site: &'static Location<'static>,
    ) where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let shared = self.shared.clone();
        gorun_executor::go_at(
            async move {
                let (_permit, _guard) = (permit, guard);
                let mut fut = std::pin::pin!(fut);
                let out = std::future::poll_fn(|cx| {
                    match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
                        Ok(Poll::Pending) => Poll::Pending,
                        Ok(Poll::Ready(r)) => Poll::Ready(Ok(r)),
                        Err(panic) => Poll::Ready(Err(panic)),
                    }
                })
                .await;
                match out {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => shared.fail(|st| {
                        st.err.get_or_insert(e);
                    }),
                    Err(p) => shared.fail(|st| {
                        st.panic.get_or_insert(p);
                    }),
                }
            },
            site,
        );
    }

    /// Waits for every member, then returns the first error (Go's `g.Wait()`),
    /// and cancels the group's context. Cancel-safe (members keep running).
    ///
    /// The error is handed out once: a second `wait` returns `Ok(())` unless a
    /// new member failed.
    ///
    /// # Panics
    /// Resumes the first panic of a member, after every member has finished.
    pub async fn wait(&self) -> Result<(), E> {
        crate::sync::with_wait_reason(gorun_coop::WaitReason::ErrGroup, self.shared.wg.wait())
            .await;
        if let Some(c) = &self.shared.cancel {
            c.cancel();
        }
        let mut st = self.lock();
        if let Some(p) = st.panic.take() {
            drop(st);
            resume_unwind(p);
        }
        match st.err.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<E>> {
        self.shared.lock()
    }
}

impl<E> Shared<E> {
    fn lock(&self) -> MutexGuard<'_, State<E>> {
        // No user code runs under this lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a failure (`record` keeps the first) and cancels the context.
    fn fail(&self, record: impl FnOnce(&mut State<E>)) {
        record(&mut self.lock());
        if let Some(c) = &self.cancel {
            c.cancel();
        }
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Group")
            .field("active", &self.shared.wg.count())
            .field("failed", &(st.err.is_some() || st.panic.is_some()))
            .field("limit", &st.limit.is_some())
            .finish()
    }
}
