//! `read_to_end` and `read_to_string`.
//!
//! Invariants (of [`poll_read_to_end`] and the futures that hold its state):
//! 1. `buf[..filled]` is data; `buf[filled..]` is zeros lent to the reader. The
//!    vector's length runs ahead of the data so that each byte of new capacity is
//!    zeroed once per call (by `Vec::resize`, safe code), not once per read.
//! 2. Whenever a future completes or is dropped, the vector is truncated back to
//!    `filled`: the caller never sees the zeros.
//! 3. `read_to_string` keeps the `String`'s bytes in the future while it reads and
//!    puts back valid UTF-8 on every exit: the whole text on success, the original
//!    text on an error (as tokio), the original text and the longest valid prefix
//!    of what was read when the future is dropped mid-way.

use std::future::Future;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::AsyncRead;

/// The least a full vector grows by, and the most its exposed length grows by at
/// once beyond doubling (invariant 1: a huge `Vec::with_capacity` is not zeroed
/// up front).
const GROW: usize = 4 * 1024;

/// Reads `reader` to its end into `buf` (invariant 1). `Ready(Ok(()))` at EOF; the
/// caller truncates `buf` to `*filled` (invariant 2).
fn poll_read_to_end<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut Vec<u8>,
    filled: &mut usize,
) -> Poll<io::Result<()>> {
    loop {
        if *filled == buf.len() {
            if buf.len() == buf.capacity() {
                buf.reserve(GROW);
            }
            let len = buf.len();
            buf.resize(buf.capacity().min(len + len.max(GROW)), 0);
        }
        let lent = &mut buf[*filled..];
        let n = ready!(reader.as_mut().poll_read(cx, lent))?;
        if n == 0 {
            return Poll::Ready(Ok(()));
        }
        assert!(
            n <= lent.len(),
            "AsyncRead::poll_read reported {n} bytes read into a {}-byte buffer",
            lent.len()
        );
        *filled += n;
    }
}

/// The future of [`AsyncReadExt::read_to_end`](super::AsyncReadExt::read_to_end).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToEnd<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut Vec<u8>,
    start: usize,
    filled: usize,
}

impl<'a, R: ?Sized> ReadToEnd<'a, R> {
    pub(super) fn new(reader: &'a mut R, buf: &'a mut Vec<u8>) -> Self {
        let start = buf.len();
        ReadToEnd {
            reader,
            buf,
            start,
            filled: start,
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let r = ready!(poll_read_to_end(
            Pin::new(&mut *me.reader),
            cx,
            me.buf,
            &mut me.filled
        ));
        me.buf.truncate(me.filled);
        Poll::Ready(r.map(|()| me.filled - me.start))
    }
}

impl<R: ?Sized> Drop for ReadToEnd<'_, R> {
    fn drop(&mut self) {
        self.buf.truncate(self.filled); // invariant 2
    }
}

/// The future of [`AsyncReadExt::read_to_string`](super::AsyncReadExt::read_to_string).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadToString<'a, R: ?Sized> {
    reader: &'a mut R,
    output: &'a mut String,
    /// The output's bytes while reading; empty once they are put back.
    bytes: Vec<u8>,
    orig_len: usize,
    filled: usize,
    done: bool,
}

impl<'a, R: ?Sized> ReadToString<'a, R> {
    pub(super) fn new(reader: &'a mut R, output: &'a mut String) -> Self {
        let bytes = mem::take(output).into_bytes();
        let orig_len = bytes.len();
        ReadToString {
            reader,
            output,
            bytes,
            orig_len,
            filled: orig_len,
            done: false,
        }
    }

    /// Puts back the original text and as much of the appended bytes as `keep`
    /// allows (invariant 3).
    fn put_back(&mut self, keep: Keep) -> Result<usize, ()> {
        self.done = true;
        let mut bytes = mem::take(&mut self.bytes);
        bytes.truncate(self.filled);
        let appended = &bytes[self.orig_len..];
        let (valid, all_valid) = match std::str::from_utf8(appended) {
            Ok(_) => (appended.len(), true),
            Err(e) => (e.valid_up_to(), false),
        };
        let kept = match keep {
            Keep::AllOrNothing if all_valid => valid,
            Keep::AllOrNothing => 0,
            Keep::ValidPrefix => valid,
            Keep::Nothing => 0,
        };
        bytes.truncate(self.orig_len + kept);
        *self.output = String::from_utf8(bytes).expect("checked to be UTF-8 above");
        if all_valid {
            Ok(kept)
        } else {
            Err(())
        }
    }
}

/// What [`ReadToString::put_back`] keeps of the bytes read.
enum Keep {
    /// All, if they are UTF-8 (the read succeeded).
    AllOrNothing,
    /// The valid UTF-8 prefix (the future was dropped).
    ValidPrefix,
    /// None (an I/O error, as tokio).
    Nothing,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        assert!(!me.done, "`ReadToString` polled after completion");
        let r = ready!(poll_read_to_end(
            Pin::new(&mut *me.reader),
            cx,
            &mut me.bytes,
            &mut me.filled
        ));
        Poll::Ready(match r {
            Ok(()) => me.put_back(Keep::AllOrNothing).map_err(|()| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                )
            }),
            Err(e) => {
                let _ = me.put_back(Keep::Nothing);
                Err(e)
            }
        })
    }
}

impl<R: ?Sized> Drop for ReadToString<'_, R> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.put_back(Keep::ValidPrefix);
        }
    }
}
