//! Select semantics: fairness, bias, default, closed channels, futures as cases,
//! and the low-level array form used by `select!`.
#![cfg(not(loom))]

use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures::executor::block_on;
use gorun_channel::__private::{RecvCase, SelectArray, SelectCase, SendCase, TakeOutput};
use gorun_channel::{chan, Select, Selected, SendError};

#[test]
fn random_choice_among_ready_cases_is_roughly_uniform() {
    let (tx1, rx1) = chan::<u8>(1);
    let (tx2, rx2) = chan::<u8>(1);
    let (tx3, rx3) = chan::<u8>(1);
    let mut counts = [0u32; 3];
    for _ in 0..3000 {
        for tx in [&tx1, &tx2, &tx3] {
            let _ = tx.try_send(0);
        }
        let i = Select::new()
            .recv(&rx1)
            .recv(&rx2)
            .recv(&rx3)
            .try_select()
            .unwrap()
            .index();
        counts[i] += 1;
    }
    for c in counts {
        assert!((800..1200).contains(&c), "unfair: {counts:?}");
    }
}

#[test]
fn biased_takes_first_ready() {
    let (tx1, rx1) = chan::<u8>(1);
    let (tx2, rx2) = chan::<u8>(1);
    for _ in 0..100 {
        let _ = tx1.try_send(1);
        let _ = tx2.try_send(2);
        let out = Select::new().recv(&rx1).recv(&rx2).biased().try_select();
        assert_eq!(out, Some(Selected::Case0(Some(1))));
    }
}

#[test]
fn default_when_nothing_ready() {
    let (tx, rx) = chan::<u8>(0);
    assert!(Select::new().recv(&rx).send(&tx, 1).try_select().is_none());
    assert!(block_on(Select::new().recv(&rx).default()).is_none());
}

#[test]
fn closed_channels_are_ready() {
    let (tx, rx) = chan::<u8>(0);
    drop(tx);
    assert_eq!(
        Select::new().recv(&rx).try_select(),
        Some(Selected::Case0(None))
    );
    let (tx, rx) = chan::<u8>(0);
    drop(rx);
    assert_eq!(
        Select::new().send(&tx, 4).try_select(),
        Some(Selected::Case0(Err(SendError(4))))
    );
}

#[test]
fn disabled_cases_never_fire() {
    let (tx, rx) = chan::<u8>(1);
    tx.try_send(1).unwrap();
    let none: Option<&gorun_channel::Receiver<u8>> = None;
    for _ in 0..20 {
        let out = Select::new()
            .recv_opt(none)
            .send_opt(None, 3u8)
            .recv(&rx)
            .try_select();
        assert_eq!(out, Some(Selected::Case2(Some(1))));
        tx.try_send(1).unwrap();
    }
}

#[test]
fn future_case_fires() {
    let (_tx, rx) = chan::<u8>(0);
    let out = block_on(Select::new().recv(&rx).future(async { 42 }).into_future());
    assert_eq!(out, Selected::Case1(42));
}

#[test]
fn future_case_wakes_parked_select() {
    let (_tx, rx) = chan::<u8>(0);
    let (otx, orx) = futures::channel::oneshot::channel::<u8>();
    let mut sel = pin!(Select::new().recv(&rx).future(orx).into_future());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(sel.as_mut().poll(&mut cx).is_pending());
    otx.send(7).unwrap();
    assert_eq!(
        sel.as_mut().poll(&mut cx),
        Poll::Ready(Selected::Case1(Ok(7)))
    );
}

#[test]
fn select_loop_on_threads_counts_every_message() {
    // Go's doubleselect flavour: senders select over several channels.
    let (tx1, rx1) = chan::<u32>(0);
    let (tx2, rx2) = chan::<u32>(0);
    let n = 3000u32;
    let sender = std::thread::spawn(move || {
        block_on(async {
            for i in 0..n {
                match Select::new().send(&tx1, i).send(&tx2, i).await {
                    Selected::Case0(r) | Selected::Case1(r) => r.unwrap(),
                }
            }
        })
    });
    let r1 = std::thread::spawn(move || rx1.iter().collect::<Vec<_>>());
    let r2 = std::thread::spawn(move || rx2.iter().collect::<Vec<_>>());
    sender.join().unwrap();
    let mut all = r1.join().unwrap();
    all.extend(r2.join().unwrap());
    all.sort();
    assert_eq!(all, (0..n).collect::<Vec<_>>());
}

#[test]
fn low_level_array_select() {
    block_on(async {
        let (tx, rx) = chan::<u32>(1);
        let (tx2, _rx2) = chan::<String>(0);
        tx.send(5).await.unwrap();
        let mut c0 = pin!(RecvCase::new(Some(&rx)));
        let mut c1 = pin!(SendCase::new(Some(&tx2), "x".to_string()));
        let fired = SelectArray::new(
            [
                c0.as_mut() as std::pin::Pin<&mut dyn SelectCase>,
                c1.as_mut(),
            ],
            false,
            false,
        )
        .await;
        assert_eq!(fired, Some(0));
        assert_eq!(c0.as_mut().take_output(), Some(5));
        assert_eq!(c1.as_mut().take_unsent().as_deref(), Some("x"));
    });
}
