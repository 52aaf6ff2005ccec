//! `gorun::debug` (feature `debug-http`) over real HTTP: a server on 127.0.0.1:0
//! started with `gorun::debug::serve` (or an axum `Router` with the service
//! nested), and hyper clients on gorun. The metrics go through a Prometheus
//! text-format parser; the task dump finds a task this file spawned by its line;
//! traces parse as Chrome trace-event JSON with balanced spans, conflict with a
//! running trace, and stop when their client goes away.
//!
//! A trace is process-wide: the tests that start one take `TRACING`.

use std::collections::HashMap;
use std::future::IntoFuture;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use prometheus_parse::{Scrape, Value as Prom};
use serde_json::Value;

use gorun::net::{TcpListener, TcpStream};
use gorun::sync::oneshot;
use gorun::time::{timeout, Instant};

/// The bound on any single wait in these tests.
const LIMIT: Duration = Duration::from_secs(20);

/// Taken by every test that starts a trace.
static TRACING: gorun::sync::Mutex<()> = gorun::sync::Mutex::new(());

/// A running debug server.
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: gorun::JoinHandle<io::Result<()>>,
}

impl Server {
    /// `gorun::debug::serve` on a free port, with graceful shutdown.
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serve = gorun::debug::serve(listener).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        let task = gorun::go(serve.into_future());
        Server { addr, stop, task }
    }

    /// Shuts down and waits (bounded) for `serve` to return `Ok`.
    async fn shutdown(self) {
        self.stop.send(()).unwrap();
        timeout(LIMIT, self.task)
            .await
            .expect("serve did not return")
            .expect("serve panicked")
            .expect("serve failed");
    }
}

/// A response's parts.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    fn content_type(&self) -> &str {
        self.headers[CONTENT_TYPE].to_str().unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// `method path` on a connection of its own, bounded by `LIMIT`.
async fn request(addr: SocketAddr, method: Method, path: &str) -> Answer {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    let driver = gorun::go(async move { drop(conn.await) });
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::<Bytes>::default())
        .unwrap();
    let res = timeout(LIMIT, sender.send_request(req))
        .await
        .expect("no response in time")
        .expect("request failed");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    drop(sender);
    timeout(LIMIT, driver).await.unwrap().unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, Method::GET, path).await
}

/// Polls (bounded) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Polls (bounded) until the task spawned at line `line` of this file waits.
async fn until_waiting(line: u32) {
    let site = format!("{}:{line}:", file!());
    until("the task waits", || {
        gorun::Handle::current().dump().tasks.iter().any(|t| {
            t.location.to_string().starts_with(&site) && t.state == gorun::TaskState::Waiting
        })
    })
    .await;
}

fn parse_metrics(answer: &Answer) -> Scrape {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(
        answer.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let lines = answer.text().lines().map(|l| Ok(l.to_owned()));
    Scrape::parse(lines).expect("Prometheus text format")
}

/// The one sample of `name`; panics unless there is exactly one.
fn one<'a>(scrape: &'a Scrape, name: &str) -> &'a Prom {
    let mut found = scrape.samples.iter().filter(|s| s.metric == name);
    let sample = found.next().unwrap_or_else(|| panic!("no {name}"));
    assert!(found.next().is_none(), "{name} has several samples");
    &sample.value
}

fn gauge(scrape: &Scrape, name: &str) -> f64 {
    match one(scrape, name) {
        Prom::Gauge(v) => *v,
        other => panic!("{name} is not a gauge: {other:?}"),
    }
}

const COUNTERS: [&str; 7] = [
    "gorun_tasks_spawned_total",
    "gorun_tasks_completed_total",
    "gorun_polls_total",
    "gorun_steals_total",
    "gorun_parks_total",
    "gorun_watchdog_reports_total",
    "gorun_waker_panics_total",
];
const GAUGES: [&str; 4] = [
    "gorun_tasks",
    "gorun_global_queue_depth",
    "gorun_blocking_threads",
    "gorun_timers_armed",
];

