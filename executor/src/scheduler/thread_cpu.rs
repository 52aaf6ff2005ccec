//! What the watchdog's monitor can learn about a worker thread from outside it: how
//! much CPU time it has used, and whether it is runnable (on a CPU or waiting for
//! one) rather than asleep in a blocking call. Linux only; elsewhere nothing is
//! known and the watchdog falls back to wall time.
//!
//! This is how a poll that holds its worker (computing, or blocked in a syscall) is
//! told apart from a worker the kernel took off the CPU in the middle of a short
//! poll, which on a machine with more runnable threads than cores can last longer
//! than the threshold.

use std::time::Duration;

/// A thread as the monitor sees it: its CPU-time clock and kernel thread id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadCpu {
    #[cfg(target_os = "linux")]
    clock: libc::clockid_t,
    #[cfg(target_os = "linux")]
    tid: libc::pid_t,
}

impl ThreadCpu {
    /// The calling thread, if its clock can be had.
    #[cfg(target_os = "linux")]
    pub(crate) fn current() -> Option<ThreadCpu> {
        let mut clock: libc::clockid_t = 0;
        // SAFETY: `pthread_self()` is the calling, live thread and `clock` is a valid
        // place for the result.
        let r = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) };
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        (r == 0).then_some(ThreadCpu { clock, tid })
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn current() -> Option<ThreadCpu> {
        None
    }

    /// CPU time the thread has used so far. `None` if it cannot be read (the thread
    /// exited).
    #[cfg(target_os = "linux")]
    pub(crate) fn cpu_time(self) -> Option<Duration> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; a clock id of an exited thread
        // only makes the call fail.
        let r = unsafe { libc::clock_gettime(self.clock, &mut ts) };
        (r == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn cpu_time(self) -> Option<Duration> {
        None
    }

    /// Whether the thread is runnable (state `R` in `/proc`): on a CPU or queued for
    /// one, as opposed to asleep in a blocking call. `false` when unknown, so that an
    /// unreadable state counts the poll as holding its worker (the wall-time rule).
    #[cfg(target_os = "linux")]
    pub(crate) fn is_runnable(self) -> bool {
        let path = format!("/proc/self/task/{}/stat", self.tid);
        std::fs::read_to_string(path).is_ok_and(|stat| state_of(&stat) == Some('R'))
    }

    #[cfg(not(target_os = "linux"))]
    pub(crate) fn is_runnable(self) -> bool {
        false
    }
}

/// The state letter of a `/proc/.../stat` line: the first field after the command
/// name, which is in parentheses and may itself contain spaces and parentheses.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn state_of(stat: &str) -> Option<char> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// How much of `wall` (time between two looks at one poll) the poll held its worker:
/// all of it when the thread ran for at least half of it, or was not runnable (asleep
/// in a blocking call inside the poll: that blocks the worker too); only the CPU time
/// it got when it was runnable but mostly off the CPU (the kernel ran other threads).
/// `runnable` is asked only in that last case (it reads `/proc`).
pub(crate) fn held(wall: Duration, cpu: Duration, runnable: impl FnOnce() -> bool) -> Duration {
    if cpu * 2 >= wall || !runnable() {
        wall
    } else {
        cpu
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn held_counts_running_and_blocked_time_but_not_preemption() {
        // Ran the whole time: a computing poll.
        assert_eq!(held(10 * MS, 10 * MS, || panic!("not asked")), 10 * MS);
        assert_eq!(held(10 * MS, 5 * MS, || panic!("not asked")), 10 * MS);
        // Off the CPU and asleep: a blocking call inside the poll.
        assert_eq!(held(10 * MS, Duration::ZERO, || false), 10 * MS);
        // Off the CPU but runnable: preempted; only the CPU time counts.
        assert_eq!(held(10 * MS, MS, || true), MS);
    }

    #[test]
    fn state_is_read_past_a_command_name_with_spaces_and_parens() {
        assert_eq!(state_of("42 (gorun-worker-0) R 1 2 3"), Some('R'));
        assert_eq!(state_of("42 (a (b) c) S 1 2 3"), Some('S'));
        assert_eq!(state_of("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_spinning_thread_is_runnable_and_gains_cpu_a_sleeping_one_is_neither() {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let s = stop.clone();
        let spinner = std::thread::spawn(move || {
            tx.send(ThreadCpu::current().unwrap()).unwrap();
            while !s.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let t = rx.recv().unwrap();
        let c0 = t.cpu_time().unwrap();
        std::thread::sleep(50 * MS);
        let c1 = t.cpu_time().unwrap();
        assert!(c1 > c0, "a spinning thread gains CPU time: {c0:?} {c1:?}");
        assert!(t.is_runnable());
        stop.store(true, Ordering::Relaxed);
        spinner.join().unwrap();

        let (tx, rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            tx.send(ThreadCpu::current().unwrap()).unwrap();
            let _ = done_rx.recv(); // blocks in futex
        });
        let t = rx.recv().unwrap();
        // Until it is asleep in the receive (bounded).
        let mut asleep = false;
        for _ in 0..500 {
            if !t.is_runnable() {
                asleep = true;
                break;
            }
            std::thread::sleep(MS);
        }
        assert!(asleep, "a thread blocked in recv is not runnable");
        let c0 = t.cpu_time().unwrap();
        std::thread::sleep(20 * MS);
        assert_eq!(
            t.cpu_time().unwrap(),
            c0,
            "an asleep thread gains no CPU time"
        );
        done_tx.send(()).unwrap();
        sleeper.join().unwrap();
    }
}
