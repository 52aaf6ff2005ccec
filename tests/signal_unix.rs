//! Unix signals delivered to this process: `signal(kind)`, broadcast to several
//! listeners, a delivery before `recv`, several runtimes, `select!` cases, the
//! `notify` channel, and the signals that cannot be handled.
//!
//! Each test uses its own signal, so tests running in parallel threads do not see
//! each other's deliveries, and every listener exists before its signal is sent
//! (before that, the default action would end the test process). Every wait is
//! bounded by a timeout.

use std::io;
use std::time::Duration;

use gorun::signal::{self, SignalKind};
use gorun::time::{sleep, timeout};
use gorun::{chan, select};

const LONG: Duration = Duration::from_secs(10);

/// Sends `sig` to this process, as `kill -SIG <pid>` would.
fn raise(sig: libc::c_int) {
    // SAFETY: kill(2) takes no pointers; our own pid and a valid signal number.
    let r = unsafe { libc::kill(libc::getpid(), sig) };
    assert_eq!(r, 0, "kill: {}", io::Error::last_os_error());
}

#[gorun::test(procs = 2)]
async fn sigterm_reaches_a_signal_listener() {
    let mut term = signal::unix::signal(SignalKind::terminate()).unwrap();
    assert_eq!(term.kind(), SignalKind::terminate());
    let sender = gorun::go(async {
        sleep(Duration::from_millis(20)).await;
        raise(libc::SIGTERM);
    });
    assert_eq!(timeout(LONG, term.recv()).await, Ok(Some(())));
    sender.await.unwrap();
}

#[gorun::test(procs = 2)]
async fn every_listener_is_woken() {
    let (ready_tx, ready_rx) = chan::<()>(0);
    let listeners: Vec<_> = (0..3)
        .map(|_| {
            let mut s = signal::signal(SignalKind::user_defined1()).unwrap();
            let ready = ready_tx.clone();
            gorun::go(async move {
                ready.send(()).await.unwrap();
                timeout(LONG, s.recv()).await
            })
        })
        .collect();
    for _ in 0..3 {
        ready_rx.recv().await.unwrap();
    }
    sleep(Duration::from_millis(20)).await; // let them park in recv
    raise(libc::SIGUSR1);
    for h in listeners {
        assert_eq!(h.await.unwrap(), Ok(Some(())));
    }
}

#[gorun::test(procs = 2)]
async fn a_signal_sent_before_recv_is_not_lost() {
    let mut s = signal::signal(SignalKind::user_defined2()).unwrap();
    let mut later = signal::signal(SignalKind::user_defined2()).unwrap();
    raise(libc::SIGUSR2);
    sleep(Duration::from_millis(50)).await; // dispatched while nobody waits
    assert_eq!(timeout(LONG, s.recv()).await, Ok(Some(())));
    assert_eq!(timeout(LONG, later.recv()).await, Ok(Some(())));
    // Delivered once: no second wake-up without a second signal.
    assert!(timeout(Duration::from_millis(100), s.recv()).await.is_err());
    raise(libc::SIGUSR2);
    assert_eq!(timeout(LONG, s.recv()).await, Ok(Some(())));
    // A listener made after a delivery does not see it.
    let mut fresh = signal::signal(SignalKind::user_defined2()).unwrap();
    assert!(timeout(Duration::from_millis(100), fresh.recv())
        .await
        .is_err());
}

#[test]
fn signals_that_cannot_be_handled_are_errors() {
    for sig in [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
    ] {
        let err = signal::signal(SignalKind::from_raw(sig)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{sig}: {err}");
        assert!(err.to_string().contains("cannot be handled"), "{err}");
    }
    for sig in [0, -1, 100_000] {
        let err = signal::signal(SignalKind::from_raw(sig)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{sig}: {err}");
    }
    let err =
        signal::notify(&[SignalKind::hangup(), SignalKind::from_raw(libc::SIGKILL)]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        format!("{:?}", SignalKind::from_raw(libc::SIGKILL)),
        "SIGKILL"
    );
}

#[gorun::test(procs = 2)]
async fn select_with_a_signal_case_and_a_timer_case() {
    let mut quit = signal::signal(SignalKind::quit()).unwrap();
    let first = select! {
        _ = quit.recv() => "signal",
        recv(gorun::time::after(Duration::from_millis(30))) -> _ => "timer",
    };
    assert_eq!(first, "timer");
    let sender = gorun::go(async {
        sleep(Duration::from_millis(20)).await;
        raise(libc::SIGQUIT);
    });
    let second = select! {
        v = quit.recv() => { assert_eq!(v, Some(())); "signal" }
        recv(gorun::time::after(LONG)) -> _ => "timer",
    };
    assert_eq!(second, "signal");
    sender.await.unwrap();
}

#[gorun::test(procs = 2)]
async fn notify_is_a_channel_for_select() {
    let rx = signal::notify(&[SignalKind::alarm(), SignalKind::window_change()]).unwrap();
    raise(libc::SIGALRM);
    let got = select! {
        recv(rx) -> s => s,
        recv(gorun::time::after(LONG)) -> _ => None,
    };
    assert_eq!(got, Some(SignalKind::alarm()));
    raise(libc::SIGWINCH);
    assert_eq!(
        timeout(LONG, rx.recv()).await,
        Ok(Some(SignalKind::window_change()))
    );
}

#[test]
fn several_runtimes_each_get_the_signal() {
    let sig = libc::SIGRTMIN() + 1;
    let kind = SignalKind::from_raw(sig);
    let rt1 = gorun::Runtime::builder().procs(1).build().unwrap();
    let rt2 = gorun::Runtime::builder().procs(1).build().unwrap();
    // Each task reports "listening", then whether its first recv got the signal.
    let (report_tx, report_rx) = std::sync::mpsc::channel::<&str>();
    let wait_in = |rt: &gorun::Runtime| {
        let report = report_tx.clone();
        rt.spawn(async move {
            let mut s = signal::signal(kind).unwrap();
            report.send("listening").unwrap();
            let first = timeout(LONG, s.recv()).await;
            report
                .send(if first.is_ok() { "got it" } else { "timed out" })
                .unwrap();
            timeout(LONG, s.recv()).await
        })
    };
    let (h1, h2) = (wait_in(&rt1), wait_in(&rt2));
    for _ in 0..2 {
        assert_eq!(report_rx.recv_timeout(LONG), Ok("listening"));
    }
    std::thread::sleep(Duration::from_millis(20));
    raise(sig);
    for _ in 0..2 {
        assert_eq!(report_rx.recv_timeout(LONG), Ok("got it"));
    }
    // Dropping one runtime (its reactor, its waiting task) does not stop the
    // other runtime's signals.
    drop(h1);
    drop(rt1);
    raise(sig);
    assert_eq!(rt2.block_on(h2).unwrap(), Ok(Some(())));
}
