//! gorun's macros: [`select!`], [`#[gorun::main]`](macro@main) and
//! [`#[gorun::test]`](macro@test). Use them through the `gorun` facade
//! (`gorun::select!`, `#[gorun::main]`, `#[gorun::test]`); they expand to paths
//! under `::gorun`.
//!
//! Layout: `select/parse.rs` (the grammar and its error messages),
//! `select/expand.rs` (the expansion, documented at its top), `entry.rs` (the
//! attributes).

use proc_macro::TokenStream;

mod entry;
mod select;

/// Go's `select` statement: waits on several channel operations (and, as an
/// escape hatch, any futures) and runs the handler of exactly one.
///
/// ```text
/// gorun::select! {
///     biased;                                  // optional, must come first
///     recv(rx) -> v => ...,                    // v: Option<T> (None: closed and drained)
///     send(tx, value) -> res => ...,           // res: Result<(), SendError<T>>
///     unsent(v) => ...,                        // optional: the value back, if not sent
///     pattern = future => ...,                 // any future (not atomic, see below)
///     recv(rx2) -> v, if cond => ...,          // a guard: false disables the case
///     default => ...,                          // runs if no case is ready
///     else => ...,                             // runs if no case is enabled (tokio)
/// }
/// ```
///
/// The `select!` is an expression (every handler gives the same type) and must
/// be used in async code. Handlers run in the enclosing function: `break`,
/// `continue`, `return` and `?` there act on the caller's loop and function, so
/// `loop { select! { .. } }` reads like Go's `for { select { .. } }`.
///
/// # Semantics
/// * **Evaluation.** Every channel, value, future and guard expression is
///   evaluated exactly once, in source order, when the `select!` is entered,
///   before anything blocks (Go's rule). A disabled case's expressions are still
///   evaluated.
/// * **Unsent values.** A `send` whose case did not happen (another arm won,
///   `default` did, or its guard was false) has not sent its value. Go copies the
///   value, so nothing is lost; in Rust the value was moved into the `select!`, so
///   it is dropped, unless the send arm is followed by `unsent(pattern) => handler`,
///   which runs with the value (before the winning arm's handler). So a value that
///   is not `Clone` can wait for the next round: `unsent(v) => pending = Some(v)`.
///   (The `gorun::Select` builder drops unsent values; `DynSelect::take_unsent` gives
///   them back.)
/// * **Choice.** If several cases are ready, one is chosen uniformly at random
///   (`biased;`: the first ready one in source order). If none is ready, the task
///   waits until one is; with `default`, it runs the default handler instead.
/// * **Atomicity.** Channel cases (`recv`, `send`) commit atomically: exactly one
///   of them takes effect, and a channel case not chosen neither consumes nor
///   delivers a message, even if the `select!` itself is cancelled (a value
///   already handed to a cancelled receive goes back to the channel). **Other
///   futures are not atomic**: they are polled, and dropped if not chosen, so use
///   `recv`/`send` rather than `v = rx.recv()`. A future case whose pattern does
///   not match its output is disabled and the select goes on with the others.
/// * **No case enabled.** When every case is disabled (its guard was false, or
///   it was a future whose pattern did not match), `else` runs: tokio's `else`,
///   so a loop over guarded arms can end. Without `else`, `default` runs if
///   there is one, and otherwise the select never completes, as Go's
///   `select {}`: `select! {}` does the same. A task blocked so shows as
///   `select (no cases)` in task dumps, as in Go's goroutine dump.
/// * **Cost.** The cases live in the task's own future: a `select!` allocates
///   nothing (up to 64 cases; more need one `Vec` per poll for the random order),
///   and any number of cases is accepted. The select future is `Send` when its
///   cases are.
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// let (tx, rx) = gorun::chan::<u32>(0);
/// let (quit_tx, quit_rx) = gorun::chan::<()>(0);
/// gorun::go(async move {
///     for i in 0..3 {
///         tx.send(i).await.unwrap();
///     }
///     quit_tx.send(()).await.unwrap();
/// });
/// let mut got = vec![];
/// loop {
///     gorun::select! {
///         recv(rx) -> v => got.push(v.unwrap()),
///         recv(quit_rx) -> _ => break,
///     }
/// }
/// assert_eq!(got, [0, 1, 2]);
/// # });
/// ```
///
/// A `send` case and a guard (Go's nil-channel idiom): the send is only enabled
/// while there is something to send, and a value not sent stays with the
/// caller's queue.
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// let (in_tx, in_rx) = gorun::chan::<u32>(4);
/// let (out_tx, out_rx) = gorun::chan::<u32>(1);
/// for i in 1..=3 {
///     in_tx.send(i).await.unwrap();
/// }
/// drop(in_tx);
/// let mut queue = std::collections::VecDeque::new();
/// let mut input_open = true;
/// let mut forwarded = 0;
/// while input_open || !queue.is_empty() {
///     let next = queue.front().copied().unwrap_or_default();
///     gorun::select! {
///         recv(in_rx) -> v, if input_open => match v {
///             Some(v) => queue.push_back(v),
///             None => input_open = false,
///         },
///         send(out_tx, next) -> res, if !queue.is_empty() => {
///             res.unwrap();
///             queue.pop_front();
///             forwarded += 1;
///             assert_eq!(out_rx.recv().await, Some(next));
///         }
///     }
/// }
/// assert_eq!(forwarded, 3);
/// # });
/// ```
///
/// A value that is not `Clone` waits for the next round with `unsent` (Go's
/// `for { select { case out <- v: v = next() ... } }`):
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// struct Job(u32); // not Clone
/// let (out_tx, out_rx) = gorun::chan::<Job>(0);
/// let (tick_tx, tick_rx) = gorun::chan::<()>(1);
/// tick_tx.send(()).await.unwrap(); // a tick wins the first round
/// let mut pending = Some(Job(1));
/// let consumer = gorun::go(async move { out_rx.recv().await.map(|j| j.0) });
/// while let Some(job) = pending.take() {
///     gorun::select! {
///         send(out_tx, job) -> res => res.unwrap(),
///         unsent(job) => pending = Some(job), // not sent this round: keep it
///         recv(tick_rx) -> _ => {}
///     }
/// }
/// assert_eq!(consumer.await.unwrap(), Some(1));
/// # });
/// ```
///
/// Any future, with `default` (here nothing is ready: the future is polled once
/// and dropped):
/// ```
/// # gorun::Runtime::builder().procs(1).build().unwrap().run(async {
/// let (_tx, rx) = gorun::chan::<u32>(1);
/// let r = gorun::select! {
///     recv(rx) -> v => v,
///     v = std::future::pending::<u32>() => Some(v),
///     default => None,
/// };
/// assert_eq!(r, None);
/// # });
/// ```
///
/// `else` ends a loop whose arms are all switched off (tokio's idiom):
/// ```
/// # gorun::Runtime::builder().procs(1).build().unwrap().run(async {
/// let (a_tx, a_rx) = gorun::chan::<u32>(1);
/// let (b_tx, b_rx) = gorun::chan::<u32>(1);
/// a_tx.send(1).await.unwrap();
/// b_tx.send(2).await.unwrap();
/// drop((a_tx, b_tx));
/// let (mut a_open, mut b_open, mut sum) = (true, true, 0);
/// loop {
///     gorun::select! {
///         recv(a_rx) -> v, if a_open => match v {
///             Some(v) => sum += v,
///             None => a_open = false,
///         },
///         recv(b_rx) -> v, if b_open => match v {
///             Some(v) => sum += v,
///             None => b_open = false,
///         },
///         else => break,
///     }
/// }
/// assert_eq!(sum, 3);
/// # });
/// ```
///
/// # Compile errors
/// Malformed input is rejected at the offending tokens with what to write
/// instead: a missing `-> pattern`, an unknown operation, a second `default` or
/// `else`, a
/// guard without a condition, `biased;` after an arm.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::select(input.into()).into()
}

