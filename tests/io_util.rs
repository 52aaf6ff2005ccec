//! `gorun::io` on any executor (`futures::executor::block_on`): the integer reads
//! and writes, `read_exact`, `read_to_end`/`read_to_string`, `read_buf` into
//! uninitialized capacity, `BufReader` lines and `read_until`, `BufWriter`
//! buffering, and the cancel-safety claims of the module docs. The pipes (copy,
//! split, duplex, TCP) are in `io_pipes.rs`.

use std::future::Future;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::buf::UninitSlice;
use bytes::{BufMut, BytesMut};
use futures::executor::block_on;
use futures::io::{AsyncRead, AsyncWrite};
use futures::StreamExt;
use gorun::io::{duplex, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};

/// `len` bytes of a pattern that does not repeat on any power-of-two stride.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i / 251) as u8)
        .collect()
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

/// Writes `data` to `w` in chunks of 1, 2, 3, ... bytes, then shuts it down.
async fn trickle<W: AsyncWrite + Unpin>(mut w: W, data: &[u8]) -> io::Result<()> {
    let (mut off, mut step) = (0, 1);
    while off < data.len() {
        let end = (off + step).min(data.len());
        w.write_all(&data[off..end]).await?;
        off = end;
        step = step % 97 + 1;
    }
    w.shutdown().await
}

/// Writes every integer through one method and reads it back through the
/// matching one, across a 7-byte duplex (narrower than a u128, so the reads and
/// writes of the wide types are split); first checks each method's byte layout.
macro_rules! int_round_trip {
    ($($write:ident / $read:ident = $v:expr, $to:ident;)*) => {
        block_on(async {
            $({
                let mut out = Vec::new();
                out.$write($v).await.unwrap();
                assert_eq!(out, $v.$to(), "byte layout of {}", stringify!($write));
            })*
            let (mut w, mut r) = duplex(7);
            let write = async move {
                $(w.$write($v).await.unwrap();)*
                w.shutdown().await.unwrap();
            };
            let read = async move {
                $(assert_eq!(r.$read().await.unwrap(), $v, "{}", stringify!($read));)*
                let eof = r.read_u8().await.unwrap_err();
                assert_eq!(eof.kind(), ErrorKind::UnexpectedEof);
            };
            futures::join!(write, read);
        })
    };
}

#[test]
fn every_int_width_and_order_round_trips_through_a_duplex() {
    int_round_trip! {
        write_u8 / read_u8 = 0xABu8, to_be_bytes;
        write_i8 / read_i8 = -2i8, to_be_bytes;
        write_u16 / read_u16 = 0x0102u16, to_be_bytes;
        write_i16 / read_i16 = i16::MIN + 3, to_be_bytes;
        write_u32 / read_u32 = 0x0102_0304u32, to_be_bytes;
        write_i32 / read_i32 = -123_456_789i32, to_be_bytes;
        write_u64 / read_u64 = 0x0102_0304_0506_0708u64, to_be_bytes;
        write_i64 / read_i64 = i64::MIN + 1, to_be_bytes;
        write_u128 / read_u128 = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128, to_be_bytes;
        write_i128 / read_i128 = -(1i128 << 100) - 7, to_be_bytes;
        write_f32 / read_f32 = -1.5e-3f32, to_be_bytes;
        write_f64 / read_f64 = std::f64::consts::PI, to_be_bytes;
        write_u16_le / read_u16_le = 0x0102u16, to_le_bytes;
        write_i16_le / read_i16_le = i16::MIN + 3, to_le_bytes;
        write_u32_le / read_u32_le = 0x0102_0304u32, to_le_bytes;
        write_i32_le / read_i32_le = -123_456_789i32, to_le_bytes;
        write_u64_le / read_u64_le = 0x0102_0304_0506_0708u64, to_le_bytes;
        write_i64_le / read_i64_le = i64::MIN + 1, to_le_bytes;
        write_u128_le / read_u128_le = 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128, to_le_bytes;
        write_i128_le / read_i128_le = -(1i128 << 100) - 7, to_le_bytes;
        write_f32_le / read_f32_le = -1.5e-3f32, to_le_bytes;
        write_f64_le / read_f64_le = std::f64::consts::PI, to_le_bytes;
    }
}

