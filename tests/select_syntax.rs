//! `select!`: every syntax form (recv, send, future patterns, guards, default,
//! `biased;`, handler control flow, nesting, many cases, `select! {}`).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gorun::{chan, select, SendError};

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[gorun::test]
async fn recv_binds_an_option() {
    let (tx, rx) = chan::<u32>(1);
    tx.send(7).await.unwrap();
    let got = select! { recv(rx) -> v => v };
    assert_eq!(got, Some(7));
    drop(tx);
    // Closed and drained: the case is ready with `None`.
    let got = select! { recv(rx) -> v => v };
    assert_eq!(got, None);
}

#[gorun::test]
async fn recv_accepts_owned_borrowed_and_temporary_receivers() {
    let (tx, rx) = chan::<u32>(4);
    for i in 0..3 {
        tx.send(i).await.unwrap();
    }
    let by_ref = &rx;
    let a = select! { recv(rx) -> v => v.unwrap() };
    let b = select! { recv(by_ref) -> v => v.unwrap() };
    let c = select! { recv(rx.clone()) -> v => v.unwrap() };
    assert_eq!((a, b, c), (0, 1, 2));
}

#[gorun::test]
async fn send_binds_a_result() {
    let (tx, rx) = chan::<String>(1);
    let r = select! { send(tx, "hi".to_string()) -> res => res };
    assert_eq!(r, Ok(()));
    assert_eq!(rx.recv().await.as_deref(), Some("hi"));
    drop(rx);
    // Every receiver gone: the send fails at once and gives the value back.
    let r = select! { send(tx, "lost?".to_string()) -> res => res };
    assert_eq!(r, Err(SendError("lost?".to_string())));
}

#[gorun::test]
async fn future_case_with_an_irrefutable_pattern() {
    let (_tx, rx) = chan::<u32>(1);
    let got = select! {
        recv(rx) -> _ => unreachable!("nothing was sent"),
        (a, b) = async { (1, 2) } => a + b,
    };
    assert_eq!(got, 3);
}

#[gorun::test]
async fn future_case_whose_pattern_fails_is_disabled_and_the_select_goes_on() {
    let (tx, rx) = chan::<u32>(0);
    let h = gorun::go(async move {
        // Give the select time to see the future case fail first.
        std::thread::sleep(Duration::from_millis(5));
        tx.send(9).await.unwrap();
    });
    let got = select! {
        Some(v) = async { None::<u32> } => panic!("pattern cannot match, got {v}"),
        recv(rx) -> v => v,
    };
    assert_eq!(got, Some(9));
    h.await.unwrap();
}

#[gorun::test]
async fn guards_disable_ready_cases() {
    let (tx1, rx1) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);
    let mut seen2 = 0;
    for i in 0..100 {
        let _ = tx1.try_send(i);
        tx2.send(i).await.unwrap();
        let disabled = true;
        select! {
            recv(rx1) -> _, if !disabled => panic!("a disabled case fired"),
            recv(rx2) -> v => { assert_eq!(v, Some(i)); seen2 += 1; }
        }
    }
    assert_eq!(seen2, 100);
    assert_eq!(rx1.len(), 1, "the disabled case consumed nothing");
    // Match-arm style (no comma before `if`) works too; a disabled send delivers
    // nothing.
    let (tx3, rx3) = chan::<u32>(1);
    let r = select! {
        send(tx3, 5) -> _ if false => 1,
        default => 2,
    };
    assert_eq!(r, 2);
    assert!(rx3.try_recv().is_err());
}

#[gorun::test]
async fn default_runs_only_when_nothing_is_ready() {
    let (tx, rx) = chan::<u32>(1);
    let r = select! {
        recv(rx) -> v => v,
        default => None,
    };
    assert_eq!(r, None);
    tx.send(3).await.unwrap();
    let r = select! {
        recv(rx) -> v => v,
        default => None,
    };
    assert_eq!(r, Some(3));
    // Only a default: it runs.
    let r = select! { default => 11 };
    assert_eq!(r, 11);
}

