//! UDP and Unix domain sockets on the reactor.

use std::sync::Arc;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gorun::net::{UdpSocket, UnixListener, UnixStream};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn udp_round_trip() {
    rt().block_on(async {
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let saddr = server.local_addr().unwrap();
        let s = server.clone();
        let echo = gorun::go(async move {
            let mut buf = [0; 64];
            for _ in 0..100 {
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                s.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(saddr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), saddr);
        for i in 0..100u32 {
            client.send(&i.to_le_bytes()).await.unwrap();
            let mut buf = [0; 64];
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
        echo.await.unwrap();
    });
}

#[test]
fn unix_stream_echo_and_pair() {
    rt().block_on(async {
        let dir = std::env::temp_dir().join(format!("gorun-net-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("echo.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        assert!(UnixListener::bind(&path).is_err(), "the path is taken");
        let server = gorun::go(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap();
            s.write_all(&all).await.unwrap();
        });
        let mut c = UnixStream::connect(&path).await.unwrap();
        c.write_all(b"unix").await.unwrap();
        c.close().await.unwrap();
        let mut back = Vec::new();
        c.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"unix");
        server.await.unwrap();
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);

        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"pair").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pair");
    });
}

#[test]
fn unix_connect_to_missing_path_fails() {
    rt().block_on(async {
        let e = UnixStream::connect("/nonexistent/gorun.sock")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    });
}
