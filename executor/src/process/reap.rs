//! Exit notification and reaping: the child's pid and status ([`Proc`]), the pidfd
//! a waiter parks on (Linux ≥ 5.3), and the `SIGCHLD` watch list that serves as the
//! fallback and as the orphan queue (tokio's `process/unix/{pidfd_reaper,reap,
//! orphan}.rs`, one watch list instead of a signal listener per child).
//!
//! # Invariants
//! - A child is reaped (`waitpid`) only by [`Proc::try_wait`], under the proc's
//!   lock, which stores the status before unlocking: it is reaped once, and every
//!   later call answers from the stored status without a system call.
//! - [`Proc::kill`] signals the pid under the same lock, and only while no status
//!   is stored: the pid still names our (perhaps zombie) child, never a process
//!   that reused it after the reap.
//! - The watch list holds every proc waited for through `SIGCHLD` and every
//!   orphan (a `Child` dropped before it was reaped). `listed` is true exactly
//!   while a proc is in it, and is changed only under the list's lock.
//! - The `SIGCHLD` handler is installed (and the reactor of the caller's runtime
//!   polls the signal pipe) *before* a proc joins the list, and the proc is
//!   try-waited *after* it joined: an exit before that try-wait is seen by it, an
//!   exit after it raises a `SIGCHLD` whose dispatch finds the proc in the list
//!   (and its waker, stored before joining). So no exit is missed, no wake lost.
//! - Each `SIGCHLD` dispatch try-waits every listed proc, removes those that
//!   exited (or whose wait failed) and wakes their waiters, outside every lock but
//!   the signal slot's subscriber lock (wakers only schedule tasks).

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::signal::unix::SignalKind;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A spawned child: its pid and, once reaped, its exit status.
#[derive(Debug)]
pub(crate) struct Proc {
    pid: libc::pid_t,
    state: Mutex<State>,
    /// In the watch list; changed only under its lock.
    listed: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    /// Set by the one `waitpid` that reaped the child.
    status: Option<ExitStatus>,
    /// The task waiting through `SIGCHLD` (the pidfd path keeps its waker in the
    /// reactor instead); `None` for an orphan.
    waker: Option<Waker>,
}

impl Proc {
    pub(crate) fn new(pid: u32) -> Arc<Proc> {
        Arc::new(Proc {
            pid: pid as libc::pid_t,
            state: Mutex::new(State::default()),
            listed: AtomicBool::new(false),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// The status, if the child was reaped.
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        lock(&self.state).status
    }

    /// Reaps the child if it exited (`waitpid(pid, WNOHANG)`), once.
    pub(crate) fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        let mut st = lock(&self.state);
        if let Some(s) = st.status {
            return Ok(Some(s));
        }
        let mut raw: libc::c_int = 0;
        loop {
            // SAFETY: `raw` is a valid, writable c_int for the call; `pid` is our
            // child, not yet reaped (no status stored, and only this function
            // reaps, under the lock we hold).
            let r = unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) };
            if r == self.pid {
                let s = ExitStatus::from_raw(raw);
                st.status = Some(s);
                return Ok(Some(s));
            }
            if r == 0 {
                return Ok(None);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Sends `SIGKILL`, unless the child was already reaped (then does nothing).
    pub(crate) fn kill(&self) -> io::Result<()> {
        let st = lock(&self.state);
        if st.status.is_some() {
            return Ok(());
        }
        // SAFETY: kill(2) takes no pointers. The pid is our unreaped child (a
        // zombie at worst) while we hold the lock, so it cannot have been reused.
        if unsafe { libc::kill(self.pid, libc::SIGKILL) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn set_waker(&self, waker: Option<&Waker>) {
        let mut st = lock(&self.state);
        match (&mut st.waker, waker) {
            (Some(old), Some(new)) if old.will_wake(new) => {}
            (slot, new) => *slot = new.cloned(),
        }
    }

    fn take_waker(&self) -> Option<Waker> {
        lock(&self.state).waker.take()
    }
}

// --- pidfd (Linux ≥ 5.3) ---

/// Set once `pidfd_open` failed with `ENOSYS` (an old kernel) or `EPERM` (a
/// seccomp sandbox): every later child goes straight to `SIGCHLD`.
#[cfg(target_os = "linux")]
static NO_PIDFD: AtomicBool = AtomicBool::new(false);

/// Whether `GORUN_PROCESS_REAPER=sigchld` forces the `SIGCHLD` path for every child
/// (read once).
pub(crate) fn sigchld_forced_by_env() -> bool {
    static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| std::env::var_os("GORUN_PROCESS_REAPER").is_some_and(|v| v == "sigchld"))
}

/// A pidfd: readable once the process has exited.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub(crate) struct Pidfd(std::os::fd::OwnedFd);

#[cfg(target_os = "linux")]
impl Pidfd {
    /// `pidfd_open(pid, 0)`; `None` where the kernel or a sandbox refuses it (or it
    /// fails otherwise: the `SIGCHLD` path is always correct, only slower).
    pub(crate) fn open(pid: u32) -> Option<Pidfd> {
        use std::os::fd::FromRawFd;
        if NO_PIDFD.load(Relaxed) {
            return None;
        }
        // SAFETY: pidfd_open(2) takes two integers and returns a new descriptor
        // or -1; no pointers are involved.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            if let Some(libc::ENOSYS | libc::EPERM) = io::Error::last_os_error().raw_os_error() {
                NO_PIDFD.store(true, Relaxed);
            }
            return None;
        }
        // SAFETY: a non-negative result is a fresh descriptor that nothing else
        // owns (pidfd_open sets O_CLOEXEC itself).
        Some(Pidfd(unsafe {
            std::os::fd::OwnedFd::from_raw_fd(fd as libc::c_int)
        }))
    }
}

#[cfg(target_os = "linux")]
impl std::os::fd::AsRawFd for Pidfd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(target_os = "linux")]
impl mio::event::Source for Pidfd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}

