//! The loom shim: std types normally, loom's model-checked types under `cfg(loom)`.
//!
//! Everything in the crate that is shared between threads (entry state atomics,
//! entry cells) is imported from here, so `RUSTFLAGS="--cfg loom"` swaps them for
//! loom's and the models in `tests_loom.rs` explore every interleaving. The shard
//! locks come from `gorun-spinlock`, which makes the same swap itself.

#[cfg(not(loom))]
pub(crate) mod sync {
    pub(crate) use std::sync::atomic;
}

#[cfg(loom)]
pub(crate) mod sync {
    pub(crate) use loom::sync::atomic;
}

/// `UnsafeCell` with loom's closure API, so accesses are checked under loom.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Shared access to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Exclusive access to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
