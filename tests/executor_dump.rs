//! Task dumps and the leak check behind `#[gorun::test]`.

use gorun::{Runtime, TaskState};

#[test]
fn dump_lists_each_live_task_with_its_spawn_location() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let line = line!() + 1;
    let a = rt.spawn(std::future::pending::<()>());
    let b = rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(200)));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let dump = rt.handle().dump();
    assert_eq!(dump.tasks.len(), 2);
    let pending = dump
        .tasks
        .iter()
        .find(|t| t.location.line() == line)
        .expect("the pending task is listed at its spawn line");
    assert!(pending.location.file().ends_with("executor_dump.rs"));
    assert_eq!(pending.state, TaskState::Waiting);
    let blocking = dump
        .tasks
        .iter()
        .find(|t| t.location.line() == line + 1)
        .unwrap();
    assert_eq!(blocking.state, TaskState::Running);
    let text = dump.to_string();
    assert!(
        text.contains("2 live task(s)") && text.contains("executor_dump.rs"),
        "{text}"
    );
    a.abort();
    rt.block_on(b).unwrap();
}

#[test]
fn go_records_the_caller_not_the_runtime() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (line, h) = rt.block_on(async { (line!(), gorun::go(std::future::pending::<()>())) });
    let dump = rt.handle().dump();
    assert_eq!(dump.tasks[0].location.line(), line);
    h.abort();
}

/// Tasks spawned on the caller's behalf carry the caller's line as their spawn
/// site (the name traces and long-poll reports give them too), not a line inside
/// gorun.
#[test]
fn run_errgroup_and_after_func_name_their_callers() {
    fn lines_here(dump: &gorun::TaskDump) -> Vec<u32> {
        let mut v: Vec<u32> = dump
            .tasks
            .iter()
            .filter(|t| t.location.file().ends_with("executor_dump.rs"))
            .map(|t| t.location.line())
            .collect();
        v.sort_unstable();
        v
    }
    let rt = Runtime::builder().procs(2).build().unwrap();
    let run_line = line!() + 1;
    let seen = rt.run(async { lines_here(&gorun::Handle::current().dump()) });
    assert_eq!(seen, [run_line], "Runtime::run's task");

    let (lines, go_line, try_go_line) = rt.run(async {
        let g = gorun::errgroup::Group::<()>::new();
        g.set_limit(4);
        let (tx, rx) = gorun::chan::<()>(0);
        let rx2 = rx.clone();
        let go_line = line!() + 1;
        g.go(async move { rx.recv().await.map_or(Ok(()), |_| Ok(())) })
            .await;
        let try_go_line = line!() + 1;
        assert!(g.try_go(async move { rx2.recv().await.map_or(Ok(()), |_| Ok(())) }));
        let lines = lines_here(&gorun::Handle::current().dump());
        drop(tx);
        g.wait().await.unwrap();
        (lines, go_line, try_go_line)
    });
    assert!(
        lines.contains(&go_line),
        "{lines:?} lacks errgroup go at {go_line}"
    );
    assert!(
        lines.contains(&try_go_line),
        "{lines:?} lacks try_go at {try_go_line}"
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let after_line = line!() + 2;
    let _t = rt.block_on(async move {
        gorun::time::after_func(Duration::from_millis(1), move || {
            let _ = tx.send(lines_here(&gorun::Handle::current().dump()));
        })
    });
    let lines = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        lines.contains(&after_line),
        "{lines:?} lacks after_func at {after_line}"
    );
}

#[test]
fn test_harness_reports_leaked_tasks() {
    let opts = gorun::__private::Options::default();
    let out = gorun::__private::run_test(opts.clone(), async { 5 });
    assert_eq!(out, 5);
    let leak_line = line!() + 3;
    let p = std::panic::catch_unwind(|| {
        gorun::__private::run_test(opts, async {
            gorun::go(std::future::pending::<()>());
        })
    })
    .unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(msg.contains("1 task(s) still alive"), "{msg}");
    assert!(
        msg.contains(&format!("executor_dump.rs:{leak_line}")),
        "{msg}"
    );
    // Opting out.
    let relaxed = gorun::__private::Options {
        leak_check: false,
        ..Default::default()
    };
    gorun::__private::run_test(relaxed, async {
        gorun::go(std::future::pending::<()>());
    });
}

// --- What a waiting task waits on (issue 7) ---

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use gorun::WaitReason;

