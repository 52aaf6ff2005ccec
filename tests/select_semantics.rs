//! `select!` semantics: evaluation order, atomicity of channel cases (a case not
//! chosen has no effect, also when the select is cancelled), non-atomic future
//! cases, wake-ups.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gorun::{chan, select, TryRecvError};

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[gorun::test]
async fn expressions_are_evaluated_once_in_source_order_before_blocking() {
    let log = Mutex::new(Vec::new());
    let push = |s: &'static str| log.lock().unwrap().push(s);
    let (tx1, rx1) = chan::<u32>(0);
    let (tx2, rx2) = chan::<u32>(0);
    let (_tx3, rx3) = chan::<u32>(0);
    let feeder = gorun::go(async move {
        // The select parks first; nothing is re-evaluated when it is woken.
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(rx2.recv().await, Some(5));
        drop(tx1);
    });
    let r = select! {
        recv({ push("rx1"); &rx1 }) -> v, if { push("guard1"); true } => v.map(|_| 0),
        send({ push("tx2"); &tx2 }, { push("value2"); 5 }) -> res => { res.unwrap(); Some(2) },
        _ = async { push("polled"); std::future::pending::<()>().await }, if { push("guard3"); true } => None,
        recv({ push("rx3"); &rx3 }) -> _ => None,
    };
    assert_eq!(r, Some(2));
    let log = log.into_inner().unwrap();
    let evaluated: Vec<_> = log.iter().copied().filter(|s| *s != "polled").collect();
    assert_eq!(
        evaluated,
        ["rx1", "guard1", "tx2", "value2", "guard3", "rx3"]
    );
    // The future case was polled (at least once), after every expression.
    assert_eq!(log[6], "polled");
    feeder.await.unwrap();
}

#[gorun::test]
async fn a_recv_case_not_chosen_consumes_nothing() {
    let (tx1, rx1) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);
    let mut fired = [0; 2];
    for i in 0..500 {
        let _ = tx1.try_send(i);
        let _ = tx2.try_send(i);
        let k = select! {
            recv(rx1) -> v => { assert!(v.is_some()); 0 }
            recv(rx2) -> v => { assert!(v.is_some()); 1 }
        };
        fired[k] += 1;
        // Exactly one message left the channels.
        assert_eq!(rx1.len() + rx2.len(), 1);
    }
    assert!(
        fired[0] > 0 && fired[1] > 0,
        "both cases fire sometimes: {fired:?}"
    );
}

#[gorun::test]
async fn a_send_case_not_chosen_delivers_nothing() {
    let (tx, rx) = chan::<u32>(1);
    let (in_tx, in_rx) = chan::<u32>(1);
    let (mut sent, mut received) = (0, 0);
    for i in 0..500 {
        in_tx.send(i).await.unwrap();
        select! {
            send(tx, i) -> res => { res.unwrap(); sent += 1; }
            recv(in_rx) -> v => { assert_eq!(v, Some(i)); received += 1; }
        }
        match rx.try_recv() {
            Ok(v) => {
                assert_eq!(v, i);
                // The recv case did not fire: its message is still there.
                assert_eq!(in_rx.try_recv(), Ok(i));
            }
            Err(TryRecvError::Empty) => {}
            Err(e) => panic!("{e:?}"),
        }
        assert!(in_rx.is_empty());
    }
    assert_eq!(sent + received, 500);
    assert!(sent > 0 && received > 0, "{sent} {received}");
}

/// Counts drops.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[gorun::test]
async fn unsent_values_and_unchosen_futures_are_dropped_before_the_handler() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<u32>(1);
    let (full_tx, _full_rx) = chan::<DropCount>(0); // nobody receives
    tx.send(1).await.unwrap();
    let guard = DropCount(drops.clone());
    let pending = async move {
        let _g = guard;
        std::future::pending::<()>().await
    };
    select! {
        recv(rx) -> v => {
            assert_eq!(v, Some(1));
            // The unsent value and the pending future are gone already.
            assert_eq!(drops.load(Ordering::SeqCst), 2);
        }
        send(full_tx, DropCount(drops.clone())) -> _ => unreachable!("no receiver"),
        _ = pending => unreachable!("pending"),
    }
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[gorun::test]
async fn a_cancelled_select_loses_and_sends_nothing() {
    let (tx1, rx1) = chan::<u32>(0);
    let (tx2, rx2) = chan::<u32>(0);
    {
        let mut sel = pin!(async {
            select! {
                recv(rx1) -> v => v,
                send(tx2, 99) -> _ => None,
            }
        });
        assert!(poll_once(sel.as_mut()).is_pending());
        // Dropped while both cases are parked on their channels.
    }
    // The send case is withdrawn: nothing to receive.
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
    // The recv case is withdrawn: a sender finds no receiver waiting.
    assert!(tx1.try_send(1).is_err());
    // Both channels still work.
    let h = gorun::go(async move { tx1.send(2).await.unwrap() });
    assert_eq!(rx1.recv().await, Some(2));
    h.await.unwrap();
    drop(rx2);
}

