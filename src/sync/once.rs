//! `OnceCell` (async initialization) and `Once` (Go's `sync.Once`).
//!
//! Invariant: the value lives in a `std::sync::OnceLock`, so reads after
//! initialization are one atomic load. Initializers are serialized by a one-permit
//! [`Semaphore`]: exactly one initializer future runs at a time; if it is dropped
//! (cancelled) or panics, the permit passes to the next waiter, which runs its own.
//! The semaphore is never closed, so acquiring it cannot fail.

use std::fmt;
use std::future::Future;
use std::sync::OnceLock;

use super::semaphore::Semaphore;

/// A cell written once, by an async initializer (tokio's `OnceCell`; Go's
/// `sync.OnceValue` for async code).
///
/// Concurrent [`get_or_init`](OnceCell::get_or_init) calls run one initializer; the
/// others wait for it and get its value. If the running initializer is cancelled or
/// panics, the next waiter runs its own (no poisoning).
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use gorun::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
/// let v = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
/// assert_eq!(v, "loaded");
/// let v = CONFIG.get_or_init(|| async { unreachable!() }).await;
/// assert_eq!(v, "loaded");
/// # });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    init: Semaphore,
}

impl<T> OnceCell<T> {
    const_fn_unless_loom! {
        /// An empty cell.
        pub fn new() -> OnceCell<T> {
            OnceCell {
                value: OnceLock::new(),
                init: Semaphore::new(1),
            }
        }
    }

    /// A cell holding `value`.
    pub fn new_with(value: T) -> OnceCell<T> {
        let cell = OnceCell::new();
        let _ = cell.value.set(value);
        cell
    }

    /// The value, if initialized.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, if initialized, through a unique borrow.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// Sets the value if the cell is empty; otherwise gives `value` back. If an
    /// initializer is running, it finishes and its value is dropped in favour of
    /// this one.
    pub fn set(&self, value: T) -> Result<(), T> {
        self.value.set(value)
    }

    /// The value, running `init` to produce it if the cell is empty. Concurrent
    /// callers wait for the one running initializer. Cancel-safe: dropping this
    /// future (waiting, or in the middle of `init`) lets the next caller initialize.
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(init().await) })
            .await
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Like [`get_or_init`](Self::get_or_init), but `init` may fail: the error is
    /// returned, the cell stays empty, and the next caller tries its own `init`.
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let _permit = super::with_wait_reason(gorun_coop::WaitReason::Once, self.init.acquire())
            .await
            .expect("a OnceCell never closes its semaphore");
        if let Some(v) = self.value.get() {
            return Ok(v);
        }
        let v = init().await?;
        // Fails only if `set` won the race; then keep the value it stored.
        let _ = self.value.set(v);
        Ok(self.value.get().expect("the cell was just set"))
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    /// Consumes the cell, returning the value if set.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceCell").field(&self.value.get()).finish()
    }
}

/// Runs an async action exactly once (Go's `sync.Once`).
///
/// The first [`call_once`](Once::call_once) to get there runs its action; the
/// others wait until it has finished, then return without running theirs. If the
/// running action is cancelled or panics, it did not complete: the next caller runs
/// its action.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use gorun::sync::Once;
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
/// for _ in 0..3 {
///     INIT.call_once(|| async { RUNS.fetch_add(1, Ordering::SeqCst); }).await;
/// }
/// assert_eq!(RUNS.load(Ordering::SeqCst), 1);
/// assert!(INIT.is_completed());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Once {
    cell: OnceCell<()>,
}

impl Once {
    const_fn_unless_loom! {
        /// A `Once` that has not run.
        pub fn new() -> Once {
            Once {
                cell: OnceCell::new(),
            }
        }
    }

    /// Runs `f` if no action has completed yet; returns once one has.
    pub async fn call_once<F, Fut>(&self, f: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        self.cell.get_or_init(f).await;
    }

    /// Whether an action has completed.
    pub fn is_completed(&self) -> bool {
        self.cell.initialized()
    }
}
