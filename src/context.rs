//! Context: Go's `context` package: cancellation trees, deadlines, request values.
//!
//! | Go | gorun |
//! |---|---|
//! | `context.Background()`, `context.TODO()` | [`Context::background`], [`Context::todo`] |
//! | `ctx, cancel := context.WithCancel(parent)` | [`with_cancel`]`(&parent)` → ([`Context`], [`CancelFn`]) |
//! | `context.WithTimeout`, `context.WithDeadline` | [`with_timeout`], [`with_deadline`] |
//! | `context.WithValue(parent, key, v)` | [`with_value`]`(&parent, v)`; [`Context::value::<T>`](Context::value) (keyed by type) |
//! | `<-ctx.Done()` in `select` | `_ = ctx.done() => ..` or `recv(ctx.done_chan()) -> _ => ..` in [`select!`](crate::select) |
//! | `ctx.Err()`, `context.Cause(ctx)` | [`Context::err`], [`Context::cause`] |
//! | `context.WithCancelCause`, `cancel(cause)` | [`CancelFn::cancel_with_cause`] |
//!
//! ```
//! # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
//! use std::time::Duration;
//! use gorun::context::{self, Context, ContextError};
//!
//! let (ctx, cancel) = context::with_cancel(&Context::background());
//! let worker = {
//!     let ctx = ctx.clone();
//!     gorun::go(async move {
//!         let mut n = 0u64;
//!         loop {
//!             gorun::select! {
//!                 _ = ctx.done() => return n,
//!                 _ = gorun::time::sleep(Duration::from_millis(1)) => n += 1,
//!             }
//!         }
//!     })
//! };
//! gorun::time::sleep(Duration::from_millis(5)).await;
//! cancel.cancel();
//! worker.await.unwrap();
//! assert_eq!(ctx.err(), Some(ContextError::Canceled));
//! # });
//! ```
//!
//! Invariants (one lock per cancellable context, never two held at once):
//! 1. Every cancellable context has a `CancelState`; value contexts share their
//!    parent's. A child's state holds its parent state strongly and the parent holds
//!    the child only weakly (in a slab keyed by `parent_key`), so the tree never
//!    keeps a dropped child alive, and dropping a child frees its slot.
//! 2. `err` goes from `None` to `Some` once; then `done` is set, the waiters are
//!    woken, the done channel is closed, the deadline timer is stopped, and the
//!    children (taken out under the lock) are cancelled after the lock is released,
//!    with the same error and cause, iteratively (deep trees do not recurse).
//! 3. The deadline timer is an `after_func` wheel entry whose closure holds only a
//!    `Weak`: it never keeps the context alive, and dropping the context stops it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use crate::sync::grant_queue::{GrantQueue, SlotState};
use crate::time::{AfterFunc, Instant};
use crate::{Receiver, Sender};

/// Why a context is done: Go's `context.Canceled` and `context.DeadlineExceeded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// Cancelled by a [`CancelFn`] (its own or an ancestor's).
    Canceled,
    /// Its deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

/// The reason given to [`CancelFn::cancel_with_cause`], returned by [`Context::cause`].
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// A cancellation signal, an optional deadline and typed values, passed down a call
/// tree (Go's `context.Context`). Cheap to clone; clones are the same context.
///
/// Cancelling a context cancels every context derived from it; cancelling a child
/// does not affect its parent.
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

struct Node {
    parent: Option<Context>,
    value: Option<Box<dyn Any + Send + Sync>>,
    /// The nearest cancellable context at or above this one.
    cancel: Option<Arc<CancelState>>,
    deadline: Option<Instant>,
}

struct CancelState {
    done: AtomicBool,
    parent: Option<Arc<CancelState>>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    err: Option<ContextError>,
    cause: Option<Cause>,
    children: Vec<Option<Weak<CancelState>>>,
    free: Vec<usize>,
    waiters: GrantQueue,
    done_tx: Option<Sender<()>>,
    done_rx: Option<Receiver<()>>,
    timer: Option<AfterFunc>,
    /// Our slot in `parent`'s `children`, while registered.
    parent_key: Option<usize>,
}

