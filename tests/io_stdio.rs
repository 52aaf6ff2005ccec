//! `gorun::io::{stdin, stdout, stderr}`: this test binary runs itself as a child
//! process (the mode in [`MODE`]) that copies its stdin to its stdout or stderr
//! with `gorun::io::copy`; the parent checks every byte.
//!
//! libtest prints its own lines on stdout before the test runs, so the child
//! writes [`MARK`] first and the parent compares what follows it; the child
//! exits right after the copy, before libtest could print more.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use gorun::io::AsyncReadExt;

/// The environment variable that makes the test binary a child: `stdout` or
/// `stderr`, where the copy goes.
const MODE: &str = "GORUN_STDIO_TEST_MODE";
const MARK: &[u8] = b"\n--gorun-stdio-begin--\n";

/// Deterministic bytes, newlines and invalid UTF-8 included.
fn data(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The child: copy stdin to `mode`'s stream, report the count on the other
/// stream, exit.
fn child(mode: &str) -> ! {
    for mut out in [
        Box::new(std::io::stdout()) as Box<dyn Write>,
        Box::new(std::io::stderr()),
    ] {
        out.write_all(MARK).unwrap();
        out.flush().unwrap();
    }
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    let to_stdout = match mode {
        "stdout" => true,
        "stderr" => false,
        other => panic!("unknown {MODE} {other:?}"),
    };
    let (n, after_eof) = rt.run(async move {
        let mut stdin = gorun::io::stdin();
        let n = if to_stdout {
            gorun::io::copy(&mut stdin, &mut gorun::io::stdout()).await
        } else {
            gorun::io::copy(&mut stdin, &mut gorun::io::stderr()).await
        }
        .unwrap();
        (n, stdin.read(&mut [0; 8]).await.unwrap())
    });
    let report = format!("copied {n}, then read {after_eof}");
    if to_stdout {
        eprint!("{report}");
    } else {
        print!("{report}");
    }
    std::io::stdout().flush().unwrap();
    std::process::exit(0)
}

/// What follows [`MARK`] in `out`.
fn after_mark(out: &[u8]) -> &[u8] {
    let at = out
        .windows(MARK.len())
        .position(|w| w == MARK)
        .unwrap_or_else(|| panic!("no mark in {:?}", String::from_utf8_lossy(out)));
    &out[at + MARK.len()..]
}

/// Runs the child test `test` in `mode` with `input` on its stdin; returns its
/// (stdout, stderr) after the marks.
fn run_child(test: &str, mode: &str, input: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(MODE, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&input).unwrap();
        // Dropped here: the child reads EOF.
    });
    let mut err = Vec::new();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        stderr.read_to_end(&mut err).unwrap();
        err
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap();
    let err = err_reader.join().unwrap();
    assert!(
        status.success(),
        "child failed: {status}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    (after_mark(&out).to_vec(), after_mark(&err).to_vec())
}

#[test]
fn stdin_copies_to_stdout() {
    if let Ok(mode) = std::env::var(MODE) {
        child(&mode);
    }
    for len in [0, 1, (3 << 20) + 7] {
        let input = data(len);
        let (out, err) = run_child("stdin_copies_to_stdout", "stdout", input.clone());
        assert_eq!(out.len(), input.len());
        assert!(out == input, "stdout differs from stdin ({len} bytes)");
        assert_eq!(
            String::from_utf8(err).unwrap(),
            format!("copied {len}, then read 0")
        );
    }
}

#[test]
fn stdin_copies_to_stderr() {
    if let Ok(mode) = std::env::var(MODE) {
        child(&mode);
    }
    let input = data((1 << 20) + 13);
    let (out, err) = run_child("stdin_copies_to_stderr", "stderr", input.clone());
    assert_eq!(err.len(), input.len());
    assert!(err == input, "stderr differs from stdin");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("copied {}, then read 0", input.len())
    );
}
