//! Numbers, times and names as the picture writes them: tick spacing and
//! labels, durations, thousands separators and XML escaping.

use std::borrow::Cow;

/// A tick spacing of 1, 2 or 5 times a power of ten, about `ticks` to `span`.
pub(crate) fn tick_step(span: f64, ticks: f64) -> f64 {
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
pub(crate) fn time_label(t: f64, step: f64, end: f64) -> String {
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
pub(crate) fn fmt_dur(us: f64) -> String {
    match us.abs() {
        0.0 => "0".to_owned(),
        a if a < 1.0 => format!("{:.0} ns", us * 1e3),
        a if a < 1e3 => format!("{us:.2} µs"),
        a if a < 1e6 => format!("{:.3} ms", us / 1e3),
        _ => format!("{:.3} s", us / 1e6),
    }
}

/// `n` with thousands separated: 1,234,567.
pub(crate) fn thousands(n: u64) -> String {
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
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
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
