//! [`AsyncReadExt`]: tokio's read helpers over `futures_io::AsyncRead`.
//!
//! Every future here borrows its reader (and buffer) and keeps its progress in
//! itself, so it is `Unpin` and can be polled by any executor. `read` and
//! [`read_buf`](AsyncReadExt::read_buf) are cancel-safe (a poll that reads has
//! already handed its bytes over); the others keep the bytes read so far in the
//! future, as tokio's do, so dropping them mid-way loses those bytes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BufMut;
use futures_io::AsyncRead;

use super::adapters::{Chain, Take};
use super::read_buf::ReadBuf;
use super::read_to_end::{ReadToEnd, ReadToString};

/// Reads an integer of each width and byte order, as [`AsyncReadExt`]'s methods.
macro_rules! read_int_methods {
    ($($name:ident -> $t:ty, $from:ident, $order:literal, $to:ident;)*) => {$(
        #[doc = concat!("Reads a ", $order, " `", stringify!($t), "` (",
            "`size_of::<", stringify!($t), ">()` bytes, as `read_exact`).")]
        ///
        /// Fails with `UnexpectedEof` if the reader ends first. Not cancel-safe: a
        /// future dropped after a partial read loses the bytes it read.
        ///
        /// ```
        /// use gorun::io::AsyncReadExt;
        ///
        /// # futures::executor::block_on(async {
        #[doc = concat!("let v = ", stringify!($t), "::MAX / 3 as ", stringify!($t), ";")]
        #[doc = concat!("let bytes = v.", stringify!($to), "();")]
        /// let mut reader: &[u8] = &bytes;
        #[doc = concat!("assert_eq!(reader.", stringify!($name), "().await.unwrap(), v);")]
        #[doc = concat!("assert!(reader.", stringify!($name), "().await.is_err()); // EOF")]
        /// # });
        /// ```
        fn $name(&mut self) -> ReadInt<'_, Self, $t>
        where
            Self: Unpin,
        {
            ReadInt::new(self, std::mem::size_of::<$t>(), |b| {
                <$t>::$from(b.try_into().expect("ReadInt hands over exactly its width"))
            })
        }
    )*};
}

