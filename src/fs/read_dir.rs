//! [`read_dir`], [`ReadDir`] and [`DirEntry`]: a directory listing fetched from
//! the blocking pool in batches of [`BATCH`] entries.
//!
//! Invariants: `ReadDir` is `Idle(Some(batch))` between trips (the batch owns
//! std's `ReadDir`), `Pending` while a closure fills the batch (it owns it then),
//! and `Idle(None)` once the closure was lost (the runtime shut down): the
//! listing then ends. A `ReadDir` dropped mid-trip detaches the closure, which
//! closes the directory when it ends.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::future::{poll_fn, Future};
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::asyncify;
use super::error::{background_failed, with_path};
use crate::JoinHandle;

/// Entries fetched per blocking-pool trip (tokio's figure).
const BATCH: usize = 32;

/// Opens a directory for listing (`std::fs::read_dir`): entries come from
/// [`ReadDir::next_entry`], or from `ReadDir` as a
/// [`Stream`]. `.` and `..` are not listed; the order is the
/// file system's.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// # let dir = tempfile::tempdir()?;
/// gorun::fs::write(dir.path().join("a.txt"), "a").await?;
/// gorun::fs::create_dir(dir.path().join("sub")).await?;
///
/// let mut names = Vec::new();
/// let mut entries = gorun::fs::read_dir(dir.path()).await?;
/// while let Some(entry) = entries.next_entry().await? {
///     let dir_mark = if entry.file_type().await?.is_dir() { "/" } else { "" };
///     names.push(format!("{}{dir_mark}", entry.file_name().to_string_lossy()));
/// }
/// names.sort();
/// assert_eq!(names, ["a.txt", "sub/"]);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let path: Arc<Path> = Arc::from(path.as_ref());
    asyncify(move || {
        let std = std::fs::read_dir(&path).map_err(|e| with_path(e, "open", &path))?;
        Ok(ReadDir(State::Idle(Some(Batch {
            entries: VecDeque::with_capacity(BATCH),
            std,
            done: false,
            dir: path,
        }))))
    })
    .await
}

/// A directory being listed, tokio's `tokio::fs::ReadDir`; made by [`read_dir`].
///
/// Also a [`Stream`] of `io::Result<DirEntry>` (tokio needs `tokio_stream`'s
/// `ReadDirStream` for that):
///
/// ```
/// use futures::TryStreamExt;
///
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// # let dir = tempfile::tempdir()?;
/// # gorun::fs::write(dir.path().join("x"), "").await?;
/// let entries: Vec<_> = gorun::fs::read_dir(dir.path()).await?.try_collect().await?;
/// assert_eq!(entries.len(), 1);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
#[must_use = "a ReadDir lists nothing unless polled"]
pub struct ReadDir(State);

#[derive(Debug)]
enum State {
    Idle(Option<Batch>),
    Pending(JoinHandle<Batch>),
}

#[derive(Debug)]
struct Batch {
    entries: VecDeque<io::Result<DirEntry>>,
    std: std::fs::ReadDir,
    done: bool,
    dir: Arc<Path>,
}

impl Batch {
    /// Reads up to [`BATCH`] entries (blocking).
    fn fill(&mut self) {
        for _ in 0..BATCH {
            match self.std.next() {
                Some(Ok(entry)) => {
                    // Free on most Unix file systems (`d_type`), so fetch it here
                    // rather than on a later trip, as tokio does.
                    let file_type = entry.file_type().ok();
                    self.entries.push_back(Ok(DirEntry {
                        std: Arc::new(entry),
                        file_type,
                    }));
                }
                Some(Err(e)) => self
                    .entries
                    .push_back(Err(with_path(e, "readdir", &self.dir))),
                None => {
                    self.done = true;
                    break;
                }
            }
        }
    }
}

impl ReadDir {
    /// The next entry, `Ok(None)` at the end. Cancel-safe: an entry fetched for
    /// a dropped call is returned by the next.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry, as [`next_entry`](ReadDir::next_entry).
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            match &mut self.0 {
                State::Idle(None) => return Poll::Ready(Ok(None)),
                State::Idle(Some(batch)) => {
                    if let Some(entry) = batch.entries.pop_front() {
                        return Poll::Ready(entry.map(Some));
                    }
                    if batch.done {
                        return Poll::Ready(Ok(None));
                    }
                    let State::Idle(Some(mut batch)) =
                        std::mem::replace(&mut self.0, State::Idle(None))
                    else {
                        unreachable!()
                    };
                    self.0 = State::Pending(crate::spawn_blocking(move || {
                        batch.fill();
                        batch
                    }));
                }
                State::Pending(handle) => match ready!(Pin::new(handle).poll(cx)) {
                    Ok(batch) => self.0 = State::Idle(Some(batch)),
                    Err(e) => {
                        self.0 = State::Idle(None);
                        return Poll::Ready(Err(background_failed(e)));
                    }
                },
            }
        }
    }
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_entry(cx).map(Result::transpose)
    }
}

/// One entry of a [`ReadDir`], tokio's `tokio::fs::DirEntry`.
#[derive(Debug)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
    /// Fetched with the entry where that is free.
    file_type: Option<FileType>,
}

impl DirEntry {
    /// The entry's full path: the directory given to [`read_dir`] joined with
    /// [`file_name`](DirEntry::file_name).
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name within its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's inode number (`std::os::unix::fs::DirEntryExt::ino`).
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }

    /// The entry's metadata, not following a symlink (`lstat`), on the
    /// blocking pool.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || {
            std.metadata()
                .map_err(|e| with_path(e, "lstat", &std.path()))
        })
        .await
    }

    /// The entry's file type (not following a symlink): usually known already,
    /// else fetched on the blocking pool.
    pub async fn file_type(&self) -> io::Result<FileType> {
        if let Some(ft) = self.file_type {
            return Ok(ft);
        }
        let std = self.std.clone();
        asyncify(move || {
            std.file_type()
                .map_err(|e| with_path(e, "lstat", &std.path()))
        })
        .await
    }
}
