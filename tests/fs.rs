//! `gorun::fs`: round trips, directory listing, buffered reads/writes/seeks,
//! errors that name their path, and no descriptor leaked or write lost when
//! futures and files are dropped mid-operation.
//!
//! Every test holds [`serial`]: the fd-counting test reads `/proc/self/fd`, which
//! the other tests' open files would disturb.

use std::collections::HashSet;
use std::error::Error as _;
use std::future::Future;
use std::io::{ErrorKind, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::io::AsyncSeekExt;
use futures::task::noop_waker_ref;
use futures::{AsyncWrite, StreamExt};
use gorun::fs::{self, File, OpenOptions};
use gorun::io::{AsyncReadExt, AsyncWriteExt};

fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

/// Deterministic, non-repeating-looking bytes (xorshift).
fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Waits (bounded) until `cond` holds; returns whether it did.
fn settle(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn round_trips() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    rt().run(async move {
        let a = d.join("a.txt");
        fs::write(&a, "hello, fs").await.unwrap();
        assert_eq!(fs::read(&a).await.unwrap(), b"hello, fs");
        assert_eq!(fs::read_to_string(&a).await.unwrap(), "hello, fs");

        let b = d.join("b.txt");
        assert_eq!(fs::copy(&a, &b).await.unwrap(), 9);
        assert_eq!(fs::read(&b).await.unwrap(), b"hello, fs");

        let c = d.join("c.txt");
        fs::rename(&b, &c).await.unwrap();
        assert!(!fs::try_exists(&b).await.unwrap());
        assert!(fs::try_exists(&c).await.unwrap());
        assert_eq!(fs::read_to_string(&c).await.unwrap(), "hello, fs");

        let meta = fs::metadata(&c).await.unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), 9);

        let link = d.join("link");
        fs::symlink(&c, &link).await.unwrap();
        assert_eq!(fs::read_link(&link).await.unwrap(), c);
        assert!(fs::symlink_metadata(&link).await.unwrap().is_symlink());
        assert!(fs::metadata(&link).await.unwrap().is_file());
        assert_eq!(
            fs::canonicalize(&link).await.unwrap(),
            std::fs::canonicalize(&c).unwrap()
        );

        let hard = d.join("hard");
        fs::hard_link(&c, &hard).await.unwrap();
        assert_eq!(fs::read(&hard).await.unwrap(), b"hello, fs");

        let mut perm = fs::metadata(&c).await.unwrap().permissions();
        perm.set_readonly(true);
        fs::set_permissions(&c, perm).await.unwrap();
        assert!(fs::metadata(&c).await.unwrap().permissions().readonly());

        let deep = d.join("x/y/z");
        fs::create_dir_all(&deep).await.unwrap();
        assert!(fs::metadata(&deep).await.unwrap().is_dir());
        fs::create_dir(d.join("x/y/w")).await.unwrap();
        fs::remove_dir(d.join("x/y/w")).await.unwrap();
        fs::DirBuilder::new()
            .recursive(true)
            .create(deep.join("q"))
            .await
            .unwrap();
        fs::remove_dir_all(d.join("x")).await.unwrap();
        assert!(!fs::try_exists(d.join("x")).await.unwrap());

        fs::remove_file(&hard).await.unwrap();
        assert!(!fs::try_exists(&hard).await.unwrap());
    });
}

/// Creates `n` empty files named `f{i}` in a new temp dir.
fn many_files(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        std::fs::File::create(dir.path().join(format!("f{i}"))).unwrap();
    }
    dir
}

fn check_names(names: &[String], n: usize) {
    assert_eq!(names.len(), n);
    let set: HashSet<&String> = names.iter().collect();
    assert_eq!(set.len(), n, "a name was listed twice");
    for i in 0..n {
        assert!(set.contains(&format!("f{i}")), "f{i} missing");
    }
}

