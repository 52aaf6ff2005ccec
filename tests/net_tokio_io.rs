//! tokio's I/O traits over gorun sockets (feature `tokio-io`): tokio's `io-util`
//! helpers and a tokio-util codec, on the gorun runtime, with no tokio runtime in
//! the process. Loopback only; every wait is bounded.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use gorun::net::{TcpListener, TcpStream, UnixStream};
use gorun::time::timeout;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::{Framed, LinesCodec};

const LIMIT: Duration = Duration::from_secs(10);

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

/// No tokio runtime is current (nor could one be: only gorun's is running), unless
/// the `tokio-compat` feature entered its own on gorun's threads; tokio's I/O traits
/// on gorun's sockets do not use it either way.
fn assert_no_tokio() {
    #[cfg(not(feature = "tokio-compat"))]
    assert!(tokio::runtime::Handle::try_current().is_err());
    #[cfg(feature = "tokio-compat")]
    assert_eq!(
        tokio::runtime::Handle::try_current().map(|h| h.id()).ok(),
        Some(gorun::tokio_compat::handle().id())
    );
}

#[test]
fn tokio_copy_echoes_over_owned_halves() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gorun::go(async move {
            assert_no_tokio();
            let (conn, _) = listener.accept().await?;
            let (mut r, mut w) = conn.into_split();
            let n = tokio::io::copy(&mut r, &mut w).await?;
            w.shutdown().await?;
            std::io::Result::Ok(n)
        });
        let work = async {
            let c = TcpStream::connect(addr).await?;
            // 1 MiB of a known pattern, written while the echo is read back.
            let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
            let (mut r, mut w) = c.into_split();
            let sent = data.clone();
            let writer = gorun::go(async move {
                w.write_all(&sent).await?;
                w.shutdown().await // EOF to the server: its copy ends
            });
            let mut back = Vec::new();
            r.read_to_end(&mut back).await?;
            writer.await.unwrap()?;
            assert_eq!(back.len(), data.len());
            assert!(back == data, "the echo differs");
            std::io::Result::Ok(data.len() as u64)
        };
        let len = timeout(LIMIT, work)
            .await
            .expect("client timed out")
            .unwrap();
        let n = timeout(LIMIT, server).await.expect("server timed out");
        assert_eq!(n.unwrap().unwrap(), len);
    });
}

#[test]
fn tokio_read_exact_and_write_all_on_a_tcp_stream() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        gorun::go(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            for _ in 0..100 {
                let n = s.read_u32().await.unwrap();
                s.write_u32(n * 2).await.unwrap();
            }
        });
        let work = async {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.set_nodelay(true).unwrap();
            for i in 0..100u32 {
                c.write_u32(i).await.unwrap();
                assert_eq!(c.read_u32().await.unwrap(), i * 2);
            }
            // The server task has returned: EOF.
            let mut rest = Vec::new();
            assert_eq!(c.read_to_end(&mut rest).await.unwrap(), 0);
        };
        timeout(LIMIT, work).await.expect("timed out");
    });
}

#[test]
fn tokio_util_lines_codec_over_a_unix_pair() {
    rt().block_on(async {
        let (a, b) = UnixStream::pair().unwrap();
        let peer = gorun::go(async move {
            assert_no_tokio();
            let mut lines = Framed::new(b, LinesCodec::new());
            while let Some(line) = lines.next().await {
                let line = line.unwrap();
                lines.send(line.to_uppercase()).await.unwrap();
            }
        });
        let work = async {
            let mut lines = Framed::new(a, LinesCodec::new());
            for i in 0..1_000 {
                lines.send(format!("line {i}")).await.unwrap();
                assert_eq!(lines.next().await.unwrap().unwrap(), format!("LINE {i}"));
            }
            drop(lines); // closes the socket: the peer's stream ends
        };
        timeout(LIMIT, work).await.expect("timed out");
        timeout(LIMIT, peer).await.expect("peer timed out").unwrap();
    });
}
