//! `select!`'s `else` arm (tokio's: taken when no case is enabled) beside Go's
//! `default` (taken when no enabled case is ready), and Go's "no case enabled, no
//! `default`: block forever", which task dumps show as `select (no cases)`.

use std::time::Duration;

use gorun::{Runtime, TaskState, WaitReason};

fn rt() -> Runtime {
    Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn else_runs_when_every_guard_is_false_even_with_ready_channels() {
    rt().block_on(async {
        let (tx, rx) = gorun::chan::<u32>(1);
        tx.send(1).await.unwrap();
        let off = false;
        let r = gorun::select! {
            recv(rx) -> v, if off => v,
            send(tx, 2) -> _, if off => None,
            else => Some(99),
        };
        assert_eq!(r, Some(99));
        // Nothing moved: the value is still there, the send did not happen.
        assert_eq!(rx.try_recv().unwrap(), 1);
        assert!(rx.try_recv().is_err());
    });
}

#[test]
fn else_is_not_taken_while_a_case_is_enabled() {
    rt().block_on(async {
        let (tx, rx) = gorun::chan::<u32>(0);
        let sender = gorun::go(async move {
            gorun::time::sleep(Duration::from_millis(20)).await;
            tx.send(7).await.unwrap();
        });
        let on = true;
        let r = gorun::select! {
            recv(rx) -> v, if on => v,
            else => None,
        };
        assert_eq!(r, Some(7));
        sender.await.unwrap();
    });
}

#[test]
fn a_future_arm_whose_pattern_fails_is_disabled_and_else_runs() {
    rt().block_on(async {
        let r = gorun::select! {
            Some(v) = async { None::<u32> } => v,
            Some(v) = async { None::<u32> } => v + 1,
            else => 0,
        };
        assert_eq!(r, 0);
        // One arm matches: it wins over else.
        let r = gorun::select! {
            Some(v) = async { None::<u32> } => v,
            Some(v) = async { Some(5u32) } => v + 1,
            else => 0,
        };
        assert_eq!(r, 6);
    });
}

#[test]
fn else_ends_a_loop_over_channels_as_they_close() {
    rt().block_on(async {
        let mut rxs = Vec::new();
        let mut total = 0u64;
        for p in 0..3u64 {
            let (tx, rx) = gorun::chan::<u64>(0);
            rxs.push(rx);
            gorun::go(async move {
                for i in 0..100 {
                    tx.send(p * 1000 + i).await.unwrap();
                }
            });
            total += (0..100).map(|i| p * 1000 + i).sum::<u64>();
        }
        let mut open = [true; 3];
        let (mut sum, mut n) = (0u64, 0);
        loop {
            gorun::select! {
                recv(rxs[0]) -> v, if open[0] => match v { Some(v) => { sum += v; n += 1 } None => open[0] = false },
                recv(rxs[1]) -> v, if open[1] => match v { Some(v) => { sum += v; n += 1 } None => open[1] = false },
                recv(rxs[2]) -> v, if open[2] => match v { Some(v) => { sum += v; n += 1 } None => open[2] = false },
                else => break,
            }
        }
        assert_eq!((n, sum), (300, total));
    });
}

#[test]
fn with_default_too_else_wins_when_nothing_is_enabled() {
    rt().block_on(async {
        let (_tx, rx) = gorun::chan::<u32>(1);
        let off = false;
        let r = gorun::select! {
            recv(rx) -> _, if off => "recv",
            default => "default",
            else => "else",
        };
        assert_eq!(r, "else");
        // Enabled but not ready: Go's default.
        let on = true;
        let r = gorun::select! {
            recv(rx) -> _, if on => "recv",
            default => "default",
            else => "else",
        };
        assert_eq!(r, "default");
        // No case at all.
        let r: u32 = gorun::select! { else => 5 };
        assert_eq!(r, 5);
        let r: u32 = gorun::select! { default => 6, else => 5 };
        assert_eq!(r, 5);
    });
}

#[test]
fn default_alone_runs_when_nothing_is_enabled() {
    rt().block_on(async {
        let (_tx, rx) = gorun::chan::<u32>(1);
        let off = false;
        let r = gorun::select! {
            recv(rx) -> _, if off => "recv",
            default => "default",
        };
        assert_eq!(r, "default");
    });
}

/// Waits until the task spawned at `line` waits, and returns its wait reason.
fn wait_reason_of(rt: &Runtime, line: u32) -> Option<WaitReason> {
    for _ in 0..2000 {
        let dump = rt.handle().dump();
        if let Some(t) = dump.tasks.iter().find(|t| t.location.line() == line) {
            if t.state == TaskState::Waiting {
                return t.wait;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the task never waited:\n{}", rt.handle().dump());
}

#[test]
fn all_disabled_without_else_blocks_forever_and_says_so() {
    let rt = rt();
    let (tx, rx) = gorun::chan::<u32>(1);
    let line = line!() + 1;
    let h = rt.spawn(async move {
        tx.send(1).await.unwrap();
        let off = false;
        gorun::select! {
            recv(rx) -> _, if off => {},
        }
        unreachable!("a select with no case enabled returned");
    });
    assert_eq!(wait_reason_of(&rt, line), Some(WaitReason::SelectNoCases));
    let dump = rt.handle().dump().to_string();
    assert!(dump.contains("select (no cases)"), "{dump}");
    // Still blocked a while later; aborting it is the only way out.
    std::thread::sleep(Duration::from_millis(30));
    assert!(!h.is_finished());
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}

#[test]
fn an_empty_select_is_go_select_forever() {
    let rt = rt();
    let line = line!() + 1;
    let h = rt.spawn(async {
        gorun::select! {}
    });
    assert_eq!(wait_reason_of(&rt, line), Some(WaitReason::SelectNoCases));
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_cancelled());
}
