//! Dropping sockets releases every descriptor: no fd (or registration) leaks.
//! One test in this file, so no other test opens descriptors meanwhile.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gorun::net::{TcpListener, TcpStream, UdpSocket};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[test]
fn no_fd_leak_after_dropping_1000_sockets() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        return; // no procfs: nothing to count
    }
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        // Warm up: the first accept/connect may allocate lazily.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        drop(l);
        let before = open_fds();
        for _round in 0..2 {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut conns = Vec::new();
            for _ in 0..250 {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let (mut s, _) = listener.accept().await.unwrap();
                c.write_all(b"x").await.unwrap();
                let mut b = [0; 1];
                s.read_exact(&mut b).await.unwrap();
                conns.push((c, s));
            }
            assert!(open_fds() >= before + 500);
            drop(conns);
            drop(listener);
        }
        let udp: Vec<_> = {
            let mut v = Vec::new();
            for _ in 0..500 {
                v.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            }
            v
        };
        drop(udp);
        assert_eq!(open_fds(), before, "descriptors leaked");
    });
    drop(rt);
}
