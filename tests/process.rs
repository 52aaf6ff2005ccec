//! `gorun::process`: real children, through both reaping paths (the pidfd on the
//! reactor, and the `SIGCHLD` watch list forced with the hidden
//! `Command::__reap_with_sigchld`): output and exit codes, a 10 MB stdout, a stdin
//! round trip, kill, kill-on-drop, no zombie after a dropped `Child`, `wait` or
//! `output` future, 200 concurrent children, spawn errors, and waits outside any
//! runtime.
//!
//! Whether a child is gone is read from `/proc/<pid>/stat`: a zombie shows state
//! `Z` there until it is reaped, and the entry disappears only then. Every wait is
//! bounded.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gorun::io::{AsyncReadExt, AsyncWriteExt};
use gorun::process::Command;
use gorun::time::timeout;

const LONG: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    Pidfd,
    Sigchld,
}

fn cmd(path: Path, program: &str) -> Command {
    let mut c = Command::new(program);
    c.__reap_with_sigchld(path == Path::Sigchld);
    c
}

/// `pid`'s state letter in `/proc/<pid>/stat` if it is still a child of this
/// process (alive or a zombie), `None` once it is reaped.
fn child_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid: u32 = fields.next()?.parse().ok()?;
    (ppid == std::process::id()).then_some(state)
}

/// Waits (10 s at most) until `pid` is no longer a child of ours: killed or exited,
/// *and* reaped. Sleeps on the runtime's timer, so the worker stays free to poll
/// the reactor.
async fn assert_reaped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(state) = child_state(pid) {
        assert!(
            Instant::now() < deadline,
            "child {pid} not reaped after 10 s (state {state})"
        );
        gorun::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The pids of our children whose command line starts with `argv0`. Retried for
/// a while: `spawn` returns once the exec has begun (the close-on-exec pipe shut),
/// a moment before the kernel publishes the new command line.
fn children_named(argv0: &str) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.split(|&b| b == 0).next() == Some(argv0.as_bytes())
                && child_state(pid).is_some()
            {
                found.push(pid);
            }
        }
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether this process holds a pidfd for `pid` (its fdinfo names the pid).
fn holds_pidfd_for(pid: u32) -> bool {
    let want = format!("Pid:\t{pid}\n");
    std::fs::read_dir("/proc/self/fdinfo")
        .unwrap()
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|s| s.contains(&want)))
}

// --- the behaviours, run once per reaping path (see `both_paths!` below) ---

