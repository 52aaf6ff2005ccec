//! The client: one keep-alive HTTP/1.1 connection, its driver a goroutine.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};

use gorun::net::TcpStream;

use super::Error;

/// A connection to one server; requests on it go one after another.
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Connects and runs the connection's driver as a goroutine (it ends when the
    /// `Conn` is dropped or the server closes the connection).
    pub async fn connect(addr: SocketAddr) -> Result<Conn, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
        gorun::go(async move {
            let _ = conn.await;
        });
        Ok(Conn { addr, sender })
    }

    /// Sends one request and reads the whole response.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), Error> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.addr.to_string())
            .body(Full::new(body))?;
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        let status = res.status();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Result<(StatusCode, Bytes), Error> {
        self.request(Method::GET, path, Bytes::new()).await
    }
}

/// `GET path` on a new connection.
pub async fn get(addr: SocketAddr, path: &str) -> Result<(StatusCode, Bytes), Error> {
    Conn::connect(addr).await?.get(path).await
}
