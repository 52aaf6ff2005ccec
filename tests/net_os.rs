//! Sockets beyond connect/accept (tokio's shapes): name resolution off the workers,
//! errors that name the address, `TcpSocket` options, `try_*`/`readable`/`peek`,
//! borrowed and owned splits, `UnixDatagram`, UDP options and multicast, `into_std`
//! and the fd traits, and `AsyncFd` on an eventfd.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use gorun::io::unix::{AsyncFd, Interest};
use gorun::io::{AsyncReadExt, AsyncWriteExt};
use gorun::net::{
    lookup_host, TcpListener, TcpSocket, TcpStream, UdpSocket, UnixDatagram, UnixStream,
};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn lookup_host_resolves_localhost_with_the_port() {
    rt().block_on(async {
        let addrs: Vec<SocketAddr> = lookup_host("localhost:80").await.unwrap().collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
        let same: Vec<SocketAddr> = lookup_host(("localhost", 80)).await.unwrap().collect();
        assert_eq!(addrs, same);
    });
}

#[test]
fn a_failed_lookup_names_the_host() {
    rt().block_on(async {
        let e = lookup_host("no-such-host.invalid:80").await.err().unwrap();
        assert!(e.to_string().contains("no-such-host.invalid:80"), "{e}");
    });
}

#[test]
fn a_refused_connect_names_the_address_and_keeps_the_kind() {
    rt().block_on(async {
        // Bind, take the port, close: nothing listens there now.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
        assert!(
            std::error::Error::source(&e).is_some(),
            "the OS error is kept"
        );
    });
}

#[test]
fn connect_and_bind_accept_names_and_literals() {
    rt().block_on(async {
        let l = TcpListener::bind("localhost:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (c, s) = futures::join!(TcpStream::connect(("localhost", port)), l.accept());
        let (c, (s, _)) = (c.unwrap(), s.unwrap());
        assert_eq!(c.local_addr().unwrap(), s.peer_addr().unwrap());
        let u = UdpSocket::bind(String::from("127.0.0.1:0")).await.unwrap();
        let v = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let target = format!("localhost:{}", v.local_addr().unwrap().port());
        u.send_to(b"x", target.as_str()).await.unwrap();
        let mut buf = [0; 4];
        assert_eq!(v.recv_from(&mut buf).await.unwrap().0, 1);
    });
}

#[test]
fn tcp_socket_sets_options_then_listens_and_connects() {
    rt().block_on(async {
        let s = TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        s.set_reuseport(true).unwrap();
        s.set_recv_buffer_size(1 << 16).unwrap();
        assert!(s.reuseaddr().unwrap() && s.reuseport().unwrap());
        assert!(s.recv_buffer_size().unwrap() >= 1 << 16);
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = s.local_addr().unwrap();
        let l = s.listen(64).unwrap();

        let c = TcpSocket::new_v4().unwrap();
        c.set_keepalive(true).unwrap();
        c.set_linger(Some(Duration::from_secs(1))).unwrap();
        c.set_nodelay(true).unwrap();
        c.set_send_buffer_size(1 << 16).unwrap();
        assert!(c.keepalive().unwrap() && c.nodelay().unwrap());
        assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(1)));
        let (stream, accepted) = futures::join!(c.connect(addr), l.accept());
        let stream = stream.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addr);
        assert_eq!(accepted.unwrap().1, stream.local_addr().unwrap());
        assert_eq!(stream.linger().unwrap(), Some(Duration::from_secs(1)));

        // SO_REUSEPORT: a second listener binds the same port.
        let s2 = TcpSocket::new_v4().unwrap();
        s2.set_reuseport(true).unwrap();
        s2.bind(addr).unwrap();
        let _l2 = s2.listen(64).unwrap();

        // A second bind without SO_REUSEADDR/PORT fails, naming the address.
        let s3 = TcpSocket::new_v4().unwrap();
        let e = s3.bind(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&addr.to_string()), "{e}");
    });
}

async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (c, s) = futures::join!(TcpStream::connect(addr), l.accept());
    (c.unwrap(), s.unwrap().0)
}

