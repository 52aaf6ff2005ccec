//! errgroup with a context and a limit: fetch many (simulated) items, at most
//! `limit` at once (`g.SetLimit`), each under its own timeout
//! (`context.WithTimeout`); the first error cancels the group's context, so the
//! fetches still running give up at once and no new ones start.
//!
//! The fetches are simulated with `time::sleep` (gorun has no HTTP client yet).
//! Run it with `cargo run --release --example errgroup_fetch`; test it with
//! `cargo test --release --example errgroup_fetch`.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gorun::context::{self, Context, ContextError};
use gorun::errgroup::Group;
use gorun::time::{sleep, Instant};

/// Why one fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FetchError {
    /// The item's own timeout passed.
    Timeout(String),
    /// The (simulated) server said no.
    Failed(String),
    /// The group was cancelled (another fetch failed first).
    Canceled(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Timeout(n) => write!(f, "{n}: timed out"),
            FetchError::Failed(n) => write!(f, "{n}: failed"),
            FetchError::Canceled(n) => write!(f, "{n}: canceled"),
        }
    }
}

impl std::error::Error for FetchError {}

/// A simulated remote item: how long it takes, and whether it fails.
#[derive(Clone)]
struct Item {
    name: String,
    delay: Duration,
    fails: bool,
}

fn item(name: &str, delay_ms: u64, fails: bool) -> Item {
    let (name, delay) = (name.to_string(), Duration::from_millis(delay_ms));
    Item { name, delay, fails }
}

/// What the fetches did, for the tests: how many started, the most at once, and
/// how many gave up because the group was cancelled.
#[derive(Default)]
struct Stats {
    started: AtomicUsize,
    now: AtomicUsize,
    peak: AtomicUsize,
    canceled: AtomicUsize,
}

/// One fetch under `ctx` and its own `timeout`.
async fn fetch(
    ctx: &Context,
    it: &Item,
    timeout: Duration,
    stats: &Stats,
) -> Result<String, FetchError> {
    stats.started.fetch_add(1, SeqCst);
    stats
        .peak
        .fetch_max(stats.now.fetch_add(1, SeqCst) + 1, SeqCst);
    let (ctx, _cancel) = context::with_timeout(ctx, timeout);
    let r = ctx.run(sleep(it.delay)).await; // the "network round trip"
    stats.now.fetch_sub(1, SeqCst);
    match r {
        Ok(()) if it.fails => Err(FetchError::Failed(it.name.clone())),
        Ok(()) => Ok(format!("<{}>", it.name)),
        Err(ContextError::DeadlineExceeded) => Err(FetchError::Timeout(it.name.clone())),
        Err(ContextError::Canceled) => {
            stats.canceled.fetch_add(1, SeqCst);
            Err(FetchError::Canceled(it.name.clone()))
        }
    }
}

/// Fetches every item, `limit` at once, each within `timeout`: the bodies in item
/// order, or the first error.
async fn fetch_all(
    items: &[Item],
    limit: usize,
    timeout: Duration,
    stats: Arc<Stats>,
) -> Result<Vec<String>, FetchError> {
    let (g, ctx) = Group::<FetchError>::with_context(&Context::background());
    g.set_limit(limit);
    let bodies = Arc::new(Mutex::new(vec![String::new(); items.len()]));
    for (i, it) in items.iter().cloned().enumerate() {
        if ctx.is_done() {
            break; // a fetch failed: start no more
        }
        let (ctx, bodies, stats) = (ctx.clone(), bodies.clone(), stats.clone());
        // Waits for a free slot first, as Go's g.Go does under SetLimit.
        g.go(async move {
            let body = fetch(&ctx, &it, timeout, &stats).await?;
            bodies.lock().unwrap()[i] = body;
            Ok(())
        })
        .await;
    }
    g.wait().await?;
    let bodies = std::mem::take(&mut *bodies.lock().unwrap());
    Ok(bodies)
}

#[gorun::main]
async fn main() {
    let ms = Duration::from_millis;
    let items: Vec<_> = (0..12)
        .map(|i| item(&format!("item-{i}"), 10 + 5 * i, false))
        .collect();

    let start = Instant::now();
    let stats = Arc::new(Stats::default());
    let bodies = fetch_all(&items, 4, ms(200), stats.clone()).await.unwrap();
    println!(
        "fetched {} items, at most {} at once, in {:?}",
        bodies.len(),
        stats.peak.load(SeqCst),
        start.elapsed()
    );
    assert_eq!(bodies[3], "<item-3>");
    assert!(stats.peak.load(SeqCst) <= 4);

    let mut bad = items.clone();
    bad[2] = item("item-2", 5, true);
    let start = Instant::now();
    let stats = Arc::new(Stats::default());
    let err = fetch_all(&bad, 4, ms(200), stats.clone())
        .await
        .unwrap_err();
    println!(
        "one failure: {err}; {} fetches started, {} canceled, done in {:?}",
        stats.started.load(SeqCst),
        stats.canceled.load(SeqCst),
        start.elapsed()
    );
    assert_eq!(err, FetchError::Failed("item-2".into()));

    let mut slow = items.clone();
    slow[0] = item("item-0", 1_000, false);
    let err = fetch_all(&slow, 4, ms(100), Arc::default())
        .await
        .unwrap_err();
    println!("one slow item: {err}");
    assert_eq!(err, FetchError::Timeout("item-0".into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize, delay_ms: u64) -> Vec<Item> {
        (0..n)
            .map(|i| item(&format!("i{i}"), delay_ms, false))
            .collect()
    }

    // The paused clock makes the schedule exact: every sleeping fetch is asleep at
    // once before time moves.
    #[gorun::test(start_paused = true)]
    async fn all_succeed_within_the_limit() {
        let stats = Arc::new(Stats::default());
        let bodies = fetch_all(&items(10, 10), 3, Duration::from_secs(1), stats.clone()).await;
        let want: Vec<_> = (0..10).map(|i| format!("<i{i}>")).collect();
        assert_eq!(bodies, Ok(want));
        assert_eq!(stats.peak.load(SeqCst), 3);
        assert_eq!(stats.started.load(SeqCst), 10);
    }

    #[gorun::test(start_paused = true)]
    async fn the_first_error_cancels_the_rest() {
        let mut list = items(10, 60_000); // a minute each
        list[2] = item("bad", 5, true);
        let stats = Arc::new(Stats::default());
        let start = Instant::now();
        let r = fetch_all(&list, 4, Duration::from_secs(3600), stats.clone()).await;
        assert_eq!(r, Err(FetchError::Failed("bad".into())));
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "nobody waited for the slow ones"
        );
        let started = stats.started.load(SeqCst);
        assert!(
            (4..=5).contains(&started),
            "no new fetch after the failure: {started}"
        );
        assert_eq!(stats.canceled.load(SeqCst), started - 1);
    }

    #[gorun::test(start_paused = true)]
    async fn an_item_past_its_timeout_fails_the_group() {
        let mut list = items(5, 10);
        list[4] = item("slow", 5_000, false);
        let r = fetch_all(&list, 2, Duration::from_secs(1), Arc::default()).await;
        assert_eq!(r, Err(FetchError::Timeout("slow".into())));
    }

    #[gorun::test(procs = 4)]
    async fn real_time_run_with_no_items_and_with_many() {
        assert_eq!(
            fetch_all(&[], 2, Duration::from_secs(1), Arc::default()).await,
            Ok(vec![])
        );
        let r = fetch_all(&items(50, 1), 8, Duration::from_secs(10), Arc::default()).await;
        assert_eq!(r.map(|b| b.len()), Ok(50));
    }
}
