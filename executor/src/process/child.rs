//! [`Child`]: a spawned process, its piped streams, and how a wait parks.
//!
//! # Invariants
//! - `mode` only moves forward while a wait is pending (`Idle` → `Pidfd` or
//!   `Sigchld`, `Pidfd` → `Sigchld`), and back to `Idle` once the child is reaped,
//!   which frees the pidfd and the watch-list entry at once, not at drop.
//! - On drop, an unreaped child is killed if `kill_on_drop`, then either reaped
//!   on the spot or handed to the watch list as an orphan: no `Child` leaves a
//!   zombie behind (see `reap.rs`).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::process::{ExitStatus, Output};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use super::pipe::ReadEnd;
use super::reap::{self, Proc};
use super::{named, ChildStderr, ChildStdin, ChildStdout};

/// How a pending wait is parked.
enum Mode {
    /// No wait pending, or the child was reaped.
    Idle,
    /// On the child's pidfd, registered with the reactor.
    #[cfg(target_os = "linux")]
    Pidfd(crate::io::PollEvented<reap::Pidfd>),
    /// On the `SIGCHLD` watch list.
    Sigchld,
}

/// A spawned child process (tokio's `tokio::process::Child`), made by
/// [`Command::spawn`](super::Command::spawn).
///
/// Dropping it does not wait for the child, nor (unless
/// [`kill_on_drop`](super::Command::kill_on_drop)) kill it; the child is reaped
/// once it exits, so it never lingers as a zombie (see the module docs).
pub struct Child {
    /// The child's stdin, if it was [piped](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, if it was [piped](std::process::Stdio::piped).
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, if it was [piped](std::process::Stdio::piped).
    pub stderr: Option<ChildStderr>,
    proc: Arc<Proc>,
    pub(super) program: String,
    kill_on_drop: bool,
    /// Wait through `SIGCHLD` even where pidfds work.
    force_sigchld: bool,
    mode: Mode,
}

impl Child {
    pub(super) fn new(
        proc: Arc<Proc>,
        program: String,
        kill_on_drop: bool,
        sigchld: bool,
    ) -> Child {
        Child {
            stdin: None,
            stdout: None,
            stderr: None,
            proc,
            program,
            kill_on_drop,
            force_sigchld: sigchld,
            mode: Mode::Idle,
        }
    }

    /// The child's process id, or `None` once it was reaped (the id may then name
    /// another process).
    pub fn id(&self) -> Option<u32> {
        self.proc.status().is_none().then(|| self.proc.pid())
    }

