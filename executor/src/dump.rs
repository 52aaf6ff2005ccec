//! Task dumps: every live task, where it was spawned, what it is doing, what it waits
//! on and for how long it has lived (Go's `goroutine 7 [chan receive, 5 minutes]:`).
//!
//! The wait reason is the byte a task's poller stored after its last `Pending` poll
//! (see `gorun_coop::WaitReason` for which resource's reason wins); the age comes from
//! the time stamped in the task's owned-list slot at spawn (`task/list.rs`).

use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gorun_coop::WaitReason;

use crate::scheduler::Shared;
use crate::task::raw::WATCHDOG_REPORTED;

/// What a task is doing at the moment of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Being polled by a worker now.
    Running,
    /// Woken and queued, waiting for a worker.
    Runnable,
    /// Waiting for a wake (on a channel, timer, socket, join, ...): see
    /// [`TaskInfo::wait`].
    Waiting,
}

impl TaskState {
    /// The state's name in dumps: `running`, `runnable` or `waiting`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Runnable => "runnable",
            TaskState::Waiting => "waiting",
        }
    }
}

/// One live task in a [`TaskDump`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskInfo {
    /// An identifier unique among live tasks (the task's address).
    pub id: usize,
    /// Where `go`, `spawn` or `spawn_blocking` was called.
    pub location: &'static Location<'static>,
    /// What it is doing.
    pub state: TaskState,
    /// For a [`Waiting`](TaskState::Waiting) task, what it waits on
    /// ([`WaitReason::Other`] for a future gorun does not know); `None` otherwise.
    pub wait: Option<WaitReason>,
    /// Time since it was spawned (to about 20 ms).
    pub age: Duration,
    /// The watchdog reported one of its polls for blocking a worker.
    pub blocked_worker: bool,
}

/// Every live task of a runtime, from [`Handle::dump`](crate::Handle::dump). Its
/// `Display` reads like Go's goroutine dump.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TaskDump {
    /// The tasks, in no particular order.
    pub tasks: Vec<TaskInfo>,
}

pub(crate) fn collect(shared: &Shared) -> TaskDump {
    let mut tasks = Vec::new();
    shared.owned().for_each(|h, age| {
        let s = h.state.load();
        let (state, wait) = if s.is_running() {
            (TaskState::Running, None)
        } else if s.is_notified() {
            (TaskState::Runnable, None)
        } else {
            let reason = WaitReason::from_u8(h.wait.load(Ordering::Relaxed));
            (TaskState::Waiting, Some(reason))
        };
        tasks.push(TaskInfo {
            id: h as *const _ as usize,
            location: h.location,
            state,
            wait,
            age,
            blocked_worker: h.flags.load(Ordering::Relaxed) & WATCHDOG_REPORTED != 0,
        });
    });
    TaskDump { tasks }
}

/// Go's style: milliseconds and seconds while short, then minutes.
struct Age(Duration);

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d < Duration::from_secs(1) {
            write!(f, "{} ms", d.as_millis())
        } else if d < Duration::from_secs(60) {
            write!(f, "{:.1} s", d.as_secs_f64())
        } else {
            write!(f, "{} minutes", d.as_secs() / 60)
        }
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for t in &self.tasks {
            let state = match (t.state, t.wait) {
                (TaskState::Waiting, Some(reason)) => reason.as_str(),
                (state, _) => state.as_str(),
            };
            let blocked = if t.blocked_worker {
                ", blocked a worker"
            } else {
                ""
            };
            writeln!(
                f,
                "task {:#x} [{state}, {}{blocked}]:\n    spawned at {}",
                t.id,
                Age(t.age),
                t.location
            )?;
        }
        #[cfg(feature = "tokio-compat")]
        if let Some(n) = crate::compat::alive_tasks() {
            writeln!(f, "tokio-compat runtime: {n} task(s) alive (not listed)")?;
        }
        Ok(())
    }
}
