//! Reading a Chrome trace: the JSON object form's events, grouped into one lane
//! per thread (`pid`/`tid`), each lane's `B`/`E` begins and ends paired into
//! slices (innermost open slice first), `X` slices and `i` instants taken whole.
//! Slices of category `park` are parks; every other slice is a span of a site.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// A trace, read: times are microseconds on the trace's clock.
pub(crate) struct Trace {
    pub(crate) lanes: Vec<Lane>,
    /// Slice names (spawn sites), indexed by [`Span::site`].
    pub(crate) sites: Vec<String>,
    /// Instant kinds, indexed by [`Mark::kind`].
    pub(crate) kinds: Vec<Kind>,
    /// From the trace's start (0 for gorun's) to its last event.
    pub(crate) start: f64,
    pub(crate) end: f64,
    /// `otherData.runtime`, or "Chrome".
    pub(crate) runtime: String,
    /// Events recorded (`otherData.events`, else the slices and instants read).
    pub(crate) events: u64,
    /// Events the recorder dropped (`otherData.dropped`).
    pub(crate) dropped: u64,
}

/// One thread's slices and instants.
pub(crate) struct Lane {
    pub(crate) name: String,
    pub(crate) spans: Vec<Span>,
    /// Parks, `(start, end)`.
    pub(crate) parks: Vec<(f64, f64)>,
    pub(crate) marks: Vec<Mark>,
}

/// A poll (or another tool's slice).
pub(crate) struct Span {
    pub(crate) start: f64,
    pub(crate) end: f64,
    pub(crate) site: u32,
}

/// An instant event.
pub(crate) struct Mark {
    pub(crate) ts: f64,
    pub(crate) kind: u32,
    pub(crate) args: Value,
}

/// A kind of instant: its name and category.
pub(crate) struct Kind {
    pub(crate) name: String,
    pub(crate) cat: String,
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
pub(crate) fn load(path: &Path) -> Result<Trace, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a trace from its JSON, pairing each lane's begins and ends.
pub(crate) fn parse(json: &[u8]) -> Result<Trace, String> {
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
