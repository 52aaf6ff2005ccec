//! The task cell: one allocation holding the header, the scheduler handle, the join
//! waker and the stage (future, then output), and the type-erased vtable that drives it.
//!
//! # Ground rules
//!
//! - A `NonNull<Header>` is a pointer to the first field of a `#[repr(C)]` [`Cell`];
//!   the vtable functions cast it back to the concrete `Cell<F, S>`.
//! - The stage is an untagged union: it holds the future while the task is not
//!   `COMPLETE` (the run lock's holder drops it just before storing the output), and
//!   the output from `COMPLETE` until the output's owner (`state.rs`, invariant 3)
//!   takes or drops it. Only the run lock's holder, then that owner, touch it; the
//!   `JoinHandle` remembers for itself that it took the output. Every path to the last
//!   reference goes through completion and then the owner, so a freed cell never
//!   holds a live future or output.
//! - The join waker slot follows invariant 4 of `state.rs`.
//! - Panics in the future's `poll` or `drop`, and in the output's `drop`, are caught
//!   and never unwind through the scheduler.

use std::any::Any;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Waker};

use super::join::JoinError;
use super::list::Slot;
use super::poll_watch;
use super::state::{State, TransitionToIdle, TransitionToRunning};
use super::waker::waker_ref;
use super::{Notified, Schedule, Task};

/// The type-erased part of a task, at offset 0 of its cell.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The task's place in the owned-tasks list.
    pub(crate) owned: Slot,
    /// What the task waits on (a `gorun_coop::WaitReason` byte), stored by its poller
    /// after each `Pending` poll and read by dumps. In what was padding after `owned`.
    pub(crate) wait: AtomicU8,
    /// `WATCHDOG_REPORTED` once the watchdog reported a long poll of this task; set by
    /// its poller only (`scheduler/watchdog.rs`).
    pub(crate) flags: AtomicU8,
    /// Where `go`/`spawn` was called, for task dumps and leak reports.
    pub(crate) location: &'static Location<'static>,
}

/// `Header::flags`: the watchdog has reported this task; it is not reported again.
pub(crate) const WATCHDOG_REPORTED: u8 = 1;

// SAFETY: the header's mutable parts are atomics and a list slot guarded by the
// owned-tasks shard lock; everything else is immutable after creation.
unsafe impl Send for Header {}
// SAFETY: as above.
unsafe impl Sync for Header {}

/// Functions that know the concrete future and scheduler types.
pub(crate) struct Vtable {
    /// Runs the task; consumes a `Notified` reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Hands a `Notified` reference to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the cell.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Writes `Poll<Result<T, JoinError>>` to `dst` if the output is ready.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// The `JoinHandle` is gone; the flag says whether it took the output.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>, bool),
    /// Cancels the task if idle (runtime shutdown).
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
}

/// The future, then its output; which one is live follows from the state word
/// (see the ground rules above).
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    scheduler: S,
    join_waker: UnsafeCell<Option<Waker>>,
    stage: UnsafeCell<Stage<F>>,
}

impl<F, S> Cell<F, S>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    const VTABLE: Vtable = Vtable {
        poll: poll::<F, S>,
        schedule: schedule::<F, S>,
        dealloc: dealloc::<F, S>,
        try_read_output: try_read_output::<F, S>,
        drop_join_handle: drop_join_handle::<F, S>,
        shutdown: shutdown::<F, S>,
    };

    /// Allocates the cell; the caller receives the initial three references
    /// (owned list, first `Notified`, `JoinHandle`).
    pub(crate) fn allocate(
        future: F,
        scheduler: S,
        location: &'static Location<'static>,
    ) -> NonNull<Header> {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: &Self::VTABLE,
                owned: Slot::new(),
                wait: AtomicU8::new(0),
                flags: AtomicU8::new(0),
                location,
            },
            scheduler,
            join_waker: UnsafeCell::new(None),
            stage: UnsafeCell::new(Stage {
                future: ManuallyDrop::new(future),
            }),
        });
        NonNull::from(Box::leak(cell)).cast()
    }
}

/// # Safety
/// `ptr` points to a live `Cell<F, S>`.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: the caller guarantees `ptr` is the header of a live `Cell<F, S>`,
    // and `Cell` is `repr(C)` with the header first.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the caller holds a reference, so the cell is live.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the caller passes its `Notified` reference on.
    cell.scheduler.schedule(unsafe { Notified::from_raw(ptr) });
}

unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone (state.rs, invariant 5): nobody else can
    // reach the cell, which was created by `Box::new` in `allocate`.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) });
}

/// Drops the future, catching a panic from its destructor.
///
/// # Safety
/// The caller holds the run lock and the future is live; it is not afterwards.
unsafe fn drop_future<F: Future, S>(cell: &Cell<F, S>) -> Option<Box<dyn Any + Send>> {
    // SAFETY: by the caller's contract the future is live and ours.
    let future = unsafe { &mut (*cell.stage.get()).future };
    // SAFETY: dropped once; it is never touched again (a panic mid-drop counts as
    // dropped, as for any value whose destructor panics).
    catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(future) })).err()
}

