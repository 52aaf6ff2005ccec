//! `gorun::sync::RwLock`: owned guards, `downgrade`, and `map`: deterministic cases,
//! a proptest against a sequential model of the FIFO lock, and a stress test with
//! random cancellation that counts readers, writers and writes.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gorun::sync::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
use proptest::prelude::*;

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[gorun::test(procs = 2)]
async fn owned_guards_move_into_tasks() {
    let lock = Arc::new(RwLock::new(0u32));
    // Several owned read guards live in tasks at once: each task waits on a
    // channel while holding its guard, so all of them must hold it together.
    let (tx, rx) = gorun::chan::<()>(0);
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (g, rx) = (lock.clone().try_read_owned().unwrap(), rx.clone());
            gorun::go(async move {
                rx.recv().await;
                *g
            })
        })
        .collect();
    assert!(
        lock.clone().try_write_owned().is_err(),
        "readers hold the lock"
    );
    for _ in 0..4 {
        tx.send(()).await.unwrap();
    }
    for r in readers {
        assert_eq!(r.await.unwrap(), 0);
    }
    let mut w = lock.clone().write_owned().await;
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &lock));
    assert!(lock.clone().try_read_owned().is_err());
    gorun::go(async move {
        gorun::yield_now().await;
        *w += 7;
    })
    .await
    .unwrap();
    let r = lock.clone().read_owned().await;
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &lock));
    assert_eq!(*r, 7);
    drop(r);
    assert!(lock.try_write().is_ok(), "every owned guard released");
}

#[test]
fn downgrade_admits_readers_but_no_writer() {
    let lock = RwLock::new(1);
    let mut w = lock.try_write().unwrap();
    *w = 2;
    let r = w.downgrade();
    assert_eq!(*r, 2);
    let r2 = lock
        .try_read()
        .expect("a reader may join the downgraded guard");
    assert!(lock.try_write().is_err());
    let mut writer = pin!(lock.write());
    assert!(poll_once(writer.as_mut()).is_pending());
    drop(r);
    assert!(poll_once(writer.as_mut()).is_pending(), "r2 still reads");
    drop(r2);
    let Poll::Ready(mut w) = poll_once(writer.as_mut()) else {
        panic!("the writer was not let in after the last reader")
    };
    *w = 3;
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), 3);
}

#[test]
fn a_writer_queued_before_the_downgrade_still_waits() {
    let lock = Arc::new(RwLock::new(0));
    let w = lock.try_write().unwrap();
    let mut early_reader = pin!(lock.read());
    assert!(poll_once(early_reader.as_mut()).is_pending());
    let mut writer = pin!(lock.clone().write_owned());
    assert!(poll_once(writer.as_mut()).is_pending());
    let mut late_reader = pin!(lock.read());
    assert!(poll_once(late_reader.as_mut()).is_pending());

    let r = w.downgrade();
    // The reader queued before the writer comes in; the writer, and the reader
    // queued behind it (FIFO), wait; no newcomer barges past the writer either.
    let Poll::Ready(early) = poll_once(early_reader.as_mut()) else {
        panic!("the reader ahead of the writer was not admitted")
    };
    assert!(poll_once(writer.as_mut()).is_pending());
    assert!(poll_once(late_reader.as_mut()).is_pending());
    assert!(lock.try_read().is_err());
    drop(r);
    assert!(
        poll_once(writer.as_mut()).is_pending(),
        "`early` still reads"
    );
    drop(early);
    let Poll::Ready(mut w2) = poll_once(writer.as_mut()) else {
        panic!("the writer was not let in")
    };
    *w2 = 5;
    assert!(poll_once(late_reader.as_mut()).is_pending());
    drop(w2);
    let Poll::Ready(late) = poll_once(late_reader.as_mut()) else {
        panic!("the late reader starved")
    };
    assert_eq!(*late, 5);
}

#[gorun::test(procs = 2)]
async fn owned_downgrade_is_atomic_under_a_racing_writer() {
    let lock = Arc::new(RwLock::new(0u64));
    for round in 1..=50u64 {
        let mut w = lock.clone().write_owned().await;
        *w = round * 10;
        let racer = gorun::go({
            let lock = lock.clone();
            async move { *lock.write().await += 1 }
        });
        gorun::yield_now().await; // let the racer queue (or not)
        let r = w.downgrade();
        for _ in 0..3 {
            gorun::yield_now().await;
            assert_eq!(*r, round * 10, "a writer got in under the downgraded guard");
        }
        drop(r);
        racer.await.unwrap();
        assert_eq!(*lock.read().await, round * 10 + 1);
    }
}

