//! Scheduling behaviour: no starvation by yield loops, ping-pong pairs or busy
//! tasks; stealing spreads a burst; an idle runtime sleeps.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gorun::Runtime;

fn wait_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f()
}

#[test]
fn yield_spinner_cannot_starve_others() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    rt.spawn(async move {
        while !s.load(Ordering::Relaxed) {
            gorun::yield_now().await;
        }
    });
    let ran = rt.block_on(async { gorun::go(async { 1 }).await.unwrap() });
    assert_eq!(ran, 1);
    stop.store(true, Ordering::Relaxed);
}

/// Two tasks that keep waking each other (each lands in `runnext`) must not keep a
/// third, queued task from running (tokio issue #4941).
#[test]
fn ping_pong_pair_cannot_starve_the_queue() {
    use std::task::{Poll, Waker};
    struct Slot {
        turn: Mutex<(usize, Option<Waker>, Option<Waker>)>,
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let slot = Arc::new(Slot {
        turn: Mutex::new((0, None, None)),
    });
    for me in 0..2usize {
        let (slot, stop) = (slot.clone(), stop.clone());
        rt.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                std::future::poll_fn(|cx| {
                    let mut t = slot.turn.lock().unwrap();
                    if t.0 % 2 == me {
                        t.0 += 1;
                        // Wake the partner: it goes to runnext.
                        let other = if me == 0 { t.2.take() } else { t.1.take() };
                        drop(t);
                        if let Some(w) = other {
                            w.wake();
                        }
                        Poll::Ready(())
                    } else {
                        if me == 0 {
                            t.1 = Some(cx.waker().clone());
                        } else {
                            t.2 = Some(cx.waker().clone());
                        }
                        Poll::Pending
                    }
                })
                .await;
            }
        });
    }
    let third = Arc::new(AtomicBool::new(false));
    let th = third.clone();
    rt.spawn(async move { th.store(true, Ordering::SeqCst) });
    assert!(
        wait_until(Duration::from_secs(10), || third.load(Ordering::SeqCst)),
        "the queued task was starved by the ping-pong pair"
    );
    assert!(slot.turn.lock().unwrap().0 > 0, "the pair did run");
    stop.store(true, Ordering::Relaxed);
    // Unblock whichever one is parked.
    let mut t = slot.turn.lock().unwrap();
    let ws = (t.1.take(), t.2.take());
    drop(t);
    for w in [ws.0, ws.1].into_iter().flatten() {
        w.wake();
    }
}

/// A task in a tight loop that only uses gorun resources (here: the budget hook)
/// is made to yield by the cooperative budget.
#[test]
fn cooperative_budget_preempts_a_busy_task() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    rt.spawn(async move {
        while !s.load(Ordering::Relaxed) {
            gorun::coop::consume_budget().await;
        }
    });
    let other = rt.block_on(async { gorun::go(async { 3 }).await.unwrap() });
    assert_eq!(other, 3);
    stop.store(true, Ordering::Relaxed);
}

/// With 2 Ps, a burst of 1,000 tasks spawned from one task runs on both threads.
#[test]
fn burst_from_one_p_is_stolen_by_the_other() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let t = threads.clone();
    rt.run(async move {
        let hs: Vec<_> = (0..1000)
            .map(|_| {
                let t = t.clone();
                gorun::go(async move {
                    let name = std::thread::current().name().unwrap().to_string();
                    t.lock().unwrap().insert(name);
                    // A little work (100 ms in all) so the spawner's queue is not drained at once,
                    // even if the OS is slow to run the second worker.
                    let start = Instant::now();
                    while start.elapsed() < Duration::from_micros(100) {}
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let seen = threads.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "tasks ran on {seen:?}");
    assert!(rt.handle().metrics().steals > 0);
}

/// CPU time (user + system, in clock ticks) of this process's threads whose name
/// starts with `prefix`, from /proc/self/task/*/stat: only the runtime under test
/// counts, not the other tests running in this binary.
fn cpu_ticks(prefix: &str) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.starts_with(prefix) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the comm.
        total += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    }
    total
}

#[test]
fn idle_runtime_uses_no_cpu() {
    let rt = Runtime::builder()
        .procs(4)
        .thread_name("idlecheck")
        .build()
        .unwrap();
    // Wake everything once, then let it go idle.
    rt.block_on(async {
        let hs: Vec<_> = (0..100).map(|_| gorun::go(gorun::yield_now())).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let before = cpu_ticks("idlecheck");
    std::thread::sleep(Duration::from_millis(1000));
    let used = cpu_ticks("idlecheck") - before;
    // 100 ticks per second on Linux: allow 5% of one core across all 4 workers.
    assert!(used <= 5, "idle runtime used {used} ticks in 1 s");
    drop(rt);
}

#[test]
fn workers_wake_for_remote_spawns_after_idling() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    for round in 0..50 {
        // Let every worker park, then spawn from outside.
        if round % 10 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        let n2 = n.clone();
        let h = rt.spawn(async move {
            n2.fetch_add(1, Ordering::SeqCst);
        });
        rt.block_on(h).unwrap();
    }
    assert_eq!(n.load(Ordering::SeqCst), 50);
}
