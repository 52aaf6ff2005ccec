//! Address resolution off the workers: [`ToSocketAddrs`] (tokio's sealed trait of
//! the same name) and [`lookup_host`].
//!
//! A literal address (a `SocketAddr`, an `(IpAddr, u16)`, or a string that parses
//! as one) resolves at once, on the calling task. A name goes to the blocking pool
//! for `getaddrinfo(3)`, so a slow DNS server stalls one pool thread, never a
//! worker (Go's cgo resolver does the same; its pure-Go resolver is asynchronous).

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What a [`ToSocketAddrs`] value resolves to: addresses now, or a name to look up.
#[doc(hidden)]
#[derive(Debug)]
pub enum Resolve {
    /// Literal addresses: no lookup needed.
    Ready(Addrs),
    /// `"host:port"`, to look up on the blocking pool.
    HostPort(String),
    /// A host and a port, to look up on the blocking pool.
    Host(String, u16),
}

/// Resolved addresses; one literal address needs no allocation (`send_to` resolves
/// its target on every call).
#[doc(hidden)]
#[derive(Debug)]
pub enum Addrs {
    /// One address.
    One(std::option::IntoIter<SocketAddr>),
    /// Several.
    Many(std::vec::IntoIter<SocketAddr>),
}

impl Addrs {
    fn one(a: SocketAddr) -> Addrs {
        Addrs::One(Some(a).into_iter())
    }

    fn many(v: Vec<SocketAddr>) -> Addrs {
        Addrs::Many(v.into_iter())
    }
}

impl Iterator for Addrs {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match self {
            Addrs::One(it) => it.next(),
            Addrs::Many(it) => it.next(),
        }
    }
}

mod sealed {
    /// Keeps [`ToSocketAddrs`](super::ToSocketAddrs) closed: its method is an
    /// implementation detail.
    pub trait Sealed {
        #[doc(hidden)]
        fn to_resolve(&self) -> super::Resolve;
    }
}

/// A value that names one or more socket addresses: the argument of
/// `connect`, `bind`, `send_to` and [`lookup_host`] (tokio's trait of the same name).
///
/// Implemented for `SocketAddr`, `SocketAddrV4`, `SocketAddrV6`, `(IpAddr, u16)`,
/// `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `&[SocketAddr]`, `[SocketAddr; N]`, `str`,
/// `String`, `(&str, u16)`, `(String, u16)` and references to any of them. Literal
/// addresses resolve at once; names are looked up on the blocking pool.
pub trait ToSocketAddrs: sealed::Sealed {}

macro_rules! literal {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl ToSocketAddrs for $t {}
        impl sealed::Sealed for $t {
            fn to_resolve(&self) -> Resolve {
                let $v = self;
                Resolve::Ready($e)
            }
        }
    )*};
}