/// Every metric is there once with its type and help, and the local queue depth
/// once per worker.
fn assert_complete(scrape: &Scrape, procs: usize) {
    for name in COUNTERS {
        assert!(
            matches!(one(scrape, name), Prom::Counter(v) if *v >= 0.0),
            "{name} is not a counter"
        );
    }
    for name in GAUGES {
        assert!(gauge(scrape, name) >= 0.0, "{name}");
    }
    let mut workers: Vec<&str> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == "gorun_local_queue_depth")
        .map(|s| {
            assert!(matches!(s.value, Prom::Gauge(_)), "{s:?}");
            s.labels.get("worker").expect("a worker label")
        })
        .collect();
    workers.sort_unstable();
    let want: Vec<String> = (0..procs).map(|w| w.to_string()).collect();
    assert_eq!(workers, want);
    assert_eq!(scrape.samples.len(), 11 + procs, "no sample more or less");
    for name in COUNTERS.iter().chain(&GAUGES) {
        assert!(scrape.docs.contains_key(*name), "no HELP for {name}");
    }
    assert!(scrape.docs.contains_key("gorun_local_queue_depth"));
}

#[gorun::test(procs = 2)]
async fn metrics_are_prometheus_text_and_count_parked_tasks() {
    let server = Server::start().await;
    let (tx, rx) = gorun::chan::<()>(0);
    let first = parse_metrics(&get(server.addr, "/debug/gorun/metrics").await);
    assert_complete(&first, 2);
    let idle = gauge(&first, "gorun_tasks");

    let parked: Vec<_> = (0..5)
        .map(|_| {
            let rx = rx.clone();
            gorun::go(async move { rx.recv().await })
        })
        .collect();
    let scrape = parse_metrics(&get(server.addr, "/debug/gorun/metrics").await);
    let with_parked = gauge(&scrape, "gorun_tasks");
    assert!(with_parked >= 5.0, "{with_parked}");
    assert!(with_parked >= idle + 5.0, "{idle} then {with_parked}");
    assert!(matches!(one(&scrape, "gorun_tasks_spawned_total"), Prom::Counter(v) if *v >= 5.0));

    drop(tx); // closes the channel: every parked task returns
    for h in parked {
        assert_eq!(timeout(LIMIT, h).await.unwrap().unwrap(), None);
    }
    // The server's own connection tasks may take a moment to go.
    let deadline = Instant::now() + LIMIT;
    loop {
        let scrape = parse_metrics(&get(server.addr, "/debug/gorun/metrics").await);
        let now = gauge(&scrape, "gorun_tasks");
        if now <= with_parked - 5.0 {
            break;
        }
        assert!(Instant::now() < deadline, "gorun_tasks stays at {now}");
        gorun::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown().await;
}

#[gorun::test(procs = 2)]
async fn the_task_dump_names_spawn_sites_as_text_and_json() {
    let server = Server::start().await;
    let (tx, rx) = gorun::chan::<u8>(0);
    let (parked, line) = (gorun::go(async move { rx.recv().await }), line!());
    until_waiting(line).await;
    let site = format!("tests/debug_http.rs:{line}:");

    let text = get(server.addr, "/debug/gorun/tasks").await;
    assert_eq!(text.status, StatusCode::OK);
    assert_eq!(text.content_type(), "text/plain; charset=utf-8");
    assert!(text.text().contains(" live task(s)"), "{}", text.text());
    let entry = text
        .text()
        .split("\ntask ")
        .find(|t| t.contains(&site))
        .unwrap_or_else(|| panic!("{site} not in\n{}", text.text()));
    assert!(entry.contains("[chan receive, "), "{entry}");

    let json = get(server.addr, "/debug/gorun/tasks?format=json").await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.content_type(), "application/json");
    let json = json.json();
    let tasks = json["tasks"].as_array().expect("tasks");
    assert_eq!(json["count"].as_u64(), Some(tasks.len() as u64));
    let task = tasks
        .iter()
        .find(|t| t["location"].as_str().unwrap().starts_with(&site))
        .unwrap_or_else(|| panic!("{site} not in {json}"));
    assert_eq!(task["state"], "waiting");
    assert_eq!(task["wait"], "chan receive");
    assert_eq!(task["blocked_worker"], false);
    assert!(task["id"].as_u64().unwrap() > 0);
    assert!(task["age_ms"].is_u64());
    // The task serving this request is running, and waits on nothing.
    assert!(
        tasks
            .iter()
            .any(|t| t["state"] == "running" && t["wait"].is_null()),
        "{json}"
    );

    let bad = get(server.addr, "/debug/gorun/tasks?format=xml").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    drop(tx);
    assert_eq!(timeout(LIMIT, parked).await.unwrap().unwrap(), None);
    server.shutdown().await;
}

