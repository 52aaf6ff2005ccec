//! Reading into uninitialized memory, for the tokio and hyper I/O traits: both hand
//! the reader a `&mut [MaybeUninit<u8>]`, and zeroing it first (the safe way
//! through `std::io::Read`) is a `memset` of hyper's 8 KiB read buffer per request,
//! visible in a hyper server's profile (benches/LOG.md). `recv(2)` on the raw
//! descriptor writes into the memory without reading it, which is sound for
//! uninitialized bytes; the result says how many it initialized.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use super::{OwnedReadHalf, TcpStream, UnixStream};
use crate::io::{Direction, PollEvented};

/// `recv(2)` on the stream socket `fd` into `buf`; `Ok(n)`: the first `n` bytes are
/// initialized. `recv` rather than `read`: it goes straight to the socket layer,
/// where `read` first passes through the VFS (`vfs_read`, `fdget_pos`,
/// `sock_read_iter`): half the kernel entry cost in a hyper server's profile
/// (benches/LOG.md). std's `TcpStream::read` and tokio make the same call.
fn recv(fd: &impl AsRawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: [1] `buf` is valid for writes of `buf.len()` bytes for the call, and
    // `MaybeUninit<u8>` has `u8`'s layout; [2] recv(2) only writes to it; [3] the
    // descriptor is open: `fd` borrows the socket that owns it.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize) // `0 <= n <= buf.len()`
    }
}

fn poll<E: mio::event::Source + AsRawFd>(
    io: &PollEvented<E>,
    cx: &mut Context<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> Poll<io::Result<usize>> {
    let len = buf.len();
    io.poll_stream_io(cx, Direction::Read, len, |s| recv(s, &mut *buf))
}

/// A stream that reads into uninitialized memory; `Ready(Ok(n))` means the first
/// `n` bytes of `buf` were written.
pub(super) trait ReadUninit {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

impl ReadUninit for TcpStream {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        poll(&self.io, cx, buf)
    }
}

impl ReadUninit for OwnedReadHalf {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        poll(&self.stream().io, cx, buf)
    }
}

impl ReadUninit for UnixStream {
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        poll(&self.io, cx, buf)
    }
}