#[gorun::test]
async fn biased_takes_the_first_ready_case() {
    let (tx1, rx1) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);
    for _ in 0..1000 {
        let _ = tx1.try_send(1);
        let _ = tx2.try_send(2);
        let v = select! {
            biased;
            recv(rx1) -> v => v,
            recv(rx2) -> v => v,
            default => None,
        };
        assert_eq!(v, Some(1));
    }
    assert_eq!(rx2.len(), 1);
}

#[gorun::test]
async fn handlers_break_and_continue_the_callers_loop() {
    let (tx, rx) = chan::<u32>(8);
    for i in 0..8 {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    let mut odd = vec![];
    'outer: loop {
        select! {
            recv(rx) -> v => {
                let Some(v) = v else { break 'outer };
                if v % 2 == 0 {
                    continue;
                }
                odd.push(v);
            }
        }
    }
    assert_eq!(odd, [1, 3, 5, 7]);
}

async fn first_over(rx: &gorun::Receiver<u32>, limit: u32) -> Result<u32, String> {
    loop {
        select! {
            recv(rx) -> v => {
                let v = v.ok_or_else(|| "closed".to_string())?;
                if v > limit {
                    return Ok(v);
                }
            }
        }
    }
}

#[gorun::test]
async fn handlers_return_and_use_the_question_mark() {
    let (tx, rx) = chan::<u32>(8);
    for v in [1, 5, 12, 3] {
        tx.send(v).await.unwrap();
    }
    assert_eq!(first_over(&rx, 10).await, Ok(12));
    drop(tx);
    assert_eq!(first_over(&rx, 10).await, Err("closed".to_string()));
}

#[gorun::test]
async fn handlers_may_move_what_the_cases_borrowed() {
    let (tx, rx) = chan::<u32>(1);
    tx.send(1).await.unwrap();
    // The cases are dropped before the handler runs, so it may consume `rx`.
    let r = select! { recv(rx) -> v => { drop(rx); v } };
    assert_eq!(r, Some(1));
}

#[gorun::test]
async fn nested_selects() {
    let (tx1, rx1) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);
    tx1.send(1).await.unwrap();
    tx2.send(2).await.unwrap();
    let r = select! {
        recv(rx1) -> a => select! {
            recv(rx2) -> b => a.unwrap() * 10 + b.unwrap(),
        },
    };
    assert_eq!(r, 12);
    // A select as another select's future case.
    tx2.send(3).await.unwrap();
    let r = select! {
        v = async { select! { recv(rx2) -> v => v } } => v,
        recv(rx1) -> _ => unreachable!("rx1 is empty"),
    };
    assert_eq!(r, Some(3));
}

#[gorun::test]
async fn select_is_an_expression_in_a_spawned_task() {
    // `go` needs a `Send` future: a select's future is `Send` when its cases are.
    let (tx, rx) = chan::<u32>(0);
    let h = gorun::go(async move {
        select! {
            recv(rx) -> v => v.map(|v| v + 1),
        }
    });
    tx.send(41).await.unwrap();
    assert_eq!(h.await.unwrap(), Some(42));
}

#[test]
fn empty_select_blocks_forever() {
    let mut fut = pin!(async {
        select! {}
    });
    for _ in 0..10 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    // Cases that are all disabled, without a default, block forever too (Go's
    // select over nil channels).
    let (tx, rx) = chan::<u32>(1);
    tx.try_send(1).unwrap();
    let mut fut = pin!(async {
        select! {
            recv(rx) -> v, if false => v,
            v = async { 5 }, if false => Some(v),
        }
    });
    for _ in 0..10 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
}

#[test]
fn handler_forms() {
    let mut fut = pin!(async {
        let (tx, rx) = chan::<u32>(1);
        tx.send(2).await.unwrap();
        let a = select! {
            recv(rx) -> v => if v == Some(2) { 1 } else { 0 }
            default => 0
        };
        tx.send(2).await.unwrap();
        let b = select! {
            recv(rx) -> v => match v { Some(2) => 1, _ => 0 }
            default => { 0 }
        };
        let c = select! {
            | None | Some(0) = async { Some(0u8) } => 1,
        };
        a + b + c
    });
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(3));
}

