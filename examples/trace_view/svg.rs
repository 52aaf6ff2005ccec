//! Drawing a trace as SVG: the title, the time axis, one lane per thread (polls
//! as boxes, or binned by pixel column where narrower than a pixel; parks as
//! bars; instants as marks, binned too when there are many) and the legend.

use std::fmt::{self, Write as _};

use crate::colour::{colour, kind_colour};
use crate::parse::{Kind, Lane, Trace};
use crate::text::{esc, fmt_dur, thousands, tick_step, time_label};
use crate::View;

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
pub(crate) fn render(trace: &Trace, view: View) -> Result<String, String> {
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
