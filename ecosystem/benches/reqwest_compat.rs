//! reqwest through gorun's `tokio-compat` layer against reqwest on tokio: the time
//! per request of one client issuing `GET /` requests back to back on a keep-alive
//! connection, and of 16 tasks sharing one client.
//!
//! Both clients talk to the same server: hyper on a one-worker tokio runtime of its
//! own thread, started once, so the server's cost is the same for both. The gorun
//! side runs reqwest in gorun tasks (reqwest's connection tasks go to the compat
//! runtime); the tokio side runs the same code in tokio tasks on a 2-worker runtime.
//!
//! `cargo bench -p gorun-ecosystem --bench reqwest_compat`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};

const TASKS: u64 = 16;

/// The shared server: hyper's HTTP/1 on its own thread and tokio runtime.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let (s, _) = l.accept().await.unwrap();
                s.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_: Request<Incoming>| async {
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hi"))))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(s), service)
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// `n` requests, one after another, on `client`.
async fn sequential(client: reqwest::Client, url: String, n: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let body = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], b"hi");
    }
    start.elapsed()
}

fn main() {
    let addr = start_server();
    let url = format!("http://{addr}/");
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut g = c.benchmark_group("reqwest_get");
    g.throughput(Throughput::Elements(1));

    let grt = gorun::Runtime::builder().procs(2).build().unwrap();
    let client = reqwest::Client::new();
    g.bench_function("sequential/gorun_compat", |b| {
        b.iter_custom(|n| grt.run(sequential(client.clone(), url.clone(), n)))
    });
    g.bench_function("16_tasks/gorun_compat", |b| {
        b.iter_custom(|n| {
            let (client, url) = (client.clone(), url.clone());
            grt.run(async move {
                let start = Instant::now();
                let hs: Vec<_> = (0..TASKS)
                    .map(|_| gorun::go(sequential(client.clone(), url.clone(), n.div_ceil(TASKS))))
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    drop(grt);

    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = trt.block_on(async { reqwest::Client::new() });
    g.bench_function("sequential/tokio", |b| {
        b.iter_custom(|n| {
            let (client, url) = (client.clone(), url.clone());
            trt.block_on(async move { tokio::spawn(sequential(client, url, n)).await.unwrap() })
        })
    });
    g.bench_function("16_tasks/tokio", |b| {
        b.iter_custom(|n| {
            let (client, url) = (client.clone(), url.clone());
            trt.block_on(async move {
                let start = Instant::now();
                let hs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        tokio::spawn(sequential(client.clone(), url.clone(), n.div_ceil(TASKS)))
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    c.final_summary();
}
