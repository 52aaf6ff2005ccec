//! [`Take`] and [`Chain`]: readers made from readers, from
//! [`AsyncReadExt::take`](super::AsyncReadExt::take) and
//! [`AsyncReadExt::chain`](super::AsyncReadExt::chain).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead};
use pin_project_lite::pin_project;

pin_project! {
    /// A reader that ends after at most `limit` bytes of its inner reader (tokio's
    /// `Take`).
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut head = (&b"header|body"[..]).take(6);
    /// let mut s = String::new();
    /// head.read_to_string(&mut s).await.unwrap();
    /// assert_eq!(s, "header");
    /// assert_eq!(head.limit(), 0);
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "readers do nothing unless read"]
    pub struct Take<R> {
        #[pin]
        inner: R,
        limit: u64,
    }
}

impl<R> Take<R> {
    pub(super) fn new(inner: R, limit: u64) -> Self {
        Take { inner, limit }
    }

    /// The bytes left before this reader ends.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Sets the bytes left before this reader ends.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The inner reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().inner
    }

    /// The inner reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: AsyncRead> AsyncRead for Take<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.project();
        if *me.limit == 0 {
            return Poll::Ready(Ok(0));
        }
        let max = buf
            .len()
            .min(usize::try_from(*me.limit).unwrap_or(usize::MAX));
        let n = ready!(me.inner.poll_read(cx, &mut buf[..max]))?;
        *me.limit -= n.min(max) as u64;
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncBufRead> AsyncBufRead for Take<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.project();
        if *me.limit == 0 {
            return Poll::Ready(Ok(&[]));
        }
        let buf = ready!(me.inner.poll_fill_buf(cx))?;
        let max = buf
            .len()
            .min(usize::try_from(*me.limit).unwrap_or(usize::MAX));
        Poll::Ready(Ok(&buf[..max]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.project();
        let amt = amt.min(usize::try_from(*me.limit).unwrap_or(usize::MAX));
        *me.limit -= amt as u64;
        me.inner.consume(amt);
    }
}

pin_project! {
    /// A reader that reads its first reader to its end, then its second (tokio's
    /// `Chain`).
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut both = (&b"head,"[..]).chain(&b"tail"[..]);
    /// let mut s = String::new();
    /// both.read_to_string(&mut s).await.unwrap();
    /// assert_eq!(s, "head,tail");
    /// # });
    /// ```
    #[derive(Debug)]
    #[must_use = "readers do nothing unless read"]
    pub struct Chain<R1, R2> {
        #[pin]
        first: R1,
        #[pin]
        second: R2,
        done_first: bool,
    }
}

impl<R1, R2> Chain<R1, R2> {
    pub(super) fn new(first: R1, second: R2) -> Self {
        Chain {
            first,
            second,
            done_first: false,
        }
    }

    /// The two readers.
    pub fn get_ref(&self) -> (&R1, &R2) {
        (&self.first, &self.second)
    }

    /// The two readers, mutably.
    pub fn get_mut(&mut self) -> (&mut R1, &mut R2) {
        (&mut self.first, &mut self.second)
    }

    /// The two readers, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> (Pin<&mut R1>, Pin<&mut R2>) {
        let me = self.project();
        (me.first, me.second)
    }

    /// The two readers.
    pub fn into_inner(self) -> (R1, R2) {
        (self.first, self.second)
    }
}

impl<R1: AsyncRead, R2: AsyncRead> AsyncRead for Chain<R1, R2> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.project();
        if !*me.done_first {
            let n = ready!(me.first.poll_read(cx, buf))?;
            if n > 0 || buf.is_empty() {
                return Poll::Ready(Ok(n));
            }
            *me.done_first = true;
        }
        me.second.poll_read(cx, buf)
    }
}

impl<R1: AsyncBufRead, R2: AsyncBufRead> AsyncBufRead for Chain<R1, R2> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.project();
        if !*me.done_first {
            match ready!(me.first.poll_fill_buf(cx))? {
                [] => *me.done_first = true,
                buf => return Poll::Ready(Ok(buf)),
            }
        }
        me.second.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.project();
        if *me.done_first {
            me.second.consume(amt)
        } else {
            me.first.consume(amt)
        }
    }
}
