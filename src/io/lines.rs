//! [`Lines`] and [`Split`]: a buffered reader cut into lines or segments.
//!
//! Both keep the partial line in themselves, not in a future, so `next_line` /
//! `next_segment` (and `poll_next`) are cancel-safe: a future dropped mid-line
//! leaves the bytes read for the next call.

use std::future::Future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::AsyncBufRead;
use pin_project_lite::pin_project;

use super::buf_read_ext::poll_read_until;

pin_project! {
    /// The lines of a buffered reader, from
    /// [`AsyncBufReadExt::lines`](super::AsyncBufReadExt::lines): each without its
    /// `\n` or `\r\n`. A line that is not UTF-8 is an `InvalidData` error (and is
    /// skipped).
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut lines = BufReader::new(&b"first\nsecond\n"[..]).lines();
    /// assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("first"));
    /// assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
    /// assert_eq!(lines.next_line().await.unwrap(), None);
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Lines<R> {
        #[pin]
        reader: R,
        buf: Vec<u8>,
        read: usize,
    }
}

impl<R> Lines<R> {
    pub(super) fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            read: 0,
        }
    }

    /// The reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// The reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().reader
    }

    /// The reader; a partial line read so far is dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Lines<R> {
    /// The next line; `Ok(None)` at end of stream. Cancel-safe.
    pub fn next_line(&mut self) -> NextLine<'_, R>
    where
        R: Unpin,
    {
        NextLine { lines: self }
    }

    /// Polls for the next line; `Ready(Ok(None))` at end of stream.
    pub fn poll_next_line(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<String>>> {
        let me = self.project();
        let n = ready!(poll_read_until(me.reader, cx, b'\n', me.buf, me.read))?;
        if n == 0 && me.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut line = mem::take(me.buf);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        Poll::Ready(match String::from_utf8(line) {
            Ok(line) => Ok(Some(line)),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )),
        })
    }
}

impl<R: AsyncBufRead> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_line(cx).map(Result::transpose)
    }
}

/// The future of [`Lines::next_line`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct NextLine<'a, R> {
    lines: &'a mut Lines<R>,
}

impl<R: AsyncBufRead + Unpin> Future for NextLine<'_, R> {
    type Output = io::Result<Option<String>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().lines).poll_next_line(cx)
    }
}

pin_project! {
    /// The segments of a buffered reader between delimiter bytes, from
    /// [`AsyncBufReadExt::split`](super::AsyncBufReadExt::split): each without its
    /// delimiter.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let parts = BufReader::new(&b"a\0b\0"[..]).split(0);
    /// let all: Vec<Vec<u8>> = parts.map(|p| p.unwrap()).collect().await;
    /// assert_eq!(all, [b"a".to_vec(), b"b".to_vec()]);
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Split<R> {
        #[pin]
        reader: R,
        delim: u8,
        buf: Vec<u8>,
        read: usize,
    }
}

impl<R> Split<R> {
    pub(super) fn new(reader: R, delim: u8) -> Self {
        Split {
            reader,
            delim,
            buf: Vec::new(),
            read: 0,
        }
    }

    /// The reader; a partial segment read so far is dropped.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: AsyncBufRead> Split<R> {
    /// The next segment; `Ok(None)` at end of stream. Cancel-safe.
    pub fn next_segment(&mut self) -> NextSegment<'_, R>
    where
        R: Unpin,
    {
        NextSegment { split: self }
    }

    /// Polls for the next segment; `Ready(Ok(None))` at end of stream.
    pub fn poll_next_segment(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Vec<u8>>>> {
        let me = self.project();
        let n = ready!(poll_read_until(me.reader, cx, *me.delim, me.buf, me.read))?;
        if n == 0 && me.buf.is_empty() {
            return Poll::Ready(Ok(None));
        }
        let mut segment = mem::take(me.buf);
        if segment.last() == Some(me.delim) {
            segment.pop();
        }
        Poll::Ready(Ok(Some(segment)))
    }
}

impl<R: AsyncBufRead> Stream for Split<R> {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.poll_next_segment(cx).map(Result::transpose)
    }
}

/// The future of [`Split::next_segment`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct NextSegment<'a, R> {
    split: &'a mut Split<R>,
}

impl<R: AsyncBufRead + Unpin> Future for NextSegment<'_, R> {
    type Output = io::Result<Option<Vec<u8>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().split).poll_next_segment(cx)
    }
}
