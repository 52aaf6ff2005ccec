//! `#[gorun::main]` and `#[gorun::test]`: the body runs as a task on the
//! scheduler, options are honoured, leaked tasks fail a test (goleak), `Result`
//! return types work.

use std::time::Duration;

#[gorun::test]
async fn the_body_runs_as_a_task_on_a_worker() {
    let name = std::thread::current().name().map(str::to_owned);
    assert!(
        name.as_deref()
            .is_some_and(|n| n.starts_with("gorun-worker")),
        "body ran on {name:?}, not on a worker"
    );
    // The body itself is a live task.
    assert!(gorun::num_tasks() >= 1);
}

#[gorun::test(procs = 3)]
async fn procs_sets_the_number_of_processors() {
    assert_eq!(gorun::procs(), 3);
}

#[gorun::main(procs = 2)]
async fn compute() -> (usize, u32) {
    let h = gorun::go(async { 20 + 1 });
    (gorun::procs(), h.await.unwrap() * 2)
}

#[test]
fn main_on_another_fn_makes_a_blocking_fn_returning_the_output() {
    assert_eq!(compute(), (2, 42));
}

#[gorun::test]
async fn a_result_test_may_use_the_question_mark() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = "12".parse()?;
    assert_eq!(n, 12);
    Ok(())
}

#[gorun::test]
#[ignore = "run by `an_err_fails_the_test` in a child process"]
async fn returns_err() -> Result<(), Box<dyn std::error::Error>> {
    Err("boom from returns_err".into())
}

#[test]
fn an_err_fails_the_test() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "returns_err", "--nocapture"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the test passed:\n{text}");
    assert!(text.contains("boom from returns_err"), "{text}");
    assert!(text.contains("1 failed"), "{text}");
}

#[gorun::test]
#[should_panic(expected = "still alive")]
async fn a_leaked_task_fails_the_test() {
    // A goroutine blocked forever on a channel nobody sends on.
    let (tx, rx) = gorun::chan::<()>(0);
    std::mem::forget(tx);
    gorun::go(async move {
        let _ = rx.recv().await;
    });
}

#[test]
fn the_leak_report_names_the_spawn_location() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_leaked_task_fails_the_test", "--nocapture"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 task(s) still alive"), "{text}");
    assert!(
        text.contains("tests/macro_entry.rs:"),
        "no spawn location:\n{text}"
    );
}

#[gorun::test(leak_check = false)]
async fn leak_check_false_allows_leaks() {
    let (tx, rx) = gorun::chan::<()>(0);
    std::mem::forget(tx);
    gorun::go(async move {
        let _ = rx.recv().await;
    });
}

#[gorun::test]
async fn tasks_that_finish_within_the_grace_period_are_not_leaks() {
    let (tx, rx) = gorun::chan::<()>(0);
    gorun::go(async move {
        let _ = rx.recv().await;
    });
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.blocking_send(()).unwrap();
    });
}

#[gorun::test(start_paused = true, procs = 1)]
async fn start_paused_is_accepted() {
    assert_eq!(gorun::procs(), 1);
}

#[gorun::test(flavor = "current_thread")]
async fn current_thread_runs_the_body_and_its_tasks_on_the_test_thread() {
    // Not `Send`: the body stays on this thread.
    let here = std::rc::Rc::new(std::thread::current().id());
    let task = gorun::go(async { std::thread::current().id() });
    assert_eq!(task.await.unwrap(), *here);
    assert_eq!(gorun::procs(), 1);
}

#[gorun::test(flavor = "current_thread", start_paused = true)]
async fn current_thread_with_a_paused_clock() {
    let start = gorun::time::Instant::now();
    gorun::time::sleep(Duration::from_secs(3600)).await;
    assert!(start.elapsed() >= Duration::from_secs(3600));
}

#[gorun::test(flavor = "current_thread")]
async fn current_thread_tasks_finishing_after_the_body_are_not_leaks() {
    // The task runs only while the leak check waits in block_on.
    gorun::go(async {
        gorun::time::sleep(Duration::from_millis(10)).await;
    });
}

#[gorun::test(flavor = "current_thread")]
#[should_panic(expected = "still alive")]
async fn current_thread_leaks_are_caught() {
    let (tx, rx) = gorun::chan::<()>(0);
    std::mem::forget(tx);
    gorun::go(async move {
        let _ = rx.recv().await;
    });
}

#[gorun::main(flavor = "current_thread")]
async fn local_main() -> usize {
    let cell = std::rc::Rc::new(std::cell::Cell::new(1));
    let h = gorun::go(async { 41 });
    cell.set(cell.get() + h.await.unwrap());
    cell.get()
}

#[test]
fn current_thread_main_takes_a_non_send_body() {
    assert_eq!(local_main(), 42);
}

#[gorun::test(flavor = "multi_thread", worker_threads = 3)]
async fn worker_threads_is_procs() {
    assert_eq!(gorun::procs(), 3);
}

#[gorun::test(procs = 1, watchdog = Some(Duration::from_millis(5)))]
async fn watchdog_threshold_from_the_attribute() {
    gorun::go(async { std::thread::sleep(Duration::from_millis(60)) })
        .await
        .unwrap();
    // The monitor samples every threshold / 4; it reports while the poll runs.
    assert!(gorun::Handle::current().metrics().blocking_polls >= 1);
}

#[gorun::test(procs = 1, watchdog = None)]
async fn watchdog_off_from_the_attribute() {
    gorun::go(async { std::thread::sleep(Duration::from_millis(60)) })
        .await
        .unwrap();
    assert_eq!(gorun::Handle::current().metrics().blocking_polls, 0);
}
