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

mod colour;
mod parse;
mod svg;
#[cfg(test)]
mod tests;
mod text;

use std::path::PathBuf;
use std::process::ExitCode;

use crate::parse::load;
use crate::svg::render;

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