/// Tasks that sleep 1 ms at a time, and pass a value round, until `stop`. (Not
/// `yield_now` loops: those make millions of polls, hundreds of MB of trace.)
fn busy_tasks(stop: &Arc<AtomicBool>) -> Vec<gorun::JoinHandle<()>> {
    let (tx, rx) = gorun::chan::<u32>(1);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let stop = stop.clone();
        let tx = tx.clone();
        tasks.push(gorun::go(async move {
            while !stop.load(Ordering::Relaxed) {
                gorun::time::sleep(Duration::from_millis(1)).await;
                let _ = tx.try_send(1);
            }
        }));
    }
    tasks.push(gorun::go(async move { while rx.recv().await.is_some() {} }));
    tasks
}

/// Checks that each lane's `B`s and `E`s pair up; returns the span names.
fn assert_balanced(trace: &Value) -> Vec<String> {
    let events = trace["traceEvents"].as_array().expect("traceEvents");
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut names = Vec::new();
    for e in events {
        let tid = e["tid"].as_u64().expect("a tid");
        match e["ph"].as_str().expect("a phase") {
            "B" => {
                *open.entry(tid).or_default() += 1;
                names.push(e["name"].as_str().unwrap().to_owned());
            }
            "E" => {
                let depth = open.get_mut(&tid).filter(|d| **d > 0);
                *depth.unwrap_or_else(|| panic!("an E with no B on lane {tid}")) -= 1;
            }
            _ => {}
        }
    }
    for (tid, depth) in open {
        assert_eq!(depth, 0, "lane {tid} has unclosed spans");
    }
    names
}

#[gorun::test(procs = 2)]
async fn a_trace_of_running_tasks_is_chrome_json() {
    let _one = TRACING.lock().await;
    let server = Server::start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let busy = busy_tasks(&stop);

    let started = std::time::Instant::now();
    let res = get(server.addr, "/debug/gorun/trace?seconds=0.2").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.content_type(), "application/json");
    assert_eq!(
        res.headers["content-disposition"],
        "attachment; filename=\"gorun-trace.json\""
    );
    assert!(!gorun::trace::is_running());
    let names = assert_balanced(&res.json());
    assert!(
        names.iter().any(|n| n.starts_with("tests/debug_http.rs:")),
        "no poll of this file's tasks in {names:?}"
    );

    stop.store(true, Ordering::Relaxed);
    for h in busy {
        timeout(LIMIT, h).await.unwrap().unwrap();
    }
    server.shutdown().await;
}

#[gorun::test(procs = 2)]
async fn a_trace_while_another_runs_is_a_conflict() {
    let _one = TRACING.lock().await;
    let server = Server::start().await;
    let addr = server.addr;
    let first = gorun::go(async move { get(addr, "/debug/gorun/trace?seconds=1.5").await });
    until("the first trace runs", gorun::trace::is_running).await;
    let second = get(addr, "/debug/gorun/trace?seconds=0.1").await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.text(), "a gorun trace is already running\n");

    let first = timeout(LIMIT, first).await.unwrap().unwrap();
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_balanced(&first.json());
    assert!(!gorun::trace::is_running());

    // One started with `gorun::trace::start` counts too.
    gorun::trace::start(io::sink()).unwrap();
    let third = get(addr, "/debug/gorun/trace").await;
    gorun::trace::stop().unwrap();
    assert_eq!(third.status, StatusCode::CONFLICT);
    server.shutdown().await;
}

