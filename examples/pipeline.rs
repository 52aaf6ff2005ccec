//! A pipeline: generator → square → keep-even → sink, one goroutine per stage,
//! channels between them, and cancellation through a `context`: every send and
//! receive also selects on `ctx.done()`, so cancelling the context stops every
//! stage, even one blocked on a channel nobody reads any more (Go's "pipelines and
//! cancellation" pattern).
//!
//! Run it with `cargo run --release --example pipeline`; test it with
//! `cargo test --release --example pipeline`.

use gorun::context::{self, Context, ContextError};
use gorun::sync::WaitGroup;
use gorun::{chan, select, Receiver, Sender};

/// Sends `v` on `out` unless `ctx` is done first; false means "stop".
async fn send_or_done<T: Send>(ctx: &Context, out: &Sender<T>, v: T) -> bool {
    select! {
        send(out, v) -> res => res.is_ok(),
        _ = ctx.done() => false,
    }
}

/// Receives from `input` unless `ctx` is done first; `None`: closed or cancelled.
async fn recv_or_done<T: Send>(ctx: &Context, input: &Receiver<T>) -> Option<T> {
    select! {
        recv(input) -> v => v,
        _ = ctx.done() => None,
    }
}

/// The generator: sends `from, from+1, ...` up to `to` (`None`: forever), then
/// closes its channel by dropping the sender.
fn generate(ctx: &Context, wg: &WaitGroup, from: u64, to: Option<u64>) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    let ctx = ctx.clone();
    wg.go(async move {
        let mut n = from;
        while to.is_none_or(|to| n <= to) {
            if !send_or_done(&ctx, &tx, n).await {
                return;
            }
            n += 1;
        }
    });
    rx
}

/// A stage: applies `f` to each value; `None` drops the value (a filter).
fn stage<F>(ctx: &Context, wg: &WaitGroup, input: Receiver<u64>, f: F) -> Receiver<u64>
where
    F: Fn(u64) -> Option<u64> + Send + 'static,
{
    let (tx, rx) = chan(0);
    let ctx = ctx.clone();
    wg.go(async move {
        while let Some(v) = recv_or_done(&ctx, &input).await {
            if let Some(out) = f(v) {
                if !send_or_done(&ctx, &tx, out).await {
                    return;
                }
            }
        }
    });
    rx
}

/// Builds generator → square → keep-even over `from..=to` (forever if `to` is
/// `None`) and returns the sink's channel.
fn build(ctx: &Context, wg: &WaitGroup, from: u64, to: Option<u64>) -> Receiver<u64> {
    let numbers = generate(ctx, wg, from, to);
    let squares = stage(ctx, wg, numbers, |v| Some(v * v));
    stage(ctx, wg, squares, |v| (v % 2 == 0).then_some(v))
}

/// Runs the pipeline over `1..=n` to the end and collects the sink's values.
async fn run_to_end(n: u64) -> Vec<u64> {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    let wg = WaitGroup::new();
    let out = build(&ctx, &wg, 1, Some(n));
    let mut got = Vec::new();
    while let Some(v) = out.recv().await {
        got.push(v);
    }
    wg.wait().await;
    cancel.cancel(); // Go's `defer cancel()`: nothing left to stop, but release it
    got
}

/// Runs an endless pipeline, takes the first `k` values, then cancels. The sink's
/// receiver stays alive while the stages stop, so it is the context (not gorun's
/// "every receiver gone" rule) that ends them.
async fn first_k(k: usize) -> (Vec<u64>, Option<ContextError>) {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    let wg = WaitGroup::new();
    let out = build(&ctx, &wg, 1, None);
    let mut got = Vec::with_capacity(k);
    while got.len() < k {
        got.push(out.recv().await.expect("an endless pipeline"));
    }
    cancel.cancel();
    wg.wait().await; // every stage has returned
    drop(out);
    (got, ctx.err())
}

/// Waits (up to a second) for the live task count to fall to `n`, and returns it: a
/// task counts until it has returned, a moment after its `WaitGroup` guard drops.
async fn tasks_settle_to(n: usize) -> usize {
    for _ in 0..1000 {
        if gorun::num_tasks() <= n {
            break;
        }
        gorun::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    gorun::num_tasks()
}

/// The even squares among 1..=n, computed directly.
fn even_squares(n: u64) -> Vec<u64> {
    (1..=n).map(|v| v * v).filter(|v| v % 2 == 0).collect()
}

#[gorun::main]
async fn main() {
    let got = run_to_end(10).await;
    println!("even squares of 1..=10: {got:?}");
    assert_eq!(got, [4, 16, 36, 64, 100]);

    let got = run_to_end(100_000).await;
    assert_eq!(got, even_squares(100_000));
    println!("even squares of 1..=100000: {} values", got.len());

    let before = gorun::num_tasks();
    let (got, err) = first_k(5).await;
    println!("first 5 of an endless pipeline: {got:?}, then the context: {err:?}");
    assert_eq!(got, [4, 16, 36, 64, 100]);
    assert_eq!(err, Some(ContextError::Canceled));
    assert_eq!(
        tasks_settle_to(before).await,
        before,
        "a stage outlived the cancel"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 4)]
    async fn a_finite_pipeline_delivers_every_value_in_order() {
        assert_eq!(run_to_end(1_000).await, even_squares(1_000));
        assert_eq!(run_to_end(0).await, Vec::<u64>::new());
    }

    // The leak check of #[gorun::test] also fails this test if a stage survives.
    #[gorun::test(procs = 4)]
    async fn cancelling_stops_every_stage() {
        let before = gorun::num_tasks();
        let (got, err) = first_k(50).await;
        assert_eq!(got, even_squares(100));
        assert_eq!(err, Some(ContextError::Canceled));
        assert_eq!(tasks_settle_to(before).await, before);
    }

    #[gorun::test]
    async fn cancelling_first_stops_a_stage_blocked_on_send() {
        let (ctx, cancel) = context::with_cancel(&Context::background());
        let wg = WaitGroup::new();
        let out = generate(&ctx, &wg, 7, None);
        assert_eq!(out.recv().await, Some(7));
        // The generator is now blocked sending 8, which nobody will receive.
        cancel.cancel();
        wg.wait().await;
        assert_eq!(out.try_recv().ok(), None);
    }
}