/// Reading helpers for every [`futures_io::AsyncRead`], under tokio's names
/// (`tokio::io::AsyncReadExt`): `use gorun::io::AsyncReadExt` where tokio code has
/// `use tokio::io::AsyncReadExt`.
///
/// Integers are big-endian unless the method ends in `_le`, as in tokio.
///
/// ```
/// use gorun::io::AsyncReadExt;
///
/// # futures::executor::block_on(async {
/// let mut reader: &[u8] = b"\x00\x05hello, world";
/// let len = reader.read_u16().await.unwrap();
/// let mut word = vec![0; len as usize];
/// reader.read_exact(&mut word).await.unwrap();
/// assert_eq!(word, b"hello");
/// let mut rest = String::new();
/// reader.read_to_string(&mut rest).await.unwrap();
/// assert_eq!(rest, ", world");
/// # });
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Reads some bytes into `buf`: `Ok(n)` with `0 < n <= buf.len()`, or `Ok(0)` at
    /// end of stream (or for an empty `buf`). Cancel-safe.
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader: &[u8] = b"abc";
    /// let mut buf = [0; 2];
    /// assert_eq!(reader.read(&mut buf).await.unwrap(), 2);
    /// assert_eq!(reader.read(&mut buf).await.unwrap(), 1);
    /// assert_eq!(reader.read(&mut buf).await.unwrap(), 0); // EOF
    /// # });
    /// ```
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
    where
        Self: Unpin,
    {
        Read { reader: self, buf }
    }

    /// Reads some bytes into the spare capacity of `buf` and advances it: `Ok(n)`,
    /// `Ok(0)` at end of stream or when `buf` has no room left.
    ///
    /// The spare capacity is not zeroed first: the reader fills a per-thread
    /// scratch buffer and only the bytes it read are copied into `buf` (why: the
    /// module docs of [`gorun::io`](crate::io)). At most 64 KiB per call.
    /// Cancel-safe: a poll that
    /// reads advances `buf` before it returns, so a future dropped in a `select!`
    /// loses nothing.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader: &[u8] = b"hello";
    /// let mut buf = BytesMut::with_capacity(64);
    /// assert_eq!(reader.read_buf(&mut buf).await.unwrap(), 5);
    /// assert_eq!(&buf[..], b"hello");
    /// # });
    /// ```
    fn read_buf<'a, B>(&'a mut self, buf: &'a mut B) -> ReadBuf<'a, Self, B>
    where
        Self: Unpin,
        B: BufMut + ?Sized,
    {
        ReadBuf::new(self, buf)
    }

    /// Reads exactly `buf.len()` bytes: `Ok(buf.len())`, or `UnexpectedEof` if the
    /// stream ends first. Not cancel-safe: a dropped future loses what it read.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader: &[u8] = b"abcd";
    /// let mut buf = [0; 3];
    /// assert_eq!(reader.read_exact(&mut buf).await.unwrap(), 3);
    /// let err = reader.read_exact(&mut buf).await.unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    /// # });
    /// ```
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        ReadExact {
            reader: self,
            buf,
            filled: 0,
        }
    }

    /// Reads until end of stream, appending to `buf`: `Ok(bytes appended)`. On an
    /// error the bytes read so far stay in `buf`.
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader: &[u8] = b" world";
    /// let mut buf = b"hello".to_vec();
    /// assert_eq!(reader.read_to_end(&mut buf).await.unwrap(), 6);
    /// assert_eq!(buf, b"hello world");
    /// # });
    /// ```
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        ReadToEnd::new(self, buf)
    }

    /// Reads until end of stream, appending to `buf`: `Ok(bytes appended)`. If the
    /// data is not UTF-8 (`InvalidData`) or an I/O error ends it, `buf` is left as it
    /// was, as in tokio.
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut reader: &[u8] = "¡hola!".as_bytes();
    /// let mut s = String::new();
    /// reader.read_to_string(&mut s).await.unwrap();
    /// assert_eq!(s, "¡hola!");
    /// let mut bad: &[u8] = b"\xff";
    /// assert!(bad.read_to_string(&mut s).await.is_err());
    /// assert_eq!(s, "¡hola!");
    /// # });
    /// ```
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString::new(self, buf)
    }

    /// A reader that ends after at most `limit` bytes of this one.
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut body = Vec::new();
    /// (&b"0123456789"[..]).take(4).read_to_end(&mut body).await.unwrap();
    /// assert_eq!(body, b"0123");
    /// # });
    /// ```
    fn take(self, limit: u64) -> Take<Self>
    where
        Self: Sized,
    {
        Take::new(self, limit)
    }

    /// A reader that reads this one to its end, then `next`.
    ///
    /// ```
    /// use gorun::io::AsyncReadExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut all = Vec::new();
    /// (&b"ab"[..]).chain(&b"cd"[..]).read_to_end(&mut all).await.unwrap();
    /// assert_eq!(all, b"abcd");
    /// # });
    /// ```
    fn chain<R: AsyncRead>(self, next: R) -> Chain<Self, R>
    where
        Self: Sized,
    {
        Chain::new(self, next)
    }

    read_int_methods! {
        read_u8 -> u8, from_be_bytes, "", to_be_bytes;
        read_i8 -> i8, from_be_bytes, "", to_be_bytes;
        read_u16 -> u16, from_be_bytes, "big-endian", to_be_bytes;
        read_i16 -> i16, from_be_bytes, "big-endian", to_be_bytes;
        read_u32 -> u32, from_be_bytes, "big-endian", to_be_bytes;
        read_i32 -> i32, from_be_bytes, "big-endian", to_be_bytes;
        read_u64 -> u64, from_be_bytes, "big-endian", to_be_bytes;
        read_i64 -> i64, from_be_bytes, "big-endian", to_be_bytes;
        read_u128 -> u128, from_be_bytes, "big-endian", to_be_bytes;
        read_i128 -> i128, from_be_bytes, "big-endian", to_be_bytes;
        read_f32 -> f32, from_be_bytes, "big-endian", to_be_bytes;
        read_f64 -> f64, from_be_bytes, "big-endian", to_be_bytes;
        read_u16_le -> u16, from_le_bytes, "little-endian", to_le_bytes;
        read_i16_le -> i16, from_le_bytes, "little-endian", to_le_bytes;
        read_u32_le -> u32, from_le_bytes, "little-endian", to_le_bytes;
        read_i32_le -> i32, from_le_bytes, "little-endian", to_le_bytes;
        read_u64_le -> u64, from_le_bytes, "little-endian", to_le_bytes;
        read_i64_le -> i64, from_le_bytes, "little-endian", to_le_bytes;
        read_u128_le -> u128, from_le_bytes, "little-endian", to_le_bytes;
        read_i128_le -> i128, from_le_bytes, "little-endian", to_le_bytes;
        read_f32_le -> f32, from_le_bytes, "little-endian", to_le_bytes;
        read_f64_le -> f64, from_le_bytes, "little-endian", to_le_bytes;
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Read<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
}

impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        Pin::new(&mut *me.reader).poll_read(cx, me.buf)
    }
}

/// Fills `buf[*filled..]` from `reader`; `UnexpectedEof` if it ends first.
fn poll_read_exact<R: AsyncRead + ?Sized>(
    mut reader: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    filled: &mut usize,
) -> Poll<io::Result<()>> {
    while *filled < buf.len() {
        let n = ready!(reader.as_mut().poll_read(cx, &mut buf[*filled..]))?;
        if n == 0 {
            return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()));
        }
        *filled += n;
    }
    Poll::Ready(Ok(()))
}

/// The future of [`AsyncReadExt::read_exact`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadExact<'a, R: ?Sized> {
    reader: &'a mut R,
    buf: &'a mut [u8],
    filled: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        ready!(poll_read_exact(
            Pin::new(&mut *me.reader),
            cx,
            me.buf,
            &mut me.filled
        ))?;
        Poll::Ready(Ok(me.buf.len()))
    }
}

/// The future of [`AsyncReadExt::read_u16`] and the other integer reads: `len`
/// bytes, then `decode`.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ReadInt<'a, R: ?Sized, T> {
    reader: &'a mut R,
    buf: [u8; 16],
    len: usize,
    filled: usize,
    decode: fn(&[u8]) -> T,
}

impl<'a, R: ?Sized, T> ReadInt<'a, R, T> {
    fn new(reader: &'a mut R, len: usize, decode: fn(&[u8]) -> T) -> Self {
        debug_assert!(len <= 16);
        ReadInt {
            reader,
            buf: [0; 16],
            len,
            filled: 0,
            decode,
        }
    }
}

impl<R: AsyncRead + Unpin + ?Sized, T> Future for ReadInt<'_, R, T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let me = self.get_mut();
        let buf = &mut me.buf[..me.len];
        ready!(poll_read_exact(
            Pin::new(&mut *me.reader),
            cx,
            buf,
            &mut me.filled
        ))?;
        Poll::Ready(Ok((me.decode)(buf)))
    }
}