#[test]
fn integers_are_big_endian_unless_le() {
    block_on(async {
        let mut out = Vec::new();
        out.write_u32(0x0102_0304).await.unwrap();
        out.write_u32_le(0x0102_0304).await.unwrap();
        out.write_i16(-2).await.unwrap();
        assert_eq!(out, [1, 2, 3, 4, 4, 3, 2, 1, 0xff, 0xfe]);
        let mut r = &out[..];
        assert_eq!(r.read_u16().await.unwrap(), 0x0102);
        assert_eq!(r.read_u16_le().await.unwrap(), 0x0403);
        assert_eq!(r.read_u32().await.unwrap(), 0x0403_0201);
    });
}

#[test]
fn read_exact_fails_with_unexpected_eof_when_the_stream_ends_first() {
    block_on(async {
        let (mut w, mut r) = duplex(16);
        w.write_all(b"abcdef").await.unwrap();
        drop(w);
        let mut four = [0; 4];
        assert_eq!(r.read_exact(&mut four).await.unwrap(), 4);
        assert_eq!(&four, b"abcd");
        let err = r.read_exact(&mut four).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        // An empty read_exact needs nothing, even at EOF.
        assert_eq!(r.read_exact(&mut []).await.unwrap(), 0);
        let err = r.read_u64().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    });
}

#[test]
fn read_to_end_appends_everything_after_the_existing_bytes() {
    let data = pattern(300_000);
    block_on(async {
        let (w, mut r) = duplex(1000);
        let mut all = b"prefix".to_vec();
        let (sent, got) = futures::join!(trickle(w, &data), r.read_to_end(&mut all));
        sent.unwrap();
        assert_eq!(got.unwrap(), data.len());
        assert_eq!(&all[..6], b"prefix");
        assert!(all[6..] == data[..], "read_to_end changed the data");
    });
}

#[test]
fn read_to_end_shows_no_zeros_past_the_data_even_when_dropped() {
    block_on(async {
        // A huge capacity is not zeroed up front, and never shows up as length.
        let mut big = Vec::with_capacity(1 << 20);
        let mut r: &[u8] = b"ten bytes!";
        assert_eq!(r.read_to_end(&mut big).await.unwrap(), 10);
        assert_eq!(big, b"ten bytes!");

        // Dropped mid-way: the vector holds exactly the bytes read so far.
        let (mut w, mut r) = duplex(64);
        w.write_all(b"partial").await.unwrap();
        let mut got = Vec::new();
        let mut fut = r.read_to_end(&mut got);
        assert!(poll_once(&mut fut).is_pending());
        drop(fut);
        assert_eq!(got, b"partial");
    });
}

/// Yields `data` in 3-byte reads, then fails with `ConnectionReset`.
struct FailsAfter(&'static [u8]);

impl AsyncRead for FailsAfter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.0.is_empty() {
            return Poll::Ready(Err(ErrorKind::ConnectionReset.into()));
        }
        let n = self.0.len().min(buf.len()).min(3);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Poll::Ready(Ok(n))
    }
}

#[test]
fn read_to_string_checks_utf8_across_split_characters() {
    let text = "naïve café, 東京, 🦀 and more ".repeat(50);
    block_on(async {
        // One byte per write: every multi-byte character is split across reads.
        let (mut w, mut r) = duplex(1);
        let write = async {
            for b in text.as_bytes() {
                w.write_all(&[*b]).await.unwrap();
            }
            w.shutdown().await.unwrap();
        };
        let mut s = String::from("> ");
        let (_, n) = futures::join!(write, r.read_to_string(&mut s));
        assert_eq!(n.unwrap(), text.len());
        assert_eq!(s, format!("> {text}"));

        // Invalid UTF-8, or an I/O error: the string is left as it was (tokio's rule).
        let mut bad: &[u8] = b"ok \xff\xfe";
        let err = bad.read_to_string(&mut s).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(s, format!("> {text}"));
        let mut s = String::from("kept");
        let err = FailsAfter(b" lost")
            .read_to_string(&mut s)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        assert_eq!(s, "kept");
    });
}