    /// Sends `SIGKILL` without waiting for the child to die; does nothing if it
    /// was already reaped. Until it is waited for (or dropped), the dead child is
    /// a zombie.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.proc
            .kill()
            .map_err(|e| named(e, "kill", &self.program))
    }

    /// Sends `SIGKILL` and waits for the child to exit (std's `kill` does not
    /// wait).
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// # gorun_executor::Runtime::builder().procs(2).build().unwrap().block_on(async {
    /// let mut child = gorun_executor::process::Command::new("sleep").arg("30").spawn()?;
    /// child.kill().await?;
    /// assert_eq!(child.wait().await?.signal(), Some(libc::SIGKILL));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await?;
        Ok(())
    }

    /// Waits for the child to exit and reaps it; closes its stdin first, so a
    /// child reading it sees end-of-file instead of waiting for the parent.
    ///
    /// Cancel-safe: dropping the future loses nothing, and a later `wait` (or
    /// [`try_wait`](Self::try_wait)) returns the status. Once reaped, every call
    /// returns the same status at once.
    ///
    /// Piped stdout and stderr are not read: a child that fills a pipe nobody
    /// reads blocks forever. Read them, drop them, or use
    /// [`wait_with_output`](Self::wait_with_output).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// The exit status if the child has exited (reaping it), `None` if it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.proc
            .try_wait()
            .map_err(|e| named(e, "wait for", &self.program))
    }

    /// Waits for the child to exit while reading its piped stdout and stderr to
    /// the end, concurrently (closes its stdin first). Streams that were not
    /// piped, or were taken, give empty output.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut out_pipe, mut err_pipe) = (self.stdout.take(), self.stderr.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut status = None;
        poll_fn(|cx| {
            let read_err = |e, stream: &str| named(e, stream, &self.program);
            let out_done = poll_read_to_end(&mut out_pipe, &mut stdout, cx)
                .map_err(|e| read_err(e, "read the stdout of"))?
                .is_ready();
            let err_done = poll_read_to_end(&mut err_pipe, &mut stderr, cx)
                .map_err(|e| read_err(e, "read the stderr of"))?
                .is_ready();
            if status.is_none() {
                // `poll_wait`'s errors name the program already.
                status = Some(ready!(self.poll_wait(cx))?);
            }
            if out_done && err_done {
                Poll::Ready(io::Result::Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await?;
        Ok(Output {
            status: status.expect("set before the loop ends"),
            stdout,
            stderr,
        })
    }

    /// Polls for the child's exit; see [`wait`](Self::wait) (this one leaves
    /// stdin open).
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let r = ready!(self.poll_wait_inner(cx));
        // Reaped (or failed): the pidfd goes now (`poll_sigchld` has already
        // taken the proc off the watch list).
        self.mode = Mode::Idle;
        Poll::Ready(r.map_err(|e| named(e, "wait for", &self.program)))
    }

    fn poll_wait_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            match &self.mode {
                Mode::Idle => {
                    // Reaped before? (No system call: the stored status.) Whether
                    // it has exited since is what the pidfd, readable at once in
                    // that case, or `poll_sigchld`'s own try-wait tells.
                    if let Some(s) = self.proc.status() {
                        return Poll::Ready(Ok(s));
                    }
                    self.mode = if self.force_sigchld {
                        Mode::Sigchld
                    } else {
                        self.pidfd_mode()
                    };
                }
                #[cfg(target_os = "linux")]
                Mode::Pidfd(pidfd) => {
                    // A registration is readable at once if the child already exited.
                    ready!(pidfd
                        .registration()
                        .poll_ready(cx, crate::io::Direction::Read))?;
                    if let Some(s) = self.proc.try_wait()? {
                        return Poll::Ready(Ok(s));
                    }
                    // Readable yet nothing to reap (should not happen for a process
                    // pidfd): the level-triggered condition would raise no new
                    // edge, so go on through SIGCHLD, which cannot miss the exit.
                    self.mode = Mode::Sigchld;
                }
                Mode::Sigchld => return reap::poll_sigchld(&self.proc, cx),
            }
        }
    }

    /// The pidfd path if the system allows it, else `SIGCHLD`.
    fn pidfd_mode(&self) -> Mode {
        #[cfg(target_os = "linux")]
        if let Some(fd) = reap::Pidfd::open(self.proc.pid()) {
            if let Ok(p) = crate::io::PollEvented::new(fd, mio::Interest::READABLE) {
                return Mode::Pidfd(p);
            }
        }
        Mode::Sigchld
    }
}

/// Reads `pipe` into `buf` until end-of-file, then drops it (`None`: done).
fn poll_read_to_end<R: ReadEnd>(
    pipe: &mut Option<R>,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    const CHUNK: usize = 32 * 1024;
    let Some(p) = pipe else {
        return Poll::Ready(Ok(()));
    };
    loop {
        if buf.capacity() - buf.len() < CHUNK / 4 {
            buf.reserve(CHUNK); // at least doubles a full vector: amortized O(1)
        }
        let spare: &mut [MaybeUninit<u8>] = buf.spare_capacity_mut();
        let n = ready!(p.poll_read_uninit(cx, spare))?;
        if n == 0 {
            *pipe = None;
            return Poll::Ready(Ok(()));
        }
        // SAFETY: `poll_read_uninit` initialized the first `n` bytes of the spare
        // capacity (`n <= spare.len()`).
        unsafe { buf.set_len(buf.len() + n) };
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.proc.status().is_some() {
            reap::unlist(&self.proc);
            return;
        }
        if self.kill_on_drop {
            let _ = self.proc.kill();
        }
        match self.proc.try_wait() {
            Ok(None) => reap::orphan(&self.proc),
            // Reaped now, or not ours to reap (someone else waited for it).
            Ok(Some(_)) | Err(_) => reap::unlist(&self.proc),
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("program", &self.program)
            .field("pid", &self.proc.pid())
            .field("status", &self.proc.status())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
