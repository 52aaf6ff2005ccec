//! A tour of gorun, one stop per area: goroutines by the hundred thousand on a
//! work-stealing scheduler, panics and the blocking pool, channels, `select!`,
//! timers, `sync`, `context`, `errgroup`, sockets, signals, and seeing your goroutines.
//! Every stop checks what it prints.
//!
//! Run it with `cargo run --release --example tour`. With `GORUN_TRACE=tour.json`
//! set, it also records an execution trace of the whole tour into that file (see
//! `gorun::trace`); draw it with
//! `cargo run --release --example trace_view -- tour.json -o tour.svg`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gorun::context::{self, Context, ContextError};
use gorun::errgroup::Group;
use gorun::net::{TcpListener, TcpStream};
use gorun::sync::{Mutex, WaitGroup};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result {
    let rt = gorun::Runtime::builder().build()?;
    println!("gorun tour: {} Ps (set GOMAXPROCS to change)", rt.procs());
    let trace_path = std::env::var_os("GORUN_TRACE").filter(|p| !p.is_empty());
    if let Some(path) = &trace_path {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("GORUN_TRACE={}: {e}", std::path::Path::new(path).display()))?;
        gorun::trace::start(file)?;
    }
    rt.run(tour(100_000))?;
    if let Some(path) = &trace_path {
        let t = gorun::trace::stop()?;
        println!(
            "trace: {} events ({} dropped) on {} threads over {:?} written to {}",
            t.events,
            t.dropped,
            t.threads,
            t.duration,
            std::path::Path::new(path).display()
        );
    }
    let m = rt.handle().metrics();
    println!(
        "metrics: {} tasks spawned, {} steals, {} parks",
        m.spawned, m.steals, m.parks
    );
    Ok(())
}

/// Every stop of the tour; `n` goroutines in the big ones.
async fn tour(n: usize) -> Result {
    goroutines(n).await?;
    panics_and_blocking().await?;
    pipeline().await?;
    select().await;
    timers(n).await?;
    sync().await?;
    contexts().await;
    errgroup().await;
    sockets().await?;
    signals().await?;
    seeing_goroutines().await;
    Ok(())
}

/// 1. `go f()` a hundred thousand times; they all wait for one start signal, Go's
///    idiom of closing a channel to broadcast.
async fn goroutines(n: usize) -> Result {
    let started = Instant::now();
    let (start_tx, start_rx) = gorun::chan::<()>(0);
    let counter = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (start, counter) = (start_rx.clone(), counter.clone());
            gorun::go(async move {
                assert_eq!(start.recv().await, None, "start is only ever closed");
                counter.fetch_add(1, Ordering::Relaxed);
                i as u64
            })
        })
        .collect();
    println!(
        "spawned {n} goroutines in {:?}; num_tasks() = {} (+1: this main task)",
        started.elapsed(),
        gorun::num_tasks() - 1
    );
    let joined = Instant::now();
    drop(start_tx); // close(start): every receiver gets `None`
    let mut sum = 0;
    for h in handles {
        sum += h.await?;
    }
    let n64 = n as u64;
    assert_eq!(sum, n64 * (n64 - 1) / 2);
    assert_eq!(counter.load(Ordering::Relaxed), n);
    println!(
        "released and joined them in {:?} (sum of ids {sum}); num_tasks() now {}",
        joined.elapsed(),
        gorun::num_tasks() - 1
    );
    Ok(())
}

/// 2. A panicking goroutine does not take the program down; blocking work goes to
///    the blocking pool, off the Ps.
async fn panics_and_blocking() -> Result {
    // The default hook would print the panic with a backtrace: keep the tour quiet.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let err = gorun::go(async { panic!("a goroutine failed") })
        .await
        .unwrap_err();
    std::panic::set_hook(hook);
    assert!(err.is_panic());
    println!("a panic reached its JoinHandle: {err}");

    let n = gorun::spawn_blocking(|| (1..=20u64).product::<u64>()).await?;
    assert_eq!(n, 2_432_902_008_176_640_000);
    println!("spawn_blocking computed 20! = {n}");
    Ok(())
}