#[test]
fn read_to_string_dropped_mid_way_keeps_the_valid_text() {
    block_on(async {
        let (mut w, mut r) = duplex(64);
        w.write_all("ab\u{e9}".as_bytes()).await.unwrap(); // 'é' is 2 bytes
        w.write_all(&"\u{e9}".as_bytes()[..1]).await.unwrap(); // half a character
        let mut s = String::from("x:");
        let mut fut = r.read_to_string(&mut s);
        assert!(poll_once(&mut fut).is_pending());
        drop(fut);
        assert_eq!(s, "x:ab\u{e9}"); // the half character is dropped, the rest kept
    });
}

/// A `BufMut` over memory that is already initialized (to 0xAA), so a test can
/// see which bytes `read_buf` wrote.
struct Canvas {
    data: Vec<u8>,
    len: usize,
}

// SAFETY: `chunk_mut` is `data[len..]`, `remaining_mut` its length, and
// `advance_mut` moves `len` forward within `data` (asserted).
unsafe impl BufMut for Canvas {
    fn remaining_mut(&self) -> usize {
        self.data.len() - self.len
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        assert!(cnt <= self.remaining_mut());
        self.len += cnt;
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        UninitSlice::new(&mut self.data[self.len..])
    }
}

#[test]
fn read_buf_writes_only_the_bytes_read_into_the_spare_capacity() {
    block_on(async {
        let mut canvas = Canvas {
            data: vec![0xAA; 100],
            len: 0,
        };
        let mut r: &[u8] = b"hello";
        assert_eq!(r.read_buf(&mut canvas).await.unwrap(), 5);
        assert_eq!(canvas.len, 5);
        assert_eq!(&canvas.data[..5], b"hello");
        // The rest of the capacity was neither zeroed nor touched.
        assert!(canvas.data[5..].iter().all(|&b| b == 0xAA));
    });
}

#[test]
fn read_buf_into_bytes_mut_reads_real_data() {
    let data = pattern(200_000);
    block_on(async {
        let (w, mut r) = duplex(4096);
        let read = async {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            loop {
                let before = buf.len();
                let n = r.read_buf(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                assert_eq!(buf.len(), before + n);
                assert!(
                    buf[before..] == data[before..before + n],
                    "read_buf's bytes differ"
                );
            }
            buf
        };
        let (sent, buf) = futures::join!(trickle(w, &data), read);
        sent.unwrap();
        assert_eq!(buf.len(), data.len());
        assert!(buf[..] == data[..]);

        // A Vec<u8> is a BufMut too; a full buffer reads nothing (and does not read).
        let mut v = Vec::with_capacity(4);
        let mut r: &[u8] = b"abcdefgh";
        assert!(r.read_buf(&mut v).await.unwrap() > 0);
        assert!(b"abcdefgh".starts_with(&v));
        let mut full: &mut [u8] = &mut [];
        assert_eq!(r.read_buf(&mut full).await.unwrap(), 0);
    });
}

/// Reports `n` bytes read without writing any: a broken reader.
struct Liar(usize);

impl AsyncRead for Liar {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.0.min(b.len())))
    }
}

#[test]
fn read_buf_never_hands_one_streams_bytes_to_another() {
    block_on(async {
        // A real read on this thread goes through the scratch buffer...
        let secret = b"secret session key".repeat(10);
        let mut buf = BytesMut::with_capacity(1024);
        secret.as_slice().read_buf(&mut buf).await.unwrap();
        assert_eq!(&buf[..], &secret[..]);
        // ...and a reader that claims bytes it did not write gets zeros, not those.
        let mut other = BytesMut::with_capacity(1024);
        let n = Liar(secret.len()).read_buf(&mut other).await.unwrap();
        assert_eq!(n, secret.len());
        assert!(other.iter().all(|&b| b == 0));
    });
}

