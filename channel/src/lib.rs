//! gorun-channel: Go channels (hchan) for async Rust (see issue 3).
