//! A multi-producer, multi-consumer broadcast channel: every value sent reaches every
//! receiver (tokio's `sync::broadcast`; Go has no twin, one spells it as a channel per
//! subscriber).
//!
//! Porting from tokio: the same names and semantics ([`channel`], [`Sender::send`],
//! [`Sender::subscribe`], [`Receiver::recv`], [`Receiver::resubscribe`], lag reported
//! as [`error::RecvError::Lagged`], the capacity rounded up to a power of two); change
//! `tokio::sync::broadcast` to `gorun::sync::broadcast`. `recv` is cancel-safe and
//! works on any executor. (tokio's `WeakSender` is not here.)

// The design is a ring of `cap` slots (rounded up to a power of two, as tokio does),
// each behind its own short `std` mutex, plus a `tail` mutex that orders the sends.
// Receivers read a slot without touching `tail`; only an empty channel, a lag, or
// parking needs the `tail` lock. The last receiver of a value moves it out instead of
// cloning it.
//
// Invariants:
// 1. Positions are `u64` counters that never wrap in practice. `tail.pos` is the
//    position of the next send; the values held are those at positions
//    `tail.pos - min(tail.pos, cap) .. tail.pos`, the one at `p` in slot `p % cap`.
// 2. Lock order is `tail` before a slot. A send writes its slot (value, `pos`, `rem`)
//    while holding `tail`, so under `tail` every position below `tail.pos` is in its
//    slot or overwritten.
// 3. A receiver's `next` is at most `tail.pos`. Reading slot `next % cap`, it finds
//    `pos == next` (the value), `pos + cap == next` (not sent yet) or `pos > next`
//    (overwritten: it lagged and resumes at the oldest value held).
// 4. `rem` counts the receivers that were subscribed when the value was sent and have
//    not received it yet. Every such receiver decrements it exactly once, under the
//    slot's lock: when it receives the value, or when it is dropped. The one that
//    takes it to zero takes the value out (moved to the last reader, or dropped), so a
//    value never outlives its last reader.
// 5. `rem` is a suffix property: older values never have more readers left than newer
//    ones, so [`Sender::len`] can binary-search for the first value still unread.
// 6. A receiver parks its `recv` future in its own entry of `tail.rx_waiters` (see
//    `waker_set.rs`), kept from one `recv` to the next and freed when the receiver is
//    dropped. A send or the last sender's drop notifies them all and wakes them after
//    unlocking. A `recv` dropped while parked only disarms the entry: a receiver's
//    position moves only when a value or error is returned, so cancelling a `recv`
//    loses nothing.
// 7. No user code (a value's `Clone` or `Drop`, a waker's `wake` or `Drop`) runs under
//    `tail`. `Clone` runs under its slot's lock only, which a send to that slot waits
//    for; the receiver moves past the value first, so a `Clone` that panics skips it
//    (as in tokio) instead of wedging the receiver on it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use gorun_coop::WaitReason;

use super::waker_set::{WakeList, WakerSet};

pub mod error;
mod receiver;

pub use receiver::{Receiver, Recv};

use error::SendError;

struct Shared<T> {
    buffer: Box<[Mutex<Slot<T>>]>,
    /// `buffer.len() - 1`; the length is a power of two.
    mask: u64,
    num_tx: AtomicUsize,
    /// On cache lines of its own: every send writes it, while every receive reads
    /// `buffer` and `mask` (sharing a line made the 1-sender/8-receiver benchmark four
    /// times slower).
    tail: CacheAligned<Mutex<Tail>>,
}

/// Aligns (and so pads) its content to 128 bytes: two cache lines, as the adjacent-line
/// prefetcher pulls pairs (crossbeam's `CachePadded` for x86-64).
#[repr(align(128))]
struct CacheAligned<T>(T);

struct Slot<T> {
    /// The position of the value held (invariant 3).
    pos: u64,
    /// Receivers yet to read it (invariant 4).
    rem: usize,
    val: Option<T>,
}

struct Tail {
    pos: u64,
    rx_cnt: usize,
    /// The last sender is gone.
    closed: bool,
    /// Parked `recv` futures.
    rx_waiters: WakerSet,
    /// Parked `Sender::closed` futures.
    tx_waiters: WakerSet,
}

impl<T> Shared<T> {
    fn tail(&self) -> MutexGuard<'_, Tail> {
        // No user code runs under this lock, so poisoning cannot leave it broken.
        self.tail.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slot(&self, pos: u64) -> MutexGuard<'_, Slot<T>> {
        // A `Clone` that panics under it leaves the slot consistent (the receiver has
        // moved past the value and counted itself out first), so poisoning is ignored.
        self.buffer[(pos & self.mask) as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn cap(&self) -> u64 {
        self.mask + 1
    }

    fn new_receiver(self: &Arc<Self>) -> Receiver<T> {
        let mut tail = self.tail();
        tail.rx_cnt = tail.rx_cnt.checked_add(1).expect("too many receivers");
        Receiver {
            shared: self.clone(),
            next: tail.pos,
            key: None,
        }
    }
}

/// Creates a broadcast channel holding up to `capacity` values (rounded up to a power
/// of two, as tokio does): each value sent is received by every [`Receiver`]
/// subscribed at the time. When the ring is full a send overwrites the oldest value,
/// and a receiver that had not read it gets [`error::RecvError::Lagged`] with the
/// number of values it missed, then continues from the oldest value still held.
///
/// The channel closes when the last [`Sender`] is dropped: receivers get the values
/// still held, then [`error::RecvError::Closed`].
///
/// # Panics
/// If `capacity` is 0, or over `usize::MAX / 2`.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use gorun::sync::broadcast;
///
/// let (tx, mut rx1) = broadcast::channel(16);
/// let mut rx2 = tx.subscribe();
/// let h = gorun::go(async move {
///     let mut got = vec![];
///     while let Ok(v) = rx2.recv().await {
///         got.push(v);
///     }
///     got // the loop ends with Err(Closed) once tx is dropped
/// });
/// assert_eq!(tx.send(10), Ok(2)); // 2 receivers
/// assert_eq!(tx.send(20), Ok(2));
/// drop(tx);
/// assert_eq!(rx1.recv().await, Ok(10));
/// assert_eq!(rx1.recv().await, Ok(20));
/// assert_eq!(rx1.recv().await, Err(broadcast::error::RecvError::Closed));
/// assert_eq!(h.await.unwrap(), [10, 20]);
/// # });
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::new(capacity);
    let rx = tx.subscribe();
    (tx, rx)
}

