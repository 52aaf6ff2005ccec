//! TCP on the reactor: echo under load, half-close, tiny writes, short reads and
//! writes, timeouts on reads, abrupt disconnects. Loopback only; every loop is bounded.

use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::StreamExt;
use gorun::net::{TcpListener, TcpStream};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(4).build().unwrap()
}

/// The soft limit on open files, from /proc (None where unknown).
fn fd_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Accepts forever, echoing every connection until EOF.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    gorun::go(async move {
        let mut incoming = listener.incoming();
        while let Some(conn) = incoming.next().await {
            let Ok(conn) = conn else { continue };
            gorun::go(async move {
                let (r, mut w) = conn.into_split();
                let _ = futures::io::copy(r, &mut w).await;
            });
        }
    });
    addr
}

#[test]
fn echo_1000_concurrent_clients() {
    // Each client costs two descriptors (both ends); stay well under the limit.
    let clients = fd_limit().map_or(1000, |l| 1000.min(l.saturating_sub(200) / 2));
    rt().block_on(async move {
        let addr = echo_server().await;
        let handles: Vec<_> = (0..clients)
            .map(|i| {
                gorun::go(async move {
                    let mut c = TcpStream::connect(addr).await?;
                    c.set_nodelay(true)?;
                    let msg = format!("hello from client {i:04}").into_bytes();
                    for _ in 0..3 {
                        c.write_all(&msg).await?;
                        let mut buf = vec![0; msg.len()];
                        c.read_exact(&mut buf).await?;
                        assert_eq!(buf, msg);
                    }
                    std::io::Result::Ok(())
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap().unwrap();
        }
    });
}

#[test]
fn half_close_peer_reads_eof_then_writes_back() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gorun::go(async move {
            let (mut s, peer) = listener.accept().await.unwrap();
            assert_eq!(s.peer_addr().unwrap(), peer);
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap(); // returns at the client's FIN
            s.write_all(&all).await.unwrap();
            s.write_all(b"!").await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"half").await.unwrap();
        c.shutdown_std(Shutdown::Write).unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"half!");
        server.await.unwrap();
    });
}

#[test]
fn close_on_write_half_sends_eof() {
    rt().block_on(async {
        let addr = echo_server().await;
        let c = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = c.into_split();
        w.write_all(b"abc").await.unwrap();
        w.close().await.unwrap();
        let mut back = Vec::new();
        r.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"abc");
    });
}

/// A client connected to a server task that reads until EOF and returns all it got.
async fn connect_to_collector() -> (TcpStream, gorun::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = gorun::go(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        all
    });
    (TcpStream::connect(addr).await.unwrap(), reader)
}

#[test]
fn many_tiny_writes() {
    const N: usize = 20_000;
    rt().block_on(async {
        let (mut c, reader) = connect_to_collector().await;
        for i in 0..N {
            c.write_all(&[(i % 251) as u8]).await.unwrap();
        }
        c.close().await.unwrap();
        let all = reader.await.unwrap();
        assert_eq!(all.len(), N);
        assert!(all.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    });
}

/// A read shorter than its buffer, or a write shorter than its data, clears the
/// readiness without a `WouldBlock` (`poll_stream_io`). Data or room that comes
/// later must still wake the task: here every short read is followed by more data
/// after a pause (the reader is parked by then), and a writer pushes 8 MiB into a
/// reader that drains it in bursts with pauses (so writes go short). A lost wake
/// would hang; the timeouts turn that into a failure.
#[test]
fn short_reads_and_writes_still_wake_for_what_comes_later() {
    const CHUNKS: usize = 50;
    const BULK: usize = 8 << 20;
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ack_tx, ack_rx) = gorun::chan::<usize>(0);
        let server = gorun::go(async move {
            let (s, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = s.into_split();
            // Phase 1: short reads into a big buffer, one chunk at a time.
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0;
            while got < CHUNKS * 100 {
                let n = r.read(&mut buf).await.unwrap();
                assert!(n > 0 && n < buf.len(), "a short read, not EOF: {n}");
                got += n;
                ack_tx.send(got).await.unwrap();
            }
            // Phase 2: write 8 MiB in one write_all; the client reads in bursts.
            let data: Vec<u8> = (0..BULK).map(|i| (i % 253) as u8).collect();
            w.write_all(&data).await.unwrap();
            w.close().await.unwrap();
            got
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        for i in 0..CHUNKS {
            c.write_all(&[i as u8; 100]).await.unwrap();
            // Wait until the server has read it (and parked again) before the next.
            let seen = gorun::time::timeout(Duration::from_secs(10), ack_rx.recv())
                .await
                .expect("the reader must wake for data after a short read");
            assert_eq!(seen, Some((i + 1) * 100));
            gorun::time::sleep(Duration::from_millis(1)).await;
        }
        let mut all = Vec::with_capacity(BULK);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = gorun::time::timeout(Duration::from_secs(10), c.read(&mut buf))
                .await
                .expect("the writer must wake when the reader makes room")
                .unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
            if all.len() % (1 << 20) < n {
                gorun::time::sleep(Duration::from_millis(2)).await; // a burst ends
            }
        }
        assert_eq!(all.len(), BULK);
        assert!(all.iter().enumerate().all(|(i, &b)| b == (i % 253) as u8));
        assert_eq!(server.await.unwrap(), CHUNKS * 100);
    });
}

