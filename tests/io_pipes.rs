//! `gorun::io`'s pipes: `duplex` (EOF, backpressure, broken pipe), `copy` across
//! a small duplex, `split`/`unsplit`, `copy_bidirectional` between two TCP
//! connections with half-close, tokio's `stream.shutdown().await` on a gorun
//! `TcpStream`, and `read_buf`'s cancel safety in a `select!` loop. Loopback only;
//! every wait is bounded.

use std::future::Future;
use std::io::{self, ErrorKind};
use std::marker::PhantomPinned;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::BytesMut;
use futures::executor::block_on;
use futures::io::{AsyncRead, AsyncWrite};
use gorun::io::{
    copy, copy_bidirectional, duplex, split, AsyncReadExt, AsyncWriteExt, DuplexStream,
};
use gorun::net::{TcpListener, TcpStream, UnixStream};
use gorun::time::timeout;

const LIMIT: Duration = Duration::from_secs(20);

/// `len` bytes of a pattern that does not repeat on any power-of-two stride.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

/// Counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn duplex_backpressure_wakes_the_writer_when_the_reader_makes_room() {
    let (mut a, mut b) = duplex(8);
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let data = *b"0123456789abcdef";
    let mut a_pin = Pin::new(&mut a);
    // At most 8 bytes fit; then the writer waits.
    assert!(matches!(
        a_pin.as_mut().poll_write(&mut cx, &data),
        Poll::Ready(Ok(8))
    ));
    assert!(a_pin.as_mut().poll_write(&mut cx, &data[8..]).is_pending());
    assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
    // Reading 5 bytes frees room: the writer is woken and takes exactly 5.
    let mut five = [0; 5];
    block_on(b.read_exact(&mut five)).unwrap();
    assert_eq!(&five, b"01234");
    assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
    assert!(matches!(
        a_pin.as_mut().poll_write(&mut cx, &data[8..]),
        Poll::Ready(Ok(5))
    ));
    let mut rest = [0; 8];
    block_on(b.read_exact(&mut rest)).unwrap();
    assert_eq!(&rest, b"56789abc");
}

#[test]
fn duplex_eof_broken_pipe_and_half_close() {
    block_on(async {
        // Shutdown is a half-close: the other direction still works.
        let (mut a, mut b) = duplex(64);
        a.write_all(b"last words").await.unwrap();
        a.shutdown().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        b.write_all(b"reply").await.unwrap();
        let mut reply = [0; 5];
        a.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
        // Writing after one's own shutdown is an error.
        let err = a.write_all(b"more").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);

        // Dropping one end: the other reads what was sent, then EOF; its writes fail.
        let (mut a, mut b) = duplex(64);
        a.write_all(b"bye").await.unwrap();
        drop(a);
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"bye");
        assert_eq!(b.read(&mut [0; 4]).await.unwrap(), 0);
        let err = b.write_all(b"anyone?").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn a_writer_blocked_on_a_full_duplex_fails_when_the_reader_drops() {
    let (mut a, b) = duplex(4);
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    let mut w = a.write_all(b"more than four bytes");
    assert!(Pin::new(&mut w).poll(&mut cx).is_pending());
    drop(b);
    assert_eq!(
        wakes.0.load(Ordering::SeqCst),
        1,
        "the blocked writer is woken"
    );
    match Pin::new(&mut w).poll(&mut cx) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), ErrorKind::BrokenPipe),
        other => panic!("expected BrokenPipe, got {other:?}"),
    }
}

#[test]
#[should_panic(expected = "max_buf_size must not be 0")]
fn duplex_of_zero_bytes_is_refused() {
    let _ = duplex(0);
}

#[test]
fn copy_moves_10_mb_across_a_small_duplex() {
    const LEN: usize = 10 << 20;
    let data = pattern(LEN);
    block_on(async {
        let (mut src_w, mut src_r) = duplex(100);
        let (mut dst_w, mut dst_r) = duplex(100);
        let produce = async {
            for chunk in data.chunks(4093) {
                src_w.write_all(chunk).await.unwrap();
            }
            src_w.shutdown().await.unwrap();
        };
        let pump = async {
            let n = copy(&mut src_r, &mut dst_w).await.unwrap();
            dst_w.shutdown().await.unwrap();
            n
        };
        let consume = async {
            let mut got = Vec::with_capacity(LEN);
            dst_r.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), n, got) = futures::join!(produce, pump, consume);
        assert_eq!(n, LEN as u64);
        assert_eq!(got.len(), LEN);
        assert!(got == data, "copy changed the data");
    });
}

