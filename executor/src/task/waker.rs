//! The task's `Waker`: a pointer to the task header with a static vtable.
//!
//! `clone` takes a reference, `drop` releases one; `wake_by_ref` creates a reference
//! only when it must queue a `Notified`, in the same CAS that sets `NOTIFIED`.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::raw::Header;
use super::state::TransitionToNotified;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows the caller's reference: it is never dropped, so it never
/// releases a reference it did not take.
///
/// # Safety
/// The caller holds a reference to the task for as long as the returned value lives.
pub(crate) unsafe fn waker_ref(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable functions uphold the RawWaker contract for task pointers.
    ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

fn header<'a>(data: *const ()) -> &'a Header {
    // SAFETY: every RawWaker with this vtable was made from a live task header whose
    // reference it owns (or borrows, for `waker_ref`).
    unsafe { &*(data as *const Header) }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    header(data).state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    let h = header(data);
    // SAFETY: `data` is a non-null header pointer (see `header`).
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    match h.state.transition_to_notified_by_val() {
        // SAFETY: the waker's reference became the `Notified`'s.
        TransitionToNotified::Submit => unsafe { (h.vtable.schedule)(ptr) },
        // SAFETY: the waker's reference was the last.
        TransitionToNotified::Dealloc => unsafe { (h.vtable.dealloc)(ptr) },
        TransitionToNotified::DoNothing => {}
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let h = header(data);
    if h.state.transition_to_notified_by_ref() == TransitionToNotified::Submit {
        // SAFETY: a reference was created for the `Notified`; `data` is non-null.
        unsafe { (h.vtable.schedule)(NonNull::new_unchecked(data as *mut Header)) }
    }
}

unsafe fn drop_waker(data: *const ()) {
    let h = header(data);
    if h.state.ref_dec() {
        // SAFETY: that was the last reference; `data` is non-null.
        unsafe { (h.vtable.dealloc)(NonNull::new_unchecked(data as *mut Header)) }
    }
}