#[test]
fn read_and_write_guards_map() {
    let lock = Arc::new(RwLock::new((1u8, vec![10u32, 20])));
    let r = RwLockReadGuard::map(lock.try_read().unwrap(), |p| &p.1);
    let r = RwLockReadGuard::try_map(r, |v| v.get(5)).expect_err("out of range");
    let first = RwLockReadGuard::try_map(r, |v| v.first()).unwrap();
    assert_eq!(*first, 10);
    assert!(
        lock.try_write().is_err(),
        "the mapped read guard holds the lock"
    );
    drop(first);

    let w = RwLockWriteGuard::map(lock.try_write().unwrap(), |p| &mut p.1);
    assert!(
        lock.try_read().is_err(),
        "the mapped write guard holds the lock"
    );
    let w = RwLockMappedWriteGuard::try_map(w, |v| v.get_mut(9)).expect_err("declined");
    let mut second = RwLockMappedWriteGuard::map(w, |v| &mut v[1]);
    *second = 21;
    drop(second);
    let w = lock.try_write().unwrap();
    let w = RwLockWriteGuard::try_map(w, |_| None::<&mut u8>).expect_err("declined");
    drop(w);

    let ow = OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |p| &mut p.0);
    assert!(Arc::ptr_eq(OwnedRwLockMappedWriteGuard::rwlock(&ow), &lock));
    let mut ow = OwnedRwLockMappedWriteGuard::try_map(ow, |v| Some(&mut *v)).unwrap();
    *ow += 1;
    assert!(lock.try_read().is_err());
    drop(ow);
    let or = OwnedRwLockReadGuard::map(lock.clone().try_read_owned().unwrap(), |p| &p.1);
    let or = OwnedRwLockReadGuard::try_map(or, |v| v.get(1)).unwrap();
    assert_eq!(*or, 21);
    assert!(lock.try_write().is_err());
    drop(or);
    assert_eq!(*lock.try_read().unwrap(), (2, vec![10, 21]));
}

// ---- proptest: the lock against a sequential model ----