#[gorun::test(procs = 4)]
async fn split_halves_work_from_two_tasks_and_unsplit() {
    const LEN: usize = 1 << 20;
    let data = pattern(LEN);
    let (a, b) = duplex(64);
    // The far end echoes, through its own halves, until EOF, then shuts down.
    let (mut b_rd, mut b_wr) = split(b);
    let echo = gorun::go(async move {
        let n = copy(&mut b_rd, &mut b_wr).await.unwrap();
        b_wr.shutdown().await.unwrap();
        (n, b_rd.unsplit(b_wr))
    });
    let (mut rd, mut wr) = split(a);
    assert!(rd.is_pair_of(&wr));
    let sent = data.clone();
    let writer = gorun::go(async move {
        for chunk in sent.chunks(1000) {
            wr.write_all(chunk).await.unwrap();
        }
        wr.shutdown().await.unwrap();
        wr
    });
    let reader = gorun::go(async move {
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.unwrap();
        (back, rd)
    });
    let (back, rd) = timeout(LIMIT, reader)
        .await
        .expect("reader timed out")
        .unwrap();
    assert!(back == data, "the echo differs");
    let wr = writer.await.unwrap();
    let (n, _b) = echo.await.unwrap();
    assert_eq!(n, LEN as u64);
    let mut a: DuplexStream = rd.unsplit(wr);
    // The reunited stream still reads: EOF, since `b` shut down.
    assert_eq!(a.read(&mut [0; 1]).await.unwrap(), 0);
}

#[test]
#[should_panic(expected = "`WriteHalf` of another stream")]
fn unsplit_with_a_stranger_panics() {
    let (rd, _) = split(duplex(8).0);
    let (_, wr) = split(duplex(8).0);
    let _ = rd.unsplit(wr);
}

pin_project_lite::pin_project! {
    /// A stream that is `!Unpin`.
    struct Pinned {
        #[pin]
        inner: DuplexStream,
        #[pin]
        _pin: PhantomPinned,
    }
}

impl AsyncRead for Pinned {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_read(cx, b)
    }
}

impl AsyncWrite for Pinned {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, b)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_close(cx)
    }
}

#[test]
fn split_accepts_a_stream_that_is_not_unpin() {
    block_on(async {
        let (a, mut b) = duplex(64);
        let (mut rd, mut wr) = split(Pinned {
            inner: a,
            _pin: PhantomPinned,
        });
        wr.write_all(b"pinned").await.unwrap();
        let mut got = [0; 6];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"pinned");
        b.write_all(b"back").await.unwrap();
        let mut back = [0; 4];
        rd.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
    });
}

/// A listener on loopback and its address.
async fn listen() -> (TcpListener, std::net::SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[gorun::test(procs = 4)]
async fn copy_bidirectional_proxies_two_tcp_connections_with_half_close() {
    const UP: usize = 3 << 20;
    let request = pattern(UP);
    // The origin reads the whole request (it ends only at the proxy's half-close),
    // then answers with its length and the reversed first kilobyte.
    let (origin, origin_addr) = listen().await;
    let server = gorun::go(async move {
        let (mut s, _) = origin.accept().await.unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).await.unwrap();
        s.write_u64(req.len() as u64).await.unwrap();
        let head: Vec<u8> = req[..1024].iter().rev().copied().collect();
        s.write_all(&head).await.unwrap();
        s.shutdown().await.unwrap();
        req
    });
    let (front, front_addr) = listen().await;
    let proxy = gorun::go(async move {
        let (mut inbound, _) = front.accept().await.unwrap();
        let mut outbound = TcpStream::connect(origin_addr).await.unwrap();
        copy_bidirectional(&mut inbound, &mut outbound)
            .await
            .unwrap()
    });
    let client = async {
        let c = TcpStream::connect(front_addr).await.unwrap();
        let (mut rd, mut wr) = c.into_split();
        let sent = request.clone();
        let writer = gorun::go(async move {
            wr.write_all(&sent).await.unwrap();
            wr.shutdown().await.unwrap(); // half-close: the reply still comes back
            wr
        });
        let len = rd.read_u64().await.unwrap();
        let mut head = vec![0; 1024];
        rd.read_exact(&mut head).await.unwrap();
        assert_eq!(
            rd.read(&mut [0; 1]).await.unwrap(),
            0,
            "EOF after the reply"
        );
        drop(writer.await.unwrap());
        (len, head)
    };
    let (len, head) = timeout(LIMIT, client).await.expect("client timed out");
    assert_eq!(len, UP as u64);
    let expect: Vec<u8> = request[..1024].iter().rev().copied().collect();
    assert_eq!(head, expect);
    let (up, down) = timeout(LIMIT, proxy)
        .await
        .expect("proxy timed out")
        .unwrap();
    assert_eq!((up, down), (UP as u64, 8 + 1024));
    assert!(
        server.await.unwrap() == request,
        "the origin got other bytes"
    );
}