#[gorun::test(procs = 2)]
async fn bad_trace_lengths_are_rejected() {
    let server = Server::start().await;
    for seconds in ["abc", "0", "61", "-1", "", "NaN"] {
        let res = get(
            server.addr,
            &format!("/debug/gorun/trace?seconds={seconds}"),
        )
        .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "seconds={seconds}");
        assert!(res.text().starts_with("seconds must be"), "{}", res.text());
    }
    server.shutdown().await;
}

#[gorun::test(procs = 2)]
async fn a_client_gone_mid_trace_stops_the_trace() {
    let _one = TRACING.lock().await;
    let server = Server::start().await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    let driver = gorun::go(async move { drop(conn.await) });
    let req = Request::get("/debug/gorun/trace?seconds=30")
        .header("host", "localhost")
        .body(Full::<Bytes>::default())
        .unwrap();
    let pending = gorun::go(async move { drop(sender.send_request(req).await) });
    until("the trace runs", gorun::trace::is_running).await;

    // The client goes away: its request and its connection are dropped.
    let gone = Instant::now();
    pending.abort();
    driver.abort();
    until("the trace stops", || !gorun::trace::is_running()).await;
    assert!(gone.elapsed() < Duration::from_secs(10));
    assert!(timeout(LIMIT, pending).await.unwrap().is_err());
    assert!(timeout(LIMIT, driver).await.unwrap().is_err());

    // Another trace can start now.
    let res = get(server.addr, "/debug/gorun/trace?seconds=0.05").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    server.shutdown().await;
}

#[gorun::test(procs = 2)]
async fn the_service_mounted_in_an_axum_router() {
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .nest_service("/debug/gorun", gorun::debug::service());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serve = gorun::http::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    let server = Server {
        addr,
        stop,
        task: gorun::go(serve.into_future()),
    };

    assert_complete(&parse_metrics(&get(addr, "/debug/gorun/metrics").await), 2);
    let tasks = get(addr, "/debug/gorun/tasks?format=json").await;
    assert_eq!(tasks.status, StatusCode::OK);
    assert!(tasks.json()["count"].as_u64().unwrap() > 0);
    let index = get(addr, "/debug/gorun/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.text().contains("/metrics"));
    assert_eq!(get(addr, "/").await.text(), "app");
    assert_eq!(
        get(addr, "/debug/gorun/nope").await.status,
        StatusCode::NOT_FOUND
    );
    server.shutdown().await;
}

#[gorun::test(procs = 2)]
async fn the_index_unknown_paths_and_other_methods() {
    let server = Server::start().await;
    let addr = server.addr;
    let index = get(addr, "/debug/gorun/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.content_type(), "text/plain; charset=utf-8");
    for endpoint in ["/tasks", "/metrics", "/trace"] {
        assert!(index.text().contains(endpoint), "{}", index.text());
    }
    // Without the prefix too (as a router that strips it hands them over).
    assert_eq!(get(addr, "/metrics").await.status, StatusCode::OK);

    for path in ["/debug/gorun/nope", "/debug/gorunx/tasks", "/elsewhere"] {
        let res = get(addr, path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.text(), index.text(), "{path}");
    }

    for (method, path) in [
        (Method::POST, "/debug/gorun/metrics"),
        (Method::PUT, "/debug/gorun/tasks"),
        (Method::DELETE, "/debug/gorun/"),
        (Method::POST, "/debug/gorun/trace?seconds=1"),
    ] {
        let res = request(addr, method.clone(), path).await;
        assert_eq!(
            res.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(res.headers["allow"], "GET");
    }
    server.shutdown().await;
}