#[test]
fn buf_reader_lines_and_read_until_across_refills() {
    let text = b"alpha\r\nbeta\n\ngamma;delta;\nlast without newline";
    block_on(async {
        // A 4-byte buffer and 1-byte writes: lines span many refills.
        let (w, r) = duplex(3);
        let read = async {
            let mut r = BufReader::with_capacity(4, r);
            let mut line = String::new();
            assert_eq!(r.read_line(&mut line).await.unwrap(), 7);
            assert_eq!(line, "alpha\r\n");
            let mut lines = r.lines();
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("beta"));
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some(""));
            let mut r = lines.into_inner();
            let mut seg = Vec::new();
            assert_eq!(r.read_until(b';', &mut seg).await.unwrap(), 6);
            assert_eq!(r.read_until(b';', &mut seg).await.unwrap(), 6);
            assert_eq!(seg, b"gamma;delta;");
            let rest: Vec<String> = r.lines().map(Result::unwrap).collect().await;
            assert_eq!(rest, ["", "last without newline"]);
        };
        let (sent, ()) = futures::join!(trickle(w, text), read);
        sent.unwrap();
    });
}

#[test]
fn a_line_that_is_not_utf8_is_an_error_and_the_next_line_still_reads() {
    block_on(async {
        let mut lines = BufReader::new(&b"good\nb\xffd\nfine\n"[..]).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("good"));
        let err = lines.next_line().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("fine"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    });
}

#[test]
fn next_line_and_read_until_are_cancel_safe() {
    block_on(async {
        let (mut w, r) = duplex(64);
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"hel").await.unwrap();
        let mut fut = lines.next_line();
        assert!(poll_once(&mut fut).is_pending()); // "hel" consumed into `lines`
        drop(fut);
        w.write_all(b"lo\n").await.unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("hello"));

        let mut r = lines.into_inner();
        let mut buf = Vec::new();
        w.write_all(b"par").await.unwrap();
        let mut fut = r.read_until(b'\n', &mut buf);
        assert!(poll_once(&mut fut).is_pending());
        drop(fut);
        assert_eq!(buf, b"par"); // appended as consumed: call again to go on
        w.write_all(b"tial\n").await.unwrap();
        r.read_until(b'\n', &mut buf).await.unwrap();
        assert_eq!(buf, b"partial\n");

        // read_line dropped mid-line keeps what it read (tokio's would empty `s`).
        let mut s = String::new();
        w.write_all(b"ab").await.unwrap();
        let mut fut = r.read_line(&mut s);
        assert!(poll_once(&mut fut).is_pending());
        drop(fut);
        assert_eq!(s, "ab");
        w.write_all(b"c\n").await.unwrap();
        r.read_line(&mut s).await.unwrap();
        assert_eq!(s, "abc\n");
    });
}

/// A writer that records each write and flush, optionally taking at most `max`
/// bytes per write and answering every other poll with `Pending`.
#[derive(Default)]
struct Recorder {
    writes: Vec<Vec<u8>>,
    flushes: usize,
    closed: bool,
    max: Option<usize>,
    stutter: bool,
    skip: bool,
}

impl Recorder {
    fn bytes(&self) -> Vec<u8> {
        self.writes.concat()
    }

    /// `Pending` on every other call when stuttering (waking at once).
    fn stutter(&mut self, cx: &mut Context<'_>) -> bool {
        self.skip = self.stutter && !self.skip;
        if self.skip {
            cx.waker().wake_by_ref();
        }
        self.skip
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.stutter(cx) {
            return Poll::Pending;
        }
        let n = self.max.map_or(buf.len(), |m| m.min(buf.len()));
        self.writes.push(buf[..n].to_vec());
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.stutter(cx) {
            return Poll::Pending;
        }
        self.flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.closed = true;
        Poll::Ready(Ok(()))
    }
}