/// The sending half of a [`channel`]; cloneable. Sending never waits.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender with no receiver yet (see [`channel`] for `capacity`); receivers come
    /// from [`subscribe`](Self::subscribe).
    ///
    /// # Panics
    /// If `capacity` is 0, or over `usize::MAX / 2`.
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        assert!(capacity > 0, "broadcast channel capacity cannot be zero");
        assert!(
            capacity <= usize::MAX >> 1,
            "broadcast channel capacity exceeded `usize::MAX / 2`"
        );
        let cap = capacity.next_power_of_two();
        let buffer = (0..cap)
            .map(|i| {
                Mutex::new(Slot {
                    // "Not sent yet" for a receiver at position i (invariant 3).
                    pos: (i as u64).wrapping_sub(cap as u64),
                    rem: 0,
                    val: None,
                })
            })
            .collect();
        Sender {
            shared: Arc::new(Shared {
                buffer,
                mask: cap as u64 - 1,
                num_tx: AtomicUsize::new(1),
                tail: CacheAligned(Mutex::new(Tail {
                    pos: 0,
                    rx_cnt: 0,
                    closed: false,
                    rx_waiters: WakerSet::new(),
                    tx_waiters: WakerSet::new(),
                })),
            }),
        }
    }

    /// Sends `value` to every receiver, without waiting, and returns how many there
    /// are. If the ring is full the oldest value is overwritten. Fails, giving the
    /// value back, when there is no receiver.
    ///
    /// ```
    /// use gorun::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// assert_eq!(tx.send(1), Ok(1));
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let shared = &*self.shared;
        let mut tail = shared.tail();
        if tail.rx_cnt == 0 {
            return Err(SendError(value));
        }
        let pos = tail.pos;
        let rem = tail.rx_cnt;
        tail.pos += 1;
        let old = {
            let mut slot = shared.slot(pos);
            slot.pos = pos;
            slot.rem = rem;
            slot.val.replace(value)
        };
        if !tail.rx_waiters.has_waiting() {
            drop(tail);
            drop(old); // user code, outside the locks
            return Ok(rem);
        }
        let mut wakers = WakeList::new();
        tail.rx_waiters.notify_all(&mut wakers);
        drop(tail);
        drop(old);
        wakers.wake();
        Ok(rem)
    }

    /// A new receiver, which will receive the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.new_receiver()
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.tail().rx_cnt
    }

    /// The number of values held that some receiver has not received yet.
    ///
    /// ```
    /// use gorun::sync::broadcast;
    ///
    /// let (tx, mut rx1) = broadcast::channel(8);
    /// let mut rx2 = tx.subscribe();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// rx1.try_recv().unwrap();
    /// assert_eq!(tx.len(), 2); // rx2 has not read 1 yet
    /// rx2.try_recv().unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        let shared = &*self.shared;
        let tail = shared.tail();
        let held = tail.pos.min(shared.cap());
        // Invariant 5: find the first held value with readers left.
        let (mut lo, mut hi) = (tail.pos - held, tail.pos);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if shared.slot(mid).rem == 0 {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (tail.pos - lo) as usize
    }

    /// Whether every value held has been received by every receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The number of `Sender`s of this channel.
    pub fn strong_count(&self) -> usize {
        self.shared.num_tx.load(Acquire)
    }

    /// Waits until there is no receiver. Cancel-safe.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use gorun::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<u8>(4);
    /// gorun::go(async move { drop(rx) });
    /// tx.closed().await;
    /// assert_eq!(tx.receiver_count(), 0);
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.num_tx.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.num_tx.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        let mut tail = self.shared.tail();
        tail.closed = true;
        let mut wakers = WakeList::new();
        tail.rx_waiters.notify_all(&mut wakers);
        drop(tail);
        wakers.wake();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender")
            .field("capacity", &self.shared.cap())
            .field("receivers", &self.receiver_count())
            .finish_non_exhaustive()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    key: Option<usize>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let mut tail = this.shared.tail();
        // A subscribe may have reopened the channel since we were woken: re-armed then.
        let no_receiver = tail.rx_cnt == 0;
        let (done, old) = tail
            .tx_waiters
            .poll_until(&mut this.key, no_receiver, cx.waker());
        drop(tail);
        drop(old);
        if done {
            coop.made_progress();
            return Poll::Ready(());
        }
        gorun_coop::set_wait_reason(WaitReason::ChanSend);
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let old = self.shared.tail().tx_waiters.remove(k);
            drop(old);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Closed").finish_non_exhaustive()
    }
}
