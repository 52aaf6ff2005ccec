//! `JoinHandle`, `AbortHandle` and `JoinError`.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::raw::Header;

/// An owned permission to await a task's output, like Go's missing `go` return value.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked or was
/// aborted. Dropping it *detaches* the task: it keeps running, as a goroutine does.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(2).build().unwrap();
/// let sum = rt.block_on(async {
///     let h = gorun_executor::go(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(sum, 42);
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    /// The output was returned: it must not be read or dropped again.
    output_taken: bool,
    _p: PhantomData<T>,
}

// SAFETY: the handle only moves a `T: Send` out of the task.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` allows only `abort`/`is_finished`, which are thread-safe.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` is a task whose output type is `T`, and the caller transfers the handle's
    /// reference.
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            output_taken: false,
            _p: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the task alive.
        unsafe { self.raw.as_ref() }
    }

    /// Cancels the task. An idle task has its future dropped by a worker soon after;
    /// a running one when its current poll returns. A task that already completed is
    /// unaffected, and awaiting the handle then still gives its output.
    pub fn abort(&self) {
        abort_raw(self.raw);
    }

    /// Whether the task has completed (returned, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }

    /// The task's [`Id`](crate::task::Id).
    pub fn id(&self) -> crate::task::Id {
        crate::task::Id::of(self.raw)
    }

    /// A handle that can abort the task but not await it.
    pub fn abort_handle(&self) -> AbortHandle {
        self.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

fn abort_raw(raw: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the task alive.
    let header = unsafe { raw.as_ref() };
    if header.state.transition_to_notified_and_cancel() {
        // SAFETY: a reference was made for the `Notified`.
        unsafe { (header.vtable.schedule)(raw) }
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            !self.output_taken,
            "JoinHandle polled after it returned the task's output"
        );
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let mut ret: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `ret` has the type the vtable writes for this task's output `T`.
        unsafe {
            (self.header().vtable.try_read_output)(
                self.raw,
                &mut ret as *mut _ as *mut (),
                cx.waker(),
            )
        };
        if ret.is_ready() {
            self.output_taken = true;
            coop.made_progress();
        } else {
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::Join);
        }
        ret
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: our reference is handed to the vtable, which releases it.
        unsafe { (self.header().vtable.drop_join_handle)(self.raw, self.output_taken) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Aborts a task without the right to its output. Cloneable.
pub struct AbortHandle {
    raw: NonNull<Header>,
}

// SAFETY: only thread-safe state operations are reachable through it.
unsafe impl Send for AbortHandle {}
// SAFETY: as above.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Cancels the task, as [`JoinHandle::abort`].
    pub fn abort(&self) {
        abort_raw(self.raw);
    }

    /// Whether the task has completed.
    pub fn is_finished(&self) -> bool {
        // SAFETY: our reference keeps it alive.
        unsafe { self.raw.as_ref() }.state.load().is_complete()
    }

    /// The task's [`Id`](crate::task::Id).
    pub fn id(&self) -> crate::task::Id {
        crate::task::Id::of(self.raw)
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> Self {
        // SAFETY: our reference keeps it alive.
        unsafe { self.raw.as_ref() }.state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: our reference keeps it alive until this decrement.
        let header = unsafe { self.raw.as_ref() };
        if header.state.ref_dec() {
            // SAFETY: last reference.
            unsafe { (header.vtable.dealloc)(self.raw) }
        }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task did not return its output: it was aborted, or it panicked.
///
/// One pointer wide, so a task's output slot stays small.
pub struct JoinError {
    repr: Box<Repr>,
}

enum Repr {
    Cancelled,
    Panic {
        /// Only ever accessed by value, so sharing `&JoinError` never touches it.
        payload: SyncWrapper<Box<dyn Any + Send>>,
        message: Option<String>,
    },
}

/// Makes a `Send` value `Sync` by never giving out `&T`.
struct SyncWrapper<T>(T);

// SAFETY: no `&T` is ever produced from `&SyncWrapper<T>`; the value is only moved.
unsafe impl<T: Send> Sync for SyncWrapper<T> {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Box::new(Repr::Cancelled),
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send>) -> JoinError {
        let message = payload
            .downcast_ref::<&'static str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        JoinError {
            repr: Box::new(Repr::Panic {
                payload: SyncWrapper(payload),
                message,
            }),
        }
    }

    /// The task was aborted (or the runtime shut down) before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(*self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(*self.repr, Repr::Panic { .. })
    }

    /// The panic message, when the payload was a string.
    pub fn panic_message(&self) -> Option<&str> {
        match &*self.repr {
            Repr::Panic { message, .. } => message.as_deref(),
            Repr::Cancelled => None,
        }
    }

    /// The panic payload, to inspect or `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicking.
    pub fn into_panic(self) -> Box<dyn Any + Send> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send>, JoinError> {
        match *self.repr {
            Repr::Panic { payload, .. } => Ok(payload.0),
            Repr::Cancelled => Err(self),
        }
    }
}

/// Added to the message of a task that panicked because a crate called tokio's
/// runtime, which is not there.
#[cfg(not(feature = "tokio-compat"))]
const TOKIO_HINT: &str = " (gorun: a crate called tokio's runtime; enable gorun's \
    `tokio-compat` feature to run tokio-calling crates on gorun)";
#[cfg(feature = "tokio-compat")]
const TOKIO_HINT: &str = " (gorun: tokio's runtime is entered on gorun's threads only; \
    this ran on another thread)";

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic {
                message: Some(m), ..
            } => {
                write!(f, "task panicked: {m}")?;
                if m.contains("Tokio 1.x runtime") {
                    f.write_str(TOKIO_HINT)?;
                }
                Ok(())
            }
            Repr::Panic { message: None, .. } => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panic { message, .. } => write!(f, "JoinError::Panic({message:?})"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> Self {
        std::io::Error::other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::JoinError;

    #[test]
    fn a_missing_tokio_runtime_gets_a_hint_naming_the_feature() {
        let tokio_msg = "there is no reactor running, must be called from the context of \
                         a Tokio 1.x runtime";
        let e = JoinError::panic(Box::new(tokio_msg.to_string()));
        let shown = e.to_string();
        assert!(
            shown.starts_with("task panicked: there is no reactor"),
            "{shown}"
        );
        assert!(
            shown.contains("tokio-compat") || shown.contains("another thread"),
            "{shown}"
        );
        let other = JoinError::panic(Box::new("boom"));
        assert_eq!(other.to_string(), "task panicked: boom");
    }
}
