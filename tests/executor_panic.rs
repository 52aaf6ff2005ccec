//! A panicking task does not take its worker down; the panic reaches its JoinHandle.

use gorun::Runtime;

#[test]
fn panic_reaches_join_handle_and_worker_survives() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        let err = gorun::go(async { panic!("boom {}", 42) })
            .await
            .unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.panic_message(), Some("boom 42"));
        assert!(err.to_string().contains("boom 42"));
        let payload = err.into_panic();
        // The compiler may fold a constant format into a `&'static str` payload.
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
        assert_eq!(text.as_deref(), Some("boom 42"));
        // The single worker is still alive and runs the next task.
        assert_eq!(gorun::go(async { 5 }).await.unwrap(), 5);
    });
}

#[test]
fn many_panics_on_all_workers() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let hs: Vec<_> = (0..1000)
            .map(|i| {
                gorun::go(async move {
                    gorun::yield_now().await;
                    if i % 2 == 0 {
                        panic!("even");
                    }
                    i
                })
            })
            .collect();
        let mut ok = 0;
        let mut panicked = 0;
        for h in hs {
            match h.await {
                Ok(_) => ok += 1,
                Err(e) if e.is_panic() => panicked += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, panicked), (500, 500));
    });
    assert_eq!(rt.num_tasks(), 0);
}

#[test]
fn panic_in_drop_of_output_or_future_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panicked");
        }
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        // The output panics when dropped by a detached task's completion.
        drop(gorun::go(async { PanicOnDrop }));
        // A future whose state panics on drop after completing.
        let h = gorun::go(async {
            let _guard = PanicOnDrop;
            1
        });
        assert!(h.await.unwrap_err().is_panic());
        assert_eq!(gorun::go(async { 2 }).await.unwrap(), 2);
    });
}

#[test]
fn try_into_panic_gives_back_a_cancelled_error() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        let h = gorun::go(std::future::pending::<()>());
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(err.panic_message().is_none());
        let err = err.try_into_panic().unwrap_err();
        assert_eq!(err.to_string(), "task was cancelled");
    });
}

/// `abort_on_panic(true)`: the process dies, as in Go. Checked in a child process.
#[test]
fn abort_on_panic_kills_the_process() {
    if std::env::var_os("GORUN_ABORT_CHILD").is_some() {
        let rt = Runtime::builder()
            .procs(1)
            .abort_on_panic(true)
            .build()
            .unwrap();
        let _ = rt.block_on(rt.spawn(async { panic!("fatal") }));
        std::process::exit(0); // not reached
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["abort_on_panic_kills_the_process", "--exact", "--nocapture"])
        .env("GORUN_ABORT_CHILD", "1")
        .output()
        .unwrap();
    assert!(!out.status.success(), "child survived a task panic");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("aborts on panic"), "{stderr}");
}
