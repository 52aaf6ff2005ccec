//! Colours: a stable one per spawn site (from a hash of its name), and fixed
//! ones for gorun's kinds of instant.

use crate::parse::Kind;

/// A mark's fill: fixed for gorun's kinds, else from the name.
pub(crate) fn kind_colour(kind: &Kind) -> String {
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
pub(crate) fn colour(name: &str) -> String {
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
