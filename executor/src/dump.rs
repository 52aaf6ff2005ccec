//! Task dumps: every live task, where it was spawned and what it is doing.

use std::fmt;
use std::panic::Location;

use crate::scheduler::Shared;

/// What a task is doing at the moment of a dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Being polled by a worker now.
    Running,
    /// Woken and queued, waiting for a worker.
    Runnable,
    /// Waiting for a wake (on a channel, timer, socket, join, ...).
    Waiting,
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
    shared.owned.for_each(|h| {
        let s = h.state.load();
        let state = if s.is_running() {
            TaskState::Running
        } else if s.is_notified() {
            TaskState::Runnable
        } else {
            TaskState::Waiting
        };
        tasks.push(TaskInfo {
            id: h as *const _ as usize,
            location: h.location,
            state,
        });
    });
    TaskDump { tasks }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for t in &self.tasks {
            let state = match t.state {
                TaskState::Running => "running",
                TaskState::Runnable => "runnable",
                TaskState::Waiting => "waiting",
            };
            writeln!(
                f,
                "task {:#x} [{state}]:\n    spawned at {}",
                t.id, t.location
            )?;
        }
        Ok(())
    }
}
