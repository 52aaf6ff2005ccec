//! Async I/O helpers under tokio's names (tokio's `io-util`), over the
//! `futures-io` traits that gorun's sockets implement.
//!
//! A tokio program's I/O code ports by changing its imports: `tokio::io::` becomes
//! `gorun::io::`, and `tokio::net::` becomes `gorun::net::`.
//!
//! ```
//! use gorun::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
//! use gorun::net::{TcpListener, TcpStream};
//!
//! #[gorun::main(procs = 2)]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = gorun::go(async move {
//!         let (conn, _) = listener.accept().await?;
//!         let (rd, mut wr) = conn.into_split();
//!         let mut lines = BufReader::new(rd).lines();
//!         while let Some(line) = lines.next_line().await? {
//!             wr.write_all(line.to_uppercase().as_bytes()).await?;
//!             wr.write_u8(b'\n').await?;
//!         }
//!         wr.shutdown().await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut c = TcpStream::connect(addr).await?;
//!     c.write_all(b"hello\nworld\n").await?;
//!     c.shutdown().await?; // tokio's spelling: half-closes, the server reads EOF
//!     let mut back = String::new();
//!     c.read_to_string(&mut back).await?;
//!     assert_eq!(back, "HELLO\nWORLD\n");
//!     server.await.unwrap()
//! }
//! ```
//!
//! | tokio | gorun |
//! |---|---|
//! | `tokio::io::{AsyncRead, AsyncWrite, AsyncBufRead}` | [`AsyncRead`], [`AsyncWrite`], [`AsyncBufRead`]: futures-io's traits (`poll_read` fills a `&mut [u8]`; `poll_shutdown` is `poll_close`) |
//! | `AsyncReadExt`, `AsyncWriteExt`, `AsyncBufReadExt` | [`AsyncReadExt`], [`AsyncWriteExt`], [`AsyncBufReadExt`]: same methods, same results (`read_exact` returns the length; integers big-endian unless `_le`) |
//! | `stream.shutdown().await` | the same ([`AsyncWriteExt::shutdown`]); std's synchronous `shutdown(how)` is `TcpStream::shutdown_std(how)` |
//! | `BufReader`, `BufWriter` | [`BufReader`], [`BufWriter`] |
//! | `Lines::next_line`, `Split::next_segment` | [`Lines::next_line`], [`Split::next_segment`]; both are also a [`Stream`](futures_core::Stream) (no `LinesStream` wrapper) |
//! | `io::copy`, `copy_buf`, `copy_bidirectional`, `copy_bidirectional_with_sizes` | [`copy()`], [`copy_buf`], [`copy_bidirectional`], [`copy_bidirectional_with_sizes`] |
//! | `io::split`, `ReadHalf`, `WriteHalf`, `unsplit` | [`split()`], [`ReadHalf`], [`WriteHalf`], [`ReadHalf::unsplit`] |
//! | `io::duplex`, `DuplexStream` | [`duplex()`], [`DuplexStream`] |
//! | `io::{Error, ErrorKind, Result}` | [`Error`], [`ErrorKind`], [`Result`] (std's, as in tokio) |
//! | `ReadBuf` in your own `poll_read` | write to the `&mut [u8]`; [`AsyncReadExt::read_buf`] still takes any `bytes::BufMut` |
//! | `reader.take(n)`, `reader.chain(next)` | the same: [`Take`], [`Chain`] |
//! | `tokio_util::compat` | not needed: gorun's sockets implement futures-io (and, with the `tokio-io` feature, tokio's traits too) |
//!
//! [`stdin`], [`stdout`] and [`stderr`] are async streams on the blocking pool
//! (tokio's design), and [`unix::AsyncFd`] puts any other fd on the reactor. Not
//! here (yet): `BufStream`, `empty`, `sink`, `repeat`, `simplex`, `AsyncSeekExt`;
//! `futures::io` has most of them.
//!
//! # Importing next to `futures::io`
//!
//! [`AsyncReadExt`], [`AsyncWriteExt`] and [`AsyncBufReadExt`] extend the same
//! traits as `futures::io::{AsyncReadExt, AsyncWriteExt, AsyncBufReadExt}` and
//! share method names with them (`read`, `read_exact`, `read_to_end`,
//! `read_to_string`, `write`, `write_all`, `flush`, `read_line`, `read_until`,
//! `lines`, `fill_buf`, `consume`, ...). With both imported, such a call fails to
//! compile with "multiple applicable items in scope" (E0034), even where the
//! signatures agree. Import one of them per module; where you need a method of
//! the other, call it by path: `futures::io::AsyncReadExt::read_vectored(&mut reader, &mut bufs)`.
//! (`use futures::io::AsyncReadExt as _` does not help: it still brings the
//! methods into scope.)
//!
//! ```compile_fail,E0034
//! use futures::io::AsyncReadExt as _;
//! use gorun::io::AsyncReadExt;
//!
//! # futures::executor::block_on(async {
//! let mut reader: &[u8] = b"abc";
//! let mut buf = [0; 3];
//! reader.read_exact(&mut buf).await.unwrap(); // error[E0034]: multiple applicable items
//! # });
//! ```
//!
//! # Cancellation
//!
//! Cancel-safe (dropping the future, for example in a losing `select!` case, loses
//! no data): `read`, `read_buf`, `write`, `write_vectored`, `write_buf`,
//! `write_all_buf`, `read_until`, `fill_buf`, `flush`, `shutdown`,
//! [`Lines::next_line`], [`Split::next_segment`]. Not cancel-safe, as in tokio
//! (the bytes moved so far live in the future): `read_exact`, `read_to_end` (the
//! bytes stay in the vector), `read_to_string`, the integer reads and writes,
//! `write_all`, `copy*`. `read_line` and `read_to_string`, if dropped, leave the
//! string with the text it had plus the valid UTF-8 read before the drop.
//!
//! # Reading into spare capacity: `read_buf`
//!
//! [`AsyncReadExt::read_buf`] fills a `bytes::BufMut` (a `BytesMut`, a `Vec<u8>`)
//! without zeroing its spare capacity. `futures_io::AsyncRead` takes an
//! initialized `&mut [u8]` (a reader may read it in safe code), so lending it the
//! uninitialized chunk would be unsound; instead the reader fills a per-thread
//! scratch buffer that is always initialized, and only the bytes it read are
//! copied into the chunk before the `BufMut` is advanced. The price is one copy of
//! the bytes read instead of a `memset` of the whole spare capacity: a 64 KiB
//! buffer that receives a 100-byte message costs 100 bytes of copying. At most
//! 64 KiB are read per call.
//!
//! Everything here is generic over the futures-io traits and runs on any executor
//! (`futures::executor::block_on`, tokio, smol); only [`copy()`]'s and
//! [`DuplexStream`]'s cooperative-budget charges are gorun-specific, and they are
//! no-ops elsewhere.

