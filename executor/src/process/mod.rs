//! Child processes: tokio's `tokio::process` (the same names and behaviour, so a
//! tokio user changes only the import) on gorun's reactor.
//!
//! [`Command`](crate::process::Command) builds and spawns a
//! [`Child`](crate::process::Child) whose standard streams, when piped, are
//! non-blocking pipes on the reactor ([`ChildStdin`](crate::process::ChildStdin)
//! is [`AsyncWrite`](futures_io::AsyncWrite);
//! [`ChildStdout`](crate::process::ChildStdout) and
//! [`ChildStderr`](crate::process::ChildStderr) are
//! [`AsyncRead`](futures_io::AsyncRead); with the `tokio-io` feature also tokio's
//! traits). [`Child::wait`](crate::process::Child::wait) parks the task until the
//! child exits; no thread waits for it.
//!
//! # Reaping
//!
//! - **pidfd** (Linux ≥ 5.3): when a wait is first polled, `pidfd_open(2)` gives a
//!   descriptor that turns readable once the child has exited (at once if it
//!   already has); it is registered with the reactor like a socket, and readiness
//!   leads to a `waitpid(pid, WNOHANG)`. Each waiter is woken by its own child's
//!   exit only, and the pidfd is closed as soon as the child is reaped.
//! - **`SIGCHLD`** (everywhere else, and where `pidfd_open` fails with `ENOSYS` or
//!   `EPERM`, as in some sandboxes; `GORUN_PROCESS_REAPER=sigchld` forces it): the
//!   waiter joins a process-wide watch list, and one subscriber to the signal
//!   machinery ([`signal`](crate::signal)) try-waits every listed child on each
//!   `SIGCHLD` and wakes those that exited. Signals coalesce, so every listed
//!   child is checked on every delivery: O(listed) `waitpid` calls per `SIGCHLD`.
//!
//! Only this module's own children are ever waited for (`waitpid` on their pids,
//! never `waitpid(-1)`), so children spawned with `std::process` elsewhere in the
//! program are left alone; installing a `SIGCHLD` handler does not change how
//! they are reaped.
//!
//! # No zombies
//!
//! A [`Child`](crate::process::Child) dropped before it was reaped (with or without
//! [`kill_on_drop`](crate::process::Command::kill_on_drop), and with it any pending
//! [`wait`](crate::process::Child::wait) or
//! [`output`](crate::process::Command::output) future) joins the watch list as an
//! orphan (tokio's orphan queue): it is reaped on the first `SIGCHLD` after it
//! exits (the handler is installed before it joins) and, as a backstop, by the
//! next [`Command::spawn`](crate::process::Command::spawn). The limits:
//! - a child that never exits is never reaped: drop it with `kill_on_drop(true)`,
//!   or kill it;
//! - reaping on `SIGCHLD` needs a gorun runtime whose reactor polls the signal
//!   pipe (the one the `Child` was dropped in, or any other that listens for a
//!   signal) and a worker free to poll it: a task that blocks its thread (a
//!   `std::thread::sleep` loop) can hold up the reap, as it holds up all I/O;
//!   failing that, the next spawn reaps;
//! - something else in the process calling `waitpid(-1)` (or setting `SIGCHLD`
//!   to `SIG_IGN`) steals the statuses: waits then fail with `ECHILD`;
//! - whatever is left when the process exits goes to `init`, which reaps it.
//!
//! ```
//! use gorun_executor::process::Command;
//!
//! # gorun_executor::Runtime::builder().procs(2).build().unwrap().block_on(async {
//! let out = Command::new("sh").args(["-c", "echo hi; exit 3"]).output().await?;
//! assert_eq!(out.stdout, b"hi\n");
//! assert_eq!(out.status.code(), Some(3));
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```

mod child;
mod pipe;
mod reap;

use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

pub use child::Child;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};

/// Names the program in an error, keeping its kind: "spawn `prog`: No such file or
/// directory (os error 2)".
fn named(e: io::Error, what: &str, program: &str) -> io::Error {
    io::Error::new(e.kind(), format!("{what} `{program}`: {e}"))
}

/// A process builder: std's [`std::process::Command`] with asynchronous
/// [`spawn`](Command::spawn) results, [`status`](Command::status) and
/// [`output`](Command::output) (tokio's `tokio::process::Command`).
///
/// By default the child inherits the parent's stdin, stdout and stderr, except in
/// [`output`](Command::output), which pipes stdout and stderr (always) and gives
/// the child an empty stdin (unless one was configured).
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gorun_executor::process::Command;
/// use std::process::Stdio;
///
/// # gorun_executor::Runtime::builder().procs(2).build().unwrap().block_on(async {
/// let mut child = Command::new("tr")
///     .arg("a-z")
///     .arg("A-Z")
///     .stdin(Stdio::piped())
///     .stdout(Stdio::piped())
///     .kill_on_drop(true)
///     .spawn()?;
/// let mut stdin = child.stdin.take().unwrap();
/// stdin.write_all(b"hello").await?;
/// drop(stdin); // EOF for `tr`
/// let mut upper = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut upper).await?;
/// assert_eq!(upper, "HELLO");
/// assert!(child.wait().await?.success());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Whether stdin may have been configured (so `output` leaves it alone).
    stdin_set: bool,
    /// Forces the `SIGCHLD` path for this command's children (tests).
    sigchld: bool,
}

impl Command {
    /// A command running `program` (looked up in `PATH` if it has no `/`), with no
    /// arguments, the parent's environment and working directory.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            std: std::process::Command::new(program),
            kill_on_drop: false,
            stdin_set: false,
            sigchld: false,
        }
    }

    /// The std command inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, to configure what this type has no method for.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        self.stdin_set = true; // it may be set through this
        &mut self.std
    }

    /// The std command inside (dropping the `kill_on_drop` setting).
    pub fn into_std(self) -> std::process::Command {
        self.std
    }

    /// Adds an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment (then add what it needs with `env`).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Configures the child's stdin: [`Stdio::piped`] gives [`Child::stdin`].
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Configures the child's stdout: [`Stdio::piped`] gives [`Child::stdout`].
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// Configures the child's stderr: [`Stdio::piped`] gives [`Child::stderr`].
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether dropping the [`Child`] (or a [`status`](Command::status) or
    /// [`output`](Command::output) future) before it exited sends it `SIGKILL`.
    /// Off by default: the child runs on, and is reaped once it exits (see the
    /// module docs).
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The [`kill_on_drop`](Command::kill_on_drop) setting.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// Runs the child as user `id` (`setuid`).
    pub fn uid(&mut self, id: u32) -> &mut Command {
        self.std.uid(id);
        self
    }

    /// Runs the child as group `id` (`setgid`).
    pub fn gid(&mut self, id: u32) -> &mut Command {
        self.std.gid(id);
        self
    }

    /// Sets the child's process group (0: a new group led by the child).
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self
    }

    /// Sets the child's `argv[0]` (the name it sees for itself).
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// Runs `f` in the child after `fork` and before `exec`; see std's
    /// [`CommandExt::pre_exec`].
    ///
    /// # Safety
    ///
    /// As for std's: `f` runs in a forked copy of a multi-threaded process, so it
    /// may only do async-signal-safe things (no allocation, no locks).
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds std's contract, which this one repeats.
        unsafe { self.std.pre_exec(f) };
        self
    }

    /// Makes this command's children wait through the `SIGCHLD` watch list even
    /// where pidfds work: what the tests of that path use. Not a public API.
    #[doc(hidden)]
    pub fn __reap_with_sigchld(&mut self, yes: bool) -> &mut Command {
        self.sigchld = yes;
        self
    }

    fn program(&self) -> String {
        self.std.get_program().to_string_lossy().into_owned()
    }

    /// Starts the child. Piped streams are registered with the reactor of the
    /// current runtime (the global one outside any). Fails with the OS error of
    /// `fork`/`exec`, its message naming the program.
    ///
    /// Also reaps the orphans that have exited (see the module docs).
    pub fn spawn(&mut self) -> io::Result<Child> {
        reap::reap_watched();
        let mut std_child = self
            .std
            .spawn()
            .map_err(|e| named(e, "spawn", &self.program()))?;
        let proc = reap::Proc::new(std_child.id());
        let (stdin, stdout, stderr) = (
            std_child.stdin.take(),
            std_child.stdout.take(),
            std_child.stderr.take(),
        );
        // std's handle neither kills nor reaps on drop; `proc` owns the pid now.
        drop(std_child);
        let sigchld = self.sigchld || reap::sigchld_forced_by_env();
        let mut child = Child::new(proc, self.program(), self.kill_on_drop, sigchld);
        // If registering a pipe fails, `child` drops: killed if `kill_on_drop`, and
        // reaped either way.
        let register = |e| named(e, "register the pipes of", &child.program);
        child.stdin = stdin
            .map(ChildStdin::from_std)
            .transpose()
            .map_err(register)?;
        child.stdout = stdout
            .map(ChildStdout::from_std)
            .transpose()
            .map_err(register)?;
        child.stderr = stderr
            .map(ChildStderr::from_std)
            .transpose()
            .map_err(register)?;
        Ok(child)
    }

    /// Spawns the child and waits for it to exit. The child's streams inherit the
    /// parent's unless configured; piped ones are closed at once.
    ///
    /// The child is spawned when `status` is called, not when the future is first
    /// polled. Dropping the future drops the [`Child`] (see
    /// [`kill_on_drop`](Command::kill_on_drop)).
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + Send + 'static {
        let child = self.spawn();
        async move {
            let mut child = child?;
            // Close what the child might block on.
            drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Spawns the child with stdout and stderr piped (always, as tokio does) and
    /// stdin empty (unless configured), and collects its output: both streams are
    /// read to the end concurrently while waiting, so a child that writes much to
    /// both cannot block.
    ///
    /// The child is spawned when `output` is called. Dropping the future drops the
    /// [`Child`] (see [`kill_on_drop`](Command::kill_on_drop)).
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + Send + 'static {
        self.std.stdout(Stdio::piped());
        self.std.stderr(Stdio::piped());
        if !self.stdin_set {
            self.std.stdin(Stdio::null());
        }
        let child = self.spawn();
        if !self.stdin_set {
            // Leave the command as configured for a later `spawn`.
            self.std.stdin(Stdio::inherit());
        }
        async move { child?.wait_with_output().await }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            // Unknown for a std command: `output` leaves its stdin as it is.
            stdin_set: true,
            sigchld: false,
        }
    }
}
