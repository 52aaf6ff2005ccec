//! [`OpenOptions`] and [`DirBuilder`]: std's builders, opening on the blocking pool.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::with_path;
use super::{asyncify, File};

/// How to open a file, tokio's `tokio::fs::OpenOptions`: std's builder whose
/// [`open`](OpenOptions::open) runs on the blocking pool and returns a [`File`].
///
/// ```
/// use gorun::fs::OpenOptions;
/// use gorun::io::AsyncWriteExt;
///
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("app.log");
/// for line in ["one\n", "two\n"] {
///     let mut log = OpenOptions::new().append(true).create(true).open(&path).await?;
///     log.write_all(line.as_bytes()).await?;
///     log.flush().await?;
/// }
/// assert_eq!(gorun::fs::read_to_string(&path).await?, "one\ntwo\n");
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Options with every flag off (`std::fs::OpenOptions::new`).
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Open for appending: every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate an existing file to 0 bytes (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing (`AlreadyExists`) if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// Opens `path` with these options on the blocking pool. Errors name the
    /// path: `open /x/y: Permission denied (os error 13)`.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        let opts = self.0.clone();
        let p = path.clone();
        let std = asyncify(move || opts.open(&p).map_err(|e| with_path(e, "open", &p))).await?;
        Ok(File::from_parts(std, Some(path)))
    }
}

#[cfg(unix)]
impl OpenOptions {
    /// The permission bits of a created file (before the umask), `0o666` by
    /// default (`std::os::unix::fs::OpenOptionsExt::mode`).
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags, such as `libc::O_NOFOLLOW`
    /// (`std::os::unix::fs::OpenOptionsExt::custom_flags`).
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}

/// Creates directories, tokio's `tokio::fs::DirBuilder` (std's, on the blocking
/// pool).
#[derive(Debug, Default)]
pub struct DirBuilder {
    recursive: bool,
    #[cfg(unix)]
    mode: Option<u32>,
}

impl DirBuilder {
    /// A builder that creates one directory, with the default mode.
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Also create missing parents, and succeed if the directory exists.
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// The permission bits of created directories (before the umask).
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }

    /// Creates `path` with these options. Errors name the path.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path: PathBuf = path.as_ref().to_owned();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive);
        #[cfg(unix)]
        if let Some(mode) = self.mode {
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
        }
        asyncify(move || {
            builder
                .create(&path)
                .map_err(|e| with_path(e, "mkdir", &path))
        })
        .await
    }
}
