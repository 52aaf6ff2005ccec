//! The trace viewer's tests: a real gorun trace, synthetic ones, bad input.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::colour::colour;
use crate::parse::{load, parse};
use crate::svg::render;
use crate::text::{fmt_dur, thousands, tick_step, time_label};
use crate::{parse_args, View};

/// A trace is process-wide: tests that record one take turns.
static ONE_TRACE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Checks that `svg` is well-formed XML: one root, tags balanced, attributes
/// quoted, `&` only in entities, no `<` or `>` in text or values.
fn assert_well_formed(svg: &str) {
    let mut rest = svg
        .strip_prefix("<?xml")
        .map_or(svg, |r| &r[r.find("?>").unwrap() + 2..]);
    let (mut open, mut roots) = (Vec::new(), 0);
    let text = |t: &str| {
        assert!(!t.contains('>'), "a raw > in {t:?}");
        for (i, _) in t.match_indices('&') {
            let entity = &t[i..t[i..].find(';').map_or(t.len(), |j| i + j + 1)];
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity);
            assert!(ok, "a bare & at {:?}", &t[i..]);
        }
    };
    while let Some(lt) = rest.find('<') {
        if open.is_empty() {
            assert!(rest[..lt].trim().is_empty(), "text outside the root");
        }
        text(&rest[..lt]);
        let gt = rest[lt..].find('>').expect("an unclosed tag") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name), "a misnested end tag");
            continue;
        }
        let body = tag.strip_suffix('/').unwrap_or(tag);
        let (name, mut attrs) = body.split_once(' ').unwrap_or((body, ""));
        assert!(!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == ':'));
        while let Some((key, value)) = attrs.trim_start().split_once("=\"") {
            assert!(
                key.chars()
                    .all(|c| c.is_alphanumeric() || ":-_".contains(c)),
                "{key}"
            );
            let end = value.find('"').expect("an unclosed attribute value");
            assert!(!value[..end].contains('<'));
            text(&value[..end]);
            attrs = &value[end + 1..];
        }
        assert!(attrs.trim().is_empty(), "stray attribute text {attrs:?}");
        roots += usize::from(open.is_empty());
        if body.len() == tag.len() {
            open.push(name);
        }
    }
    assert!(
        rest.trim().is_empty() && open.is_empty(),
        "unclosed {open:?}"
    );
    assert_eq!(roots, 1);
}

fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[test]
fn a_real_trace_draws_each_lane_site_and_tick() {
    let _one = ONE_TRACE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.json");
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    gorun::trace::start(std::fs::File::create(&path).unwrap()).unwrap();
    rt.block_on(async {
        // One poll of 3 ms: wide enough for a box of its own.
        let busy = gorun::go(async { spin(Duration::from_millis(3)) });
        let small: Vec<_> = (0..200u64)
            .map(|i| {
                gorun::go(async move {
                    gorun::yield_now().await;
                    i
                })
            })
            .collect();
        gorun::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(gorun::spawn_blocking(|| 7).await.unwrap(), 7);
        busy.await.unwrap();
        for h in small {
            h.await.unwrap();
        }
    });
    gorun::trace::stop().unwrap();

    let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let trace = load(&path).unwrap();
    let svg = render(&trace, View::default()).unwrap();
    assert_well_formed(&svg);
    let events = json["traceEvents"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.contains("-blocking-")), "{names:?}");
    assert_eq!(svg.matches("<text class=\"lane\"").count(), names.len());
    for name in names {
        // The label, shortened if long, and the whole name as its tooltip.
        assert!(svg.contains(&format!("\"><title>{name}</title>")), "{name}");
    }
    // The busy task's poll, 3 ms and more: its own box in its site's colour,
    // with its site and duration as the tooltip.
    let sites: Vec<&str> = events
        .iter()
        .filter(|e| e["cat"] == "poll")
        .filter_map(|e| {
            e["name"]
                .as_str()
                .filter(|n| n.starts_with(concat!(file!(), ":")))
        })
        .collect();
    assert!(!sites.is_empty());
    let boxed = sites.iter().any(|site| {
        let head = format!("fill=\"{}\"><title>{site} — ", colour(site));
        svg.match_indices(&head)
            .any(|(i, _)| svg[i..].contains(" ms</title>"))
    });
    assert!(boxed, "no box of 3 ms for a task of this file:\n{svg}");
    let ticks = svg.matches("class=\"tick\"").count();
    assert!((4..=30).contains(&ticks), "{ticks} ticks");
    assert!(svg.contains("\">0 ms</text>") && svg.contains(" ms</text>"));
    assert!(svg.contains("spawn_blocking (sched, above the lane): 1"));
}

