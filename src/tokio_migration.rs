//! Porting a tokio application: each tokio item and the gorun item that takes its
//! place, one row each. Every section ends with a doc test that uses each row's
//! gorun item the way the tokio code used its own, so the table cannot drift from
//! the code. Where the meaning differs, the row says how.
//!
//! Most ports change imports only. What changes besides:
//! - gorun's [`chan`](crate::chan) is Go's channel: capacity 0 is a rendezvous
//!   (tokio's `mpsc` needs a capacity of at least 1), `recv` gives `None` once
//!   every sender is gone and the buffer is drained, and there is one type for
//!   mpsc, mpmc and spsc (senders and receivers are both `Clone`).
//! - [`select!`](crate::select!) takes tokio's `pattern = future => handler` arms,
//!   `biased;`, `, if guard` and `else`, and adds Go's channel cases
//!   (`recv(rx) -> v`, `send(tx, v) -> res`), which commit atomically, and
//!   `default`.
//! - `#[gorun::test]` runs on the multi-thread scheduler unless told
//!   `flavor = "current_thread"` (`#[tokio::test]`'s default).
//!
//! ## Runtime and tasks
//!
//! | tokio | gorun |
//! |---|---|
//! | `#[tokio::main]` | [`#[gorun::main]`](macro@crate::main) (the body runs as a task on a worker) |
//! | `#[tokio::main(flavor = "current_thread")]` | [`#[gorun::main(flavor = "current_thread")]`](macro@crate::main) |
//! | `#[tokio::main(worker_threads = 4)]` | [`#[gorun::main(worker_threads = 4)]`](macro@crate::main), or `procs = 4` |
//! | `#[tokio::test]`, `#[tokio::test(start_paused = true)]` | [`#[gorun::test(flavor = "current_thread")]`](macro@crate::test), `start_paused = true` |
//! | `runtime::Builder::new_multi_thread().worker_threads(n).enable_all()` | [`Builder::new_multi_thread`](crate::Builder::new_multi_thread)`().worker_threads(n).enable_all()` |
//! | `runtime::Builder::new_current_thread()` | [`Builder::new_current_thread`](crate::Builder::new_current_thread) |
//! | `Builder::on_thread_start` / `on_thread_stop` | [`Builder::on_thread_start`](crate::Builder::on_thread_start) / [`on_thread_stop`](crate::Builder::on_thread_stop) |
//! | `Runtime::block_on`, `Handle::block_on` | [`Runtime::block_on`](crate::Runtime::block_on), [`Handle::block_on`](crate::Handle::block_on) |
//! | `Runtime::shutdown_timeout`, `shutdown_background` | [`Runtime::shutdown_timeout`](crate::Runtime::shutdown_timeout), [`shutdown_background`](crate::Runtime::shutdown_background) |
//! | `Handle::current()`, `Handle::enter()` | [`Handle::current`](crate::Handle::current), [`Handle::enter`](crate::Handle::enter) |
//! | `tokio::spawn(fut)` | [`gorun::spawn(fut)`](crate::spawn) or [`gorun::go(fut)`](crate::go) |
//! | `task::spawn_blocking(f)` | [`spawn_blocking(f)`](crate::spawn_blocking) |
//! | `task::block_in_place(f)` | [`task::block_in_place(f)`](crate::task::block_in_place) |
//! | `task::yield_now()` | [`yield_now()`](crate::yield_now) |
//! | `JoinHandle`, `abort`, `JoinError::is_cancelled` | [`JoinHandle`](crate::JoinHandle), [`JoinHandle::abort`](crate::JoinHandle::abort), [`JoinError::is_cancelled`](crate::JoinError::is_cancelled) |
//! | `task::JoinSet` | [`task::JoinSet`](crate::task::JoinSet) |
//! | `task::id()`, `JoinHandle::id` | [`task::id()`](crate::task::id), [`JoinHandle::id`](crate::JoinHandle::id) |
//!
//! ```
//! use std::time::Duration;
//! use gorun::task::{self, JoinSet};
//!
//! let rt = gorun::Builder::new_multi_thread()
//!     .worker_threads(2)
//!     .enable_all()
//!     .on_thread_start(|| {})
//!     .build()
//!     .unwrap();
//! let total = rt.block_on(async {
//!     let _guard = gorun::Handle::current().enter();
//!     let mut set = JoinSet::new();
//!     for i in 0..10u64 {
//!         set.spawn(async move { i });
//!     }
//!     let mut total = 0;
//!     while let Some(r) = set.join_next().await {
//!         total += r.unwrap();
//!     }
//!     let h = gorun::spawn(async { task::id() });
//!     let id = h.id();
//!     assert_eq!(h.await.unwrap(), id);
//!     total += gorun::spawn_blocking(|| 5).await.unwrap();
//!     total += gorun::spawn(async { task::block_in_place(|| 5) }).await.unwrap();
//!     gorun::yield_now().await;
//!     let h = gorun::spawn(std::future::pending::<()>());
//!     h.abort();
//!     assert!(h.await.unwrap_err().is_cancelled());
//!     total
//! });
//! assert_eq!(total, 55);
//! rt.shutdown_timeout(Duration::from_secs(1));
//!
//! let rt = gorun::Builder::new_current_thread().build().unwrap();
//! let handle = rt.handle().clone();
//! assert_eq!(handle.block_on(async { gorun::spawn(async { 1 }).await.unwrap() }), 1);
//! rt.shutdown_background();
//! ```
//!
//! ## Channels and `select!`
//!
//! | tokio | gorun |
//! |---|---|
//! | `sync::mpsc::channel(n)` | [`chan(n)`](crate::chan) (`n = 0`: a rendezvous) |
//! | `sync::mpsc::unbounded_channel()` | none: give [`chan`](crate::chan) a capacity (Go has no unbounded channel) |
//! | `tx.send(v).await`, `rx.recv().await` | [`Sender::send`](crate::Sender::send), [`Receiver::recv`](crate::Receiver::recv) (`&self`: receivers are shared, MPMC) |
//! | `tx.try_send(v)`, `rx.try_recv()` | [`Sender::try_send`](crate::Sender::try_send), [`Receiver::try_recv`](crate::Receiver::try_recv) |
//! | `tx.blocking_send(v)`, `rx.blocking_recv()` | [`Sender::blocking_send`](crate::Sender::blocking_send), [`Receiver::blocking_recv`](crate::Receiver::blocking_recv) |
//! | `tx.send_timeout(v, d)` | [`SendTimeoutExt::send_timeout`](crate::time::SendTimeoutExt::send_timeout) (`use gorun::prelude::*`) |
//! | `select! { v = rx.recv() => .. }` | [`select!`](crate::select!)` { recv(rx) -> v => .. }` (atomic), or the same `v = rx.recv() => ..` |
//! | `select! { biased; .., else => .. }` | [`select!`](crate::select!)` { biased; .., else => .. }` |
//!
//! ```
//! use gorun::prelude::*;
//! use std::time::Duration;
//!
//! # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
//! let (tx, rx) = gorun::chan::<u32>(1);
//! tx.send(1).await.unwrap();
//! assert!(tx.try_send(2).is_err()); // full
//! assert_eq!(rx.recv().await, Some(1));
//! assert!(rx.try_recv().is_err()); // empty
//! tx.send_timeout(3, Duration::from_millis(10)).await.unwrap();
//! let open = false;
//! let got = gorun::select! {
//!     biased;
//!     recv(rx) -> v => v,
//!     v = rx.recv(), if open => v,
//!     else => None,
//! };
//! assert_eq!(got, Some(3));
//! # });
//! ```
//!
//! ## Time
//!
//! | tokio | gorun |
//! |---|---|
//! | `time::sleep`, `sleep_until` | [`time::sleep`](crate::time::sleep), [`time::sleep_until`](crate::time::sleep_until) |
//! | `time::timeout(d, f)` → `Result<_, Elapsed>` | [`time::timeout`](crate::time::timeout) (`Elapsed` converts into `io::Error`, kind `TimedOut`) |
//! | `time::interval`, `MissedTickBehavior` | [`time::interval`](crate::time::interval), [`time::MissedTickBehavior`](crate::time::MissedTickBehavior) |
//! | `time::Instant`, `time::Duration` | [`time::Instant`](crate::time::Instant), [`time::Duration`](crate::time::Duration) |
//! | `time::pause`, `advance`, `resume` | [`time::pause`](crate::time::pause), [`time::advance`](crate::time::advance), [`time::resume`](crate::time::resume) |
//!
//! ```
//! use gorun::time::{self, Duration, Instant, MissedTickBehavior};
//!
//! async fn read_something() -> std::io::Result<()> {
//!     time::timeout(Duration::from_millis(5), std::future::pending::<()>()).await?;
//!     Ok(())
//! }
//!
//! # gorun::Builder::new_current_thread().start_paused(true).build().unwrap().block_on(async {
//! let start = Instant::now();
//! time::sleep(Duration::from_secs(60)).await; // paused: no real time passes
//! time::sleep_until(start + Duration::from_secs(61)).await;
//! assert_eq!(read_something().await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
//! let mut tick = time::interval(Duration::from_secs(1));
//! tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
//! tick.tick().await;
//! time::advance(Duration::from_secs(5)).await;
//! assert!(start.elapsed() >= Duration::from_secs(66));
//! # });
//! ```
//!
//! ## Sync
//!
//! | tokio | gorun |
//! |---|---|
//! | `sync::oneshot::channel()` | [`sync::oneshot::channel`](crate::sync::oneshot::channel) (`send` is synchronous; await the `Receiver`) |
//! | `sync::broadcast::channel(n)`, `RecvError::Lagged(n)` | [`sync::broadcast::channel`](crate::sync::broadcast::channel), [`broadcast::error::RecvError`](crate::sync::broadcast::error::RecvError) |
//! | `sync::watch::channel(v)`, `changed`, `borrow_and_update` | [`sync::watch::channel`](crate::sync::watch::channel), [`watch::Receiver::changed`](crate::sync::watch::Receiver::changed), [`watch::Receiver::borrow_and_update`](crate::sync::watch::Receiver::borrow_and_update) |
//! | `sync::Barrier` | [`sync::Barrier`](crate::sync::Barrier) |
//! | `sync::Mutex`, `MutexGuard::map`, `lock_owned` | [`sync::Mutex`](crate::sync::Mutex), [`MutexGuard::map`](crate::sync::MutexGuard::map), [`Mutex::lock_owned`](crate::sync::Mutex::lock_owned) |
//! | `sync::RwLock`, `read_owned`, `write_owned`, `downgrade` | [`sync::RwLock`](crate::sync::RwLock), [`RwLock::read_owned`](crate::sync::RwLock::read_owned), [`RwLock::write_owned`](crate::sync::RwLock::write_owned), [`RwLockWriteGuard::downgrade`](crate::sync::RwLockWriteGuard::downgrade) |
//! | `sync::Semaphore`, `close`, `AcquireError`, `TryAcquireError` | [`sync::Semaphore`](crate::sync::Semaphore), [`Semaphore::close`](crate::sync::Semaphore::close), [`sync::AcquireError`](crate::sync::AcquireError), [`sync::TryAcquireError`](crate::sync::TryAcquireError) |
//! | `sync::Notify` | [`sync::Notify`](crate::sync::Notify) |
//! | `sync::OnceCell` | [`sync::OnceCell`](crate::sync::OnceCell) |
//! | none (Go's `sync.WaitGroup`) | [`sync::WaitGroup`](crate::sync::WaitGroup) |
//!
//! ```
//! use std::sync::Arc;
//! use gorun::sync::{broadcast, oneshot, watch, Barrier, Mutex, MutexGuard, RwLock, Semaphore};
//!
//! # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
//! let (tx, rx) = oneshot::channel();
//! gorun::spawn(async move { tx.send(1).unwrap() });
//! assert_eq!(rx.await, Ok(1));
//!
//! let (tx, mut rx) = broadcast::channel(4);
//! tx.send("a").unwrap();
//! assert_eq!(rx.recv().await, Ok("a"));
//!
//! let (tx, mut rx) = watch::channel(0);
//! tx.send(5).unwrap();
//! rx.changed().await.unwrap();
//! assert_eq!(*rx.borrow_and_update(), 5);
//!
//! let barrier = Arc::new(Barrier::new(2));
//! let other = gorun::spawn({
//!     let barrier = barrier.clone();
//!     async move { barrier.wait().await.is_leader() }
//! });
//! let me = barrier.wait().await.is_leader();
//! assert!(me ^ other.await.unwrap(), "one leader per round");
//!
//! let m = Mutex::new((1, 2));
//! *MutexGuard::map(m.lock().await, |p| &mut p.1) = 3;
//! assert_eq!(*m.lock().await, (1, 3));
//!
//! let lock = Arc::new(RwLock::new(1));
//! let w = lock.clone().write_owned().await;
//! let r = w.downgrade();
//! assert_eq!(*r, 1);
//!
//! let sem = Semaphore::new(1);
//! sem.close();
//! assert!(sem.acquire().await.is_err());
//! # });
//! ```
//!
//! ## I/O, sockets and signals
//!
//! | tokio | gorun |
//! |---|---|
//! | `io::AsyncReadExt` (`read_buf`, `read_exact`, `read_u32`, ..) | [`io::AsyncReadExt`](crate::io::AsyncReadExt) |
//! | `io::AsyncWriteExt` (`write_all`, `flush`, `shutdown`, ..) | [`io::AsyncWriteExt`](crate::io::AsyncWriteExt) |
//! | `io::BufReader`, `BufWriter`, `AsyncBufReadExt::lines` | [`io::BufReader`](crate::io::BufReader), [`io::BufWriter`](crate::io::BufWriter), [`io::AsyncBufReadExt`](crate::io::AsyncBufReadExt) |
//! | `io::copy`, `copy_bidirectional`, `split`, `duplex` | [`io::copy`](crate::io::copy), [`io::copy_bidirectional`](crate::io::copy_bidirectional), [`io::split`](crate::io::split), [`io::duplex`](crate::io::duplex) |
//! | `net::TcpListener`, `TcpStream`, `UdpSocket`, `UnixStream` | [`net::TcpListener`](crate::net::TcpListener), [`net::TcpStream`](crate::net::TcpStream), [`net::UdpSocket`](crate::net::UdpSocket), [`net::UnixStream`](crate::net::UnixStream) |
//! | `net::TcpSocket`, `net::UnixDatagram`, `net::lookup_host` | [`net::TcpSocket`](crate::net::TcpSocket), [`net::UnixDatagram`](crate::net::UnixDatagram), [`net::lookup_host`](crate::net::lookup_host) |
//! | `TcpStream::{split, try_read, try_write, readable, writable, peek}` | [`TcpStream::split`](crate::net::TcpStream::split), [`try_read`](crate::net::TcpStream::try_read), [`try_write`](crate::net::TcpStream::try_write), [`readable`](crate::net::TcpStream::readable), [`writable`](crate::net::TcpStream::writable), [`peek`](crate::net::TcpStream::peek) |
//! | `io::unix::AsyncFd` | [`io::unix::AsyncFd`](crate::io::unix::AsyncFd) |
//! | `signal::ctrl_c()`, `signal::unix::signal(kind)` | [`signal::ctrl_c`](crate::signal::ctrl_c), [`signal::unix::signal`](crate::signal::unix::signal) |
//! | `tokio_util::sync::CancellationToken` | [`context::with_cancel`](crate::context::with_cancel) (Go's `context`: `done()` in a `select!`, deadlines, values) |
//!
//! ```
//! use gorun::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
//! use gorun::net::{TcpListener, TcpStream};
//!
//! # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let addr = listener.local_addr().unwrap();
//! let server = gorun::go(async move {
//!     let (conn, _) = listener.accept().await.unwrap();
//!     let (r, mut w) = gorun::io::split(conn);
//!     let mut lines = BufReader::new(r).lines();
//!     while let Some(line) = lines.next_line().await.unwrap() {
//!         w.write_all(line.to_uppercase().as_bytes()).await.unwrap();
//!         w.write_u8(b'\n').await.unwrap();
//!     }
//!     w.shutdown().await.unwrap();
//! });
//! let mut c = TcpStream::connect(addr).await.unwrap();
//! c.write_all(b"hello\n").await.unwrap();
//! c.shutdown().await.unwrap(); // AsyncWriteExt::shutdown, as in tokio
//! let mut back = String::new();
//! c.read_to_string(&mut back).await.unwrap();
//! assert_eq!(back, "HELLO\n");
//! server.await.unwrap();
//!
//! let (mut a, mut b) = gorun::io::duplex(64);
//! a.write_all(b"x").await.unwrap();
//! drop(a);
//! let mut buf = Vec::new();
//! gorun::io::copy(&mut b, &mut buf).await.unwrap();
//! assert_eq!(buf, b"x");
//!
//! let (ctx, cancel) = gorun::context::with_cancel(&gorun::context::Context::background());
//! cancel.cancel();
//! ctx.done().await;
//!
//! let addr = gorun::net::lookup_host("localhost:0").await.unwrap().next().unwrap();
//! let socket = gorun::net::TcpSocket::new_v4().unwrap();
//! socket.set_reuseaddr(true).unwrap();
//! socket.bind(addr).unwrap();
//! let listener = socket.listen(16).unwrap();
//! let mut c = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
//! let (s, _) = listener.accept().await.unwrap();
//! c.write_all(b"hi").await.unwrap();
//! let mut buf = [0; 2];
//! assert_eq!(s.peek(&mut buf).await.unwrap(), 2);
//! s.readable().await.unwrap();
//! assert_eq!(s.try_read(&mut buf).unwrap(), 2);
//! s.writable().await.unwrap();
//! assert_eq!(s.try_write(b"!").unwrap(), 1);
//! let (mut r, _w) = c.split();
//! r.read_exact(&mut buf[..1]).await.unwrap();
//!
//! let (a, b) = gorun::net::UnixDatagram::pair().unwrap();
//! a.send(b"d").await.unwrap();
//! let (x, y) = std::os::unix::net::UnixDatagram::pair().unwrap();
//! y.set_nonblocking(true).unwrap();
//! let y = gorun::io::unix::AsyncFd::new(y).unwrap();
//! x.send(b"fd").unwrap();
//! let mut guard = y.readable().await.unwrap();
//! let n = guard.try_io(|y| y.get_ref().recv(&mut buf)).unwrap().unwrap();
//! assert_eq!(&buf[..n], b"fd");
//! assert_eq!(b.recv(&mut buf).await.unwrap(), 1);
//! # });
//! ```