// --- the SIGCHLD watch list ---

/// The procs try-waited on each `SIGCHLD`: fallback waiters and orphans.
static WATCH: Mutex<Vec<Arc<Proc>>> = Mutex::new(Vec::new());
/// `WATCH`'s length, read without the lock (is there anything to reap?).
static WATCHED: AtomicUsize = AtomicUsize::new(0);
/// Whether the `SIGCHLD` subscriber is installed (set under `SUBSCRIBE`).
static SUBSCRIBED: AtomicBool = AtomicBool::new(false);
static SUBSCRIBE: Mutex<()> = Mutex::new(());

/// Installs the `SIGCHLD` handler and the process-wide subscriber that drains the
/// watch list (once), and makes the reactor of the caller's runtime (the global
/// one outside any) poll the signal pipe.
fn ensure_sigchld() -> io::Result<()> {
    if !SUBSCRIBED.load(Acquire) {
        let _g = lock(&SUBSCRIBE);
        if !SUBSCRIBED.load(Acquire) {
            crate::signal::__subscribe(
                SignalKind::child(),
                Box::new(|| {
                    drain();
                    true
                }),
            )?;
            SUBSCRIBED.store(true, Release);
        }
    }
    // Making a listener registers the signal pipe with this runtime's reactor (a
    // no-op after the first time); the listener itself is not needed.
    crate::signal::unix::signal(SignalKind::child()).map(drop)
}

/// Adds `proc` to the watch list (if not there yet).
fn list(proc: &Arc<Proc>) {
    let mut w = lock(&WATCH);
    if !proc.listed.load(Relaxed) {
        proc.listed.store(true, Relaxed);
        w.push(proc.clone());
        WATCHED.store(w.len(), Relaxed);
    }
}

/// Removes `proc` from the watch list (if there).
pub(crate) fn unlist(proc: &Arc<Proc>) {
    // Only the proc's owner lists it, so `false` here stays `false`.
    if !proc.listed.load(Relaxed) {
        return;
    }
    let mut w = lock(&WATCH);
    if proc.listed.load(Relaxed) {
        if let Some(i) = w.iter().position(|p| Arc::ptr_eq(p, proc)) {
            w.swap_remove(i);
        }
        proc.listed.store(false, Relaxed);
        WATCHED.store(w.len(), Relaxed);
    }
}

/// Try-waits every watched proc; removes those that exited (or cannot be waited
/// for) and wakes their waiters.
fn drain() {
    let mut woken = Vec::new();
    {
        let mut w = lock(&WATCH);
        w.retain(|p| match p.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) | Err(_) => {
                p.listed.store(false, Relaxed);
                woken.extend(p.take_waker());
                false
            }
        });
        WATCHED.store(w.len(), Relaxed);
    }
    // Outside the list's lock: a woken task may poll (and list) at once.
    for w in woken {
        w.wake();
    }
}

/// Reaps the orphans (and fallback waiters) that exited, if any are watched: what
/// `Command::spawn` runs, so reaping goes on even where no reactor polls the signal
/// pipe any more.
pub(crate) fn reap_watched() {
    if WATCHED.load(Relaxed) > 0 {
        drain();
    }
}

/// Hands a dropped, unreaped child to the watch list, to be reaped on a later
/// `SIGCHLD` (or spawn). A waker it had is dropped: nobody waits any more.
pub(crate) fn orphan(proc: &Arc<Proc>) {
    proc.set_waker(None);
    // If the handler cannot be installed, the orphan is still reaped by the next
    // spawn's `reap_watched`.
    let _ = ensure_sigchld();
    list(proc);
    // Exited before it was listed (its SIGCHLD may have been dispatched already)?
    drain();
}

/// Waits for `proc` through `SIGCHLD`: stores the waker, joins the watch list,
/// then try-waits (see the invariants for why in that order).
pub(crate) fn poll_sigchld(proc: &Arc<Proc>, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
    if let Some(s) = proc.try_wait()? {
        return Poll::Ready(Ok(s));
    }
    ensure_sigchld()?;
    proc.set_waker(Some(cx.waker()));
    list(proc);
    let r = match proc.try_wait() {
        Ok(None) => return Poll::Pending,
        Ok(Some(s)) => Ok(s),
        Err(e) => Err(e),
    };
    unlist(proc);
    proc.set_waker(None);
    Poll::Ready(r)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_watched_orphan_is_reaped_once_it_exits() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let proc = Proc::new(child.id());
        drop(child);
        orphan(&proc);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while proc.status().is_none() {
            assert!(std::time::Instant::now() < deadline, "orphan never reaped");
            std::thread::sleep(std::time::Duration::from_millis(5));
            reap_watched();
        }
        assert!(proc.status().unwrap().success());
        assert!(!proc.listed.load(Relaxed));
        // Reaped: a kill is a no-op, never a signal to a reused pid.
        proc.kill().unwrap();
        assert_eq!(proc.try_wait().unwrap(), proc.status());
    }
}