#[test]
fn buf_writer_holds_writes_until_flush_or_a_full_buffer() {
    block_on(async {
        let mut w = BufWriter::with_capacity(16, Recorder::default());
        for _ in 0..3 {
            w.write_all(b"12345").await.unwrap();
        }
        assert!(
            w.get_ref().writes.is_empty(),
            "15 bytes fit: nothing written"
        );
        assert_eq!(w.buffer(), b"123451234512345");
        w.write_all(b"67").await.unwrap(); // 17 > 16: the 15 go first, in one write
        assert_eq!(w.get_ref().writes, [b"123451234512345".to_vec()]);
        assert_eq!(w.buffer(), b"67");
        assert_eq!(w.get_ref().flushes, 0);
        w.flush().await.unwrap();
        assert_eq!(w.get_ref().writes.len(), 2);
        assert_eq!(w.get_ref().flushes, 1);
        assert!(w.buffer().is_empty());

        // A write as large as the buffer goes straight through, after what is held.
        w.write_all(b"ab").await.unwrap();
        let big = [b'x'; 16];
        w.write_all(&big).await.unwrap();
        assert_eq!(&w.get_ref().writes[2..], [b"ab".to_vec(), big.to_vec()]);

        // shutdown flushes, then closes the inner writer.
        w.write_all(b"tail").await.unwrap();
        w.shutdown().await.unwrap();
        let inner = w.into_inner();
        assert!(inner.closed);
        assert!(inner.bytes().ends_with(b"tail"));
    });
}

#[test]
fn buf_writer_resumes_a_pending_flush_without_writing_twice() {
    let data = pattern(10_000);
    block_on(async {
        let inner = Recorder {
            max: Some(7),
            stutter: true,
            ..Recorder::default()
        };
        let mut w = BufWriter::with_capacity(100, inner);
        for chunk in data.chunks(33) {
            w.write_all(chunk).await.unwrap();
        }
        w.flush().await.unwrap();
        assert!(w.get_ref().bytes() == data, "bytes lost or written twice");
    });
}

#[test]
fn take_and_chain_bound_and_join_readers() {
    block_on(async {
        // take: a length-prefixed body, then the next message is still there.
        let mut r = BufReader::with_capacity(4, &b"\x00\x05hello\x00\x02hi"[..]);
        let len = r.read_u16().await.unwrap();
        let mut body = (&mut r).take(u64::from(len));
        let mut s = String::new();
        body.read_to_string(&mut s).await.unwrap();
        assert_eq!((s.as_str(), body.limit()), ("hello", 0));
        // Through AsyncBufRead: a line cut at the limit.
        let mut body = (&mut r).take(3);
        let mut line = Vec::new();
        body.read_until(b'!', &mut line).await.unwrap();
        assert_eq!(line, b"\x00\x02h");
        assert_eq!(r.read_u8().await.unwrap(), b'i');

        // chain: the first reader to its end, then the second, through both traits.
        let mut both = BufReader::new(&b"one\ntw"[..]).chain(BufReader::new(&b"o\nthree"[..]));
        let mut line = String::new();
        both.read_line(&mut line).await.unwrap();
        assert_eq!(line, "one\n");
        let rest: Vec<String> = both.lines().map(Result::unwrap).collect().await;
        assert_eq!(rest, ["two", "three"]); // a line may span the two readers
    });
}

/// A reader whose `poll_read` itself polls a `read_buf` on the same thread.
struct Nested<R>(R);

impl<R: AsyncRead + Unpin> AsyncRead for Nested<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut tmp = BytesMut::with_capacity(out.len());
        let mut inner = self.0.read_buf(&mut tmp);
        let n = std::task::ready!(Pin::new(&mut inner).poll(cx))?;
        out[..n].copy_from_slice(&tmp);
        Poll::Ready(Ok(n))
    }
}

#[test]
fn read_buf_inside_a_readers_poll_read_still_works() {
    let data = pattern(50_000);
    block_on(async {
        let mut r = Nested(&data[..]);
        let mut all = BytesMut::new();
        while r.read_buf(&mut all).await.unwrap() > 0 {}
        assert!(all[..] == data[..]);
    });
}
