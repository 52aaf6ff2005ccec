//! The dynamic select (`DynSelect`, `recv_any`): a set of any size built at run
//! time, Go's `reflect.Select`. One case fires per select, chosen uniformly among
//! the ready ones; unsent values come back; a set can be selected on again; a
//! select dropped mid-wait loses nothing.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use gorun::{chan, recv_any, DynOutcome, DynSelect, Receiver, Sender};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

fn chans<T>(n: usize, cap: usize) -> (Vec<Sender<T>>, Vec<Receiver<T>>) {
    (0..n).map(|_| chan(cap)).unzip()
}

/// 100 producers each send 100 values on their own channel; one task receives them
/// all through one set of 100 receive cases, selected on again and again.
#[test]
fn fan_in_over_100_channels() {
    rt().block_on(async {
        let (txs, rxs) = chans::<(usize, usize)>(100, 0);
        for (p, tx) in txs.into_iter().enumerate() {
            gorun::go(async move {
                for i in 0..100 {
                    tx.send((p, i)).await.unwrap();
                }
            });
        }
        let mut set = DynSelect::new();
        for rx in &rxs {
            set.recv(rx);
        }
        let mut next = vec![0usize; 100];
        let mut open = 100;
        while open > 0 {
            match set.select().await {
                (i, DynOutcome::Recv(Some((p, v)))) => {
                    assert_eq!(i, p, "the index names the channel");
                    assert_eq!(v, next[p], "per-channel order");
                    next[p] += 1;
                }
                (i, DynOutcome::Recv(None)) => {
                    // Closed: ready for ever after, so take it out of the set.
                    assert_eq!(set.disable(i), None);
                    open -= 1;
                }
                (_, DynOutcome::Send(_)) => unreachable!(),
            }
        }
        assert!(next.iter().all(|&n| n == 100));
    });
}

/// All 100 cases ready: each is chosen about equally often (chi-square at
/// p = 10^-6 for 99 degrees of freedom: 168.6).
#[test]
fn choice_is_uniform() {
    let (txs, rxs) = chans::<u8>(100, 1);
    let mut set = DynSelect::new();
    for rx in &rxs {
        set.recv(rx);
    }
    const ROUNDS: usize = 100_000;
    let mut counts = vec![0usize; 100];
    for tx in &txs {
        tx.try_send(0).unwrap();
    }
    for _ in 0..ROUNDS {
        let (i, out) = set.try_select().expect("every case is ready");
        assert_eq!(out, DynOutcome::Recv(Some(0)));
        counts[i] += 1;
        txs[i].try_send(0).unwrap(); // ready again
    }
    let expected = ROUNDS as f64 / 100.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi2 < 168.6, "chi-square {chi2}: {counts:?}");
}

/// Sends and receives mixed: exactly one fires; a send that did not fire keeps its
/// value (`take_unsent`); a send that fired is spent and never fires again.
#[test]
fn sends_fire_once_and_unsent_values_come_back() {
    let (txs, rxs) = chans::<String>(3, 1);
    let mut set = DynSelect::new();
    let s0 = set.send(&txs[0], "zero".to_string());
    let s1 = set.send(&txs[1], "one".to_string());
    let r2 = set.recv(&rxs[2]);
    txs[1].try_send("full".to_string()).unwrap(); // s1 cannot fire
    assert_eq!(set.try_select(), Some((s0, DynOutcome::Send(Ok(())))));
    assert_eq!(rxs[0].try_recv().as_deref(), Ok("zero"));
    // s0 is spent, s1 blocked, r2 empty: nothing is ready.
    assert_eq!(set.try_select(), None);
    assert_eq!(set.take_unsent(s0), None, "spent");
    assert_eq!(set.take_unsent(s1).as_deref(), Some("one"));
    assert_eq!(set.take_unsent(r2), None, "a receive has no value");
    assert_eq!(rxs[1].try_recv().as_deref(), Ok("full"));
    assert_eq!(rxs[1].try_recv().ok(), None, "s1's value was never sent");
    txs[2].try_send("two".to_string()).unwrap();
    assert_eq!(
        set.try_select(),
        Some((r2, DynOutcome::Recv(Some("two".to_string()))))
    );
}

/// A select dropped while parked on its cases withdraws them: a value sent after
/// goes to the next receiver, nothing is lost (rendezvous channels included).
#[test]
fn dropped_select_loses_nothing() {
    let (txs, rxs) = chans::<u32>(8, 0);
    let mut set = DynSelect::new();
    for rx in &rxs {
        set.recv(rx);
    }
    {
        let mut fut = pin!(set.select());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    } // dropped while parked
    let h = std::thread::spawn({
        let tx = txs[5].clone();
        move || tx.blocking_send(9).unwrap()
    });
    assert_eq!(rxs[5].blocking_recv(), Some(9));
    h.join().unwrap();
    // The set still works.
    txs[3].try_send(4).ok();
    let got = futures::executor::block_on(async {
        let t = std::thread::spawn({
            let tx = txs[3].clone();
            move || tx.blocking_send(4).unwrap()
        });
        let got = set.select().await;
        t.join().unwrap();
        got
    });
    assert_eq!(got, (3, DynOutcome::Recv(Some(4))));
}

/// `recv_any` over a slice, on the runtime; a closed channel reports `None`.
#[test]
fn recv_any_reports_the_channel_and_closing() {
    rt().block_on(async {
        let (txs, rxs) = chans::<char>(5, 1);
        txs[3].try_send('d').unwrap();
        assert_eq!(recv_any(&rxs).await, (3, Some('d')));
        let mut txs = txs;
        drop(txs.remove(1)); // channel 1 closes
        assert_eq!(recv_any(&rxs).await, (1, None));
        let mut seen = HashMap::new();
        for (i, tx) in txs.iter().enumerate() {
            tx.try_send(char::from(b'a' + i as u8)).unwrap();
        }
        for _ in 0..4 {
            let (i, v) = recv_any(&rxs[..1]).await;
            *seen.entry(i).or_insert(0) += 1;
            assert_eq!(v, Some('a'));
            txs[0].try_send('a').unwrap();
        }
        assert_eq!(seen[&0], 4);
    });
}
