//! `JoinSet`: a set of tasks awaited in the order they finish (tokio's `JoinSet`,
//! errgroup without the error policy).
//!
//! Each task's `JoinHandle` is polled with a waker of its own entry; when the task
//! completes, that waker puts the entry's index on a lock-free ready queue (a
//! crossbeam injector) and wakes whoever awaits the set. `join_next` takes indices
//! off the queue and polls just those handles, so awaiting a set of n tasks costs
//! O(1) per completion, not O(n).
//!
//! # Invariants
//!
//! 1. An entry's index is on the ready queue at most once at a time: its waker sets
//!    `queued` before pushing and `join_next` clears it before polling the handle
//!    (which may re-register the waker and be woken again).
//! 2. A completed task's entry is always found: its handle was polled with the
//!    entry's waker before the task could complete unseen (at `spawn`; a task that
//!    had already finished hands its output over then, kept in `done` and queued),
//!    and every later `Pending` poll re-registers it; a wake is never consumed
//!    without a poll.
//! 3. Slots are reused; a stale index (its entry already removed) is skipped: the
//!    waker of a removed entry carries the slot's generation, checked on pop.
//! 4. Dropping the set aborts every task still in it (tokio's behaviour); `detach_all`
//!    lets them run on instead.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crossbeam_deque::{Injector, Steal};

use super::id::Id;
use super::join::{AbortHandle, JoinError, JoinHandle};
use crate::runtime::Handle;

/// What the set's entries share: the ready queue and the waker of the task that
/// awaits the set.
struct Shared {
    /// (slot, generation) of entries whose task may have completed.
    ready: Injector<(usize, u64)>,
    waiter: Mutex<Option<Waker>>,
}

impl Shared {
    fn wake_waiter(&self) {
        let w = self.waiter.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// The waker a set's entry polls its `JoinHandle` with.
struct EntryWaker {
    shared: Arc<Shared>,
    slot: usize,
    generation: u64,
    /// Invariant 1.
    queued: AtomicBool,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.shared.ready.push((self.slot, self.generation));
            self.shared.wake_waiter();
        }
    }
}

struct Entry<T> {
    handle: JoinHandle<T>,
    waker: Arc<EntryWaker>,
    /// The output, when the handle gave it at `spawn` (the task finished before the
    /// set first polled it): queued, for `join_next` to return.
    done: Option<Result<T, JoinError>>,
}

