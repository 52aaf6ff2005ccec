//! [`File`]: an open file whose reads, writes and seeks run on the blocking pool.

use std::fmt;
use std::fs::{File as StdFile, Metadata, Permissions};
use std::future::poll_fn;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::buf::MAX_BUF;
use super::error::maybe_with_path;
use super::file_io::{seek_back, Inner, State};
use super::{asyncify, OpenOptions};

/// An open file, tokio's `tokio::fs::File`: [`AsyncRead`](futures_io::AsyncRead),
/// [`AsyncWrite`](futures_io::AsyncWrite) and [`AsyncSeek`](futures_io::AsyncSeek)
/// over a `std::fs::File` whose system calls run on the blocking pool
/// ([`spawn_blocking`](crate::spawn_blocking)).
///
/// Use it with [`gorun::io::AsyncReadExt`](crate::io::AsyncReadExt) and
/// [`AsyncWriteExt`](crate::io::AsyncWriteExt), as tokio code uses tokio's.
///
/// **Writes are buffered.** `write` returns once the bytes are copied into the
/// file's write queue; the pool writes them while the task goes on. Call
/// [`flush`](crate::io::AsyncWriteExt::flush) to wait until they are written (and to
/// hear of a failed write), and [`sync_all`](File::sync_all) to have them on disk.
/// A `File` dropped with writes queued still writes them (nobody hears of an error
/// then), and its descriptor is closed when the last of them ends. A file that
/// was written is closed on the blocking pool too (`close` can wait for the
/// disk); one only read closes where it is dropped.
///
/// **Reads of a regular file read ahead** once they run sequentially, so a loop
/// of small reads makes one blocking-pool trip per up to 2 MiB; positions stay
/// exact (see [how a `File` buffers](crate::fs#how-a-file-buffers)).
///
/// ```
/// use gorun::fs::File;
/// use gorun::io::{AsyncReadExt, AsyncWriteExt};
///
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("hello.txt");
/// let mut f = File::create(&path).await?;
/// f.write_all(b"hello, file").await?;
/// f.flush().await?; // the write ran on the blocking pool; wait for it
///
/// let mut contents = String::new();
/// File::open(&path).await?.read_to_string(&mut contents).await?;
/// assert_eq!(contents, "hello, file");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct File {
    pub(super) std: Arc<StdFile>,
    /// Named in errors; `None` for a file made by [`File::from_std`].
    pub(super) path: Option<Arc<Path>>,
    pub(super) inner: crate::sync::Mutex<Inner>,
    pub(super) max_buf_size: usize,
}

impl File {
    /// Opens a file for reading (`std::fs::File::open`).
    ///
    /// Fails with an error naming the path (`open /x/y: No such file or
    /// directory (os error 2)`) whose [`kind`](io::Error::kind) is std's.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// let err = gorun::fs::File::open("/no/such/file").await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// assert!(err.to_string().starts_with("open /no/such/file: "));
    /// # });
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Opens a file for writing, creating it or truncating it
    /// (`std::fs::File::create`).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file for reading and writing; fails (`AlreadyExists`) if
    /// the path exists (`std::fs::File::create_new`).
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// A new [`OpenOptions`] (`std::fs::File::options`).
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open `std::fs::File`. Its errors name no path.
    pub fn from_std(std: StdFile) -> File {
        File::from_parts(std, None)
    }

    pub(super) fn from_parts(std: StdFile, path: Option<Arc<Path>>) -> File {
        File {
            std: Arc::new(std),
            path,
            inner: crate::sync::Mutex::new(Inner::new()),
            max_buf_size: MAX_BUF,
        }
    }