/// Runs `async fn main` as a task on a new gorun runtime.
///
/// The body runs *on the scheduler*, like any task spawned with `gorun::go`,
/// not on a thread outside it (tokio's `#[tokio::main]` runs it in `block_on`
/// on the main thread, so every wake-up of main crosses threads: a ping-pong
/// between main and a task is about 100 times slower there than between two
/// tasks). The runtime shuts down when `main` returns.
///
/// Options, beside tokio's defaults (tokio's key names are accepted):
///
/// | option | gorun's default | `#[tokio::main]`'s |
/// |---|---|---|
/// | `flavor = "multi_thread"` or `"current_thread"` | `"multi_thread"` | `"multi_thread"` |
/// | `procs = N`, or `worker_threads = N` | `GOMAXPROCS`, else one per core | one per core |
/// | `watchdog = None` or `Some(duration)` | `Some(10 ms)`, reports on stderr | none |
///
/// With `flavor = "current_thread"` the body runs in `block_on` on the main
/// thread, which runs every task too (no worker threads; the body need not be
/// `Send`). `main` may
/// return anything that implements [`Termination`](std::process::Termination),
/// `Result<(), Box<dyn Error>>` included: it is reported on the runtime, with
/// the message and exit status `std` would give.
///
/// ```
/// #[gorun::main(procs = 2)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let (tx, rx) = gorun::chan::<u32>(0);
///     gorun::go(async move { tx.send(42).await.unwrap() });
///     assert_eq!(rx.recv().await, Some(42));
///     let n: u32 = "7".parse()?;
///     assert_eq!(n, 7);
///     Ok(())
/// }
/// ```
///
/// On a function not named `main`, it makes a plain blocking function that
/// starts a runtime, runs the body and returns its (`Send`) output.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on a fresh gorun runtime, with a goroutine-leak check
/// (Go's goleak, built in).
///
/// The body runs as a task on the scheduler. When it returns, the test waits a
/// short grace period (`gorun::__private::LEAK_GRACE`, 200 ms) for the tasks it
/// spawned to finish; if any are still alive, the test fails with a task dump
/// listing each leaked task's spawn location and what it waits on.
///
/// Options: those of [`macro@main`] (`flavor`, `procs` or `worker_threads`,
/// `watchdog`); `start_paused = true` (the clock starts paused and jumps to the
/// next timer whenever every task is idle, so timeouts take no real time);
/// `leak_check = false` (allow tasks to outlive the test). A test may return a
/// `Result`; an `Err` fails it.
///
/// The default flavor is `"multi_thread"`, where `#[tokio::test]`'s is
/// `"current_thread"`: a test runs on the scheduler it will run on in
/// production. `flavor = "current_thread"` gives tokio's default (the body on
/// the test's thread, need not be `Send`; tasks run only while it waits).
///
/// ```
/// #[gorun::test(procs = 2)]
/// async fn ping() {
///     let (tx, rx) = gorun::chan::<&str>(0);
///     let h = gorun::go(async move { tx.send("pong").await.unwrap() });
///     assert_eq!(rx.recv().await, Some("pong"));
///     h.await.unwrap();
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(entry::Kind::Test, args.into(), item.into()).into()
}