/// More buffers than writev(2) takes in one call (IOV_MAX, 1024 on Linux): each
/// call writes only the first 1024, which looks like a short write but leaves room
/// in the socket. Treating it as "buffer full" would clear the readiness and wait
/// for an event that never comes.
#[test]
fn vectored_writes_of_more_than_iov_max_buffers_do_not_stall() {
    const BUFS: usize = 3000;
    rt().block_on(async {
        let (mut c, reader) = connect_to_collector().await;
        let chunks: Vec<[u8; 10]> = (0..BUFS).map(|i| [(i % 251) as u8; 10]).collect();
        let mut next = 0;
        while next < BUFS {
            let slices: Vec<std::io::IoSlice<'_>> = chunks[next..]
                .iter()
                .map(|c| std::io::IoSlice::new(c))
                .collect();
            let n = gorun::time::timeout(Duration::from_secs(10), c.write_vectored(&slices))
                .await
                .expect("a vectored write must not stall with room in the socket")
                .unwrap();
            assert!(n > 0 && n % 10 == 0, "whole chunks on loopback: {n}");
            next += n / 10;
        }
        c.close().await.unwrap();
        let all = reader.await.unwrap();
        assert_eq!(all.len(), BUFS * 10);
        assert!(all
            .chunks(10)
            .enumerate()
            .all(|(i, c)| c == [(i % 251) as u8; 10]));
    });
}

#[test]
fn timed_out_read_leaves_socket_usable() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (go_tx, go_rx) = gorun::chan::<()>(0);
        let server = gorun::go(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            go_rx.recv().await.unwrap();
            s.write_all(b"late").await.unwrap();
            let mut buf = [0; 2];
            s.read_exact(&mut buf).await.unwrap();
            buf
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0; 4];
        let r = gorun::time::timeout(Duration::from_millis(50), c.read(&mut buf)).await;
        assert!(r.is_err(), "nothing was sent yet: the read must time out");
        go_tx.send(()).await.unwrap();
        let n = gorun::time::timeout(Duration::from_secs(10), c.read_exact(&mut buf))
            .await
            .expect("the second read must not hang");
        n.unwrap();
        assert_eq!(&buf, b"late");
        c.write_all(b"ok").await.unwrap();
        assert_eq!(&server.await.unwrap(), b"ok");
    });
}

#[test]
fn abrupt_client_disconnects_do_not_break_the_server() {
    rt().block_on(async {
        let addr = echo_server().await;
        for i in 0..200 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            if i % 2 == 0 {
                c.write_all(b"bye").await.unwrap();
            }
            drop(c); // gone, with data possibly unread: the server sees EOF or a reset
        }
        // The server still serves.
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"still here").await.unwrap();
        let mut buf = [0; 10];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still here");
    });
}

