//! PostgreSQL round trips: tokio-postgres over gorun's `TcpStream` (the `tokio-io`
//! traits, the connection driven by a gorun task) against the same client over
//! `tokio::net::TcpStream` on a tokio runtime. Both sides use `connect_raw` with
//! `NoTls`, two worker threads each (`PG_QPS_WORKERS` changes that), and runtimes, connections and prepared
//! statements made once, outside the measured loops.
//!
//! - `select1/sequential`: one task, `SELECT 1` through a prepared statement,
//!   one round trip at a time (latency bound).
//! - `select1/16_tasks`: 16 tasks sharing one client, each issuing its queries
//!   back to back, so requests pipeline on the one connection (throughput bound).
//!
//! `cargo bench -p gorun-ecosystem --no-default-features --bench postgres_qps`
//! (`--no-default-features` keeps gorun's `tokio-compat` runtime out of the
//! process). The server comes from `GORUN_PG_URL` as in the `postgres_store`
//! example; with none reachable the bench says so and measures nothing.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls, Statement};

const DEFAULT_URL: &str = "host=127.0.0.1 user=gorun password=gorun dbname=gorun";
const TASKS: u64 = 16;

/// Worker threads on each runtime: 2, or `PG_QPS_WORKERS`.
fn workers() -> usize {
    std::env::var("PG_QPS_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(2)
}

/// The server's settings and its TCP address (the bench uses TCP only).
fn target() -> (Config, String) {
    let url = std::env::var("GORUN_PG_URL").unwrap_or_else(|_| DEFAULT_URL.into());
    let config: Config = url.parse().expect("GORUN_PG_URL does not parse");
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => panic!("the bench needs a TCP host in GORUN_PG_URL"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    (config, format!("{host}:{port}"))
}

/// A runtime under test: how to run a future to completion on its workers.
trait Rt: 'static {
    fn run<F: Future<Output = ()> + Send + 'static>(&self, f: F);
    fn spawn<F: Future<Output = ()> + Send + 'static>(
        f: F,
    ) -> Box<dyn Future<Output = ()> + Send + Unpin>;
}

impl Rt for gorun::Runtime {
    fn run<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        gorun::Runtime::run(self, f);
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(
        f: F,
    ) -> Box<dyn Future<Output = ()> + Send + Unpin> {
        let h = gorun::go(f);
        Box::new(Box::pin(async move { h.await.unwrap() }))
    }
}

impl Rt for tokio::runtime::Runtime {
    fn run<F: Future<Output = ()> + Send + 'static>(&self, f: F) {
        self.block_on(tokio::runtime::Runtime::spawn(self, f))
            .unwrap();
    }
    fn spawn<F: Future<Output = ()> + Send + 'static>(
        f: F,
    ) -> Box<dyn Future<Output = ()> + Send + Unpin> {
        let h = tokio::spawn(f);
        Box::new(Box::pin(async move { h.await.unwrap() }))
    }
}

/// `iters` prepared `SELECT 1`s, one after another.
async fn sequential(client: Arc<Client>, stmt: Statement, iters: u64) {
    for _ in 0..iters {
        let row = client.query_one(&stmt, &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 1);
    }
}

/// `iters` batches of `TASKS` queries: `TASKS` tasks, each `iters` queries.
async fn fanned<R: Rt>(client: Arc<Client>, stmt: Statement, iters: u64) {
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| R::spawn(sequential(client.clone(), stmt.clone(), iters)))
        .collect();
    for t in tasks {
        t.await;
    }
}

fn bench_runtime<R: Rt>(
    c: &mut Criterion,
    name: &str,
    rt: &R,
    client: Arc<Client>,
    stmt: Statement,
) {
    let mut g = c.benchmark_group("select1");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("sequential/{name}"), |b| {
        b.iter_custom(|iters| {
            let (client, stmt) = (client.clone(), stmt.clone());
            let t = Instant::now();
            rt.run(sequential(client, stmt, iters));
            t.elapsed()
        })
    });
    g.throughput(Throughput::Elements(TASKS));
    g.bench_function(format!("{TASKS}_tasks/{name}"), |b| {
        b.iter_custom(|iters| {
            let (client, stmt) = (client.clone(), stmt.clone());
            let t = Instant::now();
            rt.run(fanned::<R>(client, stmt, iters));
            t.elapsed()
        })
    });
    g.finish();
}

fn main() {
    let (config, addr) = target();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if !reachable {
        eprintln!(
            "postgres_qps: no PostgreSQL at {addr}: nothing measured \
             (ecosystem/scripts/start-postgres.sh starts one)"
        );
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let gorun_rt = gorun::Runtime::builder().procs(workers()).build().unwrap();
    let (client, stmt) = {
        let (config, addr) = (config.clone(), addr.clone());
        gorun_rt.run(async move {
            let s = gorun::net::TcpStream::connect(addr.as_str()).await.unwrap();
            s.set_nodelay(true).unwrap();
            let (client, conn) = config.connect_raw(s, NoTls).await.unwrap();
            gorun::go(async move { conn.await.unwrap() });
            let stmt = client.prepare("SELECT 1").await.unwrap();
            (Arc::new(client), stmt)
        })
    };
    bench_runtime(&mut c, "gorun", &gorun_rt, client, stmt);

    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .unwrap();
    let (client, stmt) = tokio_rt.block_on(async move {
        let s = tokio::net::TcpStream::connect(addr.as_str()).await.unwrap();
        s.set_nodelay(true).unwrap();
        let (client, conn) = config.connect_raw(s, NoTls).await.unwrap();
        tokio::spawn(async move { conn.await.unwrap() });
        let stmt = client.prepare("SELECT 1").await.unwrap();
        (Arc::new(client), stmt)
    });
    bench_runtime(&mut c, "tokio", &tokio_rt, client, stmt);

    c.final_summary();
}