mod adapters;
mod buf_read_ext;
mod buf_reader;
mod buf_writer;
mod copy;
mod duplex;
mod lines;
mod read_buf;
mod read_ext;
mod read_to_end;
mod split;
mod stdio;
mod write_ext;

pub use std::io::{Error, ErrorKind, Result};

pub use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

pub use adapters::{Chain, Take};
pub use buf_read_ext::AsyncBufReadExt;
pub use buf_reader::BufReader;
pub use buf_writer::BufWriter;
pub use copy::{copy, copy_bidirectional, copy_bidirectional_with_sizes, copy_buf};
pub use duplex::{duplex, DuplexStream};
pub use lines::{Lines, Split};
pub use read_ext::AsyncReadExt;
pub use split::{split, ReadHalf, WriteHalf};
pub use stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
pub use write_ext::AsyncWriteExt;

/// Any file descriptor on gorun's reactor (tokio's `io::unix`): register an inotify,
/// eventfd, serial port, tun device or protocol socket with [`unix::AsyncFd`] and
/// wait for its readiness.
pub mod unix {
    pub use gorun_executor::unix::{
        AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, Interest, TryIoError,
    };
}

/// The futures the extension traits' methods return. You rarely name them: they
/// are what `.await` acts on.
pub mod future {
    pub use super::buf_read_ext::{FillBuf, ReadLine, ReadUntil};
    pub use super::lines::{NextLine, NextSegment};
    pub use super::read_buf::ReadBuf;
    pub use super::read_ext::{Read, ReadExact, ReadInt};
    pub use super::read_to_end::{ReadToEnd, ReadToString};
    pub use super::write_ext::{
        Flush, Shutdown, Write, WriteAll, WriteAllBuf, WriteBuf, WriteInt, WriteVectored,
    };
}