#[test]
fn read_dir_next_entry_lists_each_name_once_in_batches() {
    let _g = serial();
    const N: usize = 10_000;
    let dir = many_files(N);
    let d = dir.path().to_owned();
    let rt = rt();
    let handle = rt.handle().clone();
    let (names, trips) = rt.run(async move {
        let before = handle.metrics().spawned;
        let mut rd = fs::read_dir(&d).await.unwrap();
        let mut names = Vec::new();
        while let Some(e) = rd.next_entry().await.unwrap() {
            assert_eq!(e.path(), d.join(e.file_name()));
            names.push(e.file_name().into_string().unwrap());
        }
        assert!(rd.next_entry().await.unwrap().is_none(), "ended twice");
        (names, handle.metrics().spawned - before)
    });
    check_names(&names, N);
    // One trip to open, one per 32 entries (plus the one that finds the end).
    assert!(
        trips <= 1 + N / 32 + 2,
        "{trips} blocking trips for {N} entries"
    );
}

#[test]
fn read_dir_stream_lists_each_name_once() {
    let _g = serial();
    const N: usize = 10_000;
    let dir = many_files(N);
    let d = dir.path().to_owned();
    let names = rt().run(async move {
        let rd = fs::read_dir(&d).await.unwrap();
        let entries: Vec<_> = rd.collect().await;
        let mut names = Vec::new();
        for e in entries {
            let e = e.unwrap();
            assert!(e.file_type().await.unwrap().is_file());
            if names.len() < 10 {
                assert_eq!(e.metadata().await.unwrap().len(), 0);
            }
            names.push(e.file_name().into_string().unwrap());
        }
        names
    });
    check_names(&names, N);
}

/// Chunk sizes that divide nothing evenly, cycled.
const ODD: [usize; 7] = [1, 7, 4093, 65_537, 3, 1_000_003, 333_333];

#[test]
fn ten_mib_in_odd_chunks_round_trips() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    let src = data(10 << 20);
    rt().run(async move {
        let mut f = File::create(&path).await.unwrap();
        let (mut off, mut i) = (0, 0);
        while off < src.len() {
            let end = (off + ODD[i % ODD.len()]).min(src.len());
            f.write_all(&src[off..end]).await.unwrap();
            off = end;
            i += 1;
        }
        f.flush().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), src.len() as u64);
        drop(f);

        let mut f = File::open(&path).await.unwrap();
        let (mut off, mut i) = (0, 3);
        let mut back = vec![0; src.len()];
        while off < src.len() {
            let end = (off + ODD[i % ODD.len()]).min(src.len());
            f.read_exact(&mut back[off..end]).await.unwrap();
            off = end;
            i += 1;
        }
        assert!(back == src, "read_exact read other bytes");
        assert_eq!(f.read(&mut [0; 16]).await.unwrap(), 0, "EOF");

        let mut all = Vec::new();
        File::open(&path)
            .await
            .unwrap()
            .read_to_end(&mut all)
            .await
            .unwrap();
        assert!(all == src, "read_to_end read other bytes");
    });
}

/// Leaves read-ahead in `f`'s buffer: a read of `big` bytes is started, its
/// future abandoned while the read is in flight, then `small` bytes are read
/// (from that read's bytes). A read that finishes before its first poll ends is
/// undone with a seek and tried again.
async fn read_with_read_ahead(f: &mut File, big: usize, small: usize) -> Vec<u8> {
    let start = f.stream_position().await.unwrap();
    let mut buf = vec![0; big];
    for _ in 0..1000 {
        if poll_once(&mut f.read(&mut buf)).is_pending() {
            let mut out = vec![0; small];
            f.read_exact(&mut out).await.unwrap();
            return out;
        }
        f.seek(SeekFrom::Start(start)).await.unwrap();
    }
    panic!("every read finished within its first poll");
}

