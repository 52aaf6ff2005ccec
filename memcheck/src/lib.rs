//! Small gorun programs that CI runs under valgrind's memcheck (`.ci/memcheck.sh`):
//! each `src/bin` program drives one way a runtime can end with work in flight, and
//! must finish with no memcheck error and no definitely lost block.
//!
//! The helpers here are what the programs share: [`Tracker`] and its [`Guard`]s (a
//! value that owns heap memory and counts its drop, so a program can check that
//! every value it handed to a task was freed exactly once), [`wait_until`] and
//! [`wait_for_waits`] (bounded waits, generous enough for valgrind's slowdown),
//! [`quiet_expected_panics`] (a panic hook that hides only the panics a program
//! provokes on purpose) and [`after_runtime`] (awaiting handles that outlived their
//! runtime).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::{Handle, TaskState, WaitReason};

/// The bound on every wait of these programs: far above what they need natively,
/// and still well under the 30 s each program has under valgrind.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// An hour: a deadline that never comes while a program runs.
pub const HOUR: Duration = Duration::from_secs(3600);

/// The marker in the message of every panic a program provokes on purpose; the
/// hook of [`quiet_expected_panics`] hides those, and only those.
pub const EXPECTED: &str = "(expected by memcheck)";

/// A non-string panic payload a program provokes on purpose (hidden by the hook of
/// [`quiet_expected_panics`], like a message carrying [`EXPECTED`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedPayload(pub u64);

#[derive(Default)]
struct Counts {
    made: AtomicUsize,
    dropped: AtomicUsize,
}

/// Counts the [`Guard`]s it made and how many of them were dropped.
#[derive(Clone, Default)]
pub struct Tracker(Arc<Counts>);

impl Tracker {
    /// A tracker with nothing made yet.
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// A new guard: 64 heap bytes and a heap `String` naming it (`tag`).
    pub fn guard(&self, tag: impl Into<String>) -> Guard {
        self.0.made.fetch_add(1, SeqCst);
        Guard {
            counts: self.0.clone(),
            payload: vec![0xA5; 64],
            tag: tag.into(),
        }
    }

    /// Guards made so far.
    pub fn made(&self) -> usize {
        self.0.made.load(SeqCst)
    }

    /// Guards dropped so far.
    pub fn dropped(&self) -> usize {
        self.0.dropped.load(SeqCst)
    }

    /// Guards made and not yet dropped.
    pub fn live(&self) -> usize {
        self.made() - self.dropped()
    }

    /// Panics unless exactly `n` guards are live now.
    #[track_caller]
    pub fn assert_live(&self, n: usize, what: &str) {
        assert_eq!(
            self.live(),
            n,
            "{what}: {} guards live, {n} expected ({} made, {} dropped)",
            self.live(),
            self.made(),
            self.dropped()
        );
    }

    /// Waits (up to [`WAIT_LIMIT`]) until exactly `n` guards are live: for drops a
    /// worker does soon after an abort, not synchronously.
    #[track_caller]
    pub fn wait_live(&self, n: usize, what: &str) {
        wait_until(what, || self.live() == n);
        self.assert_live(n, what);
    }

    /// Panics unless every guard made was dropped, and the only reference to the
    /// shared counts left is this tracker's (no guard leaked, none still owned).
    #[track_caller]
    pub fn assert_all_dropped(&self, what: &str) {
        self.assert_live(0, what);
        assert_eq!(
            Arc::strong_count(&self.0),
            1,
            "{what}: the counts are still referenced by something other than this tracker"
        );
    }
}

/// A value owning heap memory (a `Vec<u8>` and a `String`) that counts its drop in
/// its [`Tracker`]. A guard freed twice would be a double free memcheck reports; a
/// guard never freed shows in the tracker's counts and as a definite leak.
pub struct Guard {
    counts: Arc<Counts>,
    payload: Vec<u8>,
    tag: String,
}

impl Guard {
    /// The name it was made with.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Reads the heap payload (so memcheck checks that it is still valid memory).
    pub fn check(&self) -> bool {
        self.payload.len() == 64 && self.payload.iter().all(|&b| b == 0xA5)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        assert!(self.check(), "guard {:?} corrupted", self.tag);
        self.counts.dropped.fetch_add(1, SeqCst);
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Guard({:?})", self.tag)
    }
}

/// Waits until `cond` holds, checking every millisecond; panics naming `what` after
/// [`WAIT_LIMIT`].
#[track_caller]
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < WAIT_LIMIT,
            "timed out after {WAIT_LIMIT:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until the runtime's task dump shows at least `n` tasks
/// [`Waiting`](TaskState::Waiting) on `reason`, for each `(reason, n)` in
/// `expected`: every task a program meant to block is parked on what it should be.
/// Panics with the last dump after [`WAIT_LIMIT`].
#[track_caller]
pub fn wait_for_waits(handle: &Handle, expected: &[(WaitReason, usize)]) {
    let start = Instant::now();
    loop {
        let dump = handle.dump();
        let mut seen: HashMap<WaitReason, usize> = HashMap::new();
        // Per spawn location and state, for the message if the wait times out.
        let mut by_site: HashMap<String, usize> = HashMap::new();
        for t in &dump.tasks {
            if t.state == TaskState::Waiting {
                if let Some(r) = t.wait {
                    *seen.entry(r).or_default() += 1;
                }
            }
            *by_site
                .entry(format!("{} {:?} {:?}", t.location, t.state, t.wait))
                .or_default() += 1;
        }
        if expected
            .iter()
            .all(|(r, n)| seen.get(r).copied().unwrap_or(0) >= *n)
        {
            return;
        }
        assert!(
            start.elapsed() < WAIT_LIMIT,
            "timed out waiting for the tasks to block: wanted {expected:?}, saw {seen:?}; \
             tasks by spawn site and state: {by_site:#?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Installs a panic hook that hides the panics a program provokes on purpose (a
/// message containing [`EXPECTED`], or an [`ExpectedPayload`]) and reports every
/// other panic with the default hook, so a failed check still prints.
pub fn quiet_expected_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let expected = payload.is::<ExpectedPayload>()
            || payload
                .downcast_ref::<&str>()
                .is_some_and(|s| s.contains(EXPECTED))
            || payload
                .downcast_ref::<String>()
                .is_some_and(|s| s.contains(EXPECTED));
        if !expected {
            default(info);
        }
    }));
}

/// Runs `fut` to completion on a fresh current-thread runtime, dropped afterwards:
/// for awaiting `JoinHandle`s whose runtime is already gone.
pub fn after_runtime<F: Future>(fut: F) -> F::Output {
    let rt = gorun::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    rt.block_on(fut)
}

/// Counts a join's outcome: a finished task's intact [`Guard`] in `counts.0`, a
/// cancellation in `counts.1`; anything else (a panic) fails the program.
#[track_caller]
pub fn tally(r: Result<Guard, gorun::JoinError>, counts: &mut (usize, usize)) {
    match r {
        Ok(g) => {
            assert!(g.check());
            counts.0 += 1;
        }
        Err(e) => {
            assert!(e.is_cancelled(), "{e}");
            counts.1 += 1;
        }
    }
}

/// Prints the one line a program ends with when every check held.
pub fn report(program: &str, summary: std::fmt::Arguments<'_>) {
    println!("{program}: ok: {summary}");
}