/// Waits (bounded) until every task spawned at one of `lines` is `Waiting`.
fn wait_until_waiting(rt: &Runtime, lines: &[u32]) -> gorun::TaskDump {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dump = rt.handle().dump();
        let all = lines.iter().all(|l| {
            dump.tasks
                .iter()
                .any(|t| t.location.line() == *l && t.state == TaskState::Waiting)
        });
        if all {
            return dump;
        }
        assert!(Instant::now() < deadline, "tasks never all waited:\n{dump}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn dump_says_what_each_waiting_task_waits_on() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let mut want: Vec<(WaitReason, u32)> = Vec::new();
    let mut handles = Vec::new();
    macro_rules! spawn {
        ($reason:expr, $fut:expr) => {{
            want.push(($reason, line!()));
            handles.push(rt.spawn($fut));
        }};
    }

    let (_tx, rx) = gorun::chan::<u32>(0);
    spawn!(WaitReason::ChanRecv, async move {
        rx.recv().await;
    });
    let (tx, _rx) = gorun::chan::<u32>(0);
    spawn!(WaitReason::ChanSend, async move {
        let _ = tx.send(1).await;
    });
    let (_t1, r1) = gorun::chan::<u32>(0);
    let (_t2, r2) = gorun::chan::<u32>(0);
    spawn!(WaitReason::Select, async move {
        gorun::select! {
            recv(r1) -> _ => {},
            recv(r2) -> _ => {},
            recv(gorun::time::after(Duration::from_secs(3600))) -> _ => {},
        }
    });
    spawn!(WaitReason::Sleep, async {
        gorun::time::sleep(Duration::from_secs(3600)).await
    });
    let (_t3, r3) = gorun::chan::<u32>(0);
    spawn!(WaitReason::Timeout, async move {
        let _ = gorun::time::timeout(Duration::from_secs(3600), r3.recv()).await;
    });
    spawn!(WaitReason::Ticker, async {
        let mut t = gorun::time::interval(Duration::from_secs(3600));
        t.tick().await;
        t.tick().await;
    });
    let pending = rt.spawn(std::future::pending::<()>());
    spawn!(WaitReason::Join, async move {
        let _ = pending.await;
    });
    let m = Arc::new(gorun::sync::Mutex::new(()));
    let held = m.clone().try_lock_owned().unwrap();
    spawn!(WaitReason::Lock, async move {
        drop(m.lock().await);
    });
    let sem = Arc::new(gorun::sync::Semaphore::new(0));
    spawn!(WaitReason::Semaphore, async move {
        drop(sem.acquire().await.unwrap());
    });
    let wg = gorun::sync::WaitGroup::new();
    let guard = wg.add(1);
    spawn!(WaitReason::WaitGroup, async move { wg.wait().await });
    let notify = Arc::new(gorun::sync::Notify::new());
    let n2 = notify.clone();
    spawn!(WaitReason::Notify, async move { n2.notified().await });
    let (ctx, _cancel) = gorun::context::with_cancel(&gorun::context::Context::background());
    spawn!(WaitReason::ContextDone, async move { ctx.done().await });
    let cell = Arc::new(gorun::sync::OnceCell::<u32>::new());
    let c2 = cell.clone();
    spawn!(WaitReason::Other, async move {
        // Holds the initializer slot forever; its own wait is unknown to gorun.
        c2.get_or_init(std::future::pending::<u32>).await;
    });
    std::thread::sleep(Duration::from_millis(20));
    spawn!(WaitReason::Once, async move {
        cell.get_or_init(|| async { 1 }).await;
    });
    spawn!(WaitReason::ErrGroup, async {
        let g = gorun::errgroup::Group::<()>::new();
        g.go(std::future::pending()).await;
        let _ = g.wait().await;
    });

    // Sockets: accept, read and write readiness.
    let listener = rt
        .block_on(gorun::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    spawn!(WaitReason::IoAccept, async move {
        let _ = listener.accept().await;
    });
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let reader = rt
        .block_on(gorun::net::TcpStream::connect(peer_addr))
        .unwrap();
    let (_peer_r, _) = peer.accept().unwrap();
    spawn!(WaitReason::IoRead, async move {
        let mut reader = reader;
        let mut buf = [0u8; 16];
        let _ = reader.read(&mut buf).await;
    });
    let writer = rt
        .block_on(gorun::net::TcpStream::connect(peer_addr))
        .unwrap();
    let (_peer_w, _) = peer.accept().unwrap();
    spawn!(WaitReason::IoWrite, async move {
        // The peer never reads: the socket buffers fill, then the write waits.
        let mut writer = writer;
        let chunk = vec![0u8; 1 << 20];
        while writer.write_all(&chunk).await.is_ok() {}
    });
    let _ = addr;

    let lines: Vec<u32> = want.iter().map(|w| w.1).collect();
    let dump = wait_until_waiting(&rt, &lines);
    for (reason, line) in &want {
        let t = dump
            .tasks
            .iter()
            .find(|t| t.location.line() == *line)
            .unwrap_or_else(|| panic!("no task at line {line}:\n{dump}"));
        assert_eq!(t.wait, Some(*reason), "task at line {line}:\n{dump}");
        assert!(t.age < Duration::from_secs(60), "{:?}", t.age);
    }
    let text = dump.to_string();
    eprintln!("{text}");
    for s in [
        "[chan receive, ",
        "[select, ",
        "[sleep, ",
        "[IO wait (write), ",
    ] {
        assert!(text.contains(s), "{s} missing in\n{text}");
    }
    for h in &handles {
        h.abort();
    }
    notify.notify_waiters();
    drop((held, guard));
    drop(rt);
}

#[test]
fn dump_ages_grow_and_running_tasks_have_no_wait_reason() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let line = line!() + 1;
    let h = rt.spawn(std::future::pending::<()>());
    let first = wait_until_waiting(&rt, &[line]);
    std::thread::sleep(Duration::from_millis(100));
    let second = rt.handle().dump();
    let age = |d: &gorun::TaskDump| {
        d.tasks
            .iter()
            .find(|t| t.location.line() == line)
            .unwrap()
            .age
    };
    assert!(age(&second) >= age(&first) + Duration::from_millis(50));
    assert_eq!(first.tasks[0].wait, Some(WaitReason::Other));
    h.abort();

    // A task that is being polled shows as running, without a wait reason.
    let started = Arc::new(AtomicBool::new(false));
    let s2 = started.clone();
    let line = line!() + 1;
    let h = rt.spawn(async move {
        s2.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
    });
    while !started.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let dump = rt.handle().dump();
    let t = dump
        .tasks
        .iter()
        .find(|t| t.location.line() == line)
        .unwrap();
    assert_eq!((t.state, t.wait), (TaskState::Running, None));
    rt.block_on(h).unwrap();
}

// --- The watchdog: polls that block their worker ---

type Reports = Arc<Mutex<Vec<gorun::BlockingPoll>>>;

fn watched(threshold: Option<Duration>) -> (Runtime, Reports) {
    let reports: Reports = Arc::default();
    let r = reports.clone();
    let rt = Runtime::builder()
        .procs(2)
        .watchdog(threshold)
        .on_blocking_poll(move |p| r.lock().unwrap().push(p.clone()))
        .build()
        .unwrap();
    (rt, reports)
}

/// Waits (bounded) for `n` reports.
fn wait_for_reports(reports: &Reports, n: usize) -> Vec<gorun::BlockingPoll> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = reports.lock().unwrap().clone();
        if r.len() >= n || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn watchdog_reports_a_blocking_poll_once_per_task_while_it_runs() {
    let (rt, reports) = watched(Some(Duration::from_millis(20)));
    let done = Arc::new(AtomicBool::new(false));
    let d2 = done.clone();
    let line = line!() + 1;
    let h = rt.spawn(async move {
        std::thread::sleep(Duration::from_millis(300));
        // A second blocking poll of the same task is not reported again.
        gorun::yield_now().await;
        std::thread::sleep(Duration::from_millis(60));
        d2.store(true, Ordering::SeqCst);
    });
    let r = wait_for_reports(&reports, 1);
    assert_eq!(r.len(), 1, "{r:?}");
    // Reported while the poll was still running, not after it returned.
    assert!(!done.load(Ordering::SeqCst));
    assert_eq!(r[0].location.line(), line);
    assert!(r[0].location.file().ends_with("executor_dump.rs"));
    assert!(
        r[0].elapsed >= Duration::from_millis(20),
        "{:?}",
        r[0].elapsed
    );
    let text = r[0].to_string();
    assert!(
        text.contains("executor_dump.rs") && text.contains("blocked its worker"),
        "{text}"
    );
    rt.block_on(h).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(reports.lock().unwrap().len(), 1);
    assert_eq!(rt.handle().metrics().blocking_polls, 1);

    // A second task blocking the same way is reported too, and its dump says so.
    let line = line!() + 1;
    let h = rt.spawn(async {
        std::thread::sleep(Duration::from_millis(60));
        std::future::pending::<()>().await;
    });
    let r = wait_for_reports(&reports, 2);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(r[1].location.line(), line);
    let dump = wait_until_waiting(&rt, &[line]);
    let t = dump
        .tasks
        .iter()
        .find(|t| t.location.line() == line)
        .unwrap();
    assert!(t.blocked_worker);
    assert!(dump.to_string().contains("blocked a worker"), "{dump}");
    assert_eq!(rt.handle().metrics().blocking_polls, 2);
    h.abort();
}

/// A poll that computes (no syscall, all CPU) is reported like one that sleeps: the
/// watchdog discounts only time the worker was runnable but off the CPU.
#[test]
fn watchdog_reports_a_poll_that_spins_on_the_cpu() {
    let (rt, reports) = watched(Some(Duration::from_millis(20)));
    let line = line!() + 1;
    let h = rt.spawn(async {
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(200) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        x
    });
    let r = wait_for_reports(&reports, 1);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].location.line(), line);
    rt.block_on(h).unwrap();
}