#[test]
fn seek_after_partial_buffered_read() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seek");
    let src = data(100_000);
    std::fs::write(&path, &src).unwrap();
    rt().run(async move {
        let mut f = File::open(&path).await.unwrap();
        let head = read_with_read_ahead(&mut f, 50_000, 10).await;
        assert_eq!(head, src[..10]);
        assert_eq!(f.stream_position().await.unwrap(), 10);
        assert_eq!(f.seek(SeekFrom::Current(5)).await.unwrap(), 15);
        let mut b = [0; 5];
        f.read_exact(&mut b).await.unwrap();
        assert_eq!(b, src[15..20]);
        assert_eq!(f.seek(SeekFrom::End(-3)).await.unwrap(), 99_997);
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).await.unwrap();
        assert_eq!(tail, src[99_997..]);

        // A write after read-ahead lands where the reads stand.
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        read_with_read_ahead(&mut f, 50_000, 100).await;
        assert_eq!(
            f.write(b"").await.unwrap(),
            0,
            "an empty write moves nothing"
        );
        f.write_all(b"XYZ").await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(f.stream_position().await.unwrap(), 103);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk[..100], src[..100]);
        assert_eq!(&on_disk[100..103], b"XYZ");
        assert_eq!(on_disk[103..], src[103..]);

        // Reads see queued writes; `into_std` keeps the reads' position.
        f.seek(SeekFrom::Start(0)).await.unwrap();
        f.write_all(b"abc").await.unwrap();
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut b = [0; 4];
        f.read_exact(&mut b).await.unwrap();
        assert_eq!(b, [b'a', b'b', b'c', src[3]]);
        read_with_read_ahead(&mut f, 1000, 6).await;
        let mut std = f.into_std().await;
        assert_eq!(std::io::Seek::stream_position(&mut std).unwrap(), 10);
    });
}

#[test]
fn sequential_reads_of_a_regular_file_read_ahead_and_stay_exact() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seq");
    let src = data(8 << 20);
    std::fs::write(&path, &src).unwrap();
    let rt = rt();
    let handle = rt.handle().clone();
    rt.run(async move {
        let mut f = File::open(&path).await.unwrap();
        let before = handle.metrics().spawned;
        let mut chunk = vec![0; 64 << 10];
        let mut back = Vec::new();
        loop {
            let n = f.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&chunk[..n]);
        }
        let trips = handle.metrics().spawned - before;
        assert!(back == src);
        // 128 reads of 64 KiB; growing to 2 MiB per trip makes about 10 trips.
        assert!(
            trips <= 16,
            "{trips} blocking trips for 128 sequential reads"
        );

        // Read-ahead is invisible to positions, clones and writes.
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        for _ in 0..2 {
            f.read_exact(&mut chunk).await.unwrap(); // the second reads 64 KiB ahead
        }
        let mut clone = f.try_clone().await.unwrap();
        let mut b = [0; 8];
        clone.read_exact(&mut b).await.unwrap();
        assert_eq!(
            b,
            src[128 << 10..][..8],
            "the clone starts where f's reads stand"
        );
        // They share the offset (dup), and the clone read 8 bytes.
        assert_eq!(f.stream_position().await.unwrap(), (128 << 10) + 8);
        f.seek(SeekFrom::Start(0)).await.unwrap();
        f.read_exact(&mut chunk).await.unwrap();
        f.read_exact(&mut chunk).await.unwrap(); // reads ahead past 128 KiB
        f.write_all(b"here").await.unwrap();
        f.flush().await.unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[128 << 10..][..4], b"here");
        assert!(on_disk[..128 << 10] == src[..128 << 10]);
        assert!(on_disk[(128 << 10) + 4..] == src[(128 << 10) + 4..]);
    });
}