#[gorun::test]
async fn seventy_cases() {
    let chans: Vec<_> = (0..70).map(|_| chan::<u32>(1)).collect();
    let rxs: Vec<_> = chans.iter().map(|(_, rx)| rx.clone()).collect();
    for k in [0usize, 13, 63, 64, 69] {
        chans[k].0.send(k as u32).await.unwrap();
        let (i, v) = select! {
            recv(rxs[0]) -> v => (0, v),
            recv(rxs[1]) -> v => (1, v),
            recv(rxs[2]) -> v => (2, v),
            recv(rxs[3]) -> v => (3, v),
            recv(rxs[4]) -> v => (4, v),
            recv(rxs[5]) -> v => (5, v),
            recv(rxs[6]) -> v => (6, v),
            recv(rxs[7]) -> v => (7, v),
            recv(rxs[8]) -> v => (8, v),
            recv(rxs[9]) -> v => (9, v),
            recv(rxs[10]) -> v => (10, v),
            recv(rxs[11]) -> v => (11, v),
            recv(rxs[12]) -> v => (12, v),
            recv(rxs[13]) -> v => (13, v),
            recv(rxs[14]) -> v => (14, v),
            recv(rxs[15]) -> v => (15, v),
            recv(rxs[16]) -> v => (16, v),
            recv(rxs[17]) -> v => (17, v),
            recv(rxs[18]) -> v => (18, v),
            recv(rxs[19]) -> v => (19, v),
            recv(rxs[20]) -> v => (20, v),
            recv(rxs[21]) -> v => (21, v),
            recv(rxs[22]) -> v => (22, v),
            recv(rxs[23]) -> v => (23, v),
            recv(rxs[24]) -> v => (24, v),
            recv(rxs[25]) -> v => (25, v),
            recv(rxs[26]) -> v => (26, v),
            recv(rxs[27]) -> v => (27, v),
            recv(rxs[28]) -> v => (28, v),
            recv(rxs[29]) -> v => (29, v),
            recv(rxs[30]) -> v => (30, v),
            recv(rxs[31]) -> v => (31, v),
            recv(rxs[32]) -> v => (32, v),
            recv(rxs[33]) -> v => (33, v),
            recv(rxs[34]) -> v => (34, v),
            recv(rxs[35]) -> v => (35, v),
            recv(rxs[36]) -> v => (36, v),
            recv(rxs[37]) -> v => (37, v),
            recv(rxs[38]) -> v => (38, v),
            recv(rxs[39]) -> v => (39, v),
            recv(rxs[40]) -> v => (40, v),
            recv(rxs[41]) -> v => (41, v),
            recv(rxs[42]) -> v => (42, v),
            recv(rxs[43]) -> v => (43, v),
            recv(rxs[44]) -> v => (44, v),
            recv(rxs[45]) -> v => (45, v),
            recv(rxs[46]) -> v => (46, v),
            recv(rxs[47]) -> v => (47, v),
            recv(rxs[48]) -> v => (48, v),
            recv(rxs[49]) -> v => (49, v),
            recv(rxs[50]) -> v => (50, v),
            recv(rxs[51]) -> v => (51, v),
            recv(rxs[52]) -> v => (52, v),
            recv(rxs[53]) -> v => (53, v),
            recv(rxs[54]) -> v => (54, v),
            recv(rxs[55]) -> v => (55, v),
            recv(rxs[56]) -> v => (56, v),
            recv(rxs[57]) -> v => (57, v),
            recv(rxs[58]) -> v => (58, v),
            recv(rxs[59]) -> v => (59, v),
            recv(rxs[60]) -> v => (60, v),
            recv(rxs[61]) -> v => (61, v),
            recv(rxs[62]) -> v => (62, v),
            recv(rxs[63]) -> v => (63, v),
            recv(rxs[64]) -> v => (64, v),
            recv(rxs[65]) -> v => (65, v),
            recv(rxs[66]) -> v => (66, v),
            recv(rxs[67]) -> v => (67, v),
            recv(rxs[68]) -> v => (68, v),
            recv(rxs[69]) -> v => (69, v),
        };
        assert_eq!((i, v), (k, Some(k as u32)));
    }
}
