//! `/metrics`: [`RuntimeMetrics`] in the Prometheus text exposition format 0.0.4
//! (`# HELP` and `# TYPE` lines, then the samples; counters end in `_total`).

use std::fmt::Write;

use crate::RuntimeMetrics;

/// The content type of the Prometheus text format 0.0.4.
pub(super) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric's type, as its `# TYPE` line names it.
enum Kind {
    Counter,
    Gauge,
}
use Kind::{Counter, Gauge};

/// Every metric in the order written, with its type and help text (which has
/// no backslash or newline to escape); `prometheus_text` gives the values in the
/// same order.
#[rustfmt::skip]
const METRICS: [(&str, Kind, &str); 12] = [
    ("gorun_tasks", Gauge, "Live tasks (goroutines), blocking closures included."),
    ("gorun_tasks_spawned_total", Counter, "Tasks spawned, blocking closures included."),
    ("gorun_tasks_completed_total", Counter, "Tasks finished: completed, panicked or cancelled."),
    ("gorun_polls_total", Counter, "Task polls by the workers."),
    ("gorun_steals_total", Counter, "Successful steals from another worker's run queue."),
    ("gorun_parks_total", Counter, "Times a worker went to sleep."),
    ("gorun_global_queue_depth", Gauge, "Tasks in the global run queue."),
    ("gorun_local_queue_depth", Gauge, "Tasks in each worker's local run queue."),
    ("gorun_blocking_threads", Gauge, "Threads alive in the blocking pool."),
    ("gorun_watchdog_reports_total", Counter, "Polls the watchdog reported for blocking their worker."),
    ("gorun_waker_panics_total", Counter, "Wakers that panicked when the runtime woke them."),
    ("gorun_timers_armed", Gauge, "Timers armed: sleeps, timeouts, intervals, tickers."),
];

/// `metrics` in the Prometheus text exposition format 0.0.4, what
/// `/debug/gorun/metrics` answers: to add gorun's counters to a `/metrics`
/// endpoint of your own, append this to it.
///
/// | metric | type | from |
/// |---|---|---|
/// | `gorun_tasks` | gauge | [`num_tasks`](RuntimeMetrics::num_tasks) |
/// | `gorun_tasks_spawned_total` | counter | [`spawned`](RuntimeMetrics::spawned) |
/// | `gorun_tasks_completed_total` | counter | [`completed`](RuntimeMetrics::completed) |
/// | `gorun_polls_total` | counter | [`polls`](RuntimeMetrics::polls) |
/// | `gorun_steals_total` | counter | [`steals`](RuntimeMetrics::steals) |
/// | `gorun_parks_total` | counter | [`parks`](RuntimeMetrics::parks) |
/// | `gorun_global_queue_depth` | gauge | [`global_queue_depth`](RuntimeMetrics::global_queue_depth) |
/// | `gorun_local_queue_depth{worker="0"}`, ... | gauge | [`local_queue_depths`](RuntimeMetrics::local_queue_depths), one sample per worker |
/// | `gorun_blocking_threads` | gauge | [`blocking_threads`](RuntimeMetrics::blocking_threads) |
/// | `gorun_watchdog_reports_total` | counter | [`blocking_polls`](RuntimeMetrics::blocking_polls) |
/// | `gorun_waker_panics_total` | counter | [`waker_panics`](RuntimeMetrics::waker_panics) |
/// | `gorun_timers_armed` | gauge | [`timers_armed`](RuntimeMetrics::timers_armed) |
///
/// ```
/// let rt = gorun::Runtime::builder().procs(2).build().unwrap();
/// let text = gorun::debug::prometheus_text(&rt.handle().metrics());
/// assert!(text.contains("# TYPE gorun_tasks gauge\ngorun_tasks 0\n"));
/// assert!(text.contains("gorun_local_queue_depth{worker=\"1\"} 0\n"));
/// ```
pub fn prometheus_text(metrics: &RuntimeMetrics) -> String {
    let m = metrics;
    let values: [Value<'_>; 12] = [
        Value::One(m.num_tasks as u64),
        Value::One(m.spawned as u64),
        Value::One(m.completed as u64),
        Value::One(m.polls),
        Value::One(m.steals as u64),
        Value::One(m.parks as u64),
        Value::One(m.global_queue_depth as u64),
        Value::PerWorker(&m.local_queue_depths),
        Value::One(m.blocking_threads as u64),
        Value::One(m.blocking_polls as u64),
        Value::One(m.waker_panics as u64),
        Value::One(m.timers_armed as u64),
    ];
    let mut out = String::with_capacity(2048);
    // Writing to a String cannot fail.
    for ((name, kind, help), value) in METRICS.iter().zip(values) {
        let kind = match kind {
            Counter => "counter",
            Gauge => "gauge",
        };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        match value {
            Value::One(v) => {
                let _ = writeln!(out, "{name} {v}");
            }
            Value::PerWorker(depths) => {
                for (worker, v) in depths.iter().enumerate() {
                    let _ = writeln!(out, "{name}{{worker=\"{worker}\"}} {v}");
                }
            }
        }
    }
    out
}

/// A metric's samples.
enum Value<'a> {
    One(u64),
    /// One sample per worker, labelled `worker="N"`.
    PerWorker(&'a [usize]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_in_order_with_its_type() {
        let rt = crate::Runtime::builder().procs(2).build().unwrap();
        // `RuntimeMetrics` is non-exhaustive: take a real one, then set each field.
        let mut m = rt.handle().metrics();
        m.num_tasks = 1;
        m.spawned = 2;
        m.completed = 3;
        m.polls = 4;
        m.steals = 5;
        m.parks = 6;
        m.global_queue_depth = 7;
        m.local_queue_depths = vec![8, 9];
        m.blocking_threads = 10;
        m.blocking_polls = 11;
        m.waker_panics = 12;
        m.timers_armed = 13;
        let text = prometheus_text(&m);
        let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            samples,
            [
                "gorun_tasks 1",
                "gorun_tasks_spawned_total 2",
                "gorun_tasks_completed_total 3",
                "gorun_polls_total 4",
                "gorun_steals_total 5",
                "gorun_parks_total 6",
                "gorun_global_queue_depth 7",
                "gorun_local_queue_depth{worker=\"0\"} 8",
                "gorun_local_queue_depth{worker=\"1\"} 9",
                "gorun_blocking_threads 10",
                "gorun_watchdog_reports_total 11",
                "gorun_waker_panics_total 12",
                "gorun_timers_armed 13",
            ]
        );
        assert!(text.contains(
            "# HELP gorun_tasks Live tasks (goroutines), blocking closures included.\n\
             # TYPE gorun_tasks gauge\ngorun_tasks 1\n"
        ));
        assert!(text.contains("# TYPE gorun_polls_total counter\ngorun_polls_total 4\n"));
        assert!(text.contains("# TYPE gorun_local_queue_depth gauge\ngorun_local_queue_depth{"));
        assert!(text.ends_with('\n'));
    }
}
