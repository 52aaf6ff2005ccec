//! What the HTTP examples share: the gorun hello/JSON server (`server.rs`) and a
//! small keep-alive client (`client.rs`). Included with `#[path]` by
//! `http_server`, `http_client` and `rate_limited_fetch`; each uses a part.
#![allow(dead_code)]

pub mod client;
pub mod server;

/// The error of the examples' HTTP calls.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
