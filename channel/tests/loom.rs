//! loom models of the waiter hand-off and the select CAS, at small sizes.
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p gorun-channel --release --test loom`
#![cfg(loom)]

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use gorun_channel::{chan, Select, Selected, TryRecvError};
use loom::thread;

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn rendezvous_handoff() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let t = thread::spawn(move || loom::future::block_on(tx.send(7)));
        assert_eq!(loom::future::block_on(rx.recv()), Some(7));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

#[test]
fn buffered_handoff_and_close() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(1);
        let t = thread::spawn(move || {
            loom::future::block_on(async {
                tx.send(1).await.unwrap();
                tx.send(2).await.unwrap();
            })
        });
        let got = loom::future::block_on(async {
            let mut v = vec![];
            while let Some(x) = rx.recv().await {
                v.push(x);
            }
            v
        });
        t.join().unwrap();
        assert_eq!(got, [1, 2]);
    });
}

#[test]
fn cancelled_recv_loses_nothing() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let rx2 = rx.clone();
        let t = thread::spawn(move || {
            let mut f = pin!(rx2.recv());
            match poll_once(f.as_mut()) {
                Poll::Ready(v) => v,
                Poll::Pending => None, // dropped here, maybe holding a value
            }
        });
        let sent = tx.try_send(1).is_ok();
        let got_by_thread = t.join().unwrap();
        let left = rx.try_recv();
        let count = got_by_thread.is_some() as u32 + left.is_ok() as u32;
        assert_eq!(count, sent as u32, "{got_by_thread:?} {left:?}");
        if !sent {
            assert_eq!(left, Err(TryRecvError::Empty));
        }
    });
}

#[test]
fn select_cas_one_winner() {
    loom::model(|| {
        let (tx1, rx1) = chan::<u32>(0);
        let (tx2, rx2) = chan::<u32>(0);
        let mut sel = Box::pin(Select::new().recv(&rx1).recv(&rx2).into_future());
        assert!(poll_once(sel.as_mut()).is_pending());
        let t1 = thread::spawn(move || tx1.try_send(1).is_ok());
        let t2 = thread::spawn(move || tx2.try_send(2).is_ok());
        let (a, b) = (t1.join().unwrap(), t2.join().unwrap());
        assert!(a ^ b, "exactly one send meets the select: {a} {b}");
        let out = loom::future::block_on(sel);
        if a {
            assert_eq!(out, Selected::Case0(Some(1)));
        } else {
            assert_eq!(out, Selected::Case1(Some(2)));
        }
    });
}

#[test]
fn select_register_races_sender() {
    loom::model(|| {
        let (tx1, rx1) = chan::<u32>(0);
        let (_tx2, rx2) = chan::<u32>(0);
        let t = thread::spawn(move || loom::future::block_on(tx1.send(5)));
        let out = loom::future::block_on(Select::new().recv(&rx2).recv(&rx1).into_future());
        assert_eq!(out, Selected::Case1(Some(5)));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}
