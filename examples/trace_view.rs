//! Draws a gorun execution trace (`gorun::trace`, Chrome trace-event JSON) as an
//! SVG picture, without a browser:
//!
//! ```text
//! GORUN_TRACE=/tmp/tour.json cargo run --release --example tour
//! cargo run --release --example trace_view -- /tmp/tour.json -o tour.svg \
//!     [--from MS] [--to MS] [--width PX]
//! ```
//!
//! One lane per thread, its name on the left: workers first (by name, `-2` before
//! `-10`), then blocking-pool threads, then any other thread. On a lane:
//! - a coloured box is a task being polled. The colour stands for the task's
//!   spawn site, the same in every picture; hover a box for the site and how long
//!   that poll took. Where polls are narrower than a pixel, each pixel column shows
//!   the site with the most poll time in it, fainter the less of the column was
//!   busy (hover for the site and the number of polls);
//! - a thin grey bar: the worker parked (slept, or waited in the timer and I/O
//!   driver);
//! - small marks above the lane are scheduler events (category `sched`: `steal`,
//!   `unpark`, `spawn_blocking`, `block_in_place`); marks below it are the driver's
//!   (`timers` fired, `io` readiness). Each kind has its own colour; hover a
//!   mark for its time and args, or, where the window holds more than 2,000 of
//!   them (then they are binned by pixel column too), for the lane's count.
//!
//! The legend lists the spawn sites with the most poll time in the window (their
//! share of it, poll count and total), the park bar, and each kind of mark with
//! its count. `--from`/`--to` pick a window in milliseconds on the trace's clock,
//! `--width` the picture's width in pixels (default 1600); `-o` defaults to the
//! input with an `.svg` extension.
//!
//! Any Chrome trace in the JSON object form is read: `B`/`E` and `X` slices,
//! `i` instants and `thread_name` metadata; other phases and fields are skipped.
//! Slices of category `park` are parks, all others are drawn like polls; nested
//! slices are drawn over their parents. A file that is not such JSON, holds no
//! event, or has an end with no begin (or a begin never ended) on a lane is an
//! error (exit status 1; 2 for a bad command line). Test it with
//! `cargo test --release --example trace_view`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;

const USAGE: &str = "usage: trace_view TRACE.json [-o OUT.svg] [--from MS] [--to MS] [--width PX]";

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("trace_view: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let done = load(&args.input).and_then(|trace| {
        let svg = render(&trace, args.view)?;
        std::fs::write(&args.output, &svg)
            .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
        Ok((trace.lanes.len(), svg.len()))
    });
    match done {
        Ok((lanes, bytes)) => {
            println!(
                "wrote {} ({} KiB, {lanes} lanes)",
                args.output.display(),
                bytes.div_ceil(1024)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trace_view: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command line: what to draw, where to, and how.
#[derive(Debug)]
struct Args {
    input: PathBuf,
    output: PathBuf,
    view: View,
}

/// The window drawn, in milliseconds on the trace's clock (`None`: the trace's
/// start or end), and the picture's width in pixels.
#[derive(Clone, Copy, Debug)]
struct View {
    from_ms: Option<f64>,
    to_ms: Option<f64>,
    width: u32,
}

impl Default for View {
    fn default() -> View {
        View {
            from_ms: None,
            to_ms: None,
            width: 1600,
        }
    }
}

/// Reads the command line (without the program name); `Ok(None)` asks for help.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let (mut input, mut output, mut view) = (None, None, View::default());
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "-o" | "--output" => output = Some(PathBuf::from(value()?)),
            "--from" => view.from_ms = Some(millis(&arg, &value()?)?),
            "--to" => view.to_ms = Some(millis(&arg, &value()?)?),
            "--width" => {
                view.width = value()?
                    .parse()
                    .ok()
                    .filter(|w| (200..=100_000).contains(w))
                    .ok_or("--width takes a whole number of pixels, 200 to 100000")?;
            }
            flag if flag.starts_with('-') && flag.len() > 1 => {
                return Err(format!("unknown option {flag}"))
            }
            path if input.is_none() => input = Some(PathBuf::from(path)),
            extra => return Err(format!("one trace at a time (got {extra} too)")),
        }
    }
    let input = input.ok_or("no trace file given")?;
    let output = output.unwrap_or_else(|| input.with_extension("svg"));
    if output == input {
        return Err(format!("the output would overwrite {}", input.display()));
    }
    if let (Some(from), Some(to)) = (view.from_ms, view.to_ms) {
        if from >= to {
            return Err(format!("--from {from} is not before --to {to}"));
        }
    }
    Ok(Some(Args {
        input,
        output,
        view,
    }))
}

