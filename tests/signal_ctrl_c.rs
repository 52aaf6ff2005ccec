//! `signal::ctrl_c` and `signal(SIGTERM)` in a child process: this test binary
//! re-runs itself with `GORUN_SIGNAL_CHILD` set, the child prints a readiness
//! line, the parent sends it the signal with `kill(2)`, and the child's handler
//! must run and the child exit 0 with a message. Every wait is bounded.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gorun::signal::{self, SignalKind};

const CHILD_ENV: &str = "GORUN_SIGNAL_CHILD";
const READY: &str = "CHILD READY";
const LIMIT: Duration = Duration::from_secs(30);

/// The child: listens, says so, blocks a moment (so the signal lands before the
/// listener is first polled), then waits for it at most 20 s.
fn child(mode: &str) {
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let waited = match mode {
            "int" => {
                let interrupted = signal::ctrl_c();
                println!("{READY}");
                std::thread::sleep(Duration::from_millis(200));
                gorun::time::timeout(Duration::from_secs(20), interrupted)
                    .await
                    .map(|r| r.unwrap())
            }
            "term" => {
                let mut term = signal::unix::signal(SignalKind::terminate()).unwrap();
                println!("{READY}");
                gorun::time::timeout(Duration::from_secs(20), term.recv())
                    .await
                    .map(|r| assert_eq!(r, Some(())))
            }
            other => panic!("unknown child mode {other}"),
        };
        match waited {
            Ok(()) => println!("CHILD GOT SIG{}", mode.to_uppercase()),
            Err(_) => panic!("the child waited 20 s for SIG{mode} in vain"),
        }
    });
}

/// Runs `test` in a child in `mode`, sends it `sig` once it is ready, and returns
/// its exit status and stdout.
fn run_child(test: &str, mode: &str, sig: libc::c_int) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (line_tx, line_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line.clone());
            all += &line;
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + LIMIT;
    loop {
        match line_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains(READY) => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                panic!("the child never became ready");
            }
        }
    }
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) takes no pointers; the pid of our own, still running child.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not exit after the signal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, reader.join().unwrap() + &stderr)
}

#[test]
fn ctrl_c_in_a_child_process() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        return child(&mode);
    }
    let (status, out) = run_child("ctrl_c_in_a_child_process", "int", libc::SIGINT);
    assert!(status.success(), "{status}:\n{out}");
    assert!(out.contains("CHILD GOT SIGINT"), "{out}");
}

#[test]
fn sigterm_in_a_child_process() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        return child(&mode);
    }
    let (status, out) = run_child("sigterm_in_a_child_process", "term", libc::SIGTERM);
    assert!(status.success(), "{status}:\n{out}");
    assert!(out.contains("CHILD GOT SIGTERM"), "{out}");
}