#[test]
fn watchdog_ignores_short_polls_and_can_be_disabled() {
    let (rt, reports) = watched(Some(Duration::from_millis(50)));
    let hs: Vec<_> = (0..200)
        .map(|_| rt.spawn(async { std::thread::sleep(Duration::from_micros(200)) }))
        .collect();
    for h in hs {
        rt.block_on(h).unwrap();
    }
    assert!(reports.lock().unwrap().is_empty());

    let (rt, reports) = watched(None);
    let h = rt.spawn(async { std::thread::sleep(Duration::from_millis(60)) });
    rt.block_on(h).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(reports.lock().unwrap().is_empty());
    assert_eq!(rt.handle().metrics().blocking_polls, 0);
}

#[test]
fn metrics_count_spawned_completed_and_live_tasks() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let before = rt.handle().metrics();
    let hs: Vec<_> = (0..50).map(|i| rt.spawn(async move { i })).collect();
    for h in hs {
        rt.block_on(h).unwrap();
    }
    let p = rt.spawn(std::future::pending::<()>());
    let m = rt.handle().metrics();
    assert_eq!(m.spawned - before.spawned, 51);
    assert_eq!(m.completed - before.completed, 50);
    assert_eq!(m.spawned - m.completed, m.num_tasks);
    assert_eq!(m.num_tasks, 1);
    assert_eq!(m.local_queue_depths.len(), 2);
    assert_eq!(m.blocking_polls, 0);
    p.abort();
}