/// `s`, the value of `flag`, as a finite number of milliseconds.
fn millis(flag: &str, s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or(format!("{flag} takes milliseconds, not {s:?}"))
}

/// A trace, read: times are microseconds on the trace's clock.
struct Trace {
    lanes: Vec<Lane>,
    /// Slice names (spawn sites), indexed by [`Span::site`].
    sites: Vec<String>,
    /// Instant kinds, indexed by [`Mark::kind`].
    kinds: Vec<Kind>,
    /// From the trace's start (0 for gorun's) to its last event.
    start: f64,
    end: f64,
    /// `otherData.runtime`, or "Chrome".
    runtime: String,
    /// Events recorded (`otherData.events`, else the slices and instants read).
    events: u64,
    /// Events the recorder dropped (`otherData.dropped`).
    dropped: u64,
}

/// One thread's slices and instants.
struct Lane {
    name: String,
    spans: Vec<Span>,
    /// Parks, `(start, end)`.
    parks: Vec<(f64, f64)>,
    marks: Vec<Mark>,
}

/// A poll (or another tool's slice).
struct Span {
    start: f64,
    end: f64,
    site: u32,
}

/// An instant event.
struct Mark {
    ts: f64,
    kind: u32,
    args: Value,
}

/// A kind of instant: its name and category.
struct Kind {
    name: String,
    cat: String,
}

/// The JSON object form of a Chrome trace; fields not named here are skipped.
#[derive(Deserialize)]
struct RawTrace<'a> {
    #[serde(rename = "traceEvents", borrow)]
    events: Vec<RawEvent<'a>>,
    #[serde(rename = "otherData", default)]
    other: Value,
}

/// One trace event as written; absent fields are empty.
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow, default)]
    ph: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    cat: Cow<'a, str>,
    ts: Option<f64>,
    dur: Option<f64>,
    #[serde(default)]
    pid: Value,
    #[serde(default)]
    tid: Value,
    #[serde(default)]
    args: Value,
}

/// A lane's event before begins and ends are paired.
enum Step {
    /// `B`: a slice of this site begins (`None`: a park).
    Begin(Option<u32>),
    /// `E`: the innermost open slice ends.
    End,
    /// `X`: a whole slice, with its end.
    Whole(f64, Option<u32>),
    /// `i`: an instant of this kind, with its args.
    Instant(u32, Value),
}