/// Stores the output.
///
/// # Safety
/// The caller holds the run lock and the future was dropped.
unsafe fn store_output<F: Future, S>(cell: &Cell<F, S>, out: Result<F::Output, JoinError>) {
    // SAFETY: exclusive access by the caller's contract; writing a `ManuallyDrop`
    // union field drops nothing.
    unsafe { (*cell.stage.get()).output = ManuallyDrop::new(out) };
}

/// Drops the output, catching a panic from its destructor.
///
/// # Safety
/// The caller owns the live output (invariant 3 of `state.rs`); it is not afterwards.
unsafe fn drop_output<F: Future, S>(cell: &Cell<F, S>) {
    // SAFETY: by the caller's contract the output is live and ours.
    let output = unsafe { &mut (*cell.stage.get()).output };
    // SAFETY: dropped once and never touched again.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(output) }));
}

unsafe fn poll<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller's `Notified` reference keeps the cell alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        TransitionToRunning::Success => {}
        TransitionToRunning::Cancelled => {
            // SAFETY: we hold the run lock.
            unsafe { cancel_and_complete::<F, S>(ptr) };
            return;
        }
        TransitionToRunning::Failed => return,
        // SAFETY: that was the last reference.
        TransitionToRunning::Dealloc => return unsafe { dealloc::<F, S>(ptr) },
    }

    // SAFETY: the run lock is held until `transition_to_idle` or completion; the
    // waker does not outlive this function without taking its own reference.
    let waker = unsafe { waker_ref(ptr) };
    let mut cx = Context::from_waker(&waker);
    let watch = poll_watch::poll_started(&cell.header);
    let traced = crate::trace::on();
    let _ = gorun_coop::take_wait_reason();
    let polling = super::id::enter(&cell.header);
    let res = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: we hold the run lock and the task is not complete, so the future
        // is live and ours; it is never moved out of the heap cell (it is pinned).
        let fut = unsafe { Pin::new_unchecked(&mut *(*cell.stage.get()).future) };
        gorun_coop::budget(|| fut.poll(&mut cx))
    }));
    drop(polling);
    if traced {
        crate::trace::poll_ended(cell.header.location);
    }
    let reason = gorun_coop::take_wait_reason();
    poll_watch::poll_ended(watch, &cell.header);
    let output = match res {
        Ok(Poll::Pending) => {
            // Before the transition: afterwards the cell may be freed or re-polled.
            cell.header.wait.store(reason.as_u8(), Ordering::Relaxed);
            match cell.header.state.transition_to_idle() {
                TransitionToIdle::Ok => {}
                TransitionToIdle::OkNotified => {
                    // Woken while running (a yield): back of the queue, not runnext.
                    // SAFETY: the running ref became this `Notified`.
                    cell.scheduler.yield_now(unsafe { Notified::from_raw(ptr) });
                }
                // SAFETY: the last reference is gone.
                TransitionToIdle::OkDealloc => unsafe { dealloc::<F, S>(ptr) },
                TransitionToIdle::Cancelled => {
                    // SAFETY: we still hold the run lock.
                    unsafe { cancel_and_complete::<F, S>(ptr) }
                }
            }
            return;
        }
        Ok(Poll::Ready(out)) => Ok(out),
        Err(payload) => {
            cell.scheduler.on_panic(&*payload);
            Err(JoinError::panic(payload))
        }
    };
    // SAFETY: we hold the run lock. The future is dropped first, then the output stored.
    unsafe {
        let drop_panic = drop_future(cell);
        let output = match (output, drop_panic) {
            (Ok(out), Some(p)) => {
                drop(out);
                Err(JoinError::panic(p))
            }
            (out, _) => out,
        };
        store_output(cell, output);
        complete::<F, S>(ptr);
    }
}

/// Drops the future and completes the task with `JoinError::Cancelled` (or the panic
/// of the future's drop).
///
/// # Safety
/// The caller holds the run lock and the running reference, which this consumes.
unsafe fn cancel_and_complete<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller holds a reference and the run lock.
    unsafe {
        let cell = cell::<F, S>(ptr);
        let err = match drop_future(cell) {
            Some(p) => JoinError::panic(p),
            None => JoinError::cancelled(),
        };
        store_output(cell, Err(err));
        complete::<F, S>(ptr);
    }
}

