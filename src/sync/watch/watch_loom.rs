//! Loom models of the watch channel: the lock-free version check of `changed` (and of
//! `Sender::closed`'s receiver count) racing a send, the last sender's drop, or the
//! last receiver's drop, which publish first and wake under the waiters lock
//! (invariant 3). A lost wake-up shows as a deadlock in `block_on`.
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p gorun --lib loom`.

use loom::thread;

use super::channel;

/// A receiver waits for a change while another thread sends: it always wakes, and
/// sees the new value.
#[test]
fn loom_changed_sees_a_concurrent_send() {
    loom::model(|| {
        let (tx, mut rx) = channel(0);
        let sender = thread::spawn(move || {
            tx.send(1).unwrap();
            tx // keep the channel open until joined
        });
        loom::future::block_on(rx.changed()).unwrap();
        assert_eq!(*rx.borrow_and_update(), 1);
        let tx = sender.join().unwrap();
        assert_eq!(rx.has_changed(), Ok(false));
        drop(tx);
    });
}

/// The last sender is dropped while a receiver waits: `changed` wakes with an error
/// (or with `Ok` first if it raced the send before the drop).
#[test]
fn loom_changed_wakes_on_close() {
    loom::model(|| {
        let (tx, mut rx) = channel(0);
        let sender = thread::spawn(move || {
            tx.send_modify(|v| *v += 1);
            drop(tx);
        });
        let mut oks = 0;
        while loom::future::block_on(rx.changed()).is_ok() {
            oks += 1;
        }
        assert_eq!(oks, 1, "exactly one change to see");
        assert_eq!(*rx.borrow(), 1);
        sender.join().unwrap();
    });
}

/// `Sender::closed` waits while two receivers are dropped on two threads.
#[test]
fn loom_sender_closed_wakes_when_the_last_receiver_goes() {
    loom::model(|| {
        let (tx, rx) = channel(());
        let rx2 = rx.clone();
        let a = thread::spawn(move || drop(rx));
        let b = thread::spawn(move || drop(rx2));
        loom::future::block_on(tx.closed());
        assert!(tx.is_closed());
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// Two receivers on two threads wait for the second of two sends: one send may clear
/// `PARKED` while the other receiver is parking; neither may be left asleep.
#[test]
fn loom_two_receivers_see_the_last_of_two_sends() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let (tx, rx) = channel(0);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let mut rx = rx.clone();
                thread::spawn(move || {
                    while *rx.borrow_and_update() != 2 {
                        loom::future::block_on(rx.changed()).unwrap();
                    }
                })
            })
            .collect();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        for w in waiters {
            w.join().unwrap();
        }
        drop(rx);
    });
}
