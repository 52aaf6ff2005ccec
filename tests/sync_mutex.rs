//! `gorun::sync::Mutex` and `RwLock`: exclusion, fairness, cancel safety, no poisoning,
//! and `MutexGuard::map`/`try_map` (borrowed, owned, mapped again).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gorun::sync::{Mutex, RwLock};

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[gorun::test]
async fn mutual_exclusion_across_awaits() {
    let m = Arc::new(Mutex::new(0u64));
    let inside = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..16)
        .map(|_| {
            let (m, inside) = (m.clone(), inside.clone());
            gorun::go(async move {
                for _ in 0..200 {
                    let mut g = m.lock().await;
                    assert_eq!(inside.fetch_add(1, SeqCst), 0);
                    let v = *g;
                    gorun::yield_now().await;
                    *g = v + 1;
                    inside.fetch_sub(1, SeqCst);
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(*m.lock().await, 3200);
}

#[test]
fn dropped_lock_future_after_handoff_passes_lock_on() {
    let m = Mutex::new(1);
    let g = m.try_lock().unwrap();
    let mut a = Box::pin(m.lock());
    let mut b = pin!(m.lock());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(g); // the lock is handed to `a`
    assert!(m.try_lock().is_err(), "no barging");
    drop(a); // cancelled: the lock passes to `b`
    let Poll::Ready(mut g) = poll_once(b.as_mut()) else {
        panic!("lock lost")
    };
    *g += 1;
    drop(g);
    assert_eq!(*m.try_lock().unwrap(), 2);
}

#[test]
fn fifo_order() {
    let m = Mutex::new(Vec::new());
    let g = m.try_lock().unwrap();
    let mut futs: Vec<_> = (0..5).map(|_| Box::pin(m.lock())).collect();
    for f in &mut futs {
        assert!(poll_once(f.as_mut()).is_pending());
    }
    drop(g);
    for (i, f) in futs.iter_mut().enumerate() {
        let Poll::Ready(mut g) = poll_once(f.as_mut()) else {
            panic!("waiter {i} not served")
        };
        g.push(i);
    }
    drop(futs);
    assert_eq!(m.into_inner(), [0, 1, 2, 3, 4]);
}

#[gorun::test]
async fn owned_guard_moves_into_a_task() {
    let m = Arc::new(Mutex::new(String::new()));
    let g = m.clone().lock_owned().await;
    let h = gorun::go(async move {
        let mut g = g;
        g.push_str("hi");
    });
    h.await.unwrap();
    assert_eq!(*m.lock().await, "hi");
    assert!(m.clone().try_lock_owned().is_ok());
}

#[gorun::test]
async fn no_poisoning() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = gorun::go(async move {
        let mut g = m2.lock().await;
        *g = 2;
        panic!("while holding the lock");
    })
    .await;
    assert!(r.unwrap_err().is_panic());
    assert_eq!(*m.lock().await, 2);
}

#[test]
fn blocking_lock_from_threads() {
    let m = Arc::new(Mutex::new(0));
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    *m.blocking_lock() += 1;
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(*m.blocking_lock(), 4000);
}

#[gorun::test]
async fn timed_out_lockers_lose_nothing() {
    let m = Arc::new(Mutex::new(0u32));
    let hs: Vec<_> = (0..32u64)
        .map(|i| {
            let m = m.clone();
            gorun::go(async move {
                let mut got = 0;
                for j in 0..50u64 {
                    let d = Duration::from_micros((i * 13 + j * 7) % 150);
                    if let Ok(mut g) = gorun::time::timeout(d, m.lock()).await {
                        *g += 1;
                        got += 1;
                        gorun::yield_now().await;
                    }
                }
                got
            })
        })
        .collect();
    let mut total = 0;
    for h in hs {
        total += h.await.unwrap();
    }
    assert_eq!(*m.try_lock().unwrap(), total);
}

#[gorun::test]
async fn rwlock_readers_share_writer_excludes() {
    let l = RwLock::new(1);
    let r1 = l.read().await;
    let r2 = l.try_read().unwrap();
    assert!(l.try_write().is_err());
    drop((r1, r2));
    let mut w = l.write().await;
    assert!(l.try_read().is_err());
    *w = 5;
    drop(w);
    assert_eq!(*l.read().await, 5);
}

#[test]
fn rwlock_waiting_writer_blocks_new_readers() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = pin!(l.write());
    assert!(poll_once(w.as_mut()).is_pending());
    assert!(l.try_read().is_err(), "a waiting writer blocks new readers");
    let mut r2 = pin!(l.read());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(r);
    let Poll::Ready(mut g) = poll_once(w.as_mut()) else {
        panic!("writer starved")
    };
    *g = 1;
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(g);
    let Poll::Ready(g) = poll_once(r2.as_mut()) else {
        panic!("reader starved")
    };
    assert_eq!(*g, 1);
}

#[test]
fn rwlock_dropped_writer_lets_readers_in() {
    let l = RwLock::new(0);
    let r = l.try_read().unwrap();
    let mut w = Box::pin(l.write());
    assert!(poll_once(w.as_mut()).is_pending());
    let mut r2 = pin!(l.read());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(w);
    assert!(poll_once(r2.as_mut()).is_ready());
    drop(r);
}

#[gorun::test]
async fn rwlock_no_writer_starvation_under_reader_stream() {
    let l = Arc::new(RwLock::new(0u32));
    let stop = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (l, stop) = (l.clone(), stop.clone());
            gorun::go(async move {
                while stop.load(SeqCst) == 0 {
                    let _r = l.read().await;
                    gorun::yield_now().await;
                }
            })
        })
        .collect();
    for _ in 0..20 {
        *l.write().await += 1;
    }
    stop.store(1, SeqCst);
    for r in readers {
        r.await.unwrap();
    }
    assert_eq!(*l.read().await, 20);
}

