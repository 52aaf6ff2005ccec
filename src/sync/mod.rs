//! Synchronization: Go's `sync` package, async.
//!
//! | Go | gorun |
//! |---|---|
//! | `var wg sync.WaitGroup; wg.Add(1); defer wg.Done(); wg.Wait()` | [`WaitGroup::add`] → [`WaitGuard`] (drop = `Done`), [`WaitGroup::wait`]`.await` |
//! | `sync.Mutex` | [`Mutex<T>`](Mutex) (guards a value; `lock().await`) |
//! | `sync.RWMutex` | [`RwLock<T>`](RwLock) (writer-preferring) |
//! | `semaphore.Weighted` (x/sync), a buffered `chan struct{}` | [`Semaphore`] |
//! | `sync.Once`, `sync.OnceValue` | [`Once`], [`OnceCell`] (async initializer) |
//! | `sync.Cond` `Signal`/`Broadcast` | [`Notify::notify_one`], [`Notify::notify_waiters`] |
//! | a `chan T` of capacity 1, sent on once (tokio `sync::oneshot`) | [`oneshot::channel`] |
//! | a channel per subscriber, fed by one loop (tokio `sync::broadcast`) | [`broadcast::channel`] (every receiver gets every value; laggards get `Lagged(n)`) |
//! | a variable behind `RWMutex` + a `chan struct{}` closed on change (tokio `sync::watch`) | [`watch::channel`] (latest value, `changed().await`) |
//! | a `WaitGroup` per round (tokio `sync::Barrier`) | [`Barrier`] (reusable; one leader per round) |
//!
//! Common rules:
//! - **Fair.** Waiters are served first come, first served; while anyone waits, a
//!   newcomer does not barge in, so no waiter starves.
//! - **Cancel-safe.** Every waiting operation is a future you may drop at any
//!   point (in `select!`, under `time::timeout`, by aborting the task). A dropped
//!   future loses nothing and blocks no one: if the lock or permits had already
//!   been handed to it, they pass to the next waiter.
//! - **No poisoning** (as in tokio): a panic while holding a guard releases it.
//! - **Fast when uncontended.** Acquire and release are one atomic operation each
//!   while nobody waits; waiters park in a FIFO behind a short `std` mutex that never
//!   runs user code.
//! - Guards may be held across `.await` and are `Send` (for `Send` values).
//! - The `blocking_*` methods are for plain threads outside the runtime (and
//!   `spawn_blocking` closures); inside a task they panic, as tokio's do.

/// A `const fn` normally; a plain `fn` under `cfg(loom)`, whose atomics and mutexes
/// have no const constructors (the semaphore is model-checked with them).
macro_rules! const_fn_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

mod barrier;
pub mod broadcast;
pub(crate) mod grant_queue;
mod loom;
mod mutex;
mod notify;
mod once;
pub mod oneshot;
mod rwlock;
mod semaphore;
#[cfg(all(test, loom))]
mod semaphore_loom;
mod waitgroup;
mod waker_set;
pub mod watch;

/// Polls `fut`, telling task dumps the task waits on `reason` while it is pending
/// (set after `fut`'s own reason: the outer one wins).
pub(crate) async fn with_wait_reason<F: std::future::Future>(
    reason: gorun_coop::WaitReason,
    fut: F,
) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let r = fut.as_mut().poll(cx);
        if r.is_pending() {
            gorun_coop::set_wait_reason(reason);
        }
        r
    })
    .await
}

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::{Notified, Notify};
pub use once::{Once, OnceCell};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};
pub use waitgroup::{Wait, WaitGroup, WaitGuard};
