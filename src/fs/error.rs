//! Errors that name their path, as Go's `*fs.PathError` and `*os.LinkError`:
//! `open /x/y: No such file or directory (os error 2)`.
//!
//! The wrapped error keeps std's [`kind`](io::Error::kind); std's own error (with
//! its `raw_os_error`) is the [`source`](std::error::Error::source).

use std::error::Error;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An operation, the path(s) it acted on, and std's error.
#[derive(Debug)]
struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " {}", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `e` as `"{op} {path}: {e}"`, with `e`'s kind.
pub(crate) fn with_path(e: io::Error, op: &'static str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            op,
            path: path.to_owned(),
            to: None,
            source: e,
        },
    )
}

/// `e` as `"{op} {from} {to}: {e}"` (Go's `*os.LinkError`), with `e`'s kind.
pub(crate) fn with_paths(e: io::Error, op: &'static str, from: &Path, to: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            op,
            path: from.to_owned(),
            to: Some(to.to_owned()),
            source: e,
        },
    )
}

/// Names `path`, if known, in `e` (a `File` made by `from_std` knows none).
pub(crate) fn maybe_with_path(e: io::Error, op: &'static str, path: Option<&Path>) -> io::Error {
    match path {
        Some(p) => with_path(e, op, p),
        None => e,
    }
}

/// The error of a blocking-pool closure that never ran or panicked (the runtime
/// shut down, or std panicked).
pub(crate) fn background_failed(why: impl fmt::Display) -> io::Error {
    io::Error::other(format!("gorun::fs: background task failed: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_path_and_keeps_kind_and_source() {
        let e = with_path(io::Error::from_raw_os_error(2), "open", Path::new("/x/y"));
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with("open /x/y: "), "{e}");
        let src = e.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(src.raw_os_error(), Some(2));
        let e = with_paths(
            io::Error::from_raw_os_error(2),
            "rename",
            "a".as_ref(),
            "b".as_ref(),
        );
        assert!(e.to_string().starts_with("rename a b: "), "{e}");
    }
}
