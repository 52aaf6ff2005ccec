//! [`AsyncBufReadExt`]: tokio's buffered-read helpers over
//! `futures_io::AsyncBufRead`.
//!
//! `read_until` appends to the caller's vector as it consumes from the reader, so
//! it is cancel-safe (call it again to go on). `read_line` holds the `String`'s
//! bytes while it reads and, if dropped mid-way, puts back the text it had plus
//! the valid UTF-8 it read (tokio leaves the string empty). [`Lines`] and
//! [`Split`] keep their partial line in themselves: their `next_*` futures are
//! cancel-safe.

use std::future::Future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::AsyncBufRead;

use super::lines::{Lines, Split};

/// Buffered-reading helpers for every [`futures_io::AsyncBufRead`] (a
/// [`BufReader`](super::BufReader), `&[u8]`), under tokio's names
/// (`tokio::io::AsyncBufReadExt`).
///
/// ```
/// use gorun::io::{AsyncBufReadExt, BufReader};
///
/// # futures::executor::block_on(async {
/// let mut reader = BufReader::new(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
/// let mut line = String::new();
/// reader.read_line(&mut line).await.unwrap();
/// assert_eq!(line, "GET / HTTP/1.1\r\n");
/// # });
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Returns the buffered data, filling the buffer first if it is empty; an empty
    /// slice means end of stream. Pair with [`consume`](AsyncBufReadExt::consume).
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader = BufReader::new(&b"abc"[..]);
    /// assert_eq!(reader.fill_buf().await.unwrap(), b"abc");
    /// reader.consume(2);
    /// assert_eq!(reader.fill_buf().await.unwrap(), b"c");
    /// # });
    /// ```
    fn fill_buf(&mut self) -> FillBuf<'_, Self>
    where
        Self: Unpin,
    {
        FillBuf { reader: Some(self) }
    }

    /// Marks `amt` bytes of the buffer returned by
    /// [`fill_buf`](AsyncBufReadExt::fill_buf) as read.
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader = BufReader::new(&b"skip:keep"[..]);
    /// reader.fill_buf().await.unwrap();
    /// reader.consume(5);
    /// let mut rest = String::new();
    /// reader.read_to_string(&mut rest).await.unwrap();
    /// assert_eq!(rest, "keep");
    /// # });
    /// ```
    fn consume(&mut self, amt: usize)
    where
        Self: Unpin,
    {
        Pin::new(self).consume(amt)
    }

    /// Reads into `buf` up to and including `byte`, or to end of stream:
    /// `Ok(bytes appended)`, `Ok(0)` at end of stream. Cancel-safe: bytes are
    /// appended as they are consumed.
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader = BufReader::new(&b"a,bc"[..]);
    /// let mut buf = Vec::new();
    /// assert_eq!(reader.read_until(b',', &mut buf).await.unwrap(), 2);
    /// assert_eq!(buf, b"a,");
    /// assert_eq!(reader.read_until(b',', &mut buf).await.unwrap(), 2);
    /// assert_eq!(buf, b"a,bc");
    /// assert_eq!(reader.read_until(b',', &mut buf).await.unwrap(), 0);
    /// # });
    /// ```
    fn read_until<'a>(&'a mut self, byte: u8, buf: &'a mut Vec<u8>) -> ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        ReadUntil {
            reader: self,
            delim: byte,
            buf,
            read: 0,
        }
    }

    /// Reads a line, its `\n` included, appending it to `buf`: `Ok(bytes appended)`,
    /// `Ok(0)` at end of stream. Invalid UTF-8 fails with `InvalidData` and leaves
    /// `buf` as it was; so does an I/O error except that the valid text read before
    /// it is kept (as tokio).
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader = BufReader::new(&b"one\ntwo"[..]);
    /// let mut line = String::new();
    /// assert_eq!(reader.read_line(&mut line).await.unwrap(), 4);
    /// assert_eq!(reader.read_line(&mut line).await.unwrap(), 3);
    /// assert_eq!(line, "one\ntwo");
    /// assert_eq!(reader.read_line(&mut line).await.unwrap(), 0);
    /// # });
    /// ```
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        let bytes = mem::take(buf).into_bytes();
        ReadLine {
            reader: self,
            orig_len: bytes.len(),
            output: buf,
            bytes,
            read: 0,
            done: false,
        }
    }

    /// The lines of this reader, without their `\n` or `\r\n`: a
    /// [`Stream`](futures_core::Stream) of `io::Result<String>`, or one line at a
    /// time with [`Lines::next_line`] (tokio's spelling).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let lines = BufReader::new(&b"a\r\nb\nc"[..]).lines();
    /// let all: Vec<String> = lines.map(|l| l.unwrap()).collect().await;
    /// assert_eq!(all, ["a", "b", "c"]);
    /// # });
    /// ```
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines::new(self)
    }

    /// The segments of this reader between `byte`s (without them), as byte vectors:
    /// [`Split::next_segment`], or a [`Stream`](futures_core::Stream).
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut parts = BufReader::new(&b"k=v;x=y"[..]).split(b';');
    /// assert_eq!(parts.next_segment().await.unwrap(), Some(b"k=v".to_vec()));
    /// assert_eq!(parts.next_segment().await.unwrap(), Some(b"x=y".to_vec()));
    /// assert_eq!(parts.next_segment().await.unwrap(), None);
    /// # });
    /// ```
    fn split(self, byte: u8) -> Split<Self>
    where
        Self: Sized,
    {
        Split::new(self, byte)
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}

