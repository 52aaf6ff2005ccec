//! Deterministic cancellation: every await point of send, recv and select,
//! dropped, over cap 0 and buffered channels. Nothing is lost or duplicated.
#![cfg(not(loom))]

use std::future::{Future, IntoFuture};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use gorun_channel::{chan, Select, Selected, TryRecvError};

fn poll<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn dropped_send_withdraws_value() {
    for cap in [0, 1] {
        let (tx, rx) = chan(cap);
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        {
            let mut s = pin!(tx.send(99));
            assert!(poll(s.as_mut()).is_pending());
        }
        for i in 0..cap {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
    }
}

#[test]
fn dropped_recv_before_handoff_is_withdrawn() {
    let (tx, rx) = chan::<u32>(0);
    {
        let mut r = pin!(rx.recv());
        assert!(poll(r.as_mut()).is_pending());
    }
    assert!(tx.try_send(1).is_err(), "no receiver is parked any more");
}

#[test]
fn rendezvous_value_handed_to_dropped_recv_goes_to_next_receiver() {
    let (tx, rx) = chan::<u32>(0);
    let mut r1 = Box::pin(rx.recv());
    let mut r2 = pin!(rx.recv());
    assert!(poll(r1.as_mut()).is_pending());
    assert!(poll(r2.as_mut()).is_pending());
    tx.try_send(5).unwrap(); // handed to r1 (FIFO)
    drop(r1); // r1 never returned it
    assert_eq!(poll(r2.as_mut()), Poll::Ready(Some(5)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn rendezvous_value_handed_to_dropped_recv_stays_in_channel_first() {
    let (tx, rx) = chan::<u32>(0);
    {
        let mut r = pin!(rx.recv());
        assert!(poll(r.as_mut()).is_pending());
        tx.try_send(1).unwrap();
    }
    // The value is back in the channel (len > cap, briefly), ahead of anything else.
    assert_eq!(rx.len(), 1);
    let mut s = pin!(tx.send(2));
    assert!(poll(s.as_mut()).is_pending(), "overflow: senders wait");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(poll(s.as_mut()), Poll::Ready(Ok(())));
}

#[test]
fn buffered_value_handed_to_dropped_recv_goes_back_to_front() {
    let (tx, rx) = chan::<u32>(2);
    {
        let mut r = pin!(rx.recv());
        assert!(poll(r.as_mut()).is_pending());
        tx.try_send(1).unwrap(); // straight to the parked receiver
        tx.try_send(2).unwrap(); // buffered
        tx.try_send(3).unwrap(); // buffered
    }
    assert_eq!(rx.len(), 3);
    assert_eq!(
        (rx.try_recv(), rx.try_recv(), rx.try_recv()),
        (Ok(1), Ok(2), Ok(3))
    );
}

#[test]
fn redelivered_value_survives_close() {
    let (tx, rx) = chan::<u32>(0);
    {
        let mut r = pin!(rx.recv());
        assert!(poll(r.as_mut()).is_pending());
        tx.try_send(4).unwrap();
        drop(tx);
    }
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn select_send_not_chosen_delivers_nothing() {
    for _ in 0..50 {
        let (tx_a, rx_a) = chan::<u32>(0);
        let (tx_b, rx_b) = chan::<u32>(1);
        tx_b.try_send(1).unwrap(); // recv on b is ready
        let mut r = pin!(rx_a.recv()); // and a receiver waits on a: send is ready too
        assert!(poll(r.as_mut()).is_pending());
        let out = Select::new().send(&tx_a, 10).recv(&rx_b).try_select();
        match out {
            Some(Selected::Case0(res)) => {
                res.unwrap();
                assert_eq!(poll(r.as_mut()), Poll::Ready(Some(10)));
                assert_eq!(rx_b.try_recv(), Ok(1), "recv case did not fire");
            }
            Some(Selected::Case1(v)) => {
                assert_eq!(v, Some(1));
                assert!(poll(r.as_mut()).is_pending(), "send case delivered nothing");
            }
            None => panic!("a case was ready"),
        }
    }
}

#[test]
fn parked_select_fires_exactly_one_case() {
    let (tx_a, rx_a) = chan::<u32>(0);
    let (tx_b, rx_b) = chan::<u32>(0);
    let mut sel = pin!(Select::new().recv(&rx_a).recv(&rx_b).into_future());
    assert!(poll(sel.as_mut()).is_pending());
    tx_a.try_send(1).unwrap(); // wins the select
    assert!(
        tx_b.try_send(2).is_err(),
        "the other case is stale: nobody receives on b"
    );
    assert_eq!(poll(sel.as_mut()), Poll::Ready(Selected::Case0(Some(1))));
}

#[test]
fn parked_select_send_withdrawn_on_drop() {
    let (tx, rx) = chan::<u32>(0);
    let (_tx2, rx2) = chan::<u32>(0);
    {
        let mut sel = pin!(Select::new().send(&tx, 3).recv(&rx2).into_future());
        assert!(poll(sel.as_mut()).is_pending());
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn select_dropped_after_peer_fired_recv_redelivers() {
    let (tx, rx) = chan::<u32>(0);
    let (_tx2, rx2) = chan::<u32>(0);
    {
        let mut sel = pin!(Select::new().recv(&rx).recv(&rx2).into_future());
        assert!(poll(sel.as_mut()).is_pending());
        tx.try_send(9).unwrap(); // handed to the select's case
    } // dropped before it returned the value
    assert_eq!(rx.try_recv(), Ok(9));
}

#[test]
fn select_with_send_and_recv_on_same_channel_never_meets_itself() {
    let (tx, rx) = chan::<u32>(0);
    let mut sel = pin!(Select::new().send(&tx, 1).recv(&rx).into_future());
    assert!(poll(sel.as_mut()).is_pending());
    assert!(poll(sel.as_mut()).is_pending(), "re-poll keeps waiting");
    // A plain receiver completes the send case.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(poll(sel.as_mut()), Poll::Ready(Selected::Case0(Ok(()))));
}

#[test]
fn two_selects_rendezvous() {
    let (tx, rx) = chan::<u32>(0);
    let (_t, never) = chan::<u32>(0);
    let mut a = pin!(Select::new().recv(&rx).recv(&never).into_future());
    assert!(poll(a.as_mut()).is_pending());
    let mut b = pin!(Select::new().recv(&never).send(&tx, 5).into_future());
    assert_eq!(poll(b.as_mut()), Poll::Ready(Selected::Case1(Ok(()))));
    assert_eq!(poll(a.as_mut()), Poll::Ready(Selected::Case0(Some(5))));
}