/// A set of tasks, awaited as they finish ([`join_next`](JoinSet::join_next)).
/// Dropping the set aborts the tasks still in it.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(2).build().unwrap();
/// let total = rt.block_on(async {
///     let mut set = gorun_executor::task::JoinSet::new();
///     for i in 0..10u64 {
///         set.spawn(async move { i * i });
///     }
///     let mut total = 0;
///     while let Some(r) = set.join_next().await {
///         total += r.unwrap();
///     }
///     total
/// });
/// assert_eq!(total, 285);
/// ```
pub struct JoinSet<T> {
    entries: Vec<Option<Entry<T>>>,
    /// Generation of each slot, bumped when its entry leaves (invariant 3).
    generations: Vec<u64>,
    free: Vec<usize>,
    len: usize,
    shared: Arc<Shared>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            len: 0,
            shared: Arc::new(Shared {
                ready: Injector::new(),
                waiter: Mutex::new(None),
            }),
        }
    }

    /// The number of tasks in the set (finished or not, until `join_next` returns
    /// them).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the set has no tasks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a task already spawned, by its handle. Its output comes out of
    /// [`join_next`](JoinSet::join_next) once it finishes.
    fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let slot = self.free.pop().unwrap_or_else(|| {
            self.entries.push(None);
            self.generations.push(0);
            self.entries.len() - 1
        });
        let waker = Arc::new(EntryWaker {
            shared: self.shared.clone(),
            slot,
            generation: self.generations[slot],
            queued: AtomicBool::new(false),
        });
        self.entries[slot] = Some(Entry {
            handle,
            waker,
            done: None,
        });
        self.len += 1;
        // Invariant 2: register the entry's waker now. A task that has already
        // finished hands its output over at once: keep it and queue the entry.
        if let Some(out) = self.poll_entry(slot) {
            let entry = self.entries[slot].as_mut().expect("just inserted");
            entry.done = Some(out);
            if !entry.waker.queued.swap(true, Ordering::AcqRel) {
                self.shared.ready.push((slot, entry.waker.generation));
            }
        }
        abort
    }

    /// Polls entry `slot`'s handle with its own waker; a finished task's entry is
    /// queued (by that waker, or here) for `join_next` to collect.
    fn poll_entry(&mut self, slot: usize) -> Option<Result<T, JoinError>> {
        let entry = self.entries[slot].as_mut()?;
        let waker = Waker::from(entry.waker.clone());
        let mut cx = Context::from_waker(&waker);
        // The set's own polls are not the caller's work: no budget is charged
        // for them (the caller's `join_next` charges one unit).
        match gorun_coop::unconstrained(|| Pin::new(&mut entry.handle).poll(&mut cx)) {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        }
    }

    /// Removes the entry in `slot` (its output was taken, or it is given up).
    fn remove(&mut self, slot: usize) -> Option<Entry<T>> {
        let entry = self.entries[slot].take()?;
        self.generations[slot] += 1;
        self.free.push(slot);
        self.len -= 1;
        Some(entry)
    }

    /// Polls for the next task to finish: its output (or [`JoinError`]),
    /// `Ready(None)` when the set is empty, `Pending` until one finishes.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_next_entry(cx).map(|o| o.map(|(_, out)| out))
    }

    /// The next finished task's id and output (see `poll_join_next`).
    fn poll_next_entry(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(Id, Result<T, JoinError>)>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        // Register first, so a completion pushed after the queue looks empty wakes us.
        {
            let mut w = self.shared.waiter.lock().unwrap_or_else(|e| e.into_inner());
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        loop {
            let (slot, generation) = match self.shared.ready.steal() {
                Steal::Success(x) => x,
                Steal::Retry => continue,
                Steal::Empty => {
                    gorun_coop::set_wait_reason(gorun_coop::WaitReason::Join);
                    return Poll::Pending;
                }
            };
            if self.generations.get(slot) != Some(&generation) {
                continue; // a removed entry's late wake (invariant 3)
            }
            let Some(entry) = self.entries[slot].as_mut() else {
                continue;
            };
            // Invariant 1: cleared before the poll, which may queue it again.
            entry.waker.queued.store(false, Ordering::Release);
            let done = entry.done.take();
            if let Some(out) = done.or_else(|| self.poll_entry(slot)) {
                let entry = self.remove(slot).expect("the entry just polled");
                coop.made_progress();
                return Poll::Ready(Some((entry.handle.id(), out)));
            }
        }
    }

    /// The next task to finish: `Some(output)` (or `Some(Err(JoinError))` if it
    /// panicked or was aborted), `None` once the set is empty. Cancel-safe: a task
    /// whose output was not returned stays in the set.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](JoinSet::join_next), with the task's [`Id`].
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        let next = poll_fn(|cx| self.poll_next_entry(cx)).await;
        next.map(|(id, out)| out.map(|v| (id, v)))
    }

    /// A finished task's output if one is ready now, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut cx = Context::from_waker(Waker::noop());
        match gorun_coop::unconstrained(|| self.poll_join_next(&mut cx)) {
            Poll::Ready(out) => out,
            Poll::Pending => None,
        }
    }

    /// Aborts every task in the set. They stay in it: `join_next` returns each
    /// one's output (`JoinError::is_cancelled` for those that did not finish).
    pub fn abort_all(&mut self) {
        for e in self.entries.iter().flatten() {
            e.handle.abort();
        }
    }

    /// Removes every task from the set without aborting them: they run on, as
    /// detached tasks.
    pub fn detach_all(&mut self) {
        for slot in 0..self.entries.len() {
            self.remove(slot);
        }
    }

    /// Aborts every task and waits until all have stopped, dropping their outputs.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they finished.
    ///
    /// # Panics
    /// If a task panicked (the panic is resumed here) or was aborted, as tokio's.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("gorun: a JoinSet task did not finish: {e}"),
            }
        }
        out
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `task` on the current runtime (or the global one, as `go`) and adds
    /// it to the set; returns a handle to abort it.
    #[track_caller]
    pub fn spawn<F>(&mut self, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(crate::go(task))
    }

    /// Spawns `task` on the runtime of `handle` and adds it to the set.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, task: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(handle.spawn(task))
    }

    /// Runs `f` on the blocking pool and adds it to the set.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert(crate::spawn_blocking(f))
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for f in iter {
            self.spawn(f);
        }
    }
}

impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}