/// Cancels the context it came with (Go's `CancelFunc`). Cloneable; calling it
/// again does nothing.
///
/// Dropping it does **not** cancel the context (its deadline, if any, still
/// applies) and leaks nothing: once the context and its handle are both dropped,
/// the context leaves its parent's child list and its timer is stopped.
#[derive(Clone)]
pub struct CancelFn {
    state: Arc<CancelState>,
}

impl CancelFn {
    /// Cancels the context and its descendants with [`ContextError::Canceled`].
    pub fn cancel(&self) {
        cancel(&self.state, ContextError::Canceled, None);
    }

    /// Like [`cancel`](Self::cancel), recording `cause` for [`Context::cause`]
    /// (Go's `WithCancelCause`). Descendants get the same cause.
    /// `cause` is any error, or a string: `cancel.cancel_with_cause("shutting down")`.
    pub fn cancel_with_cause(&self, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        let cause: Cause = Arc::from(cause.into());
        cancel(&self.state, ContextError::Canceled, Some(cause));
    }
}

impl fmt::Debug for CancelFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelFn").finish_non_exhaustive()
    }
}

impl Context {
    /// The root context: never cancelled, no deadline, no values.
    pub fn background() -> Context {
        static BACKGROUND: OnceLock<Context> = OnceLock::new();
        BACKGROUND
            .get_or_init(|| Context {
                node: Arc::new(Node {
                    parent: None,
                    value: None,
                    cancel: None,
                    deadline: None,
                }),
            })
            .clone()
    }

    /// The same as [`background`](Self::background), marking code not yet given a
    /// real context (Go's `context.TODO()`).
    pub fn todo() -> Context {
        Context::background()
    }

    /// A future that completes once this context is cancelled or its deadline
    /// passes (Go's `<-ctx.Done()`); never, for a background context. Cancel-safe,
    /// `'static`, usable as a `select!` case: `_ = ctx.done() => ...`.
    pub fn done(&self) -> Done {
        Done {
            state: self.node.cancel.clone(),
            key: None,
        }
    }

    /// A channel that is closed when this context is done (Go's `ctx.Done()` as a
    /// channel): use it as `recv(ctx.done_chan()) -> _ => ...` in `select!`. Nothing
    /// is ever sent on it. For a background context it never closes.
    pub fn done_chan(&self) -> Receiver<()> {
        let Some(state) = &self.node.cancel else {
            static NEVER: OnceLock<(Sender<()>, Receiver<()>)> = OnceLock::new();
            return NEVER.get_or_init(|| crate::chan(0)).1.clone();
        };
        let mut inner = state.lock();
        if inner.err.is_some() {
            let (tx, rx) = crate::chan(0);
            tx.close();
            return rx;
        }
        if inner.done_rx.is_none() {
            let (tx, rx) = crate::chan(0);
            inner.done_tx = Some(tx);
            inner.done_rx = Some(rx);
        }
        inner.done_rx.clone().expect("just set")
    }

    /// Whether this context is done (cancelled or past its deadline).
    pub fn is_done(&self) -> bool {
        self.node
            .cancel
            .as_ref()
            .is_some_and(|s| s.done.load(Acquire))
    }

    /// `None` while the context is live; then why it is done (Go's `ctx.Err()`).
    pub fn err(&self) -> Option<ContextError> {
        let state = self.node.cancel.as_ref()?;
        if !state.done.load(Acquire) {
            return None;
        }
        state.lock().err
    }

    /// Why the context is done (Go's `context.Cause`): the cause given to
    /// [`CancelFn::cancel_with_cause`] (its own or an ancestor's), else the
    /// [`ContextError`] itself; `None` while it is live.
    pub fn cause(&self) -> Option<Cause> {
        let state = self.node.cancel.as_ref()?;
        let inner = state.lock();
        let err = inner.err?;
        Some(inner.cause.clone().unwrap_or_else(|| Arc::new(err)))
    }