/// Reads the trace at `path`.
fn load(path: &Path) -> Result<Trace, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a trace from its JSON, pairing each lane's begins and ends.
fn parse(json: &[u8]) -> Result<Trace, String> {
    let raw: RawTrace = serde_json::from_slice(json).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            format!("not a Chrome trace (a JSON object with a \"traceEvents\" array): {e}")
        }
        _ => format!("not valid JSON: {e}"),
    })?;
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut lanes: Vec<(String, Vec<(f64, Step)>)> = Vec::new();
    let (mut sites, mut site_ids) = (Vec::new(), HashMap::new());
    let (mut kinds, mut kind_ids) = (Vec::<Kind>::new(), HashMap::new());
    let mut last: Option<(Value, Value, usize)> = None;
    for (n, e) in raw.events.into_iter().enumerate() {
        let mut site = |name: &str, cat: &str| {
            (cat != "park").then(|| intern(&mut sites, &mut site_ids, name))
        };
        let mut thread_name = None;
        let step = match &*e.ph {
            "M" if e.name == "thread_name" => {
                thread_name = e.args["name"].as_str().map(str::to_owned);
                None
            }
            "B" => Some(Step::Begin(site(&e.name, &e.cat))),
            "E" => Some(Step::End),
            "X" => {
                let end = e.ts.unwrap_or(0.0) + e.dur.unwrap_or(0.0).max(0.0);
                Some(Step::Whole(end, site(&e.name, &e.cat)))
            }
            "i" | "I" => {
                let next = kinds.len() as u32;
                let kind = *kind_ids
                    .entry(format!("{}\0{}", e.cat, e.name))
                    .or_insert(next);
                if kind == next {
                    let (name, cat) = (e.name.into_owned(), e.cat.into_owned());
                    kinds.push(Kind { name, cat });
                }
                Some(Step::Instant(kind, e.args))
            }
            _ => continue,
        };
        // The lane: the last event's, usually.
        let lane = match &last {
            Some((pid, tid, i)) if *pid == e.pid && *tid == e.tid => *i,
            _ => {
                let i = *ids
                    .entry(format!("{}/{}", e.pid, e.tid))
                    .or_insert(lanes.len());
                if i == lanes.len() {
                    let name = match &e.tid {
                        Value::String(s) => s.clone(),
                        tid => format!("thread {tid}"),
                    };
                    lanes.push((name, Vec::new()));
                }
                last = Some((e.pid.clone(), e.tid.clone(), i));
                i
            }
        };
        match step {
            Some(step) => {
                let ts =
                    e.ts.ok_or(format!("event {n} (\"ph\":\"{}\") has no \"ts\"", e.ph))?;
                lanes[lane].1.push((ts, step));
            }
            None => {
                if let Some(name) = thread_name {
                    lanes[lane].0 = name;
                }
            }
        }
    }

    let (mut start, mut end) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut out = Vec::with_capacity(lanes.len());
    for (name, mut steps) in lanes {
        // Stable: events at one timestamp keep the order they were written in.
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let (Some(first), Some(last)) = (steps.first(), steps.last()) {
            start = start.min(first.0);
            end = end.max(last.0);
        }
        let mut lane = Lane {
            name,
            spans: Vec::new(),
            parks: Vec::new(),
            marks: Vec::new(),
        };
        let mut slice = |start: f64, end: f64, site: Option<u32>| match site {
            Some(site) => lane.spans.push(Span { start, end, site }),
            None => lane.parks.push((start, end)),
        };
        let mut open = Vec::new();
        for (ts, step) in steps {
            match step {
                Step::Begin(site) => open.push((ts, site)),
                Step::End => {
                    let (began, site) = open.pop().ok_or_else(|| {
                        format!(
                            "unbalanced slices: an end (E) at {ts} µs on lane {} closes no begin",
                            lane.name
                        )
                    })?;
                    slice(began, ts, site);
                }
                Step::Whole(stop, site) => {
                    end = end.max(stop);
                    slice(ts, stop, site);
                }
                Step::Instant(kind, args) => lane.marks.push(Mark { ts, kind, args }),
            }
        }
        if let Some((began, _)) = open.first() {
            return Err(format!(
                "unbalanced slices: {} begin(s) on lane {} never end (the first at {began} µs)",
                open.len(),
                lane.name
            ));
        }
        out.push(lane);
    }
    let read: usize = out
        .iter()
        .map(|l| l.spans.len() + l.parks.len() + l.marks.len())
        .sum();
    if read == 0 {
        return Err("no events: the trace holds no slices or instants".into());
    }
    let other = &raw.other;
    if let Some(duration) = other["duration_us"].as_f64() {
        // gorun's clock starts with the trace.
        (start, end) = (start.min(0.0), end.max(duration));
    }
    Ok(Trace {
        lanes: out,
        sites,
        kinds,
        start,
        end: if end > start { end } else { start + 1.0 },
        runtime: other["runtime"].as_str().unwrap_or("Chrome").to_owned(),
        events: other["events"].as_u64().unwrap_or(read as u64),
        dropped: other["dropped"].as_u64().unwrap_or(0),
    })
}

