//! [`stdin`], [`stdout`], [`stderr`]: the process's standard streams as
//! futures-io readers and writers, tokio's `tokio::io::{stdin, stdout, stderr}`.
//!
//! Each handle is a [`Blocking`]: std's handle and a buffer, lent together to a
//! blocking-pool closure for one read, write or flush (tokio's design, shared
//! with `gorun::fs::File`'s buffer type).
//!
//! Invariants of [`Blocking`]: `Idle(Some(buf))` holds `inner: Some(_)`;
//! `Busy(handle)` means the closure owns both and hands them back. Writes return
//! once copied into the buffer; the next write, or a flush, waits for that trip
//! and returns its error. A closure lost to a runtime shutdown loses its handle,
//! and a fresh one (`make()`) takes its place: std's handles are cheap and share
//! the process's streams.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::fs::{background_failed, Buf, MAX_BUF};
use crate::JoinHandle;

/// A std I/O handle driven from the blocking pool.
struct Blocking<T> {
    inner: Option<T>,
    state: State<T>,
    /// A write went out since the last flush.
    need_flush: bool,
    make: fn() -> T,
}

enum State<T> {
    Idle(Option<Buf>),
    Busy(JoinHandle<(io::Result<usize>, Buf, T)>),
}

impl<T: Send + 'static> Blocking<T> {
    fn new(make: fn() -> T) -> Blocking<T> {
        Blocking {
            inner: Some(make()),
            state: State::Idle(Some(Buf::new())),
            need_flush: false,
            make,
        }
    }

    /// Lends the buffer and handle to `op` on the pool.
    fn start<F>(&mut self, op: F)
    where
        F: FnOnce(&mut Buf, &mut T) -> io::Result<usize> + Send + 'static,
    {
        let State::Idle(cell) = &mut self.state else {
            unreachable!("Blocking::start while busy")
        };
        let mut buf = cell.take().expect("an idle handle holds its buffer");
        let mut inner = self
            .inner
            .take()
            .expect("an idle handle holds its std handle");
        self.state = State::Busy(crate::spawn_blocking(move || {
            let res = op(&mut buf, &mut inner);
            (res, buf, inner)
        }));
    }

    /// Waits for the trip in flight, if any; `Ready(Some(its result))`.
    fn poll_complete(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<usize>>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(None);
        };
        let res = match ready!(Pin::new(handle).poll(cx)) {
            Ok((res, buf, inner)) => {
                self.state = State::Idle(Some(buf));
                self.inner = Some(inner);
                res
            }
            Err(e) => {
                self.state = State::Idle(Some(Buf::new()));
                self.inner = Some((self.make)());
                Err(background_failed(e))
            }
        };
        Poll::Ready(Some(res))
    }

    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(Some(buf)) => buf,
            _ => unreachable!("Blocking::idle_buf while busy"),
        }
    }
}

impl<T: Read + Send + 'static> Blocking<T> {
    fn poll_read(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match ready!(self.poll_complete(cx)) {
                Some(Ok(_)) => return Poll::Ready(Ok(self.idle_buf().copy_to(dst))),
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => {}
            }
            let buf = self.idle_buf();
            if !buf.is_empty() || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let max = dst.len().min(MAX_BUF);
            self.start(move |buf, inner| buf.read_from(inner, max));
        }
    }
}

impl<T: Write + Send + 'static> Blocking<T> {
    fn poll_write(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(res) = ready!(self.poll_complete(cx)) {
            res?;
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = self.idle_buf().copy_from(src, MAX_BUF);
        self.need_flush = true;
        self.start(|buf, inner| {
            let n = buf.len();
            buf.write_to(inner).map(|()| n)
        });
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if let Some(res) = ready!(self.poll_complete(cx)) {
                res?;
            }
            if !self.need_flush {
                return Poll::Ready(Ok(()));
            }
            self.need_flush = false;
            self.start(|_, inner| inner.flush().map(|()| 0));
        }
    }
}

macro_rules! stdio_handle {
    (
        $(#[$meta:meta])*
        $name:ident, $ctor:ident, $std:ident, $std_ty:ty
    ) => {
        $(#[$meta])*
        pub struct $name(Blocking<$std_ty>);

        #[doc = concat!("The process's ", stringify!($ctor),
            " (tokio's `tokio::io::", stringify!($ctor), "`). ")]
        #[doc = concat!("See [`", stringify!($name), "`].")]
        pub fn $ctor() -> $name {
            $name(Blocking::new(std::io::$std))
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $name {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&std::io::$std())
            }
        }
    };
}

stdio_handle! {
    /// The standard input, read on the blocking pool: [`AsyncRead`] (use it with
    /// [`AsyncReadExt`](super::AsyncReadExt), [`BufReader`](super::BufReader)).
    ///
    /// A read asks for at most the caller's buffer length (up to 2 MiB) in one
    /// blocking `read`. That read cannot be cancelled: a read future dropped while
    /// it waits for input leaves the pool thread waiting, and the bytes it gets
    /// go to the next read of this handle. Dropping the runtime waits for that
    /// thread, so a program that stops reading stdin before its end should exit
    /// with `std::process::exit` or shut its runtime down with
    /// [`shutdown_timeout`](crate::Runtime::shutdown_timeout) (tokio has the same
    /// caveat). Prefer one `Stdin` per program.
    ///
    /// ```no_run
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// let mut lines = BufReader::new(gorun::io::stdin()).lines();
    /// while let Some(line) = lines.next_line().await? {
    ///     println!("read: {line}");
    /// }
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    Stdin, stdin, stdin, std::io::Stdin
}

stdio_handle! {
    /// The standard output, written on the blocking pool: [`AsyncWrite`] (use it
    /// with [`AsyncWriteExt`](super::AsyncWriteExt)).
    ///
    /// `write` returns once the bytes are copied into the handle's buffer; the
    /// next write, or [`flush`](super::AsyncWriteExt::flush), waits for them and
    /// reports their error. std's stdout is line-buffered: flush before exiting
    /// so a last partial line is not lost. Writes of two handles may interleave.
    ///
    /// ```
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// let mut out = gorun::io::stdout();
    /// out.write_all(b"hello from the blocking pool\n").await?;
    /// out.flush().await?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    Stdout, stdout, stdout, std::io::Stdout
}

stdio_handle! {
    /// The standard error, written on the blocking pool; as [`Stdout`] (std's
    /// stderr is unbuffered, so each write reaches the OS in its own trip).
    Stderr, stderr, stderr, std::io::Stderr
}

impl AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_read(cx, buf)
    }
}

impl AsyncWrite for Stdout {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }
}

impl AsyncWrite for Stderr {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().0.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_flush(cx)
    }
}