#[test]
fn try_read_would_block_until_readable_and_peek_leaves_the_data() {
    rt().block_on(async {
        let (mut c, s) = pair().await;
        let mut buf = [0; 16];
        assert_eq!(
            s.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        c.write_all(b"hello").await.unwrap();
        let n = s.peek(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], &b"hello"[..n]);
        let mut got = Vec::new();
        while got.len() < 5 {
            s.readable().await.unwrap();
            match s.try_read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"hello");
        c.writable().await.unwrap();
        assert_eq!(c.try_write(b"!").unwrap(), 1);
        drop(c);
        s.readable().await.unwrap();
        assert_eq!(s.try_read(&mut buf).unwrap(), 1);
        loop {
            s.readable().await.unwrap();
            match s.try_read(&mut buf) {
                Ok(0) => break, // EOF
                Ok(n) => panic!("unexpected {n} bytes"),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
    });
}

#[test]
fn borrowed_split_reads_and_writes_at_once_in_one_task() {
    rt().block_on(async {
        let (mut c, mut s) = pair().await;
        let echo = gorun::go(async move {
            let (mut r, mut w) = s.split();
            gorun::io::copy(&mut r, &mut w).await.unwrap()
        });
        let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let (mut r, mut w) = c.split();
        let (written, back) = futures::join!(
            async {
                w.write_all(&data).await.unwrap();
                w.shutdown().await.unwrap();
            },
            async {
                let mut back = Vec::new();
                r.read_to_end(&mut back).await.unwrap();
                back
            }
        );
        let () = written;
        assert_eq!(back, data);
        assert_eq!(echo.await.unwrap(), data.len() as u64);
    });
}

#[test]
fn into_std_and_back_keeps_the_socket_and_its_fd() {
    rt().block_on(async {
        let (c, mut s) = pair().await;
        let fd = c.as_raw_fd();
        let std = c.into_std().unwrap();
        assert_eq!(std.as_raw_fd(), fd);
        let mut c = TcpStream::from_std(std).unwrap();
        c.write_all(b"ok").await.unwrap();
        let mut buf = [0; 2];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ok");

        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let lfd = l.as_raw_fd();
        assert_eq!(l.into_std().unwrap().as_raw_fd(), lfd);
        let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        u.set_ttl(7).unwrap();
        let ufd = u.as_raw_fd();
        let u = u.into_std().unwrap();
        assert_eq!((u.as_raw_fd(), u.ttl().unwrap()), (ufd, 7));
    });
}

#[test]
fn unix_stream_owned_halves_and_eof_on_write_half_drop() {
    rt().block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (mut r, mut w) = a.into_split();
        w.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        b.write_all(b"pong").await.unwrap();
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        drop(w);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty(), "EOF after the write half dropped");
    });
}

