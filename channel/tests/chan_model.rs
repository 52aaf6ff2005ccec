//! proptest: random operation sequences on one channel, with pending send and
//! recv futures held in slots, polled and dropped at random, checked step by step
//! against a sequential model of Go's hchan plus gorun's re-delivery rule.
#![cfg(not(loom))]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use gorun_channel::{chan, Receiver, RecvFuture, SendFuture, Sender, TryRecvError, TrySendError};
use proptest::prelude::*;

const SLOTS: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    TrySend,
    TryRecv,
    StartSend(usize),
    StartRecv(usize),
    Poll(usize),
    Drop(usize),
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::TrySend),
        2 => Just(Op::TryRecv),
        3 => (0..SLOTS).prop_map(Op::StartSend),
        3 => (0..SLOTS).prop_map(Op::StartRecv),
        3 => (0..SLOTS).prop_map(Op::Poll),
        2 => (0..SLOTS).prop_map(Op::Drop),
        1 => Just(Op::Close),
    ]
}

/// Model of one slot's operation.
#[derive(Clone, Debug, PartialEq)]
enum MSlot {
    Empty,
    /// Parked sender with its value (or parked receiver: `None`).
    QueuedSend(u32),
    QueuedRecv,
    /// Finished, result not yet observed by a poll.
    SendDone(Result<(), u32>),
    RecvDone(Option<u32>),
}

#[derive(Default)]
struct Model {
    cap: usize,
    buf: VecDeque<u32>,
    sendq: VecDeque<usize>,
    recvq: VecDeque<usize>,
    slots: Vec<MSlot>,
    closed: bool,
}

impl Model {
    fn send(&mut self, v: u32) -> Result<(), u32> {
        if self.closed {
            return Err(v);
        }
        if let Some(r) = self.recvq.pop_front() {
            self.slots[r] = MSlot::RecvDone(Some(v));
            return Ok(());
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(v);
            return Ok(());
        }
        Err(v)
    }
    fn take_sender(&mut self) -> Option<u32> {
        let s = self.sendq.pop_front()?;
        let MSlot::QueuedSend(v) = self.slots[s] else {
            unreachable!()
        };
        self.slots[s] = MSlot::SendDone(Ok(()));
        Some(v)
    }
    fn recv(&mut self) -> Option<Option<u32>> {
        if let Some(v) = self.buf.pop_front() {
            if self.buf.len() < self.cap {
                if let Some(sv) = self.take_sender() {
                    self.buf.push_back(sv);
                }
            }
            return Some(Some(v));
        }
        if let Some(v) = self.take_sender() {
            return Some(Some(v));
        }
        self.closed.then_some(None)
    }
    fn close(&mut self) {
        self.closed = true;
        for r in self.recvq.drain(..) {
            self.slots[r] = MSlot::RecvDone(None);
        }
        for s in self.sendq.drain(..) {
            let MSlot::QueuedSend(v) = self.slots[s] else {
                unreachable!()
            };
            self.slots[s] = MSlot::SendDone(Err(v));
        }
    }
    fn drop_slot(&mut self, i: usize) {
        match std::mem::replace(&mut self.slots[i], MSlot::Empty) {
            MSlot::QueuedSend(_) => self.sendq.retain(|&s| s != i),
            MSlot::QueuedRecv => self.recvq.retain(|&s| s != i),
            MSlot::RecvDone(Some(v)) => {
                if let Some(r) = self.recvq.pop_front() {
                    self.slots[r] = MSlot::RecvDone(Some(v));
                } else {
                    self.buf.push_front(v);
                }
            }
            _ => {}
        }
    }
}