/// `n` polls of 0.5 µs a µs apart on one lane, ten sites in turn, and an I/O
/// instant every fourth µs.
fn synthetic(n: usize) -> String {
    let mut json = String::from(
        r#"{"traceEvents":[{"name":"thread_name","ph":"M","pid":1,"tid":7,"args":{"name":"gorun-worker-0"}}"#,
    );
    for i in 0..n {
        let site = format!("src/site{}.rs:1:1", i * 10 / n);
        write!(json, r#",{{"name":"{site}","cat":"poll","ph":"B","ts":{i},"pid":1,"tid":7}},{{"ph":"E","ts":{i}.5,"pid":1,"tid":7}}"#).unwrap();
        if i % 4 == 0 {
            write!(json, r#",{{"name":"io","cat":"io","ph":"i","s":"t","ts":{i}.7,"pid":1,"tid":7,"args":{{"n":1}}}}"#).unwrap();
        }
    }
    json + "]}"
}

#[test]
fn polls_narrower_than_a_pixel_are_binned() {
    let trace = parse(synthetic(200_000).as_bytes()).unwrap();
    assert_eq!(trace.events, 250_000);
    let svg = render(&trace, View::default()).unwrap();
    assert_well_formed(&svg);
    let rects = svg.matches("<rect").count();
    assert!(rects < 5_000, "{rects} rects");
    assert!(svg.len() < 2 << 20, "{} bytes", svg.len());
    // Ten sites, each with a tenth of the poll time, all in the legend.
    for i in 0..10 {
        let site = format!("src/site{i}.rs:1:1");
        assert!(svg.contains(&format!("fill=\"{}\"", colour(&site))));
        assert!(svg.contains(&format!("10.0%      20,000 polls   10.000 ms  {site}")));
    }
    assert!(svg.contains("io (io, below the lane): 50,000"));
    // Zoomed in to 20 µs, every poll is a box with a tooltip.
    let view = View {
        from_ms: Some(0.1),
        to_ms: Some(0.12),
        width: 1600,
    };
    let svg = render(&trace, view).unwrap();
    assert_eq!(
        svg.matches("<title>src/site0.rs:1:1 — 500 ns</title>")
            .count(),
        20
    );
}

#[test]
fn bad_input_is_an_error() {
    let err = |json: &str| {
        parse(json.as_bytes())
            .err()
            .unwrap_or_else(|| panic!("{json} parsed"))
    };
    assert!(err("not json").starts_with("not valid JSON"));
    assert!(err(r#"{"traceEvents":[{"ph":"#).starts_with("not valid JSON"));
    assert!(err(r#"{"events":[]}"#).contains("traceEvents"));
    assert!(err(r#"[{"ph":"i","ts":1}]"#).contains("traceEvents"));
    assert!(err(r#"{"traceEvents":[]}"#).starts_with("no events"));
    let e = err(r#"{"traceEvents":[{"ph":"E","ts":1,"pid":1,"tid":1}]}"#);
    assert!(
        e.contains("unbalanced") && e.contains("closes no begin"),
        "{e}"
    );
    let e = err(r#"{"traceEvents":[{"name":"a","ph":"B","ts":1,"tid":1}]}"#);
    assert!(e.contains("unbalanced") && e.contains("never end"), "{e}");
    assert!(err(r#"{"traceEvents":[{"ph":"i","tid":1}]}"#).contains("no \"ts\""));
    assert!(err(r#"{"traceEvents":[{"ph":"i","ts":"soon"}]}"#).contains("traceEvents"));
    let missing = load(Path::new("/nonexistent/trace.json")).err().unwrap();
    assert!(
        missing.starts_with("cannot read /nonexistent/trace.json"),
        "{missing}"
    );

    let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()));
    assert!(args(&[]).unwrap_err().contains("no trace file"));
    assert!(args(&["t.json", "--width", "wide"])
        .unwrap_err()
        .contains("--width"));
    assert!(args(&["t.json", "--width", "50"])
        .unwrap_err()
        .contains("--width"));
    assert!(args(&["t.json", "--from", "5", "--to", "1"])
        .unwrap_err()
        .contains("not before"));
    assert!(args(&["t.json", "--from", "x"])
        .unwrap_err()
        .contains("milliseconds"));
    assert!(args(&["t.json", "-o"])
        .unwrap_err()
        .contains("-o needs a value"));
    assert!(args(&["t.json", "--bogus"])
        .unwrap_err()
        .contains("unknown option"));
    assert!(args(&["t.json", "u.json"])
        .unwrap_err()
        .contains("one trace"));
    assert!(args(&["t.svg"]).unwrap_err().contains("overwrite"));
    assert!(args(&["--help"]).unwrap().is_none());
    let ok = args(&["t.json", "--from", "-1", "--to", "2.5", "--width", "900"])
        .unwrap()
        .unwrap();
    assert_eq!(
        (ok.output, ok.view.from_ms, ok.view.to_ms, ok.view.width),
        ("t.svg".into(), Some(-1.0), Some(2.5), 900)
    );
    let trace = parse(synthetic(10).as_bytes()).unwrap();
    let view = View {
        from_ms: Some(1.0),
        to_ms: Some(1.0),
        width: 1600,
    };
    assert!(render(&trace, view).unwrap_err().contains("empty window"));
}

#[test]
fn names_are_escaped_and_lanes_ordered() {
    let lanes = [
        "main",
        "gorun-worker-blocking-1",
        "gorun-worker-10",
        "gorun-worker-2",
    ];
    let mut json = String::from(
        r#"{"traceEvents":[{"name":"process_name","ph":"M","pid":1,"tid":0,"args":{"name":"x"}}"#,
    );
    for (tid, name) in lanes.iter().enumerate() {
        write!(
            json,
            r#",{{"name":"thread_name","ph":"M","tid":{tid},"args":{{"name":"{name}"}}}}"#
        )
        .unwrap();
        write!(
            json,
            r#",{{"name":"<a href=\"&amp\">'s\u0001","ph":"X","ts":{tid},"dur":50,"tid":{tid}}}"#
        )
        .unwrap();
    }
    // More sites than the legend lists, with a share under 0.1% between them.
    for i in 0..12 {
        write!(
            json,
            r#",{{"name":"s{i}","ph":"X","ts":60,"dur":0.001,"tid":0}}"#
        )
        .unwrap();
    }
    let svg = render(&parse((json + "]}").as_bytes()).unwrap(), View::default()).unwrap();
    assert_well_formed(&svg);
    assert!(svg.contains("&lt;a href=&quot;&amp;amp&quot;&gt;&apos;s\u{fffd} — 50.00 µs</title>"));
    assert!(svg.contains("> &lt;0.1% in 3 more sites</text>"));
    let at = |name: &str| svg.find(&format!(">{name}</text>")).unwrap();
    assert!(at("gorun-worker-2") < at("gorun-worker-10"));
    assert!(at("gorun-worker-10") < at("gorun-worker-blocking-1"));
    assert!(at("gorun-worker-blocking-1") < at("main"));
    assert_eq!(
        svg.matches("<text class=\"lane\"").count(),
        4,
        "no lane for process_name"
    );
}

#[test]
fn ticks_and_durations_read_well() {
    assert_eq!(tick_step(262_000.0, 13.0), 20_000.0);
    assert_eq!(tick_step(1_000_000.0, 12.0), 100_000.0);
    assert_eq!(time_label(40_000.0, 20_000.0, 226_000.0), "40 ms");
    assert_eq!(time_label(1_500.0, 500.0, 5_000.0), "1.5 ms");
    assert_eq!(time_label(20_020.0, 20.0, 20_200.0), "20.02 ms");
    assert_eq!(time_label(250.0, 50.0, 800.0), "250 µs");
    assert_eq!(time_label(2e6, 1e6, 5e6), "2 s");
    assert_eq!(time_label(300_000.0, 100_000.0, 1e6), "0.3 s");
    assert_eq!(time_label(0.1, 0.05, 1.0), "0.10 µs");
    assert_eq!(time_label(1e-12, 0.5, 10.0), "0 µs");
    assert_eq!(fmt_dur(0.25), "250 ns");
    assert_eq!(fmt_dur(3_001.0), "3.001 ms");
    assert_eq!(thousands(1_234_567), "1,234,567");
    assert_eq!(colour("src/main.rs:1:1"), colour("src/main.rs:1:1"));
    assert_ne!(colour("src/main.rs:1:1"), colour("src/main.rs:2:1"));
}
