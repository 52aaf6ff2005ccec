//! gorun's ecosystem examples: programs that pull in heavy crates from the wider
//! async ecosystem (sqlx with SQLite, tokio-postgres), kept in their own package so
//! that only their own builds and tests pay for those dependencies; the core crates
//! (`gorun`, `gorun-executor`, ...) build and test without them.
//!
//! The crate holds only what the stores share ([`Insufficient`]); the work is in
//! `examples/` and `benches/`:
//!
//! - `sqlite_store`: sqlx and SQLite on gorun through the `tokio-compat` layer
//!   (sqlx's `runtime-tokio` calls tokio from inside).
//! - `postgres_store`: tokio-postgres over gorun's `TcpStream` through tokio's I/O
//!   traits only (the `tokio-io` feature), with no tokio runtime.
//! - `benches/postgres_qps.rs`: query round trips, gorun against tokio.
//!
//! See `ecosystem/README.md` for how to run them and what the database needs.

/// The stores' refused transfer: it would leave item `id` below zero, so nothing was
/// changed (the transaction was rolled back).
#[derive(Debug, PartialEq, Eq)]
pub struct Insufficient {
    /// The item transferred from.
    pub id: i64,
    /// Its stock before the transfer.
    pub had: i64,
    /// The quantity asked for.
    pub wanted: i64,
}

impl std::fmt::Display for Insufficient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "item {} has {} in stock, {} wanted: rolled back",
            self.id, self.had, self.wanted
        )
    }
}

impl std::error::Error for Insufficient {}