    /// The deadline, if this context or an ancestor has one (the earliest).
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// The nearest value of type `T` attached with [`with_value`] on the path from
    /// this context to the root (Go's `ctx.Value(key)`, keyed by type: wrap values
    /// in a newtype to give them a private key).
    pub fn value<T: Any + Send + Sync>(&self) -> Option<&T> {
        let mut node = &*self.node;
        loop {
            if let Some(v) = node.value.as_ref().and_then(|v| v.downcast_ref::<T>()) {
                return Some(v);
            }
            node = &node.parent.as_ref()?.node;
        }
    }

    /// Runs `fut` until it completes or this context is done, whichever is first;
    /// if the context is done first, `fut` is dropped and the reason returned.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, ContextError> {
        let mut fut = std::pin::pin!(fut);
        let mut done = self.done();
        std::future::poll_fn(|cx| {
            if Pin::new(&mut done).poll(cx).is_ready() {
                return Poll::Ready(Err(self.err().unwrap_or(ContextError::Canceled)));
            }
            fut.as_mut().poll(cx).map(Ok)
        })
        .await
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}

/// A child of `parent` with its own [`CancelFn`] (Go's `context.WithCancel`).
pub fn with_cancel(parent: &Context) -> (Context, CancelFn) {
    let state = CancelState::new(parent);
    child(parent, state, parent.node.deadline)
}

/// A child of `parent` that is cancelled with [`ContextError::DeadlineExceeded`]
/// at `deadline`, or earlier through its [`CancelFn`] or its parent (Go's
/// `context.WithDeadline`). Uses [`gorun::time`](crate::time), so it follows the
/// paused test clock.
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelFn) {
    if parent.deadline().is_some_and(|d| d <= deadline) {
        return with_cancel(parent); // the parent's deadline comes first anyway
    }
    let state = CancelState::new(parent);
    let now = Instant::now();
    if deadline <= now {
        cancel(&state, ContextError::DeadlineExceeded, None);
    } else {
        let weak = Arc::downgrade(&state);
        let timer = crate::time::after_func(deadline - now, move || {
            if let Some(s) = weak.upgrade() {
                cancel(&s, ContextError::DeadlineExceeded, None);
            }
        });
        let mut inner = state.lock();
        if inner.err.is_none() {
            inner.timer = Some(timer);
        } else {
            timer.stop();
        }
    }
    child(parent, state, Some(deadline))
}

/// [`with_deadline`] at `Instant::now() + timeout` (Go's `context.WithTimeout`).
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelFn) {
    let now = Instant::now();
    let deadline = now.checked_add(timeout).unwrap_or_else(Instant::far_future);
    with_deadline(parent, deadline)
}

/// A child of `parent` carrying `value`, found by [`Context::value::<T>`](Context::value)
/// here and in descendants (Go's `context.WithValue`). It is cancelled with its
/// parent and has no cancel function of its own.
pub fn with_value<T: Any + Send + Sync>(parent: &Context, value: T) -> Context {
    Context {
        node: Arc::new(Node {
            parent: Some(parent.clone()),
            value: Some(Box::new(value)),
            cancel: parent.node.cancel.clone(),
            deadline: parent.node.deadline,
        }),
    }
}

fn child(
    parent: &Context,
    state: Arc<CancelState>,
    deadline: Option<Instant>,
) -> (Context, CancelFn) {
    let ctx = Context {
        node: Arc::new(Node {
            parent: Some(parent.clone()),
            value: None,
            cancel: Some(state.clone()),
            deadline,
        }),
    };
    (ctx, CancelFn { state })
}

