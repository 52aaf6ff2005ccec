//! `yield_now`: Go's `runtime.Gosched`.

/// Yields the processor: the task goes to the back of its worker's run queue and
/// the others queued there run first (Go's `runtime.Gosched`).
///
/// ```
/// # let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// # rt.block_on(async {
/// for _ in 0..3 {
///     gorun_executor::yield_now().await;
/// }
/// # });
/// ```
pub async fn yield_now() {
    gorun_coop::yield_now().await
}