/// 3. Channels: generator -> 4 squarers -> summer, over rendezvous channels.
async fn pipeline() -> Result {
    let started = Instant::now();
    let (nums_tx, nums_rx) = gorun::chan::<u64>(0);
    let (sq_tx, sq_rx) = gorun::chan::<u64>(0);
    gorun::go(async move {
        for i in 1..=10_000 {
            nums_tx.send(i).await.expect("squarers quit");
        }
    });
    for _ in 0..4 {
        let (rx, tx) = (nums_rx.clone(), sq_tx.clone());
        gorun::go(async move {
            while let Some(v) = rx.recv().await {
                tx.send(v * v).await.expect("summer quit");
            }
        });
    }
    drop((nums_rx, sq_tx));
    let mut total = 0u64;
    while let Some(v) = sq_rx.recv().await {
        total += v;
    }
    assert_eq!(total, (1..=10_000u64).map(|v| v * v).sum::<u64>());
    println!(
        "pipeline over unbuffered channels: sum of squares 1..=10000 = {total} in {:?}",
        started.elapsed()
    );
    Ok(())
}

/// 4. `select!`: exactly one case commits; a timeout is just another channel.
async fn select() {
    let (tx, rx) = gorun::chan::<&str>(1);
    let (mut sent, mut timeouts) = (0, 0);
    for _ in 0..3 {
        gorun::select! {
            send(tx, "ping") -> res => { res.expect("receiver alive"); sent += 1; }
            recv(gorun::time::after(Duration::from_millis(20))) -> _ => timeouts += 1,
        }
    }
    assert_eq!((sent, timeouts), (1, 2));
    let buffered = rx.try_recv();
    assert_eq!(buffered, Ok("ping"));
    println!("select!: {sent} send committed, then {timeouts} timeouts (the buffer of 1 was full); buffered: {buffered:?}");
}

/// 5. Timers: a hundred thousand goroutines each sleep 10 ms on the timing wheel.
async fn timers(n: usize) -> Result {
    let started = Instant::now();
    let sleepers: Vec<_> = (0..n)
        .map(|_| gorun::go(gorun::time::sleep(Duration::from_millis(10))))
        .collect();
    for h in sleepers {
        h.await?;
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(10), "a timer fired early");
    println!("{n} goroutines slept 10 ms each: all done in {took:?}");
    let slow = gorun::time::timeout(Duration::from_millis(5), std::future::pending::<()>());
    let res = slow.await;
    assert!(res.is_err());
    println!("timeout around a future that never finishes: {res:?}");
    Ok(())
}

/// 6. `sync`: Go's counter guarded by a mutex, joined with a WaitGroup whose guard
///    is `Done()` on drop, so it can be neither forgotten nor doubled.
async fn sync() -> Result {
    let counter = Arc::new(Mutex::new(0u64));
    let wg = WaitGroup::new();
    for _ in 0..100 {
        let (counter, done) = (counter.clone(), wg.add(1));
        gorun::go(async move {
            for _ in 0..100 {
                *counter.lock().await += 1;
                gorun::yield_now().await;
            }
            drop(done);
        });
    }
    wg.wait().await;
    let total = *counter.lock().await;
    assert_eq!(total, 10_000);
    println!("sync: 100 goroutines x 100 increments under a Mutex, WaitGroup joined: {total}");
    Ok(())
}

/// 7. `context`: cancelling a parent stops a whole tree of workers; a timeout is a
///    deadline that cancels by itself.
async fn contexts() {
    let (parent, cancel) = context::with_cancel(&Context::background());
    let stopped = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for i in 0..3 {
        let (child, _child_cancel) = context::with_cancel(&parent);
        let (stopped, done) = (stopped.clone(), wg.add(1));
        gorun::go(async move {
            // A worker: do a unit of work every few ms until its context says stop.
            loop {
                gorun::select! {
                    recv(child.done_chan()) -> _ => break,
                    recv(gorun::time::after(Duration::from_millis(1 + i))) -> _ => {}
                }
            }
            assert_eq!(child.err(), Some(ContextError::Canceled));
            stopped.fetch_add(1, Ordering::Relaxed);
            drop(done);
        });
    }
    gorun::time::sleep(Duration::from_millis(10)).await;
    cancel.cancel();
    wg.wait().await;
    assert_eq!(stopped.load(Ordering::Relaxed), 3);

    let (ctx, _cancel) = context::with_timeout(&Context::background(), Duration::from_millis(5));
    let res = ctx.run(gorun::time::sleep(Duration::from_secs(3600))).await;
    assert_eq!(res, Err(ContextError::DeadlineExceeded));
    println!(
        "context: cancel stopped 3 workers of a tree; a 5 ms timeout cut a 1-hour sleep: {res:?}"
    );
}