async fn output_has_both_streams_and_the_code(path: Path) {
    let out = cmd(path, "sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), Some(3));
    assert!(!out.status.success());
}

async fn ten_megabytes_of_stdout_are_all_read(path: Path) {
    const N: usize = 10 * 1024 * 1024;
    let mut child = cmd(path, "head")
        .args(["-c", &N.to_string(), "/dev/zero"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = vec![1u8; 64 * 1024];
    let mut total = 0;
    loop {
        let n = timeout(LONG, stdout.read(&mut buf)).await.unwrap().unwrap();
        if n == 0 {
            break;
        }
        assert!(buf[..n].iter().all(|&b| b == 0));
        total += n;
    }
    assert_eq!(total, N);
    assert!(child.wait().await.unwrap().success());
}

async fn output_drains_both_streams_while_waiting(path: Path) {
    // 4 MB on each stream: far more than a pipe holds, so reading only one, or
    // reading after the wait, would deadlock.
    let script = "head -c 4194304 /dev/zero; head -c 4194304 /dev/zero >&2; echo end >&2";
    let out = timeout(LONG, cmd(path, "sh").args(["-c", script]).output())
        .await
        .expect("no deadlock")
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), 4 << 20);
    assert_eq!(out.stderr.len(), (4 << 20) + 4);
    assert!(out.stderr.ends_with(b"end\n"));
}

async fn stdin_round_trips_through_cat(path: Path) {
    let mut child = cmd(path, "cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    // 1 MB: the writer and the reader must run at once (the pipes hold 64 KiB).
    let writer = gorun::go(async move {
        stdin.write_all(&data).await.unwrap();
        // `stdin` drops here: `cat` reads end-of-file.
    });
    let mut back = Vec::new();
    timeout(LONG, child.stdout.take().unwrap().read_to_end(&mut back))
        .await
        .unwrap()
        .unwrap();
    writer.await.unwrap();
    assert!(back == expected, "cat echoed {} bytes", back.len());
    assert!(child.wait().await.unwrap().success());
}

async fn wait_closes_stdin(path: Path) {
    let mut child = cmd(path, "cat").stdin(Stdio::piped()).spawn().unwrap();
    assert!(child.stdin.is_some());
    let status = timeout(LONG, child.wait()).await.expect("cat saw EOF");
    assert!(status.unwrap().success());
    assert!(child.stdin.is_none());
}

async fn kill_shows_the_signal_in_the_status(path: Path) {
    let mut child = cmd(path, "sleep").arg("30").spawn().unwrap();
    let pid = child.id().unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    timeout(LONG, child.kill()).await.unwrap().unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(child.try_wait().unwrap(), Some(status));
    assert_eq!(child.id(), None, "no pid once reaped");
    child.start_kill().unwrap(); // reaped: a no-op, never a stray signal
    assert_eq!(child_state(pid), None);
}

async fn kill_on_drop_kills_and_reaps(path: Path) {
    let child = cmd(path, "sleep")
        .arg("30")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    assert!(matches!(child_state(pid), Some('S' | 'R')));
    drop(child);
    assert_reaped(pid).await;
}

async fn a_dropped_wait_future_leaves_no_zombie(path: Path) {
    let mut child = cmd(path, "sleep").arg("0.3").spawn().unwrap();
    let pid = child.id().unwrap();
    // The wait parks (on the pidfd or the watch list), then is dropped.
    assert!(timeout(Duration::from_millis(20), child.wait())
        .await
        .is_err());
    // (`GORUN_PROCESS_REAPER=sigchld` sends every child through SIGCHLD.)
    let forced = std::env::var_os("GORUN_PROCESS_REAPER").is_some_and(|v| v == "sigchld");
    if path == Path::Pidfd && !forced {
        assert!(holds_pidfd_for(pid), "a pending wait parks on a pidfd");
    } else {
        assert!(!holds_pidfd_for(pid), "the SIGCHLD path opens no pidfd");
    }
    drop(child); // not killed: it exits by itself, then is reaped
    assert_reaped(pid).await;
    assert!(!holds_pidfd_for(pid));
}

async fn a_dropped_output_future_leaves_no_zombie(path: Path) {
    let argv0 = format!("gorun-test-output-{path:?}");
    let fut = cmd(path, "sleep").arg0(&argv0).arg("0.3").output();
    // Spawned when `output` was called.
    let pids = children_named(&argv0);
    assert_eq!(pids.len(), 1, "{argv0}: {pids:?}");
    assert!(timeout(Duration::from_millis(20), fut).await.is_err());
    assert_reaped(pids[0]).await;
}

async fn a_dropped_status_future_with_kill_on_drop_kills(path: Path) {
    let argv0 = format!("gorun-test-status-{path:?}");
    let fut = cmd(path, "sleep")
        .arg0(&argv0)
        .arg("30")
        .kill_on_drop(true)
        .status();
    let pids = children_named(&argv0);
    assert_eq!(pids.len(), 1, "{argv0}: {pids:?}");
    assert!(timeout(Duration::from_millis(20), fut).await.is_err());
    assert_reaped(pids[0]).await;
}

async fn two_hundred_concurrent_children(path: Path) {
    let waits: Vec<_> = (0..200)
        .map(|i| {
            let mut child = cmd(path, "sh")
                .args(["-c", &format!("exit {}", i % 7)])
                .spawn()
                .unwrap();
            gorun::go(async move { (i, child.wait().await) })
        })
        .collect();
    for h in waits {
        let (i, status) = timeout(LONG, h).await.unwrap().unwrap();
        assert_eq!(status.unwrap().code(), Some(i % 7));
    }
}

async fn status_of_true_and_false(path: Path) {
    assert!(cmd(path, "true").status().await.unwrap().success());
    assert_eq!(cmd(path, "false").status().await.unwrap().code(), Some(1));
}

macro_rules! both_paths {
    ($($name:ident),* $(,)?) => {
        mod pidfd {
            $(
                #[gorun::test(procs = 2)]
                async fn $name() {
                    super::$name(super::Path::Pidfd).await
                }
            )*
        }
        mod sigchld {
            $(
                #[gorun::test(procs = 2)]
                async fn $name() {
                    super::$name(super::Path::Sigchld).await
                }
            )*
        }
    };
}

both_paths!(
    output_has_both_streams_and_the_code,
    ten_megabytes_of_stdout_are_all_read,
    output_drains_both_streams_while_waiting,
    stdin_round_trips_through_cat,
    wait_closes_stdin,
    kill_shows_the_signal_in_the_status,
    kill_on_drop_kills_and_reaps,
    a_dropped_wait_future_leaves_no_zombie,
    a_dropped_output_future_leaves_no_zombie,
    a_dropped_status_future_with_kill_on_drop_kills,
    two_hundred_concurrent_children,
    status_of_true_and_false,
);

// --- once ---

#[gorun::test(procs = 2)]
async fn a_spawn_error_names_the_program() {
    let err = Command::new("gorun-no-such-program").spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let msg = err.to_string();
    assert!(
        msg.starts_with("spawn `gorun-no-such-program`: No such file or directory"),
        "{msg}"
    );
    let err = Command::new("/").output().await.unwrap_err();
    assert!(err.to_string().starts_with("spawn `/`: "), "{err}");
}

#[test]
fn waits_outside_any_runtime() {
    for path in [Path::Pidfd, Path::Sigchld] {
        futures::executor::block_on(async {
            let out = cmd(path, "sh")
                .args(["-c", "sleep 0.05; echo hi"])
                .output()
                .await
                .unwrap();
            assert_eq!(out.stdout, b"hi\n");
            let mut child = cmd(path, "sleep").arg("0.05").spawn().unwrap();
            assert!(child.wait().await.unwrap().success());
            let mut child = cmd(path, "sleep").arg("30").spawn().unwrap();
            child.kill().await.unwrap();
            assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
        });
    }
}

#[gorun::test(procs = 2)]
async fn one_child_pipes_into_another() {
    let mut echo = Command::new("echo")
        .arg("piped along")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout: Stdio = echo.stdout.take().unwrap().try_into().unwrap();
    let out = Command::new("tr")
        .args(["a-z", "A-Z"])
        .stdin(stdout)
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout, b"PIPED ALONG\n");
    assert!(echo.wait().await.unwrap().success());
}

#[gorun::test(procs = 2)]
async fn a_pipe_goes_back_to_a_blocking_fd() {
    use std::io::Read;
    let mut child = Command::new("echo")
        .arg("blocking")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let fd = child.stdout.take().unwrap().into_owned_fd().unwrap();
    let mut text = String::new();
    // A plain blocking read on a thread: no WouldBlock.
    std::fs::File::from(fd).read_to_string(&mut text).unwrap();
    assert_eq!(text, "blocking\n");
    assert!(child.wait().await.unwrap().success());
}

#[gorun::test(procs = 2)]
async fn builder_methods_reach_the_child() {
    let dir = std::env::temp_dir();
    let out = Command::new("sh")
        .args(["-c", "echo \"$A $B $HOME\"; pwd"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .envs([("A", "1"), ("B", "2")])
        .env("HOME", "h")
        .env_remove("HOME")
        .current_dir(&dir)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("1 2 "));
    let pwd = std::fs::canonicalize(lines.next().unwrap()).unwrap();
    assert_eq!(pwd, std::fs::canonicalize(&dir).unwrap());

    // `output` gives an empty stdin unless one was configured.
    let out = Command::new("cat").output().await.unwrap();
    assert!(out.stdout.is_empty() && out.status.success());

    let mut std_cmd = std::process::Command::new("sh");
    std_cmd.args(["-c", "exit 5"]);
    let mut cmd = Command::from(std_cmd);
    assert!(!cmd.get_kill_on_drop());
    cmd.kill_on_drop(true);
    assert!(cmd.get_kill_on_drop());
    assert_eq!(cmd.as_std().get_program(), "sh");
    assert_eq!(cmd.status().await.unwrap().code(), Some(5));
}

#[gorun::test(procs = 2)]
async fn a_process_group_of_its_own() {
    let mut child = Command::new("sleep")
        .arg("30")
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: getpgid(2) takes no pointers.
    assert_eq!(unsafe { libc::getpgid(pid) }, pid);
    child.kill().await.unwrap();
}

#[test]
fn the_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Command>();
    send_sync::<gorun::process::Child>();
    send_sync::<gorun::process::ChildStdin>();
    send_sync::<gorun::process::ChildStdout>();
    send_sync::<gorun::process::ChildStderr>();
    let mut cmd = Command::new("true");
    let status = cmd.status();
    send(&status);
    futures::executor::block_on(status).unwrap();
    let mut child = cmd.spawn().unwrap();
    send(&child.wait());
    send(&child.kill());
    send(&Command::new("true").output());
}

/// tokio's I/O traits on the pipes (feature `tokio-io`), with tokio's own
/// extension methods.
#[cfg(feature = "tokio-io")]
mod tokio_io {
    use std::process::Stdio;

    use gorun::process::Command;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[gorun::test(procs = 2)]
    async fn tokio_read_and_write_ext_on_the_pipes() {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"through tokio's traits").await.unwrap();
        stdin.shutdown().await.unwrap();
        drop(stdin);
        let mut out = String::new();
        let stdout = child.stdout.as_mut().unwrap();
        stdout.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "through tokio's traits");
        assert!(child.wait().await.unwrap().success());
    }
}
