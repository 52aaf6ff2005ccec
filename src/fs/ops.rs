//! The free functions: std's `std::fs` functions, each one blocking-pool trip,
//! each error naming its path(s).

use std::fs::{Metadata, Permissions};
use std::io;
use std::path::{Path, PathBuf};

use super::asyncify;
use super::error::{with_path, with_paths};

/// Runs `f(path)` on the blocking pool, naming `path` under `op` in its error.
async fn on_path<T, F>(path: &Path, op: &'static str, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path = path.to_owned();
    asyncify(move || f(&path).map_err(|e| with_path(e, op, &path))).await
}

/// Runs `f(from, to)` on the blocking pool, naming both paths in its error.
async fn on_paths<T, F>(from: &Path, to: &Path, op: &'static str, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (from, to) = (from.to_owned(), to.to_owned());
    asyncify(move || f(&from, &to).map_err(|e| with_paths(e, op, &from, &to))).await
}

/// Reads a whole file into a vector (`std::fs::read`).
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("data.bin");
/// gorun::fs::write(&path, [1u8, 2, 3]).await?;
/// assert_eq!(gorun::fs::read(&path).await?, [1, 2, 3]);
///
/// let err = gorun::fs::read(dir.path().join("missing")).await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// // "read /tmp/.../missing: No such file or directory (os error 2)"
/// assert!(err.to_string().contains("missing: "), "{err}");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_path(path.as_ref(), "read", |p| std::fs::read(p)).await
}

/// Reads a whole file into a string; fails (`InvalidData`) if it is not UTF-8
/// (`std::fs::read_to_string`).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_path(path.as_ref(), "read", |p| std::fs::read_to_string(p)).await
}

/// Writes `contents` to a file, creating or truncating it (`std::fs::write`).
/// The bytes are copied once, to move them to the blocking pool.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let contents = contents.as_ref().to_owned();
    on_path(path.as_ref(), "write", move |p| std::fs::write(p, contents)).await
}

/// Copies a file's contents and permissions; returns the bytes copied
/// (`std::fs::copy`).
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths(from.as_ref(), to.as_ref(), "copy", |f, t| {
        std::fs::copy(f, t)
    })
    .await
}

/// Renames a file or directory, replacing `to` if it is a file
/// (`std::fs::rename`). The error names both paths: `rename a b: ...`.
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths(from.as_ref(), to.as_ref(), "rename", |f, t| {
        std::fs::rename(f, t)
    })
    .await
}

/// Creates a hard link `link` to `original` (`std::fs::hard_link`).
pub async fn hard_link(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths(original.as_ref(), link.as_ref(), "link", |o, l| {
        std::fs::hard_link(o, l)
    })
    .await
}

/// Creates a symbolic link `link` pointing to `original`
/// (`std::os::unix::fs::symlink`).
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths(original.as_ref(), link.as_ref(), "symlink", |o, l| {
        std::os::unix::fs::symlink(o, l)
    })
    .await
}

/// Removes a file (`std::fs::remove_file`).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "remove", |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory (`std::fs::remove_dir`).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "remove", |p| std::fs::remove_dir(p)).await
}

/// Removes a directory and everything in it (`std::fs::remove_dir_all`), in
/// one blocking-pool trip.
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "remove", |p| std::fs::remove_dir_all(p)).await
}

/// Creates a directory; its parent must exist (`std::fs::create_dir`).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "mkdir", |p| std::fs::create_dir(p)).await
}

/// Creates a directory and its missing parents; succeeds if it exists
/// (`std::fs::create_dir_all`, Go's `os.MkdirAll`).
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path(path.as_ref(), "mkdir", |p| std::fs::create_dir_all(p)).await
}

/// A path's metadata, following symlinks (`std::fs::metadata`, `stat`).
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("five");
/// gorun::fs::write(&path, "12345").await?;
/// let meta = gorun::fs::metadata(&path).await?;
/// assert!(meta.is_file());
/// assert_eq!(meta.len(), 5);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path(path.as_ref(), "stat", |p| std::fs::metadata(p)).await
}

/// A path's metadata, not following a final symlink
/// (`std::fs::symlink_metadata`, `lstat`).
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path(path.as_ref(), "lstat", |p| std::fs::symlink_metadata(p)).await
}

/// The absolute path with every symlink, `.` and `..` resolved
/// (`std::fs::canonicalize`, `realpath`).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path(path.as_ref(), "realpath", |p| std::fs::canonicalize(p)).await
}

/// The target of a symbolic link (`std::fs::read_link`).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path(path.as_ref(), "readlink", |p| std::fs::read_link(p)).await
}

/// Changes a path's permissions (`std::fs::set_permissions`, `chmod`).
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    on_path(path.as_ref(), "chmod", move |p| {
        std::fs::set_permissions(p, perm)
    })
    .await
}

/// Whether `path` exists: `Ok(false)` if it does not, an error if that cannot
/// be told (a permission error on a parent) (`std::fs::exists`, tokio's
/// `try_exists`).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    on_path(path.as_ref(), "stat", |p| p.try_exists()).await
}
