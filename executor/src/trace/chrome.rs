//! The Chrome trace-event JSON writer ("JSON Object Format": `traceEvents`, plus
//! `displayTimeUnit` and gorun's own `otherData`). Spans become a `B` and an `E`
//! event on their thread's lane, ordered so that every lane's begins and ends nest;
//! instants are `i` events with thread scope. Timestamps are microseconds since the
//! trace began, with nanosecond decimals.

use std::cmp::Reverse;
use std::io::{self, Write};

use std::sync::Arc;

use super::buffer::ThreadBuf;
use super::clock::Scale;
use super::{TraceSummary, What};

/// One thread's events: the first `len` of its buffer's log (those published when
/// the trace stopped).
pub(super) struct Lane {
    pub(super) buf: Arc<ThreadBuf>,
    pub(super) len: usize,
}

/// A point on a lane: a span's begin or end, or an instant.
#[derive(Clone, Copy)]
enum Mark {
    /// Ends sort first at a tie, and an inner span (later start) ends first.
    End,
    Instant,
    /// Begins sort last at a tie, and an outer span (later end) begins first.
    Begin,
}

pub(super) fn write(
    out: &mut dyn Write,
    lanes: Vec<Lane>,
    scale: Scale,
    summary: &TraceSummary,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    out.write_all(b"{\"traceEvents\":[\n")?;
    out.write_all(
        b"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"gorun\"}}",
    )?;
    for lane in &lanes {
        write!(
            out,
            ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":",
            lane.buf.tid
        )?;
        write_str(&mut out, &lane.buf.name)?;
        out.write_all(b"}}")?;
    }
    let mut marks: Vec<(u64, Mark, u64, usize)> = Vec::new();
    for lane in &lanes {
        marks.clear();
        for i in 0..lane.len {
            let e = lane.buf.events.get(i);
            if is_span(e.what) {
                marks.push((e.start, Mark::Begin, e.end, i));
                marks.push((e.end, Mark::End, e.start, i));
            } else {
                marks.push((e.start, Mark::Instant, 0, i));
            }
        }
        marks.sort_unstable_by_key(|&(t, mark, other, _)| match mark {
            Mark::End => (t, 0, Reverse(other)),
            Mark::Instant => (t, 1, Reverse(0)),
            Mark::Begin => (t, 2, Reverse(other)),
        });
        for &(t, mark, _, i) in &marks {
            let e = lane.buf.events.get(i);
            let ts = scale.ns(t) / 1000.0;
            out.write_all(b",\n{")?;
            match mark {
                Mark::End => write!(out, "\"ph\":\"E\"")?,
                Mark::Begin | Mark::Instant => {
                    out.write_all(b"\"name\":")?;
                    write_name(&mut out, e.what)?;
                    write!(out, ",\"cat\":\"{}\"", category(e.what))?;
                    if let Mark::Begin = mark {
                        out.write_all(b",\"ph\":\"B\"")?;
                    } else {
                        out.write_all(b",\"ph\":\"i\",\"s\":\"t\"")?;
                        write_args(&mut out, e.what)?;
                    }
                }
            }
            write!(out, ",\"ts\":{ts:.3},\"pid\":1,\"tid\":{}}}", lane.buf.tid)?;
        }
    }
    write!(
        out,
        "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{{\"runtime\":\"gorun\",\"events\":{},\"dropped\":{},\"duration_us\":{:.3}}}}}\n",
        summary.events,
        summary.dropped,
        summary.duration.as_nanos() as f64 / 1000.0
    )?;
    out.flush()
}

fn is_span(what: What) -> bool {
    matches!(what, What::Poll(_) | What::Park)
}

fn category(what: What) -> &'static str {
    match what {
        What::Poll(_) => "poll",
        What::Park => "park",
        What::Steal { .. } | What::Unpark { .. } | What::SpawnBlocking | What::BlockInPlace => {
            "sched"
        }
        What::Timers { .. } => "timer",
        What::Io { .. } => "io",
    }
}

fn write_name(out: &mut impl Write, what: What) -> io::Result<()> {
    let name = match what {
        What::Poll(site) => return write_str(out, &site.to_string()),
        What::Park => "park",
        What::Steal { .. } => "steal",
        What::Unpark { .. } => "unpark",
        What::SpawnBlocking => "spawn_blocking",
        What::BlockInPlace => "block_in_place",
        What::Timers { .. } => "timers",
        What::Io { .. } => "io",
    };
    write!(out, "\"{name}\"")
}

fn write_args(out: &mut impl Write, what: What) -> io::Result<()> {
    match what {
        What::Steal { from } => write!(out, ",\"args\":{{\"from\":{from}}}"),
        What::Unpark { worker } => write!(out, ",\"args\":{{\"worker\":{worker}}}"),
        What::Timers { n } | What::Io { n } => write!(out, ",\"args\":{{\"n\":{n}}}"),
        What::Poll(_) | What::Park | What::SpawnBlocking | What::BlockInPlace => Ok(()),
    }
}

/// `s` as a JSON string.
fn write_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    for c in s.chars() {
        match c {
            '"' => out.write_all(b"\\\"")?,
            '\\' => out.write_all(b"\\\\")?,
            '\n' => out.write_all(b"\\n")?,
            '\r' => out.write_all(b"\\r")?,
            '\t' => out.write_all(b"\\t")?,
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32)?,
            c => write!(out, "{c}")?,
        }
    }
    out.write_all(b"\"")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn string(s: &str) -> String {
        let mut v = Vec::new();
        write_str(&mut v, s).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\nd\u{1}é"), "\"a\\\"b\\\\c\\nd\\u0001é\"");
    }
}