#[test]
fn map_narrows_the_guard_and_keeps_the_lock() {
    use gorun::sync::{MappedMutexGuard, MutexGuard};
    let m = Mutex::new((1u32, vec![1u8, 2]));
    let g = m.try_lock().unwrap();
    assert!(std::ptr::eq(MutexGuard::mutex(&g), &m));
    let mut v = MutexGuard::map(g, |pair| &mut pair.1);
    v.push(3);
    assert!(m.try_lock().is_err(), "the mapped guard must hold the lock");
    let mut waiter = pin!(m.lock());
    assert!(poll_once(waiter.as_mut()).is_pending());
    // Map again, down to one element.
    let mut last = MappedMutexGuard::map(v, |v| v.last_mut().unwrap());
    *last = 30;
    assert!(poll_once(waiter.as_mut()).is_pending());
    drop(last);
    let Poll::Ready(g) = poll_once(waiter.as_mut()) else {
        panic!("dropping the mapped guard did not unlock")
    };
    assert_eq!(*g, (1, vec![1, 2, 30]));
}

#[test]
fn try_map_gives_the_guard_back_on_failure() {
    use gorun::sync::{MappedMutexGuard, MutexGuard};
    let m = Mutex::new(vec![5u32]);
    let g = m.try_lock().unwrap();
    let mut g = MutexGuard::try_map(g, |v| v.get_mut(3)).expect_err("index 3 is out of range");
    assert!(
        m.try_lock().is_err(),
        "the returned guard still holds the lock"
    );
    g.push(6);
    let one = MutexGuard::try_map(g, |v| v.get_mut(1)).unwrap();
    assert_eq!(*one, 6);
    let one = MappedMutexGuard::try_map(one, |_| None::<&mut u8>).expect_err("declined");
    assert!(m.try_lock().is_err());
    let mut one = MappedMutexGuard::try_map(one, |x| Some(&mut *x)).unwrap();
    *one += 1;
    drop(one);
    assert_eq!(*m.try_lock().unwrap(), [5, 7]);
}

#[test]
fn a_panic_inside_map_releases_the_lock() {
    use gorun::sync::MutexGuard;
    let m = Mutex::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let g = m.try_lock().unwrap();
        let _never = MutexGuard::map(g, |_| -> &mut u8 { panic!("in map") });
    }));
    assert!(r.is_err());
    assert!(m.try_lock().is_ok(), "the lock leaked with the panic");
}

#[gorun::test]
async fn owned_map_moves_into_a_task() {
    use gorun::sync::{OwnedMappedMutexGuard, OwnedMutexGuard};
    let m = Arc::new(Mutex::new((String::from("a"), 0u64)));
    let g = m.clone().lock_owned().await;
    let mut s = OwnedMutexGuard::map(g, |pair| &mut pair.0);
    assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&s), &m));
    let h = gorun::go(async move {
        s.push('b');
        gorun::yield_now().await;
        let mut n = OwnedMappedMutexGuard::try_map(s, |s| s.as_mut_str().get_mut(0..1)).unwrap();
        n.make_ascii_uppercase();
    });
    h.await.unwrap();
    let g = m.clone().lock_owned().await;
    let g = OwnedMutexGuard::try_map(g, |_| None::<&mut u8>).expect_err("declined");
    assert_eq!(g.0, "Ab");
    drop(g);
    let n = OwnedMutexGuard::map(m.clone().try_lock_owned().unwrap(), |p| &mut p.1);
    assert!(m.try_lock().is_err());
    drop(n);
    assert!(m.try_lock().is_ok());
}