/// The index of `name` in `names`, added if new.
fn intern(names: &mut Vec<String>, ids: &mut HashMap<String, u32>, name: &str) -> u32 {
    if let Some(&id) = ids.get(name) {
        return id;
    }
    names.push(name.to_owned());
    ids.insert(name.to_owned(), names.len() as u32 - 1);
    names.len() as u32 - 1
}

/// Lane heights and offsets within a lane, in pixels.
const LANE_H: f64 = 30.0;
const BOX_Y: f64 = 8.0;
const BOX_H: f64 = 14.0;
const PARK_Y: f64 = 13.0;
const MARK_H: f64 = 5.0;
/// Above the first lane: the title, its second line and the time axis.
const TOP: f64 = 64.0;
const RIGHT: f64 = 16.0;
/// Width of a character of the 11 px monospace font, roughly.
const CHAR_W: f64 = 6.7;
/// Instants get a mark and a tooltip each while the window holds no more.
const TITLED_MARKS: usize = 2000;
const PARK_COLOUR: &str = "#a0a0a0";

/// Draws `view` of `trace` as an SVG document.
fn render(trace: &Trace, view: View) -> Result<String, String> {
    let from = view.from_ms.map_or(trace.start, |ms| ms * 1000.0);
    let to = view.to_ms.map_or(trace.end, |ms| ms * 1000.0);
    if to <= from {
        return Err(format!(
            "empty window: {} to {}",
            fmt_dur(from),
            fmt_dur(to)
        ));
    }
    let mut lanes: Vec<&Lane> = trace.lanes.iter().collect();
    lanes.sort_by_key(|l| lane_order(&l.name));
    let longest = lanes
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    let left = (longest as f64 * CHAR_W + 24.0).clamp(90.0, 320.0);
    let plot_w = (f64::from(view.width) - left - RIGHT).floor();
    if plot_w < 100.0 {
        return Err(format!(
            "--width {} leaves no room beside the lane labels",
            view.width
        ));
    }
    let in_window = |ts: &f64| (from..=to).contains(ts);
    let marks: usize = lanes
        .iter()
        .map(|l| l.marks.iter().filter(|m| in_window(&m.ts)).count())
        .sum();
    let mut c = Canvas {
        trace,
        colours: trace.sites.iter().map(|s| colour(s)).collect(),
        out: String::with_capacity(1 << 20),
        left,
        plot_w,
        from,
        k: plot_w / (to - from),
        site_time: vec![0.0; trace.sites.len()],
        site_polls: vec![0; trace.sites.len()],
        kind_marks: vec![0; trace.kinds.len()],
        parks: 0,
        titled_marks: marks <= TITLED_MARKS,
    };
    let height = c
        .draw(&lanes, from, to)
        .expect("writing to a String cannot fail");
    let w = view.width;
    Ok(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" font-family=\"monospace\" \
         font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{}</svg>\n",
        c.out
    ))
}

/// The SVG body being drawn, and what the legend will say.
struct Canvas<'a> {
    trace: &'a Trace,
    /// Per site, its fill.
    colours: Vec<String>,
    out: String,
    /// Where the plot starts (right of the labels) and its width, in pixels.
    left: f64,
    plot_w: f64,
    /// The window's start, µs.
    from: f64,
    /// Pixels per µs.
    k: f64,
    /// Per site: poll time (µs) and polls in the window.
    site_time: Vec<f64>,
    site_polls: Vec<u64>,
    /// Per instant kind: marks in the window.
    kind_marks: Vec<u64>,
    parks: u64,
    /// Whether each instant gets its own mark and tooltip.
    titled_marks: bool,
}