/// Publishes the output, wakes the joiner, leaves the owned list and drops the
/// running and list references.
///
/// # Safety
/// The caller holds the run lock and the running reference; the output is stored.
unsafe fn complete<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    // Leave the owned list first, so a joiner woken below never sees this task still
    // counted as live. We hold the run lock: the shutdown sweep has nothing to do here.
    // SAFETY: `ptr` is a live task of this scheduler.
    let list_ref = unsafe { cell.scheduler.release(ptr) };
    let snapshot = cell.header.state.transition_to_complete();
    if !snapshot.is_join_interested() {
        // Nobody will read the output: it is ours to drop (invariant 3).
        // SAFETY: we own the completed output.
        unsafe { drop_output(cell) };
    } else if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER is set, so the slot is ours (invariant 4).
        let waker = unsafe { &*cell.join_waker.get() };
        let waker = waker.as_ref().expect("JOIN_WAKER set without a waker");
        // A panicking join waker (a hand-written one) must not unwind out of here
        // with the task half completed: it is reported, and completion goes on.
        if let Err(payload) = gorun_coop::wake_by_ref_catching(waker) {
            cell.scheduler.on_waker_panic(payload);
        }
        let snapshot = cell.header.state.unset_waker_after_complete();
        if !snapshot.is_join_interested() {
            // The handle went away meanwhile and left the waker to us.
            // SAFETY: JOIN_WAKER was set when the handle left, so the slot is ours.
            unsafe { *cell.join_waker.get() = None };
        }
    }
    let refs = 1 + usize::from(list_ref);
    if cell.header.state.ref_dec_many(refs) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the `JoinHandle` holds a reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    // SAFETY: the slot is accessed under invariant 4 inside.
    if !unsafe { can_read_output(&cell.header, &cell.join_waker, waker) } {
        return;
    }
    // SAFETY: COMPLETE is set and the handle has join interest: the output is ours,
    // and the handle has not taken it yet (it checks that before calling us).
    let out = unsafe { ManuallyDrop::take(&mut (*cell.stage.get()).output) };
    // SAFETY: the caller passes a `*mut Poll<Result<F::Output, JoinError>>`.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(out) };
}

/// Registers `waker` as the join waker unless the task is complete; returns whether
/// the output can be read.
///
/// # Safety
/// Called by the `JoinHandle` only.
unsafe fn can_read_output(
    header: &Header,
    slot: &UnsafeCell<Option<Waker>>,
    waker: &Waker,
) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    let res = if !snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER unset: the slot is the handle's.
        unsafe { set_join_waker(header, slot, waker.clone()) }
    } else {
        // SAFETY: JOIN_WAKER set: the task may read the slot concurrently, reading
        // is all we do.
        if unsafe { &*slot.get() }
            .as_ref()
            .is_some_and(|w| w.will_wake(waker))
        {
            return false;
        }
        header.state.unset_waker().and_then(|_| {
            // SAFETY: unset succeeded: the slot is the handle's again.
            unsafe { set_join_waker(header, slot, waker.clone()) }
        })
    };
    match res {
        Ok(_) => false,
        Err(s) => {
            debug_assert!(s.is_complete());
            true
        }
    }
}

/// # Safety
/// The handle owns the slot (JOIN_WAKER unset).
unsafe fn set_join_waker(
    header: &Header,
    slot: &UnsafeCell<Option<Waker>>,
    waker: Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    // SAFETY: the handle owns the slot until `set_join_waker` succeeds.
    unsafe { *slot.get() = Some(waker) };
    let res = header.state.set_join_waker();
    if res.is_err() {
        // SAFETY: it failed, so the slot is still the handle's.
        unsafe { *slot.get() = None };
    }
    res
}

unsafe fn drop_join_handle<F, S>(ptr: NonNull<Header>, output_taken: bool)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the handle's reference keeps the cell alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let (owns_output, drop_waker) = cell.header.state.transition_to_join_handle_dropped();
    if owns_output && !output_taken {
        // SAFETY: complete with no more join interest: the output is ours.
        unsafe { drop_output(cell) };
    }
    if drop_waker {
        // SAFETY: JOIN_WAKER unset: the slot is ours.
        unsafe { *cell.join_waker.get() = None };
    }
    if cell.header.state.ref_dec() {
        // SAFETY: last reference.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

unsafe fn shutdown<F, S>(ptr: NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    // SAFETY: the caller (the list sweep) holds the list's reference.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // We hold the run lock: cancel it here. `complete` drops a "running"
        // reference, which we make now.
        cell.header.state.ref_inc();
        // SAFETY: run lock held, running reference held.
        unsafe { cancel_and_complete::<F, S>(ptr) };
    }
}

/// Creates a task: the owned-list `Task`, the first `Notified` and the `JoinHandle`'s
/// raw pointer, which together hold the three initial references.
pub(crate) fn new_task<F, S>(
    future: F,
    scheduler: S,
    location: &'static Location<'static>,
) -> (Task, Notified, NonNull<Header>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: Schedule,
{
    let ptr = Cell::<F, S>::allocate(future, scheduler, location);
    // SAFETY: the three initial references are split among the three values.
    unsafe { (Task::from_raw(ptr), Notified::from_raw(ptr), ptr) }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The per-task overhead beyond the future: the target is at most 64 bytes
    /// (tokio's cell is 128 bytes for an empty future, async-task's 56).
    #[test]
    fn task_overhead_is_at_most_64_bytes() {
        type Empty = std::future::Ready<()>;
        let cell = std::mem::size_of::<Cell<Empty, std::sync::Arc<()>>>();
        assert_eq!(cell, 64, "cell for an empty future");
        // A future of 1 KiB costs 1 KiB plus the same 56 bytes of fixed fields.
        type Big = std::future::Ready<[u64; 128]>;
        let big = std::mem::size_of::<Cell<Big, std::sync::Arc<()>>>();
        assert!(big - std::mem::size_of::<Big>() <= 64, "{big}");
    }
}
