//! The blocking pool: Go's hand-off of the P around a blocking syscall, as
//! `spawn_blocking`. Closures run on their own threads, so workers keep running
//! tasks; threads are created on demand up to a bound and retire after a keep-alive.
//!
//! A blocking closure is an ordinary task (so it has a `JoinHandle`, is counted by
//! `num_tasks` and is cancelled if still queued at shutdown) whose scheduler is this
//! pool instead of the workers.
//!
//! # Invariants
//! - `idle` counts threads waiting on the condvar and not yet claimed; a pusher that
//!   wakes one claims it (`idle -= 1; notified += 1`), so two pushes never count on
//!   the same sleeper.
//! - `running` counts closures being run (the paused clock does not auto-advance
//!   while one runs: it may be about to wake a task).

use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use crate::scheduler::Shared;
use crate::task::join::JoinHandle;
use crate::task::{new_task, Header, Notified, Schedule};

pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    cvar: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    running: AtomicUsize,
    /// Closures queued or running: a worker about to park spins briefly while one
    /// is, since its completion usually wakes a task at once.
    in_flight: AtomicUsize,
}

struct PoolState {
    queue: VecDeque<Notified>,
    threads: usize,
    idle: usize,
    notified: usize,
    shutdown: bool,
    handles: Vec<thread::JoinHandle<()>>,
    next_id: usize,
    /// Set by `Runtime::shutdown_timeout`: the shutdown stops waiting for running
    /// closures then.
    deadline: Option<Instant>,
}

/// The scheduler of blocking tasks.
struct BlockingSchedule(Arc<Shared>);

impl Schedule for BlockingSchedule {
    fn schedule(&self, task: Notified) {
        // Only an abort re-schedules a blocking task; run it so it is cancelled.
        self.0.blocking().push(&self.0, task);
    }

    unsafe fn release(&self, ptr: NonNull<Header>) -> bool {
        // SAFETY: `ptr` is a live task of this runtime (caller's contract).
        unsafe { self.0.owned().remove(ptr) }
    }
}

/// The future of a blocking task: runs the closure on its first poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("blocking task polled twice");
        // A blocking closure is not a task's poll: no budget applies, and it may
        // block (`blocking_send` and the like).
        Poll::Ready(gorun_coop::blocking_section(f))
    }
}

impl BlockingPool {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> BlockingPool {
        BlockingPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
                shutdown: false,
                handles: Vec::new(),
                next_id: 0,
                deadline: None,
            }),
            cvar: Condvar::new(),
            max_threads,
            keep_alive,
            running: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn num_running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Closures queued or running (relaxed: a hint for spinning workers).
    pub(crate) fn num_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a blocking call made outside the pool (`block_in_place`) as a
    /// running closure until the guard drops: the paused clock waits for it.
    pub(crate) fn running_guard(&self) -> RunningGuard<'_> {
        self.running.fetch_add(1, Ordering::SeqCst);
        RunningGuard(&self.running)
    }

    /// Uncounts the closure running on this pool thread until the guard drops:
    /// `block_in_place`'s stand-in runs a worker's loop, not a blocking call.
    pub(crate) fn not_running_guard(&self) -> NotRunningGuard<'_> {
        self.running.fetch_sub(1, Ordering::SeqCst);
        NotRunningGuard(&self.running)
    }

    pub(crate) fn spawn<F, R>(
        &self,
        shared: &Arc<Shared>,
        f: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        crate::trace::instant(crate::trace::What::SpawnBlocking);
        let (task, notified, raw) = new_task(
            BlockingTask(Some(f)),
            BlockingSchedule(shared.clone()),
            location,
        );
        match shared.owned().bind(task) {
            Ok(()) => self.push(shared, notified),
            Err(task) => {
                drop(notified);
                task.shutdown();
            }
        }
        // SAFETY: `raw` carries the handle's reference; the output type is R.
        unsafe { JoinHandle::from_raw(raw) }
    }

    fn push(&self, shared: &Arc<Shared>, task: Notified) {
        let mut st = self.lock();
        if st.shutdown {
            // The shutdown sweep cancels it; the queue entry just goes away.
            drop(st);
            drop(task);
            return;
        }
        st.queue.push_back(task);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            self.cvar.notify_one();
        } else if st.threads < self.max_threads {
            st.threads += 1;
            st.handles.retain(|h| !h.is_finished());
            let id = st.next_id;
            st.next_id += 1;
            let s = shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("{}-blocking-{id}", shared.config().thread_name))
                .spawn(move || {
                    s.config().thread_started();
                    s.blocking().run_thread(&s);
                    s.config().thread_stopped();
                });
            match spawned {
                Ok(h) => st.handles.push(h),
                // Out of threads: the closure waits for a running thread to free up.
                Err(_) => st.threads -= 1,
            }
        }
        // Else every thread is busy and the bound is reached: it waits its turn.
    }

    fn run_thread(&self, shared: &Arc<Shared>) {
        let _current = crate::current_runtime::set_current(shared);
        crate::current_runtime::set_owner(shared);
        let mut st = self.lock();
        loop {
            if let Some(task) = st.queue.pop_front() {
                self.running.fetch_add(1, Ordering::SeqCst);
                drop(st);
                crate::trace::boundary(); // the job starts now, not at the last one's end
                task.run();
                self.running.fetch_sub(1, Ordering::SeqCst);
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                shared.may_be_idle();
                st = self.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .cvar
                .wait_timeout(st, self.keep_alive)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            if st.notified > 0 {
                st.notified -= 1;
            } else {
                st.idle -= 1;
                if timeout.timed_out() && st.queue.is_empty() && !st.shutdown {
                    break;
                }
            }
        }
        st.threads -= 1;
    }

    /// Makes the shutdown wait for running closures until `deadline` only.
    pub(crate) fn set_shutdown_deadline(&self, deadline: Option<Instant>) {
        self.lock().deadline = deadline;
    }

    /// Stops accepting work, drops queued closures, and joins every thread (waiting
    /// for closures already running, as tokio's runtime drop does), until the
    /// shutdown deadline if one was set.
    pub(crate) fn shutdown(&self) {
        let (queued, handles, deadline) = {
            let mut st = self.lock();
            st.shutdown = true;
            self.cvar.notify_all();
            (
                std::mem::take(&mut st.queue),
                std::mem::take(&mut st.handles),
                st.deadline,
            )
        };
        self.in_flight.fetch_sub(queued.len(), Ordering::Relaxed);
        drop(queued);
        let me = thread::current().id();
        for h in handles {
            if h.thread().id() != me {
                join_until(h, deadline);
            }
        }
    }

    /// The number of pool threads alive (a metric).
    pub(crate) fn num_threads(&self) -> usize {
        self.lock().threads
    }
}

/// See [`BlockingPool::running_guard`].
pub(crate) struct RunningGuard<'a>(&'a AtomicUsize);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// See [`BlockingPool::not_running_guard`].
pub(crate) struct NotRunningGuard<'a>(&'a AtomicUsize);

impl Drop for NotRunningGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Joins `thread`, or with a deadline, waits for it to finish until then and
/// leaves it detached if it has not (checked every millisecond: std has no timed
/// join, and this runs once per thread at shutdown).
pub(crate) fn join_until(thread: thread::JoinHandle<()>, deadline: Option<Instant>) {
    let Some(deadline) = deadline else {
        let _ = thread.join();
        return;
    };
    loop {
        if thread.is_finished() {
            let _ = thread.join();
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        thread::sleep((deadline - now).min(Duration::from_millis(1)));
    }
}