enum Slot<'a> {
    Empty,
    Send(Pin<Box<SendFuture<'a, u32>>>),
    Recv(Pin<Box<RecvFuture<'a, u32>>>),
}

fn run(cap: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let (tx, rx): (Sender<u32>, Receiver<u32>) = chan(cap);
    let mut m = Model {
        cap,
        slots: vec![MSlot::Empty; SLOTS],
        ..Model::default()
    };
    let mut slots: Vec<Slot<'_>> = (0..SLOTS).map(|_| Slot::Empty).collect();
    let mut cx = Context::from_waker(Waker::noop());
    let mut next = 0u32;
    for op in ops {
        match op {
            Op::TrySend => {
                next += 1;
                let real = tx.try_send(next);
                let model = m.send(next);
                match (real, model) {
                    (Ok(()), Ok(())) => {}
                    (Err(TrySendError::Full(a)), Err(b)) if !m.closed => prop_assert_eq!(a, b),
                    (Err(TrySendError::Closed(a)), Err(b)) if m.closed => prop_assert_eq!(a, b),
                    (r, mo) => prop_assert!(false, "try_send: real {:?} model {:?}", r, mo),
                }
            }
            Op::TryRecv => {
                let real = rx.try_recv();
                let model = match m.recv() {
                    Some(Some(v)) => Ok(v),
                    Some(None) => Err(TryRecvError::Closed),
                    None => Err(TryRecvError::Empty),
                };
                prop_assert_eq!(real, model);
            }
            Op::StartSend(i) | Op::StartRecv(i) if !matches!(slots[i], Slot::Empty) => {}
            Op::StartSend(i) => {
                next += 1;
                let mut f = Box::pin(tx.send(next));
                let real = f.as_mut().poll(&mut cx);
                match m.send(next) {
                    Ok(()) => prop_assert_eq!(real, Poll::Ready(Ok(()))),
                    Err(v) if m.closed => {
                        prop_assert_eq!(real, Poll::Ready(Err(gorun_channel::SendError(v))))
                    }
                    Err(v) => {
                        prop_assert!(real.is_pending());
                        m.slots[i] = MSlot::QueuedSend(v);
                        m.sendq.push_back(i);
                        slots[i] = Slot::Send(f);
                    }
                }
            }
            Op::StartRecv(i) => {
                let mut f = Box::pin(rx.recv());
                let real = f.as_mut().poll(&mut cx);
                match m.recv() {
                    Some(v) => prop_assert_eq!(real, Poll::Ready(v)),
                    None => {
                        prop_assert!(real.is_pending());
                        m.slots[i] = MSlot::QueuedRecv;
                        m.recvq.push_back(i);
                        slots[i] = Slot::Recv(f);
                    }
                }
            }
            Op::Poll(i) => {
                let done = match &mut slots[i] {
                    Slot::Empty => false,
                    Slot::Send(f) => {
                        let real = f.as_mut().poll(&mut cx);
                        match m.slots[i].clone() {
                            MSlot::SendDone(r) => {
                                prop_assert_eq!(
                                    real,
                                    Poll::Ready(r.map_err(gorun_channel::SendError))
                                );
                                true
                            }
                            _ => {
                                prop_assert!(real.is_pending());
                                false
                            }
                        }
                    }
                    Slot::Recv(f) => {
                        let real = f.as_mut().poll(&mut cx);
                        match m.slots[i].clone() {
                            MSlot::RecvDone(r) => {
                                prop_assert_eq!(real, Poll::Ready(r));
                                true
                            }
                            _ => {
                                prop_assert!(real.is_pending());
                                false
                            }
                        }
                    }
                };
                if done {
                    slots[i] = Slot::Empty;
                    m.slots[i] = MSlot::Empty;
                }
            }
            Op::Drop(i) => {
                slots[i] = Slot::Empty;
                m.drop_slot(i);
            }
            Op::Close => {
                let was = m.closed;
                m.close();
                prop_assert_eq!(tx.close(), !was);
            }
        }
        prop_assert_eq!(rx.len(), m.buf.len());
    }
    // Drain: what the model says is left is exactly what the channel yields.
    for s in slots.iter_mut() {
        *s = Slot::Empty;
    }
    for i in 0..SLOTS {
        m.drop_slot(i);
    }
    m.close();
    tx.close();
    while let Some(v) = m.buf.pop_front() {
        prop_assert_eq!(rx.try_recv(), Ok(v));
    }
    prop_assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    // A huge capacity too: the ring grows on demand, so it costs nothing up front
    // (allocating it eagerly aborted the process).
    fn matches_model(
        cap in prop_oneof![4 => 0usize..4, 1 => Just(1usize << 40)],
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        run(cap, ops)?;
    }
}