#[test]
fn a_socket_is_read_exactly_as_asked() {
    use std::io::{Read, Write};
    let _g = serial();
    let (mut tx, rx) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut rx_std = rx.try_clone().unwrap();
    // Fail, not hang, if the File took the bytes.
    rx_std
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut f = File::from(std::os::fd::OwnedFd::from(rx));
    tx.write_all(b"abcdefghijkl").unwrap();
    rt().run(async move {
        let mut b = [0; 4];
        for _ in 0..2 {
            f.read_exact(&mut b).await.unwrap();
        }
        assert_eq!(&b, b"efgh");
    });
    let mut rest = [0; 4];
    rx_std.read_exact(&mut rest).unwrap();
    assert_eq!(&rest, b"ijkl", "the File took bytes it was not asked for");
}

#[test]
fn set_len_sync_and_clone() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("len");
    rt().run(async move {
        let f = File::create_new(&path).await.unwrap();
        let err = File::create_new(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        let mut f2 = f.try_clone().await.unwrap();
        f2.write_all(b"0123456789").await.unwrap();
        f2.sync_all().await.unwrap();
        f.set_len(4).await.unwrap();
        f.sync_data().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 4);
        assert_eq!(fs::read(&path).await.unwrap(), b"0123");
        let std = f.try_into_std().expect("nothing in flight");
        assert_eq!(std.metadata().unwrap().len(), 4);
    });
}

#[test]
fn open_options_append_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    rt().run(async move {
        for line in ["one\n", "two\n"] {
            let mut f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&path)
                .await
                .unwrap();
            f.write_all(line.as_bytes()).await.unwrap();
            f.flush().await.unwrap();
        }
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "one\ntwo\n");
        let mode = fs::metadata(&path).await.unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let err = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&path)
            .await
            .unwrap_err();
        assert_eq!(err.raw_os_error(), None, "wrapped");
        assert_eq!(err.kind(), ErrorKind::NotADirectory);
    });
}

fn assert_names(err: &std::io::Error, prefix: &str, kind: ErrorKind) {
    assert_eq!(err.kind(), kind, "{err}");
    assert!(
        err.to_string().starts_with(prefix),
        "{err:?} does not start with {prefix:?}"
    );
    let src = err
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(
        src.map(|s| s.kind()),
        Some(kind),
        "std's error is the source"
    );
}

#[test]
fn errors_name_the_path_and_keep_the_kind() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    rt().run(async move {
        let missing = d.join("missing");
        let m = missing.display();
        let nf = ErrorKind::NotFound;
        let e = File::open(&missing).await.unwrap_err();
        assert_names(&e, &format!("open {m}: "), nf);
        assert!(e.to_string().ends_with("(os error 2)"), "{e}");
        let src = e
            .source()
            .unwrap()
            .downcast_ref::<std::io::Error>()
            .unwrap();
        assert_eq!(src.raw_os_error(), Some(libc::ENOENT));
        assert_names(
            &fs::read(&missing).await.unwrap_err(),
            &format!("read {m}: "),
            nf,
        );
        assert_names(
            &fs::metadata(&missing).await.unwrap_err(),
            &format!("stat {m}: "),
            nf,
        );
        assert_names(
            &fs::remove_file(&missing).await.unwrap_err(),
            &format!("remove {m}: "),
            nf,
        );
        assert_names(
            &fs::read_dir(&missing).await.unwrap_err(),
            &format!("open {m}: "),
            nf,
        );
        let to = d.join("to");
        assert_names(
            &fs::rename(&missing, &to).await.unwrap_err(),
            &format!("rename {m} {}: ", to.display()),
            nf,
        );
        assert_names(
            &fs::create_dir(&d).await.unwrap_err(),
            &format!("mkdir {}: ", d.display()),
            ErrorKind::AlreadyExists,
        );

        // A background write's error surfaces on flush, naming the file.
        let ro = d.join("ro");
        fs::write(&ro, "x").await.unwrap();
        let mut f = File::open(&ro).await.unwrap();
        assert_eq!(
            f.write(b"nope").await.unwrap(),
            4,
            "accepted into the queue"
        );
        let e = f.flush().await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("write {}: ", ro.display())),
            "{e}"
        );
        f.flush().await.expect("the error is reported once");

        // A full device: ENOSPC keeps its kind.
        if Path::new("/dev/full").exists() {
            let mut f = OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .await
                .unwrap();
            f.write_all(&[1; 1000]).await.unwrap();
            assert_names(
                &f.flush().await.unwrap_err(),
                "write /dev/full: ",
                ErrorKind::StorageFull,
            );
        }
    });
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(noop_waker_ref()))
}