/// Any live guard the model test holds.
enum Guard<'a> {
    Read(RwLockReadGuard<'a, u64>),
    ReadOwned(OwnedRwLockReadGuard<u64>),
    Write(RwLockWriteGuard<'a, u64>),
    WriteOwned(OwnedRwLockWriteGuard<u64>),
    Mapped(RwLockMappedWriteGuard<'a, u64>),
    MappedOwned(OwnedRwLockMappedWriteGuard<u64>),
}

impl Guard<'_> {
    fn is_write(&self) -> bool {
        !matches!(self, Guard::Read(_) | Guard::ReadOwned(_))
    }
    fn value(&self) -> u64 {
        match self {
            Guard::Read(g) => **g,
            Guard::ReadOwned(g) => **g,
            Guard::Write(g) => **g,
            Guard::WriteOwned(g) => **g,
            Guard::Mapped(g) => **g,
            Guard::MappedOwned(g) => **g,
        }
    }
    /// A write guard just taken: bump the value, as the model does.
    fn bump(&mut self) {
        match self {
            Guard::Write(g) => **g += 1,
            Guard::WriteOwned(g) => **g += 1,
            _ => unreachable!("only fresh write guards are bumped"),
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Lock { write: bool, owned: bool },
    Try { write: bool, owned: bool },
    Drop(usize),
    Downgrade(usize),
    Map(usize),
    Cancel(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<bool>(), any::<bool>()).prop_map(|(write, owned)| Op::Lock { write, owned }),
        2 => (any::<bool>(), any::<bool>()).prop_map(|(write, owned)| Op::Try { write, owned }),
        3 => any::<usize>().prop_map(Op::Drop),
        2 => any::<usize>().prop_map(Op::Downgrade),
        1 => any::<usize>().prop_map(Op::Map),
        1 => any::<usize>().prop_map(Op::Cancel),
    ]
}

/// The specification: FIFO, readers share, a writer excludes, a waiting writer
/// blocks later readers, downgrade keeps one read.
#[derive(Default)]
struct Model {
    readers: usize,
    writer: bool,
    queue: VecDeque<(usize, bool)>,
    value: u64,
}

impl Model {
    fn fits(&self, write: bool) -> bool {
        !self.writer && (!write || self.readers == 0)
    }
    fn take(&mut self, write: bool) {
        if write {
            self.writer = true;
            self.value += 1;
        } else {
            self.readers += 1;
        }
    }
    fn release(&mut self, write: bool) {
        if write {
            self.writer = false;
        } else {
            self.readers -= 1;
        }
    }
    /// Admits waiters from the front while they fit; returns their ids.
    fn admit(&mut self) -> Vec<usize> {
        let mut out = vec![];
        while let Some(&(id, write)) = self.queue.front() {
            if !self.fits(write) {
                break;
            }
            self.take(write);
            self.queue.pop_front();
            out.push(id);
        }
        out
    }
}

type LockFut<'a> = Pin<Box<dyn Future<Output = Guard<'a>> + 'a>>;

fn lock_fut(lock: &Arc<RwLock<u64>>, write: bool, owned: bool) -> LockFut<'_> {
    match (write, owned) {
        (false, false) => Box::pin(async move { Guard::Read(lock.read().await) }),
        (false, true) => Box::pin(async move { Guard::ReadOwned(lock.clone().read_owned().await) }),
        (true, false) => Box::pin(async move { Guard::Write(lock.write().await) }),
        (true, true) => {
            Box::pin(async move { Guard::WriteOwned(lock.clone().write_owned().await) })
        }
    }
}

fn run_model(ops: Vec<Op>) {
    let lock = Arc::new(RwLock::new(0u64));
    let mut m = Model::default();
    let mut guards: Vec<Guard<'_>> = vec![];
    let mut pending: Vec<(usize, LockFut<'_>)> = vec![];
    let mut next_id = 0;
    for op in ops {
        let mut admitted = vec![];
        match op {
            Op::Lock { write, owned } => {
                let mut f = lock_fut(&lock, write, owned);
                if m.queue.is_empty() && m.fits(write) {
                    m.take(write);
                    let Poll::Ready(mut g) = poll_once(f.as_mut()) else {
                        panic!("a free lock made {op:?} wait")
                    };
                    if write {
                        g.bump();
                    }
                    guards.push(g);
                } else {
                    assert!(poll_once(f.as_mut()).is_pending(), "{op:?} barged in");
                    m.queue.push_back((next_id, write));
                    pending.push((next_id, f));
                    next_id += 1;
                }
            }
            Op::Try { write, owned } => {
                let expect = m.queue.is_empty() && m.fits(write);
                let got = match (write, owned) {
                    (false, false) => lock.try_read().ok().map(Guard::Read),
                    (false, true) => lock.clone().try_read_owned().ok().map(Guard::ReadOwned),
                    (true, false) => lock.try_write().ok().map(Guard::Write),
                    (true, true) => lock.clone().try_write_owned().ok().map(Guard::WriteOwned),
                };
                assert_eq!(got.is_some(), expect, "{op:?}");
                if let Some(mut g) = got {
                    m.take(write);
                    if write {
                        g.bump();
                    }
                    guards.push(g);
                }
            }
            Op::Drop(i) if !guards.is_empty() => {
                let g = guards.remove(i % guards.len());
                m.release(g.is_write());
                drop(g);
                admitted = m.admit();
            }
            Op::Downgrade(i) if !guards.is_empty() => {
                let i = i % guards.len();
                let g = guards.remove(i);
                let g = match g {
                    Guard::Write(g) => Guard::Read(g.downgrade()),
                    Guard::WriteOwned(g) => Guard::ReadOwned(g.downgrade()),
                    other => other, // readers and mapped writers have no downgrade
                };
                if m.writer && !g.is_write() {
                    m.writer = false;
                    m.readers += 1;
                    admitted = m.admit();
                }
                guards.insert(i, g);
            }
            Op::Map(i) if !guards.is_empty() => {
                let i = i % guards.len();
                let g = match guards.remove(i) {
                    Guard::Read(g) => Guard::Read(RwLockReadGuard::map(g, |v| v)),
                    Guard::ReadOwned(g) => Guard::ReadOwned(OwnedRwLockReadGuard::map(g, |v| v)),
                    Guard::Write(g) => Guard::Mapped(RwLockWriteGuard::map(g, |v| v)),
                    Guard::WriteOwned(g) => {
                        Guard::MappedOwned(OwnedRwLockWriteGuard::map(g, |v| v))
                    }
                    Guard::Mapped(g) => Guard::Mapped(RwLockMappedWriteGuard::map(g, |v| v)),
                    Guard::MappedOwned(g) => {
                        Guard::MappedOwned(OwnedRwLockMappedWriteGuard::map(g, |v| v))
                    }
                };
                guards.insert(i, g);
            }
            Op::Cancel(i) if !pending.is_empty() => {
                let (id, f) = pending.remove(i % pending.len());
                drop(f);
                m.queue.retain(|&(q, _)| q != id);
                admitted = m.admit();
            }
            _ => {}
        }
        // Exactly the waiters the model admitted are ready, in any order.
        let mut still = vec![];
        for (id, mut f) in pending.drain(..) {
            match poll_once(f.as_mut()) {
                Poll::Ready(mut g) => {
                    assert!(admitted.contains(&id), "waiter {id} admitted too early");
                    if g.is_write() {
                        g.bump();
                    }
                    guards.push(g);
                }
                Poll::Pending => {
                    assert!(!admitted.contains(&id), "waiter {id} not admitted");
                    still.push((id, f));
                }
            }
        }
        pending = still;
        for g in &guards {
            assert_eq!(g.value(), m.value, "a guard sees a stale or torn value");
        }
    }
    drop(pending);
    drop(guards);
    assert!(lock.try_write().is_ok(), "permits were lost");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn rwlock_matches_the_fifo_model(ops in prop::collection::vec(op(), 1..60)) {
        run_model(ops);
    }
}

// ---- stress ----

/// Tasks read, write, downgrade, with owned and borrowed guards and random
/// timeouts. Counters check exclusion all along; the writes are counted in and
/// must all be in the value at the end; a downgraded guard must see its own write
/// until it drops.
#[test]
fn stress_owned_downgrade_and_cancel_counts_writes() {
    const TASKS: u64 = 24;
    let rt = gorun::Runtime::builder().procs(4).build().unwrap();
    rt.run(async {
        let lock = Arc::new(RwLock::new(0u64));
        let readers = Arc::new(AtomicUsize::new(0));
        let writers = Arc::new(AtomicUsize::new(0));
        let downgrades = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..TASKS)
            .map(|i| {
                let (lock, readers, writers, downgrades) = (
                    lock.clone(),
                    readers.clone(),
                    writers.clone(),
                    downgrades.clone(),
                );
                gorun::go(async move {
                    let mut rng = 0x2545_F491_4F6C_DD1D ^ (i + 1).wrapping_mul(0x9E37_79B9);
                    let mut writes = 0u64;
                    for _ in 0..300 {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let patience = Duration::from_micros((rng >> 8) % 200);
                        let owned = rng & 1 == 0;
                        if (rng >> 1) % 3 == 0 {
                            let w = if owned {
                                gorun::time::timeout(patience, lock.clone().write_owned())
                                    .await
                                    .ok()
                                    .map(Ok)
                            } else {
                                gorun::time::timeout(patience, lock.write())
                                    .await
                                    .ok()
                                    .map(Err)
                            };
                            let Some(mut w) = w else { continue };
                            assert_eq!(writers.fetch_add(1, SeqCst), 0, "two writers");
                            assert_eq!(readers.load(SeqCst), 0, "a reader beside a writer");
                            let mine = match &mut w {
                                Ok(g) => {
                                    **g += 1;
                                    **g
                                }
                                Err(g) => {
                                    **g += 1;
                                    **g
                                }
                            };
                            writes += 1;
                            if (rng >> 3) % 2 == 0 {
                                // Downgrade: the counters move while we still hold
                                // the write lock, so no one can see them torn.
                                writers.fetch_sub(1, SeqCst);
                                readers.fetch_add(1, SeqCst);
                                downgrades.fetch_add(1, SeqCst);
                                let r = w.map(|g| g.downgrade()).map_err(|g| g.downgrade());
                                for _ in 0..2 {
                                    gorun::yield_now().await;
                                    let now = match &r {
                                        Ok(g) => **g,
                                        Err(g) => **g,
                                    };
                                    assert_eq!(now, mine, "a writer got in after downgrade");
                                    assert_eq!(writers.load(SeqCst), 0);
                                }
                                readers.fetch_sub(1, SeqCst);
                                drop(r);
                            } else {
                                gorun::yield_now().await;
                                writers.fetch_sub(1, SeqCst);
                                drop(w);
                            }
                        } else {
                            // The whole read, hold included, may be cancelled.
                            let read = async {
                                let _g = if owned {
                                    Ok(lock.clone().read_owned().await)
                                } else {
                                    Err(lock.read().await)
                                };
                                // Declared after `_g`, so dropped first (on cancel too).
                                let _c = Counted::new(&readers);
                                assert_eq!(writers.load(SeqCst), 0, "a writer beside a reader");
                                gorun::yield_now().await;
                            };
                            let _ = gorun::time::timeout(patience, read).await;
                        }
                    }
                    writes
                })
            })
            .collect();
        let mut total = 0;
        for h in hs {
            total += h.await.unwrap();
        }
        eprintln!("{total} writes, {} downgraded", downgrades.load(SeqCst));
        assert!(total > 0 && downgrades.load(SeqCst) > 0);
        assert_eq!(readers.load(SeqCst), 0);
        assert_eq!(writers.load(SeqCst), 0);
        assert_eq!(*lock.try_write().expect("permits were lost"), total);
    });
}

/// Counts one holder in `0` while it lives.
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, SeqCst);
        Counted(n)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}