/// Voluntary context switches of this process's threads named `name`.
#[cfg(target_os = "linux")]
fn wakeups(name: &str) -> Option<u64> {
    let mut found = None;
    for e in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = e.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).ok()?;
        let line = status
            .lines()
            .find(|l| l.starts_with("voluntary_ctxt_switches"))?;
        found = Some(line.split_whitespace().nth(1)?.parse().ok()?);
    }
    found
}

#[cfg(target_os = "linux")]
#[test]
fn watchdog_sleeps_while_the_runtime_is_idle() {
    let rt = Runtime::builder()
        .procs(2)
        .thread_name("wdidle")
        .build()
        .unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..100).map(|_| gorun::go(gorun::yield_now())).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(50));
    let before = wakeups("wdidle-watchdog").expect("the watchdog thread runs");
    std::thread::sleep(Duration::from_millis(500));
    let after = wakeups("wdidle-watchdog").unwrap();
    // Sampling every 2.5 ms would be ~200 wake-ups; an idle monitor sleeps.
    assert!(
        after - before <= 2,
        "{} wake-ups while idle",
        after - before
    );
    // And it wakes again for work: a blocking poll is still caught.
    let h = rt.spawn(async { std::thread::sleep(Duration::from_millis(60)) });
    rt.block_on(h).unwrap();
    assert!(wakeups("wdidle-watchdog").unwrap() > after);
    assert_eq!(rt.handle().metrics().blocking_polls, 1);
}
