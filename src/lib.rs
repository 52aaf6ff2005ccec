//! gorun: Go's concurrency model as a Rust async runtime.
