//! Tasks beyond `go`: [`JoinSet`] (tasks awaited as they finish), task ids
//! ([`Id`], [`id()`], [`try_id`]) and [`block_in_place`], tokio's `tokio::task`.
//!
//! Inside: the goroutine's body, its state and its handles. Three kinds of owning
//! references point at a task cell (`raw.rs`):
//! - `Task`: the owned-tasks list's entry, used to cancel it at shutdown;
//! - `Notified`: the task is in a run queue and may be run;
//! - `JoinHandle` (in `join.rs`), plus every `Waker`.
//!
//! Each is one count in the state word; the last one out frees the cell.

pub(crate) mod id;
pub(crate) mod join;
pub(crate) mod join_set;
pub(crate) mod list;
pub(crate) mod poll_watch;
pub(crate) mod raw;
pub(crate) mod state;
mod waker;

use std::any::Any;
use std::ptr::NonNull;

pub use crate::scheduler::block_in_place;
pub use id::{id, try_id, Id};
pub use join_set::JoinSet;
pub(crate) use raw::{new_task, Header};

/// What a task needs from whoever runs it.
pub(crate) trait Schedule: Send + Sync + 'static {
    /// Queues a task that was woken.
    fn schedule(&self, task: Notified);
    /// Queues a task that woke itself while running: it goes behind the others.
    fn yield_now(&self, task: Notified) {
        self.schedule(task);
    }
    /// Removes the completed task from the owned list; returns `true` if it was there
    /// (the caller then drops the list's reference).
    ///
    /// # Safety
    /// `ptr` is a live task of this scheduler.
    unsafe fn release(&self, ptr: NonNull<Header>) -> bool;
    /// A task's poll panicked (the payload still goes to its `JoinHandle`).
    fn on_panic(&self, _payload: &(dyn Any + Send)) {}
    /// A waker the runtime woke panicked (here: a `JoinHandle`'s, at completion).
    fn on_waker_panic(&self, payload: Box<dyn Any + Send>) {
        self.on_panic(&*payload);
    }
}

/// A task in a run queue: owns one reference and the right to run it.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: tasks are `Send` (their futures and outputs are), and the header is `Sync`.
unsafe impl Send for Notified {}

impl Notified {
    /// # Safety
    /// The caller transfers one reference, created for a `Notified`.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }

    /// Gives up this reference as a raw pointer (for [`Notified::from_raw`]).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// Polls (or cancels) the task, consuming this reference.
    pub(crate) fn run(self) {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: our reference keeps the task alive and is passed to `poll`.
        unsafe { (ptr.as_ref().vtable.poll)(ptr) }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our reference keeps the header alive.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // A queued task dropped without running (runtime shutdown).
        if self.header().state.ref_dec() {
            // SAFETY: last reference.
            unsafe { (self.header().vtable.dealloc)(self.0) }
        }
    }
}

/// The owned list's reference to a task.
pub(crate) struct Task(NonNull<Header>);

// SAFETY: as for `Notified`.
unsafe impl Send for Task {}

impl Task {
    /// # Safety
    /// The caller transfers the list's reference.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Task {
        Task(ptr)
    }

    pub(crate) fn as_raw(&self) -> NonNull<Header> {
        self.0
    }

    /// Gives the reference back to the raw pointer (the list keeps it).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// Cancels the task if it is idle; otherwise marks it cancelled for its poller.
    pub(crate) fn shutdown(&self) {
        // SAFETY: our reference keeps it alive.
        unsafe { (self.0.as_ref().vtable.shutdown)(self.0) }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: our reference keeps it alive until this decrement.
        let header = unsafe { self.0.as_ref() };
        if header.state.ref_dec() {
            // SAFETY: last reference.
            unsafe { (header.vtable.dealloc)(self.0) }
        }
    }
}
