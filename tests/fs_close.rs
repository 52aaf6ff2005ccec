//! A written `gorun::fs::File` is closed on the blocking pool: a `close(2)` that
//! waits (ext4 writing back a rewritten file, an NFS flush; here a TCP socket
//! lingering over data its peer never reads, which blocks `close` for the linger
//! time) must not stall the worker that drops the file.

use std::fs::File as StdFile;
use std::io::{ErrorKind, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use gorun::io::AsyncWriteExt;

const LINGER: Duration = Duration::from_secs(2);

/// A connected socket whose `close` blocks for [`LINGER`]: its send buffer is full
/// and its peer (returned, to keep it open) never reads.
fn lingering_socket() -> (StdFile, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: LINGER.as_secs() as libc::c_int,
    };
    // SAFETY: a valid socket and a `linger` of the size passed.
    let r = unsafe {
        libc::setsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    client.set_nonblocking(true).unwrap();
    let chunk = [7u8; 1 << 16];
    let mut client = client;
    loop {
        match client.write(&chunk) {
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    (StdFile::from(OwnedFd::from(client)), peer)
}

fn fd_is_open(fd: i32) -> bool {
    std::path::Path::new(&format!("/proc/self/fd/{fd}")).exists()
}

#[test]
fn dropping_a_written_file_leaves_a_slow_close_to_the_pool() {
    let rt = gorun::Runtime::builder().procs(1).build().unwrap();
    let (socket, _peer) = lingering_socket();
    let fd = socket.as_raw_fd();
    let took = rt.block_on(async move {
        let mut f = gorun::fs::File::from_std(socket);
        // Accepted into the write queue; the background write fails (the socket
        // is full and non-blocking), which flush reports.
        assert_eq!(f.write(b"x").await.unwrap(), 1);
        assert!(f.flush().await.is_err());
        let t = Instant::now();
        // Dropped inside a task on the only worker, then another task runs there.
        gorun::go(async move { drop(f) }).await.unwrap();
        gorun::go(async {}).await.unwrap();
        t.elapsed()
    });
    assert!(
        took < LINGER / 4,
        "the worker waited {took:?} for the close (linger {LINGER:?})"
    );
    // The pool's close ends when the linger does.
    let deadline = Instant::now() + LINGER * 3;
    while fd_is_open(fd) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!fd_is_open(fd), "the descriptor was never closed");
}

#[test]
fn into_std_and_try_into_std_still_hand_over_the_descriptor() {
    let rt = gorun::Runtime::builder().procs(1).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    rt.block_on(async {
        let mut f = gorun::fs::File::create(&path).await.unwrap();
        f.write_all(b"abc").await.unwrap();
        f.flush().await.unwrap();
        let std = f.try_into_std().expect("nothing in flight");
        let fd = std.as_raw_fd();
        assert!(fd_is_open(fd));
        let mut f = gorun::fs::File::from_std(std);
        f.write_all(b"def").await.unwrap();
        let mut std = f.into_std().await;
        assert_eq!(std.as_raw_fd(), fd, "the same descriptor, not a dup");
        std.write_all(b"ghi").unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"abcdefghi");
}
