//! The `tokio-compat` feature: code that calls tokio's runtime from inside runs on
//! gorun's threads (tasks, blocking closures, `block_on`, both runtime flavors).

use std::time::{Duration, Instant};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn tokio_sleep_and_timeout_work_in_a_gorun_task() {
    rt().run(async {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(t.elapsed() >= Duration::from_millis(20));
        // tokio's timeout around a gorun channel: both runtimes' wakers meet.
        let (tx, rx) = gorun::chan::<u32>(0);
        gorun::go(async move {
            gorun::time::sleep(Duration::from_millis(5)).await;
            tx.send(7).await.unwrap();
        });
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert_eq!(got.unwrap(), Some(7));
        let late = tokio::time::timeout(Duration::from_millis(10), rx.recv()).await;
        assert!(
            late.unwrap().is_none(),
            "the sender is gone: closed, not timed out"
        );
    });
}

#[test]
fn tokio_spawn_runs_on_the_compat_runtime_and_joins() {
    rt().run(async {
        let h = tokio::spawn(async {
            tokio::task::yield_now().await;
            std::thread::current().name().map(str::to_owned)
        });
        let name = h.await.unwrap();
        assert_eq!(name.as_deref(), Some("gorun-tokio-compat"));
        let dump = gorun::Handle::current().dump().to_string();
        assert!(dump.contains("tokio-compat runtime:"), "{dump}");
    });
}

#[test]
fn tokio_sockets_work_from_gorun_tasks() {
    rt().run(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = gorun::go(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut back = [0; 5];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello");
        server.await.unwrap();
    });
}

#[test]
fn the_handle_is_entered_in_blocking_closures_and_block_on() {
    let rt = rt();
    let in_pool = rt.block_on(async {
        gorun::spawn_blocking(|| tokio::runtime::Handle::try_current().is_ok())
            .await
            .unwrap()
    });
    assert!(in_pool, "entered on blocking-pool threads");
    rt.block_on(async {
        // The main future of `block_on` runs on the caller's thread, not a worker.
        tokio::time::sleep(Duration::from_millis(1)).await;
    });
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "left again once block_on returns"
    );
}

#[test]
fn a_current_thread_runtime_has_it_too() {
    let rt = gorun::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let h = gorun::go(async {
            tokio::time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await
        });
        assert!(h.await.unwrap().is_err(), "tokio's timeout fired");
    });
}