#[gorun::test(procs = 2)]
async fn a_parked_select_is_woken_by_a_peer() {
    let (tx1, rx1) = chan::<u32>(0);
    let (tx2, rx2) = chan::<u32>(0);
    let (out_tx, out_rx) = chan::<u32>(0);
    let peer = gorun::go(async move {
        for i in 0..200 {
            if i % 3 == 0 {
                tx1.send(i).await.unwrap();
            } else if i % 3 == 1 {
                tx2.send(i).await.unwrap();
            } else {
                assert_eq!(out_rx.recv().await, Some(i));
            }
        }
    });
    for i in 0..200u32 {
        let next = i;
        select! {
            recv(rx1) -> v => assert_eq!((v, i % 3), (Some(i), 0)),
            recv(rx2) -> v => assert_eq!((v, i % 3), (Some(i), 1)),
            send(out_tx, next) -> res => { res.unwrap(); assert_eq!(i % 3, 2); }
        }
    }
    peer.await.unwrap();
}

#[gorun::test]
async fn future_cases_are_not_atomic_but_are_polled_fairly() {
    // A ready future and a ready channel: both fire sometimes; the future's
    // output is dropped when the channel wins (documented).
    let (tx, rx) = chan::<u32>(1);
    let mut fired = [0; 2];
    for i in 0..400 {
        let _ = tx.try_send(i);
        let k = select! {
            recv(rx) -> _ => 0,
            () = std::future::ready(()) => 1,
        };
        fired[k] += 1;
    }
    assert!(fired[0] > 100 && fired[1] > 100, "{fired:?}");
}

#[gorun::test]
async fn default_with_a_pending_future_polls_it_once() {
    let polls = AtomicUsize::new(0);
    let r = select! {
        _ = std::future::poll_fn(|_| { polls.fetch_add(1, Ordering::SeqCst); Poll::<()>::Pending }) => 0,
        default => 1,
    };
    assert_eq!(r, 1);
    assert_eq!(polls.load(Ordering::SeqCst), 1);
}

/// A value that is not `Clone`: it must come back, not be copied.
#[derive(Debug, PartialEq)]
struct Token(u32);

/// `unsent(v) => ...` after a send arm gets the value back whenever the send did
/// not happen: another arm won, `default` did, or the guard was false; and it runs
/// before the winning arm's handler. When the send happens it does not run.
#[gorun::test]
async fn unsent_gives_the_value_back() {
    let (tx, rx) = chan::<Token>(0); // nobody receives: the send cannot happen
    let (ready_tx, ready_rx) = chan::<u32>(1);
    let log = Mutex::new(Vec::new());
    // Another arm wins.
    ready_tx.try_send(1).unwrap();
    let mut back = None;
    let won = select! {
        send(tx, Token(7)) -> _ => unreachable!("nobody receives"),
        unsent(v) => { log.lock().unwrap().push("unsent"); back = Some(v) },
        recv(ready_rx) -> v => { log.lock().unwrap().push("recv"); v },
    };
    assert_eq!(won, Some(1));
    assert_eq!(back, Some(Token(7)));
    assert_eq!(
        *log.lock().unwrap(),
        ["unsent", "recv"],
        "unsent runs first"
    );
    // `default` wins.
    let back = select! {
        send(tx, Token(8)) -> _ => unreachable!(),
        unsent(v) => back = Some(v),
        default => back,
    };
    assert_eq!(back, Some(Token(8)));
    // The guard is false: never sent, so it comes back too.
    let mut back = None;
    ready_tx.try_send(2).unwrap();
    select! {
        send(tx, Token(9)) -> _, if false => unreachable!(),
        unsent(Token(n)) => back = Some(n),
        recv(ready_rx) -> _ => {}
    }
    assert_eq!(back, Some(9));
    // The send happens: no unsent.
    let receiver = gorun::go(async move { rx.recv().await });
    let mut back = None;
    select! {
        send(tx, Token(10)) -> res => res.unwrap(),
        unsent(v) => back = Some(v),
    }
    assert_eq!(back, None);
    assert_eq!(receiver.await.unwrap(), Some(Token(10)));
}

/// Go's pending-value loop: a value that could not go out stays for the next round
/// (no `Clone` needed), and `continue` in the `unsent` handler acts on the loop.
#[gorun::test]
async fn unsent_keeps_a_pending_value_across_rounds() {
    let (out_tx, out_rx) = chan::<Token>(0);
    let (tick_tx, tick_rx) = chan::<()>(8);
    for _ in 0..3 {
        tick_tx.try_send(()).unwrap();
    }
    let mut pending = Some(Token(1));
    let mut ticks = 0;
    let mut receiver = None;
    while let Some(v) = pending.take() {
        select! {
            send(out_tx, v) -> res => res.unwrap(),
            unsent(v) => {
                pending = Some(v);
                ticks += 1;
                if ticks == 3 {
                    // Only now does someone receive: the next round sends.
                    let rx = out_rx.clone();
                    receiver = Some(gorun::go(async move { rx.recv().await }));
                }
                continue;
            }
            recv(tick_rx) -> _ => unreachable!("the unsent handler continued the loop"),
        }
    }
    assert_eq!(ticks, 3);
    assert_eq!(receiver.unwrap().await.unwrap(), Some(Token(1)));
}
