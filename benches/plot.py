#!/usr/bin/env python3
"""Draws the benchmark reference's current figures as one SVG per group.

    python3 benches/plot.py                      # benches/figures.csv -> benches/plots/*.svg
    python3 benches/plot.py criterion [FILTER]   # CSV rows from target/criterion (last run)
    python3 benches/plot.py go FILE              # CSV rows from `go test -bench` output

`benches/figures.csv` holds the rows of the current tables in `benches/README.md`
(one row per workload: gorun, tokio and Go in one unit, a blank where a runtime has no
such workload). Each workload is drawn as its own small bar chart, scaled to its
largest value, with the values and the ratio gorun/tokio (or gorun/Go) written on it,
so rows of different units can share a picture. The two import commands print rows
in the same format, to paste into the CSV after a run; they read what criterion and
`go test` wrote, nothing is measured here. Standard library only.
"""

import csv
import glob
import html
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures.csv")
PLOTS = os.path.join(HERE, "plots")
COLUMNS = ["group", "workload", "unit", "better", "gorun", "tokio", "go", "target"]
COLORS = {"gorun": "#2a7ab0", "tokio": "#c8553d", "go": "#4f9d69"}

# Layout, in SVG user units.
WIDTH = 760
LABEL_W = 300
BAR_H = 14
ROW_GAP = 14
BAR_MAX = WIDTH - LABEL_W - 170


def read_figures(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["group"] and not r["group"].startswith("#")]
    for r in rows:
        for k in ("gorun", "tokio", "go"):
            r[k] = float(r[k]) if r[k].strip() else None
        if r["better"] not in ("lower", "higher"):
            sys.exit(f"plot.py: {r['workload']}: 'better' must be lower or higher")
    return rows


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio_text(r):
    g = r["gorun"]
    for other, name in ((r["tokio"], "tokio"), (r["go"], "Go")):
        if g is not None and other:
            return f"{g / other:.2f}× {name}" + ("" if r["better"] == "lower" else " (throughput)")
    return ""


def render(group, rows):
    runtimes = ["gorun", "tokio", "go"]
    y = 44
    parts = []
    for r in rows:
        present = [k for k in runtimes if r[k] is not None]
        top = max(r[k] for k in present)
        label = html.escape(r["workload"])
        parts.append(f'<text x="8" y="{y + 11}" class="w">{label}</text>')
        parts.append(
            f'<text x="8" y="{y + 25}" class="t">{html.escape(r["unit"])}, '
            f'{r["better"]} is better; target {html.escape(r["target"] or "—")}</text>'
        )
        for i, k in enumerate(present):
            w = max(1.0, BAR_MAX * r[k] / top)
            by = y + i * (BAR_H + 2)
            parts.append(
                f'<rect x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{BAR_H}" '
                f'fill="{COLORS[k]}"><title>{k}: {fmt(r[k])} {html.escape(r["unit"])}</title></rect>'
            )
            parts.append(
                f'<text x="{LABEL_W + w + 4:.1f}" y="{by + 11}" class="v">{"Go" if k == "go" else k} {fmt(r[k])}</text>'
            )
        rt = ratio_text(r)
        parts.append(f'<text x="{WIDTH - 8}" y="{y + 11}" class="r">{html.escape(rt)}</text>')
        y += max(2, len(present)) * (BAR_H + 2) + ROW_GAP + 6
    height = y + 8
    legend = "".join(
        f'<rect x="{LABEL_W + i * 90}" y="14" width="12" height="12" fill="{COLORS[k]}"/>'
        f'<text x="{LABEL_W + i * 90 + 16}" y="24" class="v">{"Go 1.19" if k == "go" else k}</text>'
        for i, k in enumerate(runtimes)
    )
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">
<style>
text {{ font-family: sans-serif; font-size: 11px; fill: #222; }}
.h {{ font-size: 14px; font-weight: bold; }}
.w {{ font-size: 11px; }}
.t {{ font-size: 9px; fill: #666; }}
.v {{ font-size: 10px; }}
.r {{ font-size: 11px; font-weight: bold; text-anchor: end; }}
</style>
<rect width="100%" height="100%" fill="white"/>
<text x="8" y="24" class="h">{html.escape(group)}</text>
{legend}
{chr(10).join(parts)}
</svg>
"""


def slug(group):
    return re.sub(r"[^a-z0-9]+", "-", group.lower()).strip("-")


def draw():
    rows = read_figures(FIGURES)
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    os.makedirs(PLOTS, exist_ok=True)
    for group, grows in groups.items():
        path = os.path.join(PLOTS, slug(group) + ".svg")
        with open(path, "w") as f:
            f.write(render(group, grows))
        print(os.path.relpath(path, os.path.dirname(HERE)))


def from_criterion(pattern):
    """Rows from criterion's last estimates: one per benchmark id whose path holds
    gorun and tokio variants (`<group>/<gorun|tokio>/<case>` or `<group>/<case>/<rt>`)."""
    root = os.path.join(os.path.dirname(HERE), "target", "criterion")
    found = {}
    for est in glob.glob(os.path.join(root, "**", "new", "estimates.json"), recursive=True):
        with open(os.path.join(os.path.dirname(est), "benchmark.json")) as f:
            full_id = json.load(f)["full_id"]
        if pattern and not re.search(pattern, full_id):
            continue
        parts = full_id.split("/")
        rt = next((p for p in parts if p in ("gorun", "tokio")), None)
        if rt is None:
            continue
        key = "/".join(p for p in parts if p != rt)
        with open(est) as f:
            ns = json.load(f)["median"]["point_estimate"]
        found.setdefault(key, {})[rt] = ns
    w = csv.writer(sys.stdout)
    for key in sorted(found):
        v = found[key]
        scale, unit = pick_unit(max(v.values()))
        w.writerow(["GROUP", key, unit, "lower"]
                   + [f"{v[k] / scale:.4g}" if k in v else "" for k in ("gorun", "tokio")]
                   + ["", ""])


def pick_unit(ns):
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale:
            return scale, unit
    return 1.0, "ns"


def from_go(path):
    """Rows from `go test -bench` output: the Go column of each benchmark (ns/op)."""
    w = csv.writer(sys.stdout)
    with open(path) as f:
        for line in f:
            m = re.match(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
            if m:
                scale, unit = pick_unit(float(m.group(2)))
                w.writerow(["GROUP", m.group(1), unit, "lower", "", "",
                            f"{float(m.group(2)) / scale:.4g}", ""])


def main(argv):
    if len(argv) == 1:
        draw()
    elif argv[1] == "criterion":
        from_criterion(argv[2] if len(argv) > 2 else "")
    elif argv[1] == "go" and len(argv) == 3:
        from_go(argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