/// Appends to `buf` up to and including `delim` (or to EOF), counting in `*read`.
/// `Ready(Ok(n))` returns the count and resets it.
pub(super) fn poll_read_until<R: AsyncBufRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    delim: u8,
    buf: &mut Vec<u8>,
    read: &mut usize,
) -> Poll<io::Result<usize>> {
    loop {
        let (done, used) = {
            let available = ready!(reader.as_mut().poll_fill_buf(cx))?;
            match available.iter().position(|&b| b == delim) {
                Some(i) => {
                    buf.extend_from_slice(&available[..=i]);
                    (true, i + 1)
                }
                None => {
                    buf.extend_from_slice(available);
                    (available.is_empty(), available.len())
                }
            }
        };
        reader.as_mut().consume(used);
        *read += used;
        if done {
            return Poll::Ready(Ok(mem::take(read)));
        }
    }
}

/// The future of [`AsyncBufReadExt::fill_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct FillBuf<'a, R: ?Sized> {
    reader: Option<&'a mut R>,
}

impl<'a, R: AsyncBufRead + Unpin + ?Sized> Future for FillBuf<'a, R> {
    type Output = io::Result<&'a [u8]>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&'a [u8]>> {
        let me = self.get_mut();
        let reader = me.reader.take().expect("`FillBuf` polled after completion");
        // Polled twice: the first, on a reborrow, may return `Pending` and keep the
        // reader; the second hands out the buffer for the whole `'a` (the borrow
        // checker cannot express "the borrow ends on `Pending`" in one call).
        match Pin::new(&mut *reader).poll_fill_buf(cx) {
            Poll::Pending => {
                me.reader = Some(reader);
                Poll::Pending
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(_)) => match Pin::new(reader).poll_fill_buf(cx) {
                Poll::Ready(r) => Poll::Ready(r),
                Poll::Pending => panic!("AsyncBufRead::poll_fill_buf was ready, then pending"),
            },
        }
    }
}

/// The future of [`AsyncBufReadExt::read_until`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadUntil<'a, R: ?Sized> {
    reader: &'a mut R,
    delim: u8,
    buf: &'a mut Vec<u8>,
    read: usize,
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadUntil<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        poll_read_until(
            Pin::new(&mut *me.reader),
            cx,
            me.delim,
            me.buf,
            &mut me.read,
        )
    }
}

/// The future of [`AsyncBufReadExt::read_line`].
///
/// Holds the `String`'s bytes while reading; every exit puts valid UTF-8 back.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadLine<'a, R: ?Sized> {
    reader: &'a mut R,
    output: &'a mut String,
    bytes: Vec<u8>,
    orig_len: usize,
    read: usize,
    done: bool,
}

impl<R: ?Sized> ReadLine<'_, R> {
    /// Puts the original text back, plus the appended bytes if they are all UTF-8
    /// (`all_or_nothing`) or their valid prefix. `Err` if they were not all UTF-8.
    fn put_back(&mut self, all_or_nothing: bool) -> Result<(), ()> {
        self.done = true;
        let mut bytes = mem::take(&mut self.bytes);
        let (keep, all_valid) = match std::str::from_utf8(&bytes[self.orig_len..]) {
            Ok(appended) => (appended.len(), true),
            Err(_) if all_or_nothing => (0, false),
            Err(e) => (e.valid_up_to(), false),
        };
        bytes.truncate(self.orig_len + keep);
        *self.output = String::from_utf8(bytes).expect("checked to be UTF-8 above");
        if all_valid {
            Ok(())
        } else {
            Err(())
        }
    }
}

impl<R: AsyncBufRead + Unpin + ?Sized> Future for ReadLine<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        assert!(!me.done, "`ReadLine` polled after completion");
        let r = ready!(poll_read_until(
            Pin::new(&mut *me.reader),
            cx,
            b'\n',
            &mut me.bytes,
            &mut me.read
        ));
        Poll::Ready(match r {
            Ok(n) => match me.put_back(true) {
                Ok(()) => Ok(n),
                Err(()) => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                )),
            },
            Err(e) => {
                let _ = me.put_back(false);
                Err(e)
            }
        })
    }
}

impl<R: ?Sized> Drop for ReadLine<'_, R> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.put_back(false);
        }
    }
}
