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
