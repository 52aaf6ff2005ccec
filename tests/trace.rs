//! The execution trace (`gorun::trace`): the JSON loads, each lane's begins and ends
//! nest, polls carry the spawn sites that dumps and leak reports print, and each
//! kind of event the docs list turns up when its cause happens.
//!
//! A trace is process-wide, so the tests here take turns.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gorun::trace::{self, TraceError};
use gorun::Runtime;
use serde_json::Value;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A writer whose bytes the test can read after `stop`.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `body` under a trace and returns the parsed JSON and the summary.
fn traced(body: impl FnOnce()) -> (Value, trace::TraceSummary) {
    let out = Shared::default();
    trace::start(out.clone()).unwrap();
    assert!(trace::is_running());
    body();
    let summary = trace::stop().unwrap();
    assert!(!trace::is_running());
    let bytes = out.0.lock().unwrap().clone();
    let json: Value = serde_json::from_slice(&bytes).expect("the trace is valid JSON");
    (json, summary)
}

fn events(json: &Value) -> &Vec<Value> {
    json["traceEvents"].as_array().expect("traceEvents")
}

/// Lane names by tid, from the `thread_name` metadata.
fn lanes(json: &Value) -> HashMap<u64, String> {
    events(json)
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .map(|e| {
            (
                e["tid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Checks that on every lane timestamps never go back and each `E` closes the
/// latest open `B`, with none left open; returns the number of `B`/`E` pairs.
fn assert_balanced(json: &Value) -> usize {
    let mut open: HashMap<u64, Vec<f64>> = HashMap::new();
    let mut last: HashMap<u64, f64> = HashMap::new();
    let mut pairs = 0;
    for e in events(json) {
        let ph = e["ph"].as_str().unwrap();
        if ph == "M" {
            continue;
        }
        let tid = e["tid"].as_u64().unwrap();
        let ts = e["ts"].as_f64().unwrap();
        let prev = last.insert(tid, ts).unwrap_or(0.0);
        assert!(ts >= prev, "lane {tid} goes back in time: {prev} then {ts}");
        match ph {
            "B" => open.entry(tid).or_default().push(ts),
            "E" => {
                let began = open.get_mut(&tid).and_then(|s| s.pop());
                assert!(
                    began.is_some(),
                    "an end with no begin on lane {tid} at {ts}"
                );
                pairs += 1;
            }
            "i" => assert_eq!(e["s"], "t", "instants are thread-scoped"),
            other => panic!("unexpected phase {other}"),
        }
    }
    for (tid, stack) in open {
        assert!(
            stack.is_empty(),
            "lane {tid} has {} unclosed begins",
            stack.len()
        );
    }
    pairs
}

fn named<'a>(json: &'a Value, name: &str) -> Vec<&'a Value> {
    events(json)
        .iter()
        .filter(|e| e["name"] == name && e["ph"] != "M")
        .collect()
}

#[test]
fn a_trace_is_chrome_json_with_nested_spans_on_every_lane() {
    let _one = serial();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (json, summary) = traced(|| {
        rt.block_on(async {
            let (tx, rx) = gorun::chan::<u64>(0);
            let producers: Vec<_> = (0..8)
                .map(|i| {
                    let tx = tx.clone();
                    gorun::go(async move {
                        for k in 0..200 {
                            tx.send(i * 1000 + k).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let mut n = 0;
            while rx.recv().await.is_some() {
                n += 1;
            }
            assert_eq!(n, 1600);
            for p in producers {
                p.await.unwrap();
            }
            gorun::time::sleep(Duration::from_millis(5)).await;
            gorun::spawn_blocking(|| 7).await.unwrap();
            gorun::go(async { gorun::task::block_in_place(|| 8) })
                .await
                .unwrap();
        })
    });
    let pairs = assert_balanced(&json);
    assert!(pairs > 0);
    assert!(summary.events as usize >= pairs, "{summary:?}");
    assert_eq!(summary.dropped, 0);
    assert_eq!(json["otherData"]["runtime"], "gorun");
    assert_eq!(json["otherData"]["events"], summary.events);

    let lanes = lanes(&json);
    assert_eq!(lanes.len(), summary.threads);
    let polls: Vec<_> = events(&json)
        .iter()
        .filter(|e| e["cat"] == "poll" && e["ph"] == "B")
        .collect();
    // The eight producers, the consumer and the blocking closure were polled, each
    // named by where it was spawned.
    let producer_site = polls
        .iter()
        .filter(|e| e["name"].as_str().unwrap().contains("tests/trace.rs"))
        .count();
    assert!(
        producer_site >= 9,
        "{producer_site} polls of this file's tasks"
    );
    let worker_polls = polls
        .iter()
        .filter(|e| lanes[&e["tid"].as_u64().unwrap()].starts_with("gorun-"))
        .count();
    assert_eq!(worker_polls, polls.len(), "polls happen on gorun threads");
    assert!(
        polls
            .iter()
            .any(|e| lanes[&e["tid"].as_u64().unwrap()].contains("blocking")),
        "the blocking closure ran on a pool thread's lane"
    );
    assert!(!named(&json, "spawn_blocking").is_empty());
    assert_eq!(named(&json, "block_in_place").len(), 1);
    assert!(
        !named(&json, "timers").is_empty(),
        "the sleep's timer fired"
    );
    assert!(
        !named(&json, "park").is_empty(),
        "a worker parked (the sleep)"
    );
    for t in named(&json, "timers") {
        assert!(t["args"]["n"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn polls_are_named_like_the_dump_names_the_task() {
    let _one = serial();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (json, _) = traced(|| {
        let (tx, rx) = gorun::chan::<()>(0);
        let task = rt.spawn(async move {
            let _ = rx.recv().await;
        });
        std::thread::sleep(Duration::from_millis(20));
        let dump = rt.handle().dump();
        assert_eq!(dump.tasks.len(), 1);
        let site = dump.tasks[0].location.to_string();
        assert!(dump.to_string().contains(&site));
        rt.block_on(async move {
            tx.send(()).await.unwrap();
            task.await.unwrap();
        });
        // Stash the site for the check below.
        SITE.lock().unwrap().replace(site);
    });
    let site = SITE.lock().unwrap().take().unwrap();
    let polls = named(&json, &site);
    // Polled once to wait, once to finish.
    assert!(polls.len() >= 2, "{} polls named {site}", polls.len());
    assert!(polls.iter().all(|e| e["cat"] == "poll"));
}

static SITE: Mutex<Option<String>> = Mutex::new(None);

#[test]
fn io_readiness_and_steals_are_instants_with_counts() {
    let _one = serial();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let mut steals = 0;
    let (json, _) = traced(|| {
        let before = rt.handle().metrics().steals;
        rt.block_on(async {
            use gorun::io::{AsyncReadExt, AsyncWriteExt};
            let listener = gorun::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = gorun::go(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).await.unwrap();
                s.write_all(&buf).await.unwrap();
            });
            let mut c = gorun::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            server.await.unwrap();
            // Spawned from a task on one worker, 1,000 tasks that each take a
            // while: the other worker steals some from its queue.
            gorun::go(async {
                let hs: Vec<_> = (0..1000)
                    .map(|_| {
                        gorun::go(async {
                            let t = std::time::Instant::now();
                            while t.elapsed() < Duration::from_micros(20) {
                                std::hint::spin_loop();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
            .await
            .unwrap();
        });
        steals = rt.handle().metrics().steals - before;
    });
    assert_balanced(&json);
    let io = named(&json, "io");
    assert!(!io.is_empty(), "socket readiness was traced");
    assert!(io
        .iter()
        .all(|e| e["cat"] == "io" && e["args"]["n"].as_u64() >= Some(1)));
    // Every steal the metrics counted is in the trace, and nothing else.
    let traced_steals = named(&json, "steal");
    assert!(steals > 0, "the second worker stole");
    assert_eq!(traced_steals.len(), steals);
    assert!(traced_steals
        .iter()
        .all(|e| e["cat"] == "sched" && e["args"]["from"].as_u64() < Some(2)));
}

#[test]
fn waking_a_parked_worker_is_an_unpark() {
    let _one = serial();
    let rt = Runtime::builder().procs(2).build().unwrap();
    // Both workers park (nothing to do) before the trace starts; then a spawn
    // from outside must wake one of them.
    std::thread::sleep(Duration::from_millis(30));
    let (json, _) = traced(|| {
        std::thread::sleep(Duration::from_millis(5));
        rt.block_on(rt.spawn(async {})).unwrap();
    });
    assert_balanced(&json);
    let unparks = named(&json, "unpark");
    assert!(!unparks.is_empty());
    assert!(unparks
        .iter()
        .all(|e| e["cat"] == "sched" && e["args"]["worker"].as_u64() < Some(2)));
    // The woken worker's park began before the trace: it shows from the start.
    let parks: Vec<_> = events(&json)
        .iter()
        .filter(|e| e["cat"] == "park" && e["ph"] == "B")
        .collect();
    assert!(
        parks.iter().any(|e| e["ts"].as_f64() == Some(0.0)),
        "no park from the trace's start: {parks:?}"
    );
}

#[test]
fn one_trace_at_a_time_and_stop_needs_a_start() {
    let _one = serial();
    assert!(matches!(trace::stop(), Err(TraceError::NotRunning)));
    trace::start(io::sink()).unwrap();
    let again = trace::start(io::sink()).unwrap_err();
    assert!(matches!(again, TraceError::AlreadyRunning));
    assert_eq!(again.to_string(), "a gorun trace is already running");
    trace::stop().unwrap();
    assert!(matches!(trace::stop(), Err(TraceError::NotRunning)));
}

#[test]
fn nothing_is_recorded_between_traces() {
    let _one = serial();
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (_, first) = traced(|| {
        rt.block_on(async { gorun::go(async {}).await.unwrap() });
    });
    assert!(first.events > 0);
    // Busy, untraced.
    rt.block_on(async {
        let hs: Vec<_> = (0..1000).map(|_| gorun::go(async {})).collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    let (json, second) = traced(|| {});
    assert_balanced(&json);
    // At most a worker's park that ended inside the (empty) trace.
    assert!(second.events <= 4, "{second:?}");
}

#[test]
fn a_failing_writer_is_an_error_not_a_panic() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let _one = serial();
    trace::start(Broken).unwrap();
    let err = trace::stop().unwrap_err();
    assert!(matches!(&err, TraceError::Io(e) if e.to_string() == "disk full"));
    assert!(err.to_string().contains("disk full"));
    // The failed trace is over: a new one starts.
    trace::start(io::sink()).unwrap();
    trace::stop().unwrap();
}
