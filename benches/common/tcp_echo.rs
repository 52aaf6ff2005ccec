//! The in-process TCP echo that `os_io` and `io_locality` time on gorun and tokio:
//! `CLIENTS` connections to one echo server, made before the timing, and a round of
//! `ROUND_TRIPS` round trips of `MSG` bytes on each, one client task per connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const CLIENTS: usize = 50;
pub const ROUND_TRIPS: usize = 2_000;
pub const MSG: usize = 64;

/// The echo server and the clients' round for a runtime whose API has tokio's
/// shape (gorun and tokio): `$rt::net`, `$rt::io::{AsyncReadExt, AsyncWriteExt}`,
/// `$rt::spawn` returning a `JoinHandle` that awaits to a `Result`.
macro_rules! poll_echo {
    ($name:ident, $rt:ident) => {
        pub mod $name {
            use super::*;
            use $rt::io::{AsyncReadExt, AsyncWriteExt};
            use $rt::net::{TcpListener, TcpStream};

            /// Starts the echo server (a task per connection) and connects the
            /// clients.
            pub async fn connect() -> Vec<TcpStream> {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr: SocketAddr = listener.local_addr().unwrap();
                $rt::spawn(async move {
                    while let Ok((mut s, _)) = listener.accept().await {
                        s.set_nodelay(true).unwrap();
                        $rt::spawn(async move {
                            let mut buf = [0u8; 4096];
                            loop {
                                match s.read(&mut buf).await {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => {
                                        if s.write_all(&buf[..n]).await.is_err() {
                                            break;
                                        }
                                    }
                                }
                            }
                        });
                    }
                });
                let mut clients = Vec::with_capacity(CLIENTS);
                for _ in 0..CLIENTS {
                    let c = TcpStream::connect(addr).await.unwrap();
                    c.set_nodelay(true).unwrap();
                    clients.push(c);
                }
                clients
            }

            /// One round on every client at once; gives the clients back, and the
            /// round's wall time.
            pub async fn round(clients: Vec<TcpStream>) -> (Vec<TcpStream>, Duration) {
                let start = Instant::now();
                let hs: Vec<_> = clients
                    .into_iter()
                    .map(|mut c| {
                        $rt::spawn(async move {
                            let (out, mut back) = ([7u8; MSG], [0u8; MSG]);
                            for _ in 0..ROUND_TRIPS {
                                c.write_all(&out).await.unwrap();
                                c.read_exact(&mut back).await.unwrap();
                            }
                            c
                        })
                    })
                    .collect();
                let mut clients = Vec::with_capacity(CLIENTS);
                for h in hs {
                    clients.push(h.await.unwrap());
                }
                (clients, start.elapsed())
            }
        }
    };
}

poll_echo!(on_gorun, gorun);
poll_echo!(on_tokio, tokio);
