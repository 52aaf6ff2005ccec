//! What every benchmark shares: the worker count and the two runtimes, built the same
//! way so gorun and tokio are compared like for like.
#![allow(dead_code)] // each bench uses a subset

/// Workers per runtime: the machine's cores, at most 4.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// A gorun runtime with [`workers`] Ps.
pub fn gorun_rt() -> gorun::Runtime {
    gorun::Runtime::builder()
        .procs(workers())
        .build()
        .expect("gorun runtime")
}

/// A tokio multi-thread runtime with [`workers`] workers, timers and I/O enabled.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .expect("tokio runtime")
}