literal! {
    SocketAddr => |a| Addrs::one(*a),
    SocketAddrV4 => |a| Addrs::one(SocketAddr::V4(*a)),
    SocketAddrV6 => |a| Addrs::one(SocketAddr::V6(*a)),
    (IpAddr, u16) => |a| Addrs::one(SocketAddr::new(a.0, a.1)),
    (Ipv4Addr, u16) => |a| Addrs::one(SocketAddr::new(IpAddr::V4(a.0), a.1)),
    (Ipv6Addr, u16) => |a| Addrs::one(SocketAddr::new(IpAddr::V6(a.0), a.1)),
    [SocketAddr] => |a| Addrs::many(a.to_vec()),
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> sealed::Sealed for [SocketAddr; N] {
    fn to_resolve(&self) -> Resolve {
        Resolve::Ready(Addrs::many(self.to_vec()))
    }
}

impl ToSocketAddrs for str {}
impl sealed::Sealed for str {
    fn to_resolve(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(a) => Resolve::Ready(Addrs::one(a)),
            Err(_) => Resolve::HostPort(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl sealed::Sealed for String {
    fn to_resolve(&self) -> Resolve {
        self.as_str().to_resolve()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl sealed::Sealed for (&str, u16) {
    fn to_resolve(&self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::Ready(Addrs::one(SocketAddr::new(ip, self.1))),
            Err(_) => Resolve::Host(self.0.to_owned(), self.1),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl sealed::Sealed for (String, u16) {
    fn to_resolve(&self) -> Resolve {
        (self.0.as_str(), self.1).to_resolve()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {
    fn to_resolve(&self) -> Resolve {
        (**self).to_resolve()
    }
}

/// Resolves `addr`: at once for a literal, on the blocking pool for a name. The
/// conversion happens before the first poll, so the future does not hold `addr`.
pub(super) fn resolve<A: ToSocketAddrs>(
    addr: A,
) -> impl std::future::Future<Output = io::Result<Addrs>> + Send + 'static {
    let r = sealed::Sealed::to_resolve(&addr);
    async move {
        use std::net::ToSocketAddrs as _;
        type Lookup = Box<dyn FnOnce() -> io::Result<Vec<SocketAddr>> + Send>;
        let (name, lookup): (String, Lookup) = match r {
            Resolve::Ready(addrs) => return Ok(addrs),
            Resolve::HostPort(s) => (
                s.clone(),
                Box::new(move || s.to_socket_addrs().map(Iterator::collect)),
            ),
            Resolve::Host(h, port) => (
                format!("{h}:{port}"),
                Box::new(move || (h.as_str(), port).to_socket_addrs().map(Iterator::collect)),
            ),
        };
        let r = match crate::spawn_blocking(move || {
            #[cfg(all(test, not(loom)))]
            tests::stall_while_asked();
            lookup()
        })
        .await
        {
            Ok(r) => r,
            Err(e) => Err(io::Error::other(e)),
        };
        r.map(Addrs::many)
            .map_err(|e| context(e, format_args!("lookup {name}")))
    }
}

/// Looks `host` up (`"name:port"`, `("name", port)`, or a literal), on the blocking
/// pool for a name, and returns its addresses (tokio's `net::lookup_host`, Go's
/// `net.LookupHost` plus the port).
///
/// # Errors
/// The resolver's error, naming the host (`lookup no.such.host:80: ...`).
///
/// ```
/// # gorun_executor::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let addrs: Vec<_> = gorun_executor::net::lookup_host("localhost:80").await.unwrap().collect();
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
/// # });
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(
    host: A,
) -> io::Result<impl Iterator<Item = SocketAddr>> {
    resolve(host).await
}

/// Resolves `addr`, trying each address with `f` until one succeeds; otherwise the
/// last error, naming the operation and address (`connect 127.0.0.1:1: ...`).
pub(super) fn each_addr<A, T, F, Fut>(
    op: &'static str,
    addr: A,
    mut f: F,
) -> impl std::future::Future<Output = io::Result<T>>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let addrs = resolve(addr);
    async move {
        let mut last = None;
        for a in addrs.await? {
            match f(a).await {
                Ok(t) => return Ok(t),
                Err(e) => last = Some(context(e, format_args!("{op} {a}"))),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "could not resolve to any address",
            )
        }))
    }
}

/// `e` with `what` in front of its message; the kind is kept, and the original
/// error stays reachable as the [`source`](std::error::Error::source).
pub(crate) fn context(e: io::Error, what: fmt::Arguments<'_>) -> io::Error {
    io::Error::new(
        e.kind(),
        Context {
            what: what.to_string(),
            source: e,
        },
    )
}

#[derive(Debug)]
struct Context {
    what: String,
    source: io::Error,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for Context {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::time::Duration;

    /// While set, a name lookup waits before calling `getaddrinfo`: a DNS server
    /// that does not answer.
    static STALL: AtomicBool = AtomicBool::new(false);

    pub(super) fn stall_while_asked() {
        while STALL.load(SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_stalled_lookup_leaves_the_only_worker_running_tasks() {
        let rt = crate::Runtime::builder().procs(1).build().unwrap();
        rt.block_on(async {
            STALL.store(true, SeqCst);
            let lookup = crate::go(async { super::lookup_host("localhost:80").await });
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = crate::go({
                let ticks = ticks.clone();
                async move {
                    while ticks.load(SeqCst) < 20 {
                        ticks.fetch_add(1, SeqCst);
                        crate::yield_now().await;
                    }
                }
            });
            ticker.await.unwrap();
            assert!(!lookup.is_finished(), "the lookup is still stalled");
            STALL.store(false, SeqCst);
            let addrs: Vec<_> = lookup.await.unwrap().unwrap().collect();
            assert!(!addrs.is_empty());
            assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
        });
    }

    #[test]
    fn literal_addresses_resolve_without_the_pool() {
        let rt = crate::Runtime::builder().procs(1).build().unwrap();
        rt.block_on(async {
            let a: Vec<_> = super::lookup_host("127.0.0.1:7").await.unwrap().collect();
            assert_eq!(a, ["127.0.0.1:7".parse().unwrap()]);
            let b: Vec<_> = super::lookup_host(("::1", 9)).await.unwrap().collect();
            assert_eq!(b, ["[::1]:9".parse().unwrap()]);
        });
        assert_eq!(
            rt.handle().metrics().blocking_threads,
            0,
            "no thread was started"
        );
    }
}