    /// Waits for the read, seek and queued writes in flight; returns the lock that
    /// keeps others out while the caller works on `self.std`.
    async fn settled(&self) -> crate::sync::MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().await;
        // A failed read or seek we did not ask for is nobody's business here.
        let _ = poll_fn(|cx| inner.poll_settle(cx)).await;
        inner
    }

    /// Flushes the queued writes, then `fsync`s data and metadata
    /// (`std::fs::File::sync_all`). Reports a failed background write first.
    ///
    /// ```
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// # let dir = tempfile::tempdir()?;
    /// let mut f = gorun::fs::File::create(dir.path().join("log")).await?;
    /// f.write_all(b"durable").await?;
    /// f.sync_all().await?; // written and on disk
    /// assert_eq!(f.metadata().await?.len(), 7);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn sync_all(&self) -> io::Result<()> {
        let inner = self.settled().await;
        if let Some(e) = inner.writes.take_err() {
            return Err(e);
        }
        let (std, path) = (self.std.clone(), self.path.clone());
        asyncify(move || {
            std.sync_all()
                .map_err(|e| maybe_with_path(e, "sync", path.as_deref()))
        })
        .await
    }

    /// As [`sync_all`](File::sync_all), but may skip metadata
    /// (`std::fs::File::sync_data`, `fdatasync`).
    pub async fn sync_data(&self) -> io::Result<()> {
        let inner = self.settled().await;
        if let Some(e) = inner.writes.take_err() {
            return Err(e);
        }
        let (std, path) = (self.std.clone(), self.path.clone());
        asyncify(move || {
            std.sync_data()
                .map_err(|e| maybe_with_path(e, "sync", path.as_deref()))
        })
        .await
    }

    /// Truncates or extends the file to `size` bytes, after the queued writes
    /// (`std::fs::File::set_len`). The position is unchanged.
    pub async fn set_len(&self, size: u64) -> io::Result<()> {
        let mut inner = self.settled().await;
        inner.next_read = 0;
        inner.written = true;
        let back = inner.idle_buf().discard_read();
        let (std, path) = (self.std.clone(), self.path.clone());
        asyncify(move || {
            seek_back(&std, back, path.as_deref())?;
            std.set_len(size)
                .map_err(|e| maybe_with_path(e, "truncate", path.as_deref()))
        })
        .await
    }

    /// The file's metadata, after the queued writes (so `len` counts them).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let _inner = self.settled().await;
        let (std, path) = (self.std.clone(), self.path.clone());
        asyncify(move || {
            std.metadata()
                .map_err(|e| maybe_with_path(e, "stat", path.as_deref()))
        })
        .await
    }

    /// A new `File` for the same open file description (`dup`; they share the
    /// position, which is where this `File`'s reads stand), after the queued
    /// writes.
    pub async fn try_clone(&self) -> io::Result<File> {
        let mut inner = self.settled().await;
        inner.next_read = 0;
        let back = inner.idle_buf().discard_read();
        let (std, path) = (self.std.clone(), self.path.clone());
        let clone = asyncify(move || {
            seek_back(&std, back, path.as_deref())?;
            std.try_clone()
                .map_err(|e| maybe_with_path(e, "dup", path.as_deref()))
        })
        .await?;
        Ok(File::from_parts(clone, self.path.clone()))
    }

    /// Changes the file's permissions (`std::fs::File::set_permissions`).
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let _inner = self.settled().await;
        let (std, path) = (self.std.clone(), self.path.clone());
        asyncify(move || {
            std.set_permissions(perm)
                .map_err(|e| maybe_with_path(e, "chmod", path.as_deref()))
        })
        .await
    }

    /// The `std::fs::File`, once the queued writes are written, positioned where
    /// this `File`'s reads stand. A write error still queued is lost: call
    /// [`flush`](crate::io::AsyncWriteExt::flush) first to see it.
    pub async fn into_std(mut self) -> StdFile {
        let mut inner = self.settled().await;
        let back = inner.idle_buf().discard_read();
        drop(inner);
        let _ = seek_back(&self.std, back, None);
        let std = self.disarm();
        drop(self);
        match Arc::try_unwrap(std) {
            Ok(std) => std,
            // A `metadata` (or like) future dropped mid-way still holds a clone.
            Err(shared) => shared
                .try_clone()
                .expect("gorun::fs::File::into_std: dup failed"),
        }
    }

    /// The `std::fs::File` if nothing is in flight, else the `File` back.
    #[allow(clippy::result_large_err)] // tokio's signature: the `File` comes back
    pub fn try_into_std(mut self) -> Result<StdFile, File> {
        let inner = self.inner.get_mut();
        if matches!(inner.state, State::Busy(_)) || !inner.writes.is_drained() {
            return Err(self);
        }
        let back = inner.idle_buf().discard_read();
        let _ = seek_back(&self.std, back, None);
        if Arc::strong_count(&self.std) > 1 {
            // A `metadata` (or like) future dropped mid-way still holds a clone.
            return Err(self);
        }
        let (path, max_buf_size) = (self.path.clone(), self.max_buf_size);
        let std = self.disarm();
        drop(self);
        // Ours alone (no clone was left, and none can be made now): this unwraps.
        Arc::try_unwrap(std).map_err(|std| File {
            std,
            path,
            inner: crate::sync::Mutex::new(Inner::new()),
            max_buf_size,
        })
    }

    /// Turns off the closing rule of [`Drop`](File#impl-Drop-for-File) and returns
    /// a clone of the file: the caller, about to drop `self`, takes over the
    /// descriptor.
    fn disarm(&mut self) -> Arc<StdFile> {
        self.inner.get_mut().written = false;
        self.std.clone()
    }

    /// Sets the most bytes one blocking-pool trip reads, and the most bytes the
    /// write queue holds (2 MiB by default, as tokio's).
    pub fn set_max_buf_size(&mut self, max_buf_size: usize) {
        self.max_buf_size = max_buf_size;
    }

    /// See [`set_max_buf_size`](File::set_max_buf_size).
    pub fn max_buf_size(&self) -> usize {
        self.max_buf_size
    }
}

/// A file that was written closes on the blocking pool: `close(2)` can wait for
/// the disk there (ext4 starts writing back a truncated and rewritten file when it
/// is closed, NFS flushes on close), and it would stall the worker and every task
/// queued behind it. Outside a runtime, or for a file only read, it closes here.
impl Drop for File {
    fn drop(&mut self) {
        if !self.inner.get_mut().written {
            return;
        }
        let Ok(handle) = crate::Handle::try_current() else {
            return;
        };
        // This clone is the last one once `self` is gone (queued writes hold their
        // own, and close the file when the last of them ends).
        let std = self.std.clone();
        drop(handle.spawn_blocking(move || drop(std)));
    }
}

impl From<StdFile> for File {
    fn from(std: StdFile) -> File {
        File::from_std(std)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("std", &self.std)
            .finish_non_exhaustive()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for File {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.std.as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for File {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.std.as_fd()
    }
}

#[cfg(unix)]
impl From<std::os::fd::OwnedFd> for File {
    fn from(fd: std::os::fd::OwnedFd) -> File {
        File::from_std(StdFile::from(fd))
    }
}