/// 8. `errgroup`: at most 4 jobs at a time, the first error cancels the rest.
async fn errgroup() {
    let (g, ctx) = Group::<String>::with_context(&Context::background());
    g.set_limit(4);
    let finished = Arc::new(AtomicUsize::new(0));
    for i in 0..20u64 {
        let (ctx, finished) = (ctx.clone(), finished.clone());
        g.go(async move {
            if i == 5 {
                return Err(format!("job {i} failed"));
            }
            let work = gorun::time::sleep(Duration::from_millis(if i < 5 { 1 } else { 200 }));
            match ctx.run(work).await {
                Ok(()) => {
                    finished.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(e) => Err(format!("job {i}: {e}")),
            }
        })
        .await;
    }
    let res = g.wait().await;
    assert_eq!(res, Err("job 5 failed".to_string()));
    assert!(ctx.err().is_some());
    println!(
        "errgroup: first error {res:?}; {} of the 19 other jobs finished before it cancelled the rest",
        finished.load(Ordering::Relaxed)
    );
}

/// 9. Sockets: a TCP echo server with a goroutine per connection, 100 clients.
async fn sockets() -> Result {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = gorun::go(async move {
        while let Ok((conn, _)) = listener.accept().await {
            gorun::go(async move {
                let (r, mut w) = conn.into_split();
                let _ = futures::io::copy(r, &mut w).await;
            });
        }
    });
    let clients: Vec<_> = (0..100u32)
        .map(|i| {
            gorun::go(async move {
                let mut c = TcpStream::connect(addr).await?;
                let msg = format!("hello {i}");
                c.write_all(msg.as_bytes()).await?;
                let mut buf = vec![0; msg.len()];
                c.read_exact(&mut buf).await?;
                assert_eq!(buf, msg.as_bytes());
                Ok::<_, std::io::Error>(buf.len())
            })
        })
        .collect();
    let mut bytes = 0;
    for c in clients {
        bytes += c.await??;
    }
    server.abort();
    assert!(server.await.unwrap_err().is_cancelled());
    println!("net: 100 TCP clients echoed {bytes} bytes through a goroutine-per-connection server on {addr}");
    Ok(())
}

/// 10. Signals: Go's `signal.Notify(ch, syscall.SIGUSR1)`, a channel usable in
///     `select!`; the tour sends itself the signal, as `kill -USR1 <pid>` would.
async fn signals() -> Result {
    let usr1 = gorun::signal::SignalKind::user_defined1();
    let rx = gorun::signal::notify(&[usr1])?;
    // SAFETY: kill(2) takes no pointers: our own pid and a valid signal number.
    let r = unsafe { libc::kill(libc::getpid(), usr1.as_raw_value()) };
    assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    gorun::select! {
        recv(rx) -> got => {
            assert_eq!(got, Some(usr1));
            println!("signals: {usr1} sent to ourselves arrived on a notify channel in select!");
        }
        recv(gorun::time::after(Duration::from_secs(5))) -> _ => panic!("{usr1} never arrived"),
    }
    Ok(())
}

/// 11. Seeing the goroutines: a task dump says where each live task was spawned
///     and what it is doing (Go's goroutine dump).
async fn seeing_goroutines() {
    let (tx, rx) = gorun::chan::<()>(0);
    let stuck = gorun::go(async move {
        let _ = rx.recv().await;
    });
    // Until the goroutine has run and parked on its receive (bounded: 1 s).
    let mut mine = None;
    for _ in 0..1000 {
        let dump = gorun::Handle::current().dump();
        mine = dump.tasks.into_iter().find(|t| {
            t.location.file().ends_with("tour.rs") && t.wait == Some(gorun::WaitReason::ChanRecv)
        });
        if mine.is_some() {
            break;
        }
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
    let mine = mine.expect("the stuck goroutine is in the dump, waiting on its receive");
    println!(
        "a task dump lists every live goroutine; the stuck one:\n  task {:#x} [{:?}, {}] spawned at {}",
        mine.id,
        mine.state,
        mine.wait.expect("found by its wait reason"),
        mine.location
    );
    drop(tx);
    let _ = stuck.await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tour_checks_out() {
        let rt = gorun::Runtime::builder().procs(2).build().unwrap();
        rt.run(super::tour(2_000)).unwrap();
        // The echo server's connection goroutines end once they see their client's
        // EOF; nothing else may be left.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while rt.handle().metrics().num_tasks > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{}",
                rt.handle().dump()
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
