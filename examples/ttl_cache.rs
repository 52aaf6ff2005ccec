//! A concurrent cache with a time-to-live: entries behind an `RwLock` (many
//! readers, one writer), expired entries hidden at once by `get` and removed by a
//! cleanup goroutine woken by a `time::Ticker`, which stops when its `context` is
//! cancelled (the seed's "concurrent cache with TTL and a cleanup goroutine").
//!
//! Run it with `cargo run --release --example ttl_cache`; test it with
//! `cargo test --release --example ttl_cache`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use gorun::context::Context;
use gorun::sync::RwLock;
use gorun::time::{Instant, Ticker};
use gorun::{select, JoinHandle};

/// The cache. Cheap to clone: clones share the entries.
struct TtlCache<K, V> {
    entries: Arc<RwLock<HashMap<K, (V, Instant)>>>,
    ttl: Duration,
}

impl<K, V> Clone for TtlCache<K, V> {
    fn clone(&self) -> Self {
        TtlCache {
            entries: self.entries.clone(),
            ttl: self.ttl,
        }
    }
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache whose entries live `ttl`, and its cleanup goroutine, which sweeps
    /// every `sweep_every` until `ctx` is done and then returns how many entries it
    /// removed in all.
    fn new(ttl: Duration, sweep_every: Duration, ctx: &Context) -> (Self, JoinHandle<usize>) {
        let cache = TtlCache {
            entries: Arc::new(RwLock::new(HashMap::new())),
            ttl,
        };
        let janitor = {
            let (cache, ctx) = (cache.clone(), ctx.clone());
            gorun::go(async move {
                let ticker = Ticker::new(sweep_every);
                let mut removed = 0;
                loop {
                    select! {
                        recv(ticker.c()) -> _ => removed += cache.sweep().await,
                        _ = ctx.done() => return removed, // dropping the ticker stops it
                    }
                }
            })
        };
        (cache, janitor)
    }

    /// Inserts or replaces `key`, alive for the cache's TTL from now.
    async fn set(&self, key: K, value: V) {
        let expires = Instant::now() + self.ttl;
        self.entries.write().await.insert(key, (value, expires));
    }

    /// The value of `key`, unless absent or expired (an expired entry not yet
    /// swept is already invisible).
    async fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().await;
        let (v, expires) = entries.get(key)?;
        (Instant::now() < *expires).then(|| v.clone())
    }

    /// The number of stored entries, expired-but-unswept ones included.
    async fn stored(&self) -> usize {
        self.entries.read().await.len()
    }

    /// Removes the expired entries; returns how many.
    async fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut entries = self.entries.write().await;
        let before = entries.len();
        entries.retain(|_, (_, expires)| *expires > now);
        before - entries.len()
    }
}

#[gorun::main]
async fn main() {
    let ms = Duration::from_millis;
    let (ctx, cancel) = gorun::context::with_cancel(&Context::background());
    let (cache, janitor) = TtlCache::new(ms(100), ms(20), &ctx);

    // 8 writers and 8 readers at once.
    let wg = gorun::sync::WaitGroup::new();
    for w in 0..8u64 {
        let cache = cache.clone();
        wg.go(async move {
            for i in 0..100 {
                cache.set(w * 1000 + i, format!("value {w}/{i}")).await;
            }
        });
    }
    for _ in 0..8 {
        let cache = cache.clone();
        wg.go(async move {
            for i in 0..100 {
                if let Some(v) = cache.get(&i).await {
                    assert_eq!(v, format!("value 0/{i}"));
                }
            }
        });
    }
    wg.wait().await;
    assert_eq!(cache.stored().await, 800);
    assert_eq!(cache.get(&7005).await.as_deref(), Some("value 7/5"));
    println!("800 entries written by 8 goroutines while 8 others read");

    gorun::time::sleep(ms(250)).await; // past the TTL, and several sweeps
    assert_eq!(cache.get(&7005).await, None);
    println!("after the TTL: {} entries left", cache.stored().await);

    cancel.cancel();
    let removed = janitor.await.unwrap();
    println!("cleanup goroutine stopped by cancel after removing {removed} entries");
    assert_eq!(removed, 800);
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);
    const SWEEP: Duration = Duration::from_secs(10);

    // On the paused clock, a minute-long TTL takes no time and the timeline is exact.
    #[gorun::test(start_paused = true)]
    async fn entries_expire_at_their_ttl_and_are_swept() {
        let (ctx, cancel) = gorun::context::with_cancel(&Context::background());
        let (cache, janitor) = TtlCache::new(TTL, SWEEP, &ctx);
        cache.set("a", 1).await;
        gorun::time::sleep(Duration::from_secs(30)).await;
        cache.set("b", 2).await;
        assert_eq!(cache.get(&"a").await, Some(1));

        gorun::time::sleep(Duration::from_secs(31)).await; // a: 61 s old, b: 31 s
        assert_eq!(cache.get(&"a").await, None, "expired is invisible at once");
        assert_eq!(cache.get(&"b").await, Some(2));
        gorun::time::sleep(SWEEP).await; // a sweep has run since
        assert_eq!(cache.stored().await, 1);

        cache.set("b", 3).await; // a refresh restarts the TTL
        gorun::time::sleep(Duration::from_secs(59)).await;
        assert_eq!(cache.get(&"b").await, Some(3));

        cancel.cancel();
        assert_eq!(janitor.await.unwrap(), 1);
        assert!(ctx.is_done());
    }

    #[gorun::test(start_paused = true)]
    async fn the_cleanup_goroutine_stops_on_cancel() {
        let before = gorun::num_tasks();
        let (ctx, cancel) = gorun::context::with_cancel(&Context::background());
        let (cache, janitor) = TtlCache::<u32, u32>::new(TTL, SWEEP, &ctx);
        assert_eq!(gorun::num_tasks(), before + 1);
        gorun::time::sleep(Duration::from_secs(100)).await; // ten idle sweeps
        cancel.cancel();
        assert_eq!(janitor.await.unwrap(), 0);
        assert_eq!(cache.stored().await, 0);
        // #[gorun::test]'s leak check would fail the test if the janitor survived.
    }

    #[gorun::test(procs = 4)]
    async fn concurrent_readers_and_writers_see_whole_values() {
        let (ctx, cancel) = gorun::context::with_cancel(&Context::background());
        let (cache, janitor) = TtlCache::new(TTL, SWEEP, &ctx);
        let wg = gorun::sync::WaitGroup::new();
        for w in 0..4u32 {
            let cache = cache.clone();
            wg.go(async move {
                for i in 0..200u32 {
                    cache.set(i, (w, i)).await;
                    if let Some((_, j)) = cache.get(&(i / 2)).await {
                        assert_eq!(j, i / 2);
                    }
                }
            });
        }
        wg.wait().await;
        assert_eq!(cache.stored().await, 200);
        cancel.cancel();
        assert_eq!(janitor.await.unwrap(), 0);
    }
}