impl Canvas<'_> {
    /// Draws the title, the axis, `lanes` and the legend; returns the height.
    fn draw(&mut self, lanes: &[&Lane], from: f64, to: f64) -> Result<u32, fmt::Error> {
        let t = self.trace;
        let mut title = format!(
            "{} trace: {}, {} events, {} lanes",
            t.runtime,
            fmt_dur(t.end - t.start),
            thousands(t.events),
            lanes.len()
        );
        if t.dropped > 0 {
            write!(title, ", {} dropped", thousands(t.dropped))?;
        }
        writeln!(
            self.out,
            "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            esc(&title)
        )?;
        writeln!(
            self.out,
            "<text x=\"8\" y=\"34\" fill=\"#555\">window {} to {}; 1 px = {}; hover a box for its spawn site</text>",
            fmt_dur(from),
            fmt_dur(to),
            fmt_dur(1.0 / self.k)
        )?;
        let bottom = TOP + LANE_H * lanes.len() as f64;
        self.axis(from, to, bottom)?;
        for (i, lane) in lanes.iter().enumerate() {
            self.lane(lane, TOP + LANE_H * i as f64, i % 2 == 0)?;
        }
        let end = self.legend(bottom + 28.0)?;
        Ok(end.ceil() as u32)
    }

    /// The x of time `t`.
    fn x(&self, t: f64) -> f64 {
        self.left + (t - self.from) * self.k
    }

    /// Tick labels above the lanes, grid lines through them.
    fn axis(&mut self, from: f64, to: f64, bottom: f64) -> fmt::Result {
        let step = tick_step(to - from, (self.plot_w / 120.0).max(2.0));
        let first = (from / step).ceil() as i64;
        for tick in (first..).map(|i| i as f64 * step).take_while(|&t| t <= to) {
            let x = self.x(tick);
            writeln!(
                self.out,
                "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"#e2e2e2\"/>\
                 <text class=\"tick\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                TOP - 10.0,
                TOP - 14.0,
                time_label(tick, step, to)
            )?;
        }
        Ok(())
    }

    /// One lane at `y`: its label, parks, polls and marks.
    fn lane(&mut self, lane: &Lane, y: f64, stripe: bool) -> fmt::Result {
        if stripe {
            let width = self.plot_w + self.left;
            writeln!(
                self.out,
                "<rect x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{LANE_H}\" fill=\"#f4f4f4\"/>"
            )?;
        }
        let max = ((self.left - 16.0) / CHAR_W) as usize;
        let label: String = match lane.name.chars().count() > max {
            true => lane
                .name
                .chars()
                .take(max.saturating_sub(1))
                .chain(['…'])
                .collect(),
            false => lane.name.clone(),
        };
        writeln!(
            self.out,
            "<text class=\"lane\" x=\"8\" y=\"{}\"><title>{}</title>{}</text>",
            y + 19.0,
            esc(&lane.name),
            esc(&label)
        )?;
        self.parks(lane, y)?;
        self.polls(lane, y)?;
        self.marks(lane, y)
    }

    /// Parks as thin grey bars, those closer than a pixel merged.
    fn parks(&mut self, lane: &Lane, y: f64) -> fmt::Result {
        let (lo, hi) = (self.left, self.left + self.plot_w);
        let mut bars: Vec<(f64, f64, u64, f64)> = Vec::new(); // x0, x1, parks, µs
        for &(a, b) in &lane.parks {
            let (x0, x1) = (self.x(a).max(lo), self.x(b).min(hi));
            if x1 < x0 {
                continue;
            }
            self.parks += 1;
            match bars.last_mut() {
                Some(bar) if x0 <= bar.1 + 1.0 => {
                    bar.1 = bar.1.max(x1);
                    bar.2 += 1;
                    bar.3 += b - a;
                }
                _ => bars.push((x0, x1, 1, b - a)),
            }
        }
        for (x0, x1, n, us) in bars {
            let what = match n {
                1 => format!("park {}", fmt_dur(us)),
                n => format!("{n} parks, {} in all", fmt_dur(us)),
            };
            writeln!(
                self.out,
                "<rect x=\"{x0:.1}\" y=\"{}\" width=\"{:.1}\" height=\"4\" fill=\"{PARK_COLOUR}\"><title>{what}</title></rect>",
                y + PARK_Y,
                (x1 - x0).max(1.0)
            )?;
        }
        Ok(())
    }

    /// Polls: a box each where a pixel wide or more, else binned by pixel column.
    fn polls(&mut self, lane: &Lane, y: f64) -> fmt::Result {
        let cols = self.plot_w as usize;
        let to = self.from + self.plot_w / self.k;
        // Column, site, µs, polls: the narrow polls' share of each column.
        let mut bins: Vec<(usize, u32, f64, u32)> = Vec::new();
        let mut wide = Vec::new();
        for s in &lane.spans {
            let (a, b) = (s.start.max(self.from), s.end.min(to));
            if b < a {
                continue;
            }
            self.site_time[s.site as usize] += b - a;
            self.site_polls[s.site as usize] += 1;
            let (x0, x1) = ((a - self.from) * self.k, (b - self.from) * self.k);
            if x1 - x0 >= 1.0 {
                wide.push((x0, x1, s));
                continue;
            }
            let (c0, c1) = ((x0 as usize).min(cols - 1), (x1 as usize).min(cols - 1));
            if c0 == c1 {
                bins.push((c0, s.site, b - a, 1));
            } else {
                let split = self.from + c1 as f64 / self.k;
                bins.push((c0, s.site, split - a, 1));
                bins.push((c1, s.site, b - split, 0));
            }
        }
        // Per column: the site with the most time, the shade of the column's
        // busy share, the polls.
        bins.sort_unstable_by_key(|&(col, site, ..)| (col, site));
        let mut columns: Vec<(usize, u32, usize, u64)> = Vec::new();
        for col in bins.chunk_by(|a, b| a.0 == b.0) {
            let (mut best, mut best_us, mut busy, mut polls) = (0, -1.0, 0.0, 0);
            for site in col.chunk_by(|a, b| a.1 == b.1) {
                let us: f64 = site.iter().map(|b| b.2).sum();
                polls += site.iter().map(|b| u64::from(b.3)).sum::<u64>();
                busy += us;
                if us > best_us {
                    (best, best_us) = (site[0].1, us);
                }
            }
            let shade =
                ((busy * self.k * SHADES.len() as f64).ceil() as usize).clamp(1, SHADES.len()) - 1;
            columns.push((col[0].0, best, shade, polls));
        }
        // Runs of adjacent columns alike: one box each.
        for run in columns.chunk_by(|a, b| b.0 == a.0 + 1 && (a.1, a.2) == (b.1, b.2)) {
            let (col, site, shade, _) = run[0];
            let polls: u64 = run.iter().map(|c| c.3).sum();
            let opacity = match SHADES[shade] {
                o if o < 1.0 => format!(" fill-opacity=\"{o}\""),
                _ => String::new(),
            };
            writeln!(
                self.out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{BOX_H}\" fill=\"{}\"{opacity}><title>mostly {}: {polls} polls</title></rect>",
                self.left + col as f64,
                y + BOX_Y,
                run.len(),
                self.colours[site as usize],
                esc(&self.trace.sites[site as usize]),
            )?;
        }
        for (x0, x1, s) in wide {
            writeln!(
                self.out,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{BOX_H}\" fill=\"{}\"><title>{} — {}</title></rect>",
                self.left + x0,
                y + BOX_Y,
                x1 - x0,
                self.colours[s.site as usize],
                esc(&self.trace.sites[s.site as usize]),
                fmt_dur(s.end - s.start)
            )?;
        }
        Ok(())
    }

    /// Instants as marks above the lane (`sched`) or below it (the rest): one each
    /// with a tooltip when few, else one path per kind of merged pixel columns.
    fn marks(&mut self, lane: &Lane, y: f64) -> fmt::Result {
        let trace = self.trace;
        let (lo, hi) = (self.left, self.left + self.plot_w);
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); trace.kinds.len()];
        for m in &lane.marks {
            let x = self.x(m.ts);
            if !(lo..=hi).contains(&x) {
                continue;
            }
            let kind = &trace.kinds[m.kind as usize];
            self.kind_marks[m.kind as usize] += 1;
            if self.titled_marks {
                let args = if m.args.is_null() {
                    String::new()
                } else {
                    format!(" {}", m.args)
                };
                writeln!(
                    self.out,
                    "<rect x=\"{:.1}\" y=\"{}\" width=\"1.5\" height=\"{MARK_H}\" fill=\"{}\"><title>{} at {}{}</title></rect>",
                    x - 0.75,
                    y + mark_y(kind),
                    kind_colour(kind),
                    esc(&kind.name),
                    fmt_dur(m.ts),
                    esc(&args)
                )?;
            } else {
                cols[m.kind as usize].push((x - lo) as usize);
            }
        }
        for (kind, mut cols) in trace.kinds.iter().zip(cols) {
            if cols.is_empty() {
                continue;
            }
            let n = cols.len();
            cols.sort_unstable();
            cols.dedup();
            write!(self.out, "<path fill=\"{}\" d=\"", kind_colour(kind))?;
            for run in cols.chunk_by(|a, b| *b == a + 1) {
                let w = run.len().max(2);
                write!(
                    self.out,
                    "M{} {}h{w}v{MARK_H}h-{w}z",
                    lo as usize + run[0],
                    y + mark_y(kind)
                )?;
            }
            writeln!(
                self.out,
                "\"><title>{} ×{n}</title></path>",
                esc(&kind.name)
            )?;
        }
        Ok(())
    }

    /// The legend from `y` down; returns where it ends.
    fn legend(&mut self, mut y: f64) -> Result<f64, fmt::Error> {
        let busy: f64 = self.site_time.iter().sum();
        let mut top: Vec<usize> = (0..self.site_time.len())
            .filter(|&s| self.site_polls[s] > 0)
            .collect();
        top.sort_by(|&a, &b| self.site_time[b].total_cmp(&self.site_time[a]));
        let heading = format!(
            "spawn sites by poll time ({} busy in the window):",
            fmt_dur(busy)
        );
        writeln!(
            self.out,
            "<text x=\"8\" y=\"{y}\" font-weight=\"bold\">{}</text>",
            esc(&heading)
        )?;
        let share = |us: f64| match 100.0 * us / busy {
            p if p >= 0.1 => format!("{p:5.1}%"),
            _ => " <0.1%".to_owned(),
        };
        for &s in top.iter().take(10) {
            y += 16.0;
            let line = format!(
                "{} {:>11} polls {:>11}  {}",
                share(self.site_time[s]),
                thousands(self.site_polls[s]),
                fmt_dur(self.site_time[s]),
                self.trace.sites[s]
            );
            self.legend_row(y, &self.colours[s].clone(), 10.0, &line)?;
        }
        if top.len() > 10 {
            let rest: f64 = top[10..].iter().map(|&s| self.site_time[s]).sum();
            y += 16.0;
            let line = format!("{} in {} more sites", share(rest), top.len() - 10);
            writeln!(
                self.out,
                "<text x=\"28\" y=\"{y}\" xml:space=\"preserve\">{}</text>",
                esc(&line)
            )?;
        }
        y += 28.0;
        writeln!(
            self.out,
            "<text x=\"8\" y=\"{y}\" font-weight=\"bold\">marks in the window:</text>"
        )?;
        y += 16.0;
        let parks = format!(
            "park: the worker slept or waited in the driver ({})",
            thousands(self.parks)
        );
        self.legend_row(y, PARK_COLOUR, 4.0, &parks)?;
        let trace = self.trace;
        for (kind, n) in trace.kinds.iter().zip(self.kind_marks.clone()) {
            y += 16.0;
            let place = if mark_y(kind) < BOX_Y {
                "above"
            } else {
                "below"
            };
            let line = format!(
                "{} ({}, {place} the lane): {}",
                kind.name,
                kind.cat,
                thousands(n)
            );
            self.legend_row(y, &kind_colour(kind), MARK_H, &line)?;
        }
        Ok(y + 12.0)
    }

    /// A legend line: a swatch `h` high and `text`.
    fn legend_row(&mut self, y: f64, fill: &str, h: f64, text: &str) -> fmt::Result {
        writeln!(
            self.out,
            "<rect x=\"8\" y=\"{}\" width=\"14\" height=\"{h}\" fill=\"{fill}\"/><text x=\"28\" y=\"{y}\" xml:space=\"preserve\">{}</text>",
            y - 4.0 - h / 2.0,
            esc(text)
        )
    }
}