#[test]
fn reading_a_reset_connection_is_an_error_or_eof() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (s, _) = listener.accept().await.unwrap();
        // Unread data at close makes the kernel send a RST instead of a FIN.
        c.write_all(b"unread").await.unwrap();
        gorun::time::sleep(Duration::from_millis(20)).await;
        drop(s);
        gorun::time::sleep(Duration::from_millis(20)).await;
        let mut buf = [0; 16];
        let r = gorun::time::timeout(Duration::from_secs(10), c.read(&mut buf))
            .await
            .expect("a read of a reset connection must not hang");
        match r {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
            Ok(n) => assert_eq!(n, 0),
        }
        // Writing to the closed peer fails, within a bounded number of writes.
        let mut failed = None;
        for _ in 0..100 {
            if let Err(e) = c.write_all(&[0; 1024]).await {
                failed = Some(e);
                break;
            }
        }
        let e = failed.expect("writing to a closed peer must fail");
        assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e:?}"
        );
    });
}

#[test]
fn errors_binding_a_used_port_and_connecting_to_a_closed_one() {
    rt().block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let e = TcpListener::bind(addr).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        drop(l);
        let e = gorun::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
            .await
            .expect("connecting to a closed port must not hang")
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn sockets_work_from_plain_threads_on_the_global_runtime() {
    let l = futures::executor::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        futures::executor::block_on(async {
            let (mut s, _) = l.accept().await.unwrap();
            s.write_all(b"global").await.unwrap();
        })
    });
    let mut c = futures::executor::block_on(TcpStream::connect(addr)).unwrap();
    let mut buf = [0; 6];
    futures::executor::block_on(c.read_exact(&mut buf)).unwrap();
    assert_eq!(&buf, b"global");
    t.join().unwrap();
}

#[test]
fn single_worker_serves_io_and_outside_spawns() {
    let rt = gorun::Runtime::builder().procs(1).build().unwrap();
    let addr = rt.block_on(echo_server());
    // The only worker now sleeps in epoll with a listener registered: a spawn from
    // this plain thread must wake it.
    let h = rt.spawn(async move {
        let mut c = TcpStream::connect(addr).await?;
        c.write_all(b"one").await?;
        let mut buf = [0; 3];
        c.read_exact(&mut buf).await?;
        std::io::Result::Ok(buf)
    });
    assert_eq!(&rt.block_on(h).unwrap().unwrap(), b"one");
}

#[test]
fn dropping_the_runtime_with_pending_io_does_not_hang() {
    let rt = rt();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let _h = rt.spawn(async move {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(l.local_addr().unwrap()).unwrap();
        let _ = l.accept().await; // never completes
    });
    let addr = addr_rx.recv().unwrap();
    drop(rt);
    // The listener was dropped with its task: the port is closed.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

/// The first socket of a runtime whose workers have all gone to sleep, registered
/// from outside it (by `block_on`, which wakes no worker), still gets its events: the
/// worker asleep in the driver must see them. No timer is armed that could wake it
/// by chance, so the wait is bounded by a plain thread, not by `gorun::time`. (A
/// driver holder that slept on its condvar while nothing was registered, tried and
/// measured no faster for channel-only work, failed this until the registration woke
/// it.)
#[test]
fn first_socket_registered_while_every_worker_sleeps_gets_its_events() {
    for procs in [1, 2] {
        let rt = std::sync::Arc::new(
            gorun::Runtime::builder()
                .procs(procs)
                .watchdog(None)
                .build()
                .unwrap(),
        );
        // Let every worker run dry and park (no socket exists yet).
        std::thread::sleep(Duration::from_millis(50));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let rt2 = rt.clone();
        std::thread::spawn(move || {
            let got = rt2.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                conn.read_exact(&mut buf).await.unwrap();
                buf
            });
            let _ = done_tx.send(got);
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut client, b"hello").unwrap();
        let got = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("accept and read completed (no lost wake-up)");
        assert_eq!(&got, b"hello", "procs = {procs}");
    }
}
