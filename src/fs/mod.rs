//! Files and directories under tokio's names (`tokio::fs`): change
//! `tokio::fs::` to `gorun::fs::` and the code runs on gorun.
//!
//! ```
//! use gorun::fs::{self, File};
//! use gorun::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("notes.txt");
//! fs::write(&path, "first line\n").await?;
//! fs::copy(&path, dir.path().join("backup.txt")).await?;
//!
//! let mut f = fs::OpenOptions::new().append(true).open(&path).await?;
//! f.write_all(b"second line\n").await?;
//! f.flush().await?;
//!
//! let mut text = String::new();
//! File::open(&path).await?.read_to_string(&mut text).await?;
//! assert_eq!(text, "first line\nsecond line\n");
//! # std::io::Result::Ok(())
//! # }).unwrap();
//! ```
//!
//! | tokio | gorun |
//! |---|---|
//! | `tokio::fs::{read, read_to_string, write, copy, rename, remove_file, remove_dir, remove_dir_all, create_dir, create_dir_all, metadata, symlink_metadata, canonicalize, hard_link, symlink, read_link, set_permissions, try_exists}` | the same names, same arguments, same results |
//! | `read_dir`, `ReadDir::next_entry`, `DirEntry` | [`read_dir`](crate::fs::read_dir), [`ReadDir::next_entry`](crate::fs::ReadDir::next_entry), [`DirEntry`](crate::fs::DirEntry); `ReadDir` is also a [`Stream`](futures_core::Stream) (no `tokio_stream::wrappers::ReadDirStream`) |
//! | `File`, `OpenOptions`, `DirBuilder` | [`File`](crate::fs::File), [`OpenOptions`](crate::fs::OpenOptions), [`DirBuilder`](crate::fs::DirBuilder) |
//! | `tokio::io::AsyncReadExt` / `AsyncWriteExt` on a `File` | [`gorun::io::AsyncReadExt`](crate::io::AsyncReadExt) / [`AsyncWriteExt`](crate::io::AsyncWriteExt) |
//! | `tokio::io::AsyncSeekExt::seek` | `File` implements `futures_io::AsyncSeek`: `futures::io::AsyncSeekExt::seek` |
//!
//! # Everything runs on the blocking pool
//!
//! Regular files are always "ready" to `epoll`, so a reactor cannot wait for
//! them: every operation here is an ordinary blocking system call made on
//! gorun's blocking pool ([`spawn_blocking`](crate::spawn_blocking)), Go's hand-off
//! of the P around a blocking syscall. The calling task waits (it is not a
//! worker thread that waits), and outside any runtime, under
//! `futures::executor::block_on` say, the global runtime's pool does the work.
//! Each free function is one trip to the pool; so is each
//! [`read_dir`](crate::fs::read_dir) batch of 32 entries.
//!
//! # How a `File` buffers
//!
//! A [`File`](crate::fs::File) owns a buffer (tokio's design). An idle file
//! lends it, with a clone of the `std::fs::File`, to a blocking closure for one
//! read or seek, and gets both back when the closure ends.
//!
//! - **Reads** ask the OS for the caller's buffer length, capped at
//!   [`File::max_buf_size`](crate::fs::File::max_buf_size) (2 MiB), as tokio's
//!   do, with one difference: a *regular* file read sequentially reads ahead.
//!   Once a read has filled its request, the next trip asks for twice as much
//!   (up to `max_buf_size`), and the caller's next reads are served from the
//!   buffer without a trip. A loop of 64 KiB reads so makes one trip per 2 MiB
//!   instead of one per read: a trip (a pool thread woken, then the task) costs
//!   tens of microseconds, more than reading 64 KiB from the page cache. A short
//!   read, a seek or a write stops it; pipes, FIFOs, terminals and sockets are never read ahead (that
//!   could block on, or take, bytes nobody asked for). Seeks and writes count the
//!   bytes read ahead, so the position a caller sees is exact; only the raw
//!   descriptor's offset ([`AsRawFd`](std::os::fd::AsRawFd)) runs ahead, and
//!   [`File::into_std`](crate::fs::File::into_std) and
//!   [`File::try_clone`](crate::fs::File::try_clone) move it back first.
//! - **Writes** are copied into a write queue and `write` returns: the pool writes
//!   them while the task goes on. Unlike tokio, the next writes do not wait for
//!   that trip; they fill the queue (up to `max_buf_size`) and the same closure
//!   writes them next, so a stream of 64 KiB writes costs a trip per up to 2 MiB.
//!   [`flush`](crate::io::AsyncWriteExt::flush) waits for the queue, and is where
//!   (with the next write and [`File::sync_all`](crate::fs::File::sync_all)) the
//!   error of a background write surfaces, naming the file. A dropped `File`
//!   still writes what it accepted, then its descriptor closes, on the pool
//!   (tokio closes it on the worker, where a `close` that waits for writeback
//!   stalls every task queued behind it).
//! - **Reads, seeks and `metadata`** first wait for the queued writes, so they see
//!   them.
//!
//! # Errors name their path
//!
//! Every error keeps std's [`kind`](std::io::Error::kind) and reads like Go's:
//! `open /etc/app.toml: No such file or directory (os error 2)`,
//! `rename a.txt b/a.txt: ...`. std's own error, with its `raw_os_error`, is the
//! error's [`source`](std::error::Error::source).
//!
//! # Why not io_uring
//!
//! io_uring would let the reactor submit reads and writes to the kernel and reap
//! completions without a thread per in-flight call, saving the hand-off to the
//! pool (tens of microseconds per trip here) and the copy through `File`'s
//! buffer. It is
//! not used because: it needs Linux 5.1+ for reads and writes (5.6 for `openat`
//! and `statx`, 5.11 for `renameat`), and many kernels in service are older or
//! carry its bugs; seccomp profiles and sandboxes (Docker's default profile
//! since 25.0, Android, ChromeOS, gVisor) often block it outright, so a fallback
//! to threads is needed anyway; buffers must stay owned by the kernel until
//! completion, which does not fit a borrowed `&mut [u8]` in `AsyncRead` without
//! the copy it was to save; and it would tie the I/O driver to Linux. A thread
//! pool is simple, portable and what tokio's `fs` (io_uring only behind an
//! unstable flag) and Go's `os` package (blocking syscalls off the P) do. The
//! buffer lending above keeps an io_uring backend possible behind the same API.
//!
//! # Cancellation
//!
//! Dropping any future here leaves the blocking call to finish on the pool; its
//! result is dropped, its descriptors closed. A `File` read dropped mid-trip
//! keeps the bytes for the next read; a write, once it returned, is not lost to
//! a dropped future or `File` (only to an error, or a runtime shut down before
//! the pool ran it, which the next `flush` reports).

mod buf;
mod error;
mod file;
mod file_io;
mod open_options;
mod ops;
mod read_dir;
mod write_behind;

use std::io;

pub use file::File;
pub use open_options::{DirBuilder, OpenOptions};
#[cfg(unix)]
pub use ops::symlink;
pub use ops::{
    canonicalize, copy, create_dir, create_dir_all, hard_link, metadata, read, read_link,
    read_to_string, remove_dir, remove_dir_all, remove_file, rename, set_permissions,
    symlink_metadata, try_exists, write,
};
pub use read_dir::{read_dir, DirEntry, ReadDir};

pub(crate) use buf::{Buf, MAX_BUF};
pub(crate) use error::background_failed;

/// Runs `f` on the blocking pool and waits for it; a closure that never ran
/// (the runtime shut down) or panicked is an `io::Error`, as in tokio.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match crate::spawn_blocking(f).await {
        Ok(res) => res,
        Err(e) => Err(background_failed(e)),
    }
}
