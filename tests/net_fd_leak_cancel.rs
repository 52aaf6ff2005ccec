//! Dropping a socket future halfway leaks no fd: connects cancelled while the
//! handshake is in flight, name lookups cancelled on the blocking pool, accepts
//! cancelled while parked. One test in its own binary, so no other test opens or
//! closes fds while it counts them.

use std::time::Duration;

use gorun::net::{TcpListener, TcpSocket, TcpStream};
use gorun::time::timeout;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn cancelled_connects_lookups_and_accepts_leak_no_fd() {
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        // Warm up: the reactor, the timer and the blocking pool open what they keep.
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(TcpStream::connect(addr).await.unwrap());
        drop(l.accept().await.unwrap());
        let _ = gorun::net::lookup_host("localhost:1").await;
        let before = open_fds();

        // A backlog of 1 that nobody accepts from: later connects stay in the
        // handshake, so the timeout drops them mid-flight.
        let s = TcpSocket::new_v4().unwrap();
        s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let full = s.listen(1).unwrap();
        let full_addr = full.local_addr().unwrap();
        let mut kept = Vec::new();
        for _ in 0..200 {
            let connect = timeout(Duration::from_micros(200), TcpStream::connect(full_addr));
            if let Ok(Ok(c)) = connect.await {
                kept.push(c); // the kernel completed it: closed below
            }
            let _ = timeout(Duration::ZERO, gorun::net::lookup_host("localhost:80")).await;
            let _ = timeout(Duration::from_micros(100), l.accept()).await;
        }
        drop(kept);
        drop(full);
        // Lookups cancelled on the pool finish there; give them a moment.
        let mut after = open_fds();
        for _ in 0..200 {
            if after <= before {
                break;
            }
            gorun::time::sleep(Duration::from_millis(10)).await;
            after = open_fds();
        }
        assert_eq!(after, before, "fds leaked by cancelled socket futures");
    });
}
