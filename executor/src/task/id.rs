//! Task ids: tokio's `task::Id`, `task::id()` and `task::try_id()`.
//!
//! An id is the address of the task's cell, which is unique among the tasks alive
//! at any moment (a `JoinHandle` or `AbortHandle` keeps its cell, and so its id,
//! alive); once a task completes and every handle to it is gone, a later task may
//! get the same id. tokio documents the same guarantee ("unique relative to other
//! currently running tasks"). The address costs the 64-byte task cell nothing; a
//! counter would need 8 more bytes per task.
//!
//! The worker polling a task records its header in a thread-local for the length
//! of the poll, so code inside a task can ask for its own id.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::ptr::{self, NonNull};

use super::raw::Header;

/// A task's id, from [`JoinHandle::id`](crate::JoinHandle::id),
/// [`AbortHandle::id`](crate::AbortHandle::id) or, inside the task, [`id`].
///
/// Unique among the tasks alive at the same time; a task that completed and whose
/// handles are all gone may see its id reused (as tokio documents for its ids).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    pub(crate) fn of(task: NonNull<Header>) -> Id {
        Id(NonZeroU64::new(task.as_ptr() as u64).expect("a task's address is not null"))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({:#x})", self.0)
    }
}

thread_local! {
    /// The task this thread is polling, or null.
    static CURRENT: Cell<*const Header> = const { Cell::new(ptr::null()) };
}

/// Records `task` as the one this thread polls until the guard drops (which
/// restores what was there).
pub(crate) fn enter(task: &Header) -> Polling {
    Polling(CURRENT.with(|c| c.replace(task)))
}

/// Restores the previously polled task on drop (a poll that panics included).
pub(crate) struct Polling(*const Header);

impl Drop for Polling {
    fn drop(&mut self) {
        let prev = self.0;
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// The id of the task running this code.
///
/// # Panics
/// Outside a task (on a plain thread, or in a `block_on` future), as tokio's does:
/// use [`try_id`] there.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// let h = rt.spawn(async { gorun_executor::task::id() });
/// let id = h.id();
/// assert_eq!(rt.block_on(h).unwrap(), id);
/// ```
#[track_caller]
pub fn id() -> Id {
    try_id().expect("gorun::task::id() called outside a task (use try_id)")
}

/// The id of the task running this code, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    let p = CURRENT.try_with(|c| c.get()).unwrap_or(ptr::null());
    NonNull::new(p.cast_mut()).map(Id::of)
}
