//! `read_buf`: reading into a [`BufMut`]'s spare capacity without zeroing it.
//!
//! Invariants:
//! 1. No `&mut [u8]` is ever made over uninitialized memory. `futures_io::AsyncRead`
//!    takes `&mut [u8]`, and a reader may read that slice in safe code, so lending
//!    it the `BufMut`'s uninitialized chunk would be undefined behaviour (tokio's
//!    `ReadBuf` and gorun's sockets' `recv(2)` path can skip the zeroing only
//!    because their reader promises not to read; this trait makes no such promise).
//! 2. The reader instead reads into a per-thread scratch buffer that is always
//!    initialized, and only the `n` bytes it reports are copied into the chunk
//!    ([`UninitSlice::copy_from_slice`](bytes::buf::UninitSlice::copy_from_slice))
//!    before `advance_mut(n)`: the cost is a copy of the data read, never a
//!    `memset` of the spare capacity (a 64 KiB `BytesMut` that receives a 100-byte
//!    message costs 100 bytes of copying, not 64 KiB of zeroing).
//! 3. The scratch's first `n` bytes are zeroed again after the copy, so a reader
//!    that reports bytes it did not write hands over zeros (as a zeroed buffer
//!    would), not the data of the stream read before it. (Bytes a reader writes
//!    past the count it reports stay: its own leftovers, which a reused
//!    `BufReader` buffer would keep too.)
//! 4. Cancel safety: a poll that reads copies and advances before it returns, so
//!    no bytes live in the future itself.
//! 5. Re-entrance: a reader whose `poll_read` itself polls a `read_buf` on the same
//!    thread finds the scratch borrowed and falls back to a small buffer on the
//!    stack (as does a poll during thread-local destruction).

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BufMut;
use futures_io::AsyncRead;

/// The scratch size: the most one `read_buf` reads. Large enough for a socket's
/// usual burst; allocated zeroed, once per thread that calls `read_buf`.
const SCRATCH_LEN: usize = 64 * 1024;

/// The fallback buffer for a re-entrant `read_buf` (invariant 5).
const FALLBACK_LEN: usize = 2 * 1024;

thread_local! {
    /// Always fully initialized (invariants 1 and 3).
    static SCRATCH: RefCell<Option<Box<[u8]>>> = const { RefCell::new(None) };
}

/// The future of [`AsyncReadExt::read_buf`](super::AsyncReadExt::read_buf).
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadBuf<'a, R: ?Sized, B: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut B,
}

impl<'a, R: ?Sized, B: ?Sized> ReadBuf<'a, R, B> {
    pub(super) fn new(reader: &'a mut R, buf: &'a mut B) -> Self {
        ReadBuf { reader, buf }
    }
}

impl<R, B> Future for ReadBuf<'_, R, B>
where
    R: AsyncRead + Unpin + ?Sized,
    B: BufMut + ?Sized,
{
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        poll_read_buf(Pin::new(&mut *me.reader), cx, &mut *me.buf)
    }
}

/// Reads once from `reader` into `buf`'s spare capacity and advances `buf` by the
/// bytes read. `Ready(Ok(0))`: end of stream, or `buf` is full.
pub(crate) fn poll_read_buf<R, B>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut B,
) -> Poll<io::Result<usize>>
where
    R: AsyncRead + ?Sized,
    B: BufMut + ?Sized,
{
    if !buf.has_remaining_mut() {
        return Poll::Ready(Ok(0));
    }
    let via_scratch = SCRATCH
        .try_with(|cell| {
            let mut scratch = cell.try_borrow_mut().ok()?;
            let scratch = scratch.get_or_insert_with(|| vec![0; SCRATCH_LEN].into_boxed_slice());
            Some(read_via(scratch, reader.as_mut(), cx, buf))
        })
        .ok()
        .flatten();
    match via_scratch {
        Some(poll) => poll,
        None => read_via(&mut [0; FALLBACK_LEN], reader, cx, buf),
    }
}

/// One read through `scratch` (initialized memory) into `buf`.
fn read_via<R, B>(
    scratch: &mut [u8],
    reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut B,
) -> Poll<io::Result<usize>>
where
    R: AsyncRead + ?Sized,
    B: BufMut + ?Sized,
{
    let dst = buf.chunk_mut();
    let len = dst.len().min(scratch.len());
    let lent = &mut scratch[..len];
    let n = ready!(reader.poll_read(cx, lent))?;
    assert!(
        n <= len,
        "AsyncRead::poll_read reported {n} bytes read into a {len}-byte buffer"
    );
    dst[..n].copy_from_slice(&lent[..n]);
    lent[..n].fill(0);
    // SAFETY: the first `n` bytes of `buf`'s current chunk (`dst`, `n <= dst.len()`)
    // were initialized by the `copy_from_slice` just above.
    unsafe { buf.advance_mut(n) };
    Poll::Ready(Ok(n))
}