impl CancelState {
    /// A state registered as a child of `parent`'s; cancelled at once if the
    /// parent already is.
    fn new(parent: &Context) -> Arc<CancelState> {
        let pstate = parent.node.cancel.clone();
        let state = Arc::new(CancelState {
            done: AtomicBool::new(false),
            parent: pstate.clone(),
            inner: Mutex::new(Inner::default()),
        });
        let Some(p) = pstate else { return state };
        let mut pinner = p.lock();
        if let Some(err) = pinner.err {
            let cause = pinner.cause.clone();
            drop(pinner);
            cancel(&state, err, cause);
            return state;
        }
        let weak = Some(Arc::downgrade(&state));
        let key = match pinner.free.pop() {
            Some(k) => {
                pinner.children[k] = weak;
                k
            }
            None => {
                pinner.children.push(weak);
                pinner.children.len() - 1
            }
        };
        drop(pinner);
        state.lock().parent_key = Some(key);
        state
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No user code runs under this lock.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frees our slot in the parent's child list (if we still hold one).
    fn detach(&self, key: Option<usize>) {
        let (Some(key), Some(parent)) = (key, &self.parent) else {
            return;
        };
        let mut p = parent.lock();
        let me: *const CancelState = self;
        if p.children
            .get(key)
            .is_some_and(|w| w.as_ref().is_some_and(|w| std::ptr::eq(w.as_ptr(), me)))
        {
            p.children[key] = None;
            p.free.push(key);
        }
    }
}

impl Drop for CancelState {
    fn drop(&mut self) {
        let inner = self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = inner.timer.take() {
            t.stop();
        }
        let key = inner.parent_key.take();
        self.detach(key);
    }
}

/// Cancels `state` and its descendants (invariant 2).
fn cancel(state: &Arc<CancelState>, err: ContextError, cause: Option<Cause>) {
    let mut work = vec![state.clone()];
    while let Some(s) = work.pop() {
        let mut inner = s.lock();
        if inner.err.is_some() {
            continue;
        }
        inner.err = Some(err);
        inner.cause = cause.clone();
        s.done.store(true, Release);
        let children = std::mem::take(&mut inner.children);
        inner.free.clear();
        let mut wakers = Vec::with_capacity(inner.waiters.len());
        while let Some(w) = inner.waiters.grant_front(0) {
            wakers.push(w);
        }
        let tx = inner.done_tx.take();
        inner.done_rx = None;
        let timer = inner.timer.take();
        let key = inner.parent_key.take();
        drop(inner);
        if let Some(tx) = tx {
            tx.close();
        }
        if let Some(t) = timer {
            t.stop();
        }
        crate::sync::grant_queue::wake_all(wakers);
        s.detach(key);
        work.extend(children.into_iter().flatten().filter_map(|w| w.upgrade()));
    }
}

/// The future of [`Context::done`].
#[must_use = "futures do nothing unless awaited"]
pub struct Done {
    state: Option<Arc<CancelState>>,
    key: Option<usize>,
}

impl Future for Done {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(state) = &this.state else {
            // Background: never done.
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::ContextDone);
            return Poll::Pending;
        };
        if this.key.is_none() && state.done.load(Acquire) {
            return Poll::Ready(());
        }
        let mut inner = state.lock();
        match this.key {
            Some(key) => {
                if let SlotState::Granted(_) = inner.waiters.state(key) {
                    inner.waiters.remove(key);
                    this.key = None;
                    return Poll::Ready(());
                }
                inner.waiters.set_waker(key, cx.waker());
            }
            None => {
                if inner.err.is_some() {
                    return Poll::Ready(());
                }
                this.key = Some(inner.waiters.push_back(0, cx.waker().clone()));
            }
        }
        gorun_coop::set_wait_reason(gorun_coop::WaitReason::ContextDone);
        Poll::Pending
    }
}

impl Drop for Done {
    fn drop(&mut self) {
        if let (Some(key), Some(state)) = (self.key.take(), &self.state) {
            state.lock().waiters.remove(key);
        }
    }
}

impl fmt::Debug for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}

#[doc(hidden)]
impl Context {
    /// How many live children are registered with this context (for leak tests).
    pub fn __children(&self) -> usize {
        self.node.cancel.as_ref().map_or(0, |s| {
            s.lock().children.iter().filter(|c| c.is_some()).count()
        })
    }
}