/// One `poll_write` with a waker that does nothing.
fn poll_write_once(f: &mut File, src: &[u8]) -> Poll<std::io::Result<usize>> {
    Pin::new(f).poll_write(&mut Context::from_waker(noop_waker_ref()), src)
}

#[test]
fn dropped_futures_and_files_leak_no_fd_and_lose_no_accepted_write() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let src = data(3 << 20);
    std::fs::write(d.join("r"), &src).unwrap();
    let rt = rt();
    // Start the runtime's reactor and pool before counting.
    rt.run({
        let d = d.clone();
        async move { fs::read(d.join("r")).await.unwrap() }
    });
    let base = open_fds();
    let (src2, d2) = (src.clone(), d.clone());
    rt.run(async move {
        let (src, d) = (src2, d2);
        for i in 0..20 {
            // A read in flight, its future and its file dropped.
            let mut buf = vec![0; 1 << 20];
            let mut tries = 0;
            loop {
                let mut f = File::open(d.join("r")).await.unwrap();
                if poll_once(&mut f.read(&mut buf)).is_pending() {
                    break; // `f` dropped with its read in flight
                }
                tries += 1;
                assert!(tries < 1000, "every read finished within its first poll");
            }

            // A write accepted, the file dropped before any flush: still written.
            let mut f = File::create(d.join(format!("w{i}"))).await.unwrap();
            let n = match poll_write_once(&mut f, &src) {
                Poll::Ready(Ok(n)) => n,
                other => panic!("a first write is accepted at once: {other:?}"),
            };
            assert_eq!(n, 2 << 20, "one queue's worth");
            drop(f);

            // write_all dropped mid-way, then flush: what was accepted is on disk.
            let mut f = File::create(d.join(format!("a{i}"))).await.unwrap();
            let mut accepted = 0;
            while let Poll::Ready(r) = poll_write_once(&mut f, &src[accepted..]) {
                accepted += r.unwrap();
                if accepted == src.len() {
                    break;
                }
            }
            let mut wa = f.write_all(&src);
            let _ = poll_once(&mut wa);
            drop(wa);
            f.flush().await.unwrap();
            let on_disk = fs::read(d.join(format!("a{i}"))).await.unwrap();
            assert!(on_disk.len() >= accepted, "{} < {accepted}", on_disk.len());
            assert!(on_disk[..accepted] == src[..accepted]);
            assert!(
                on_disk[accepted..] == src[..on_disk.len() - accepted],
                "write_all's prefix"
            );
        }
    });
    for i in 0..20 {
        let p = d.join(format!("w{i}"));
        let written = settle(|| std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) == 2 << 20);
        assert!(written, "the dropped file's accepted write never landed");
        assert!(std::fs::read(&p).unwrap() == src[..2 << 20]);
    }
    assert!(
        settle(|| open_fds() == base),
        "fds: {} open, {base} before",
        open_fds()
    );
}

#[test]
fn works_under_futures_block_on_outside_a_runtime() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(gorun::Handle::try_current().is_err(), "no runtime here");
    futures::executor::block_on(async {
        let p = d.join("plain");
        let mut f = File::create(&p).await.unwrap();
        f.write_all(b"no runtime entered").await.unwrap();
        f.flush().await.unwrap();
        assert_eq!(fs::read_to_string(&p).await.unwrap(), "no runtime entered");
        let mut rd = fs::read_dir(d).await.unwrap();
        assert_eq!(rd.next_entry().await.unwrap().unwrap().file_name(), "plain");
        assert!(rd.next_entry().await.unwrap().is_none());
    });
}
