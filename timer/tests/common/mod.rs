//! A tiny single-threaded harness with tokio's `start_paused` auto-advance: run every
//! task until all are idle, then jump the paused clock to the next deadline.

#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use futures::executor::{LocalPool, LocalSpawner};
use futures::task::LocalSpawnExt;
use gorun_timer::Driver;

/// Runs `f(spawner)` on a fresh paused driver, auto-advancing when all tasks idle.
pub fn run_paused<Fut: Future + 'static>(f: impl FnOnce(LocalSpawner) -> Fut) -> Fut::Output {
    let driver = Driver::new(Arc::new(|| {}));
    driver.pause();
    run_on(&driver, f)
}

/// Runs `f(spawner)` with `driver` entered; a paused driver auto-advances, a running
/// one is driven by sleeping until its next deadline.
pub fn run_on<Fut: Future + 'static>(
    driver: &Driver,
    f: impl FnOnce(LocalSpawner) -> Fut,
) -> Fut::Output {
    let _g = driver.enter();
    let mut pool = LocalPool::new();
    let out = Rc::new(RefCell::new(None));
    let o = out.clone();
    let fut = f(pool.spawner());
    pool.spawner()
        .spawn_local(async move { *o.borrow_mut() = Some(fut.await) })
        .unwrap();
    loop {
        pool.run_until_stalled();
        if let Some(v) = out.borrow_mut().take() {
            return v;
        }
        if driver.is_paused() {
            assert!(
                driver.advance_to_next(),
                "deadlock: every task idle, no timer armed"
            );
        } else {
            match driver.next_timeout() {
                Some(t) => std::thread::sleep(t),
                None => panic!("deadlock: every task idle, no timer armed"),
            }
            driver.process();
        }
    }
}