#[gorun::test]
async fn tokio_spelled_shutdown_half_closes_a_gorun_tcp_stream() {
    let (listener, addr) = listen().await;
    let server = gorun::go(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).await.unwrap(); // ends at the client's FIN
        s.write_all(b"got ").await.unwrap();
        s.write_all(&req).await.unwrap();
    });
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"request").await.unwrap();
    c.shutdown().await.unwrap(); // AsyncWriteExt::shutdown, not std's shutdown(how)
    let mut back = Vec::new();
    timeout(LIMIT, c.read_to_end(&mut back))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, b"got request");
    server.await.unwrap();

    // The same spelling on a Unix stream.
    let (mut x, mut y) = UnixStream::pair().unwrap();
    x.write_all(b"unix").await.unwrap();
    x.shutdown().await.unwrap();
    let mut got = String::new();
    y.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "unix");
    // std's synchronous form is still there, renamed.
    y.shutdown_std(Shutdown::Write).unwrap();
    assert_eq!(x.read(&mut [0; 1]).await.unwrap(), 0);
}

/// Remembers whether its reader answered `Pending`.
struct Watch<R> {
    inner: R,
    pended: bool,
}

impl<R: AsyncRead + Unpin> AsyncRead for Watch<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        b: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, b);
        self.pended |= r.is_pending();
        r
    }
}

/// Drains `reader` with `read_buf` inside a `select!` that races it against a
/// ticker and a busy channel, so many `read_buf` futures are dropped unfinished;
/// returns the bytes read and how many `read_buf` futures were dropped after a
/// poll that found nothing to read.
async fn drain_through_select<R: AsyncRead + Unpin>(reader: R) -> (Vec<u8>, u64) {
    enum Event {
        Read(usize),
        Other,
    }
    let mut reader = Watch {
        inner: reader,
        pended: false,
    };
    let (tx, chatter) = gorun::chan::<u64>(1);
    let talker = gorun::go(async move {
        let mut i = 0;
        while tx.send(i).await.is_ok() {
            i += 1;
        }
    });
    let ticks = gorun::time::tick(Duration::from_micros(200));
    let mut buf = BytesMut::with_capacity(4096);
    let mut got = Vec::new();
    let mut dropped = 0;
    loop {
        reader.pended = false;
        let event = gorun::select! {
            r = reader.read_buf(&mut buf) => Event::Read(r.unwrap()),
            recv(ticks) -> _ => Event::Other,
            recv(chatter) -> _ => Event::Other,
        };
        match event {
            Event::Read(0) => break,
            Event::Read(_) => {}
            Event::Other if reader.pended => dropped += 1,
            Event::Other => {}
        }
        if buf.len() > 3000 {
            got.extend_from_slice(&buf.split()); // keeps the capacity moving
        }
    }
    got.extend_from_slice(&buf);
    drop(chatter);
    talker.await.unwrap();
    (got, dropped)
}

#[gorun::test(procs = 4)]
async fn read_buf_loses_no_byte_when_select_drops_it_over_tcp() {
    const LEN: usize = 2 << 20;
    let data = pattern(LEN);
    let (listener, addr) = listen().await;
    let sent = data.clone();
    let server = gorun::go(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.set_nodelay(true).unwrap();
        let (mut off, mut step) = (0, 1);
        while off < sent.len() {
            let end = (off + step).min(sent.len());
            s.write_all(&sent[off..end]).await.unwrap();
            off = end;
            step = step * 31 % 9973 + 1; // 1 byte to ~10 KB, in no order
            if step % 4 == 0 {
                // Paced, so the reader drains the socket and often finds it empty
                // (loopback buffers could otherwise hold the whole transfer).
                gorun::time::sleep(Duration::from_micros(100)).await;
            }
        }
        s.shutdown().await.unwrap();
    });
    let c = TcpStream::connect(addr).await.unwrap();
    let (got, dropped) = timeout(LIMIT, drain_through_select(c))
        .await
        .expect("drain timed out");
    server.await.unwrap();
    eprintln!("read_buf futures dropped after a pending poll: {dropped}");
    assert!(
        dropped > 10,
        "only {dropped} read_buf futures were dropped after a poll"
    );
    assert_eq!(got.len(), LEN);
    assert!(got == data, "bytes lost or duplicated");
}

#[gorun::test(procs = 4)]
async fn read_buf_loses_no_byte_when_select_drops_it_over_a_duplex() {
    const LEN: usize = 1 << 20;
    let data = pattern(LEN);
    let (mut w, r) = duplex(333); // small: most reads find the pipe empty first
    let sent = data.clone();
    let writer = gorun::go(async move {
        for (i, chunk) in sent.chunks(777).enumerate() {
            w.write_all(chunk).await.unwrap();
            if i % 16 == 0 {
                // Paced, so the reader also finds the pipe empty on other workers.
                gorun::time::sleep(Duration::from_micros(100)).await;
            }
        }
        w.shutdown().await.unwrap();
    });
    let (got, dropped) = timeout(LIMIT, drain_through_select(r))
        .await
        .expect("drain timed out");
    writer.await.unwrap();
    eprintln!("read_buf futures dropped after a pending poll: {dropped}");
    assert!(
        dropped > 10,
        "only {dropped} read_buf futures were dropped after a poll"
    );
    assert!(got == data, "bytes lost or duplicated");
}