#[test]
fn unix_datagrams_by_path_and_by_pair() {
    rt().block_on(async {
        let dir = std::env::temp_dir().join(format!("gorun-dgram-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
        let _ = std::fs::remove_file(&pa);
        let _ = std::fs::remove_file(&pb);
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        a.send_to(b"one", &pb).await.unwrap();
        let mut buf = [0; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"one");
        assert_eq!(from.as_pathname(), Some(pa.as_path()));
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let e = UnixDatagram::bind(&pa).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains("a.sock"), "{e}");

        let (x, y) = UnixDatagram::pair().unwrap();
        for i in 0..10u8 {
            x.send(&[i]).await.unwrap();
        }
        for i in 0..10u8 {
            assert_eq!(y.recv(&mut buf).await.unwrap(), 1);
            assert_eq!(buf[0], i, "datagrams keep their order and bounds");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn udp_options_and_a_multicast_round_trip_on_loopback() {
    rt().block_on(async {
        let group = Ipv4Addr::new(239, 255, 77, 1);
        let rx = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.unwrap();
        let port = rx.local_addr().unwrap().port();
        rx.join_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
        let tx = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        tx.set_multicast_loop_v4(true).unwrap();
        tx.set_multicast_ttl_v4(1).unwrap();
        tx.set_ttl(33).unwrap();
        tx.set_broadcast(true).unwrap();
        assert!(tx.multicast_loop_v4().unwrap() && tx.broadcast().unwrap());
        assert_eq!((tx.multicast_ttl_v4().unwrap(), tx.ttl().unwrap()), (1, 33));
        // Send from the loopback interface: the group's datagram loops back to rx.
        let sock = socket_on_lo(&tx);
        sock.send_to(b"m", SocketAddr::from((group, port)))
            .await
            .unwrap();
        let mut buf = [0; 4];
        let got = gorun::time::timeout(Duration::from_secs(5), rx.recv_from(&mut buf)).await;
        assert_eq!(got.expect("the multicast datagram arrived").unwrap().0, 1);
        rx.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).unwrap();
    });
}

/// `tx` with `IP_MULTICAST_IF` set to loopback, so the group's datagrams go out on
/// `lo` (no multicast route is needed).
fn socket_on_lo(tx: &UdpSocket) -> &UdpSocket {
    let mreq = libc::in_addr {
        s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
    };
    // SAFETY: `tx`'s fd is open for the call; the option value is a live `in_addr`
    // of the size passed.
    let r = unsafe {
        libc::setsockopt(
            tx.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreq as *const libc::in_addr).cast(),
            std::mem::size_of::<libc::in_addr>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", io::Error::last_os_error());
    tx
}

fn eventfd() -> OwnedFd {
    // SAFETY: eventfd takes no pointers; it returns a new fd or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0, "{}", io::Error::last_os_error());
    // SAFETY: `fd` was just opened and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn efd_write(fd: &impl AsRawFd, n: u64) {
    // SAFETY: writes 8 bytes from a live u64 to an open fd.
    let r = unsafe { libc::write(fd.as_raw_fd(), (&n as *const u64).cast(), 8) };
    assert_eq!(r, 8, "{}", io::Error::last_os_error());
}

fn efd_read(fd: &impl AsRawFd) -> io::Result<u64> {
    let mut n = 0u64;
    // SAFETY: reads at most 8 bytes into a live u64 from an open fd.
    match unsafe { libc::read(fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) } {
        8 => Ok(n),
        _ => Err(io::Error::last_os_error()),
    }
}

#[test]
fn async_fd_on_an_eventfd_waits_for_writes_from_another_thread() {
    rt().block_on(async {
        let efd = AsyncFd::with_interest(eventfd(), Interest::READABLE).unwrap();
        let raw = efd.as_raw_fd();
        let mut total = 0;
        for round in 1..=50u64 {
            std::thread::spawn(move || {
                // SAFETY: `raw` stays open for this write: the AsyncFd that owns it
                // lives until the loop below has read what this thread writes.
                let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
                efd_write(&fd, round);
            });
            loop {
                let mut guard = efd.readable().await.unwrap();
                match guard.try_io(|fd| efd_read(fd.get_ref())) {
                    Ok(r) => {
                        total += r.unwrap();
                        break;
                    }
                    Err(_would_block) => continue,
                }
            }
        }
        assert_eq!(total, (1..=50).sum::<u64>());

        // Readiness stays until an operation would block (tokio's rule); once
        // `try_io` has seen `WouldBlock`, the next wait blocks until a new write.
        let mut g = efd.readable().await.unwrap();
        assert!(g.try_io(|fd| efd_read(fd.get_ref())).is_err(), "drained");
        let pending = gorun::time::timeout(Duration::from_millis(50), efd.readable()).await;
        assert!(pending.is_err(), "no event, no readiness");
        efd_write(efd.get_ref(), 1);
        let mut g = efd.readable().await.unwrap();
        assert_eq!(g.try_io(|fd| efd_read(fd.get_ref())).unwrap().unwrap(), 1);
    });
}

#[test]
fn async_fd_deregisters_on_drop_and_into_inner() {
    rt().block_on(async {
        let fd = eventfd();
        let a = AsyncFd::new(fd).unwrap();
        let fd = a.into_inner();
        let b = AsyncFd::new(fd).expect("deregistered: it registers again");
        drop(b); // closes the fd too

        // A regular file cannot be registered: a clear error, not a hang.
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        let e = AsyncFd::new(f).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
    });
}
