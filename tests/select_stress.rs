//! `select!` under stress: producers and consumers select with random timeouts
//! (and consumers also cancel whole parked selects), racing over a rendezvous
//! and a buffered channel; every message is received exactly once.
//!
//! The timeouts come from a small timer thread that sends on a channel at a
//! deadline (Go's `time.After`), so this test does not depend on `gorun::time`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use gorun::{chan, select, Receiver, Sender};

/// One thread firing `after` channels at their deadlines.
#[derive(Clone)]
struct Timers(Arc<(Mutex<TimerState>, Condvar)>);

struct TimerState {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    senders: std::collections::HashMap<u64, Sender<()>>,
    next_id: u64,
    stop: bool,
}

impl Timers {
    fn start() -> Self {
        let t = Timers(Arc::new((
            Mutex::new(TimerState {
                heap: BinaryHeap::new(),
                senders: Default::default(),
                next_id: 0,
                stop: false,
            }),
            Condvar::new(),
        )));
        let inner = t.0.clone();
        std::thread::spawn(move || {
            let (lock, cv) = &*inner;
            let mut st = lock.lock().unwrap();
            while !st.stop {
                let now = Instant::now();
                match st.heap.peek().copied() {
                    Some(Reverse((at, id))) if at <= now => {
                        st.heap.pop();
                        if let Some(tx) = st.senders.remove(&id) {
                            let _ = tx.try_send(());
                        }
                    }
                    Some(Reverse((at, _))) => st = cv.wait_timeout(st, at - now).unwrap().0,
                    None => st = cv.wait(st).unwrap(),
                }
            }
        });
        t
    }

    /// A channel that receives `()` after `d` (cap 1: the timer never blocks).
    /// Random deadlines are drawn from 0..200 µs, so about one in 200 is zero.
    fn after(&self, d: Duration) -> Receiver<()> {
        let (tx, rx) = chan(1);
        if d.is_zero() {
            // Already expired: the timeout case is ready from the start, so timeouts
            // race the channel operations even when the timer thread runs late.
            tx.try_send(()).unwrap();
            return rx;
        }
        let (lock, cv) = &*self.0;
        let mut st = lock.lock().unwrap();
        let id = st.next_id;
        st.next_id += 1;
        st.heap.push(Reverse((Instant::now() + d, id)));
        st.senders.insert(id, tx);
        cv.notify_one();
        rx
    }

    fn stop(&self) {
        self.0 .0.lock().unwrap().stop = true;
        self.0 .1.notify_one();
    }
}

/// xorshift64*, seeded per task.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) % n
    }
}

const PRODUCERS: u64 = 4;
const CONSUMERS: u64 = 4;
const PER_PRODUCER: u64 = 10_000;

#[gorun::test(procs = 4)]
async fn every_message_is_received_exactly_once() {
    stress(false).await;
}

/// A quarter of the consumers' selects run as a future case of an outer select
/// with the timeout, so a timeout cancels a parked select (or one a producer
/// just completed, whose message must go back to the channel).
///
/// This caught `FutureCase` polling its future while the select's channel cases
/// were registered: a nested select could complete (taking a message) in the same
/// poll in which a peer completed the outer timeout case, and the outer select then
/// dropped the message with the nested select's output (about 1 run in 6).
#[gorun::test(procs = 4)]
async fn every_message_is_received_exactly_once_with_cancelled_nested_selects() {
    stress(true).await;
}

async fn stress(nested: bool) {
    let timers = Timers::start();
    let (rv_tx, rv_rx) = chan::<u64>(0); // rendezvous
    let (buf_tx, buf_rx) = chan::<u64>(16);
    let (timeouts_tx, timeouts_rx) = chan::<u64>(PRODUCERS as usize + CONSUMERS as usize);

    let mut producers = vec![];
    for p in 0..PRODUCERS {
        let (rv_tx, buf_tx, timers, timeouts) = (
            rv_tx.clone(),
            buf_tx.clone(),
            timers.clone(),
            timeouts_tx.clone(),
        );
        producers.push(gorun::go(async move {
            let mut rng = Rng(0x9E37_79B9 + p * 7919);
            let mut timed_out = 0;
            for i in 0..PER_PRODUCER {
                let id = p * PER_PRODUCER + i;
                // Retry until one of the sends commits; a send case not chosen
                // sends nothing, so retrying cannot duplicate.
                loop {
                    let deadline = timers.after(Duration::from_micros(rng.below(200)));
                    select! {
                        send(rv_tx, id) -> res => { res.unwrap(); break; }
                        send(buf_tx, id) -> res => { res.unwrap(); break; }
                        recv(deadline) -> _ => timed_out += 1,
                    }
                }
            }
            timeouts.send(timed_out).await.unwrap();
        }));
    }
    drop((rv_tx, buf_tx));

    let mut consumers = vec![];
    for c in 0..CONSUMERS {
        let (rv_rx, buf_rx, timers, timeouts) = (
            rv_rx.clone(),
            buf_rx.clone(),
            timers.clone(),
            timeouts_tx.clone(),
        );
        consumers.push(gorun::go(async move {
            let mut rng = Rng(0xDEAD_BEEF + c * 104_729);
            let mut got = vec![];
            let (mut rv_open, mut buf_open) = (true, true);
            let mut timed_out = 0;
            while rv_open || buf_open {
                let deadline = timers.after(Duration::from_micros(rng.below(200)));
                if nested && rng.below(4) == 0 {
                    // Cancel a whole parked select: the inner select is a future
                    // case, dropped when the deadline wins.
                    select! {
                        v = async {
                            select! {
                                recv(rv_rx) -> v, if rv_open => (0, v),
                                recv(buf_rx) -> v, if buf_open => (1, v),
                            }
                        } => match v {
                            (_, Some(id)) => got.push(id),
                            (0, None) => rv_open = false,
                            (_, None) => buf_open = false,
                        },
                        recv(deadline) -> _ => timed_out += 1,
                    }
                } else {
                    select! {
                        recv(rv_rx) -> v, if rv_open => match v {
                            Some(id) => got.push(id),
                            None => rv_open = false,
                        },
                        recv(buf_rx) -> v, if buf_open => match v {
                            Some(id) => got.push(id),
                            None => buf_open = false,
                        },
                        recv(deadline) -> _ => timed_out += 1,
                    }
                }
            }
            timeouts.send(timed_out).await.unwrap();
            got
        }));
    }
    drop(timeouts_tx);

    for p in producers {
        p.await.unwrap();
    }
    let mut all = vec![];
    for c in consumers {
        all.extend(c.await.unwrap());
    }
    timers.stop();
    let mut timeouts = 0;
    while let Some(n) = timeouts_rx.recv().await {
        timeouts += n;
    }
    all.sort_unstable();
    let total = PRODUCERS * PER_PRODUCER;
    assert_eq!(all.len() as u64, total, "messages lost or duplicated");
    assert!(all.iter().copied().eq(0..total), "every id exactly once");
    // The timeouts really raced the channel operations.
    assert!(timeouts > 0, "no select ever timed out");
}