/// Fill opacities of binned columns, by the share of the column spent polling.
const SHADES: [f64; 4] = [0.35, 0.55, 0.8, 1.0];

/// Where a kind's marks go within a lane: scheduler events above, others below.
fn mark_y(kind: &Kind) -> f64 {
    if kind.cat == "sched" {
        1.5
    } else {
        BOX_Y + BOX_H + 1.5
    }
}

/// A mark's fill: fixed for gorun's kinds, else from the name.
fn kind_colour(kind: &Kind) -> String {
    let fixed = match kind.name.as_str() {
        "steal" => "#d62728",
        "unpark" => "#2ca02c",
        "spawn_blocking" => "#9467bd",
        "block_in_place" => "#8c564b",
        "timers" => "#ff7f0e",
        "io" => "#1f77b4",
        _ => return colour(&format!("{}/{}", kind.cat, kind.name)),
    };
    fixed.to_owned()
}

/// A stable colour for `name`: hue, saturation and lightness from its hash.
fn colour(name: &str) -> String {
    // FNV-1a, then a finalizer so that nearby names differ in every bit.
    let mut h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    let hue = (h % 360) as f64;
    let s = 0.55 + ((h >> 16) % 30) as f64 / 100.0;
    let l = 0.42 + ((h >> 32) % 18) as f64 / 100.0;
    // HSL to RGB.
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let byte = |v: f64| ((v + l - c / 2.0) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// Lanes' order: workers (`<name>-<n>`), then blocking threads (`-blocking-`),
/// then the rest; by name within each, shorter first (`-2` before `-10`).
fn lane_order(name: &str) -> (u8, usize, &str) {
    let numbered = |(_, n): (&str, &str)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    let group = match name {
        _ if name.contains("-blocking-") => 1,
        _ if name.rsplit_once('-').is_some_and(numbered) => 0,
        _ => 2,
    };
    (group, name.len(), name)
}

/// A tick spacing of 1, 2 or 5 times a power of ten, about `ticks` to `span`.
fn tick_step(span: f64, ticks: f64) -> f64 {
    let raw = span / ticks;
    let pow = 10f64.powf(raw.log10().floor());
    pow * match raw / pow {
        m if m < 1.5 => 1.0,
        m if m < 3.5 => 2.0,
        m if m < 7.5 => 5.0,
        _ => 10.0,
    }
}

/// A tick's label, in the unit of the window's `end` (µs, ms or s), with the
/// decimals that ticks `step` µs apart need.
fn time_label(t: f64, step: f64, end: f64) -> String {
    let (unit, name) = match end.abs().max(step) {
        e if e >= 1e6 => (1e6, "s"),
        e if e >= 1e3 => (1e3, "ms"),
        _ => (1.0, "µs"),
    };
    let decimals = (-(step / unit).log10() - 1e-9).ceil().max(0.0) as usize;
    match t / unit {
        v if v.abs() < step / unit / 2.0 => format!("0 {name}"),
        v => format!("{v:.decimals$} {name}"),
    }
}

/// `us` microseconds, readably.
fn fmt_dur(us: f64) -> String {
    match us.abs() {
        0.0 => "0".to_owned(),
        a if a < 1.0 => format!("{:.0} ns", us * 1e3),
        a if a < 1e3 => format!("{us:.2} µs"),
        a if a < 1e6 => format!("{:.3} ms", us / 1e3),
        _ => format!("{:.3} s", us / 1e6),
    }
}

/// `n` with thousands separated: 1,234,567.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` escaped for XML text and attributes; control characters XML cannot hold
/// become U+FFFD.
fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(|c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || (c < ' ' && c != '\t')) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c < ' ' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;

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
                    .filter(|n| n.starts_with("examples/trace_view.rs:"))
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
            write!(json, r#",{{"name":"<a href=\"&amp\">'s\u0001","ph":"X","ts":{tid},"dur":50,"tid":{tid}}}"#).unwrap();
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
        assert!(
            svg.contains("&lt;a href=&quot;&amp;amp&quot;&gt;&apos;s\u{fffd} — 50.00 µs</title>")
        );
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
}
