//! sqlx and SQLite on gorun, through the `tokio-compat` layer: sqlx's
//! `runtime-tokio` calls tokio from inside (its pool spawns maintenance tasks with
//! `tokio::spawn` and times out acquires with `tokio::time`), so gorun starts its
//! small tokio runtime beside the scheduler and enters its handle on every gorun
//! thread. The store's own code is plain gorun: tasks, an `errgroup` with a limit.
//!
//! A small inventory store in a SQLite file in a temporary directory (WAL mode, a
//! pool of connections):
//!
//! - creates its table;
//! - inserts `N` rows from `N` gorun tasks, at most 32 at once (Go's
//!   `g.SetLimit`), through the pool;
//! - reads them back and checks every row;
//! - moves stock between two rows in a transaction, which other connections do not
//!   see until it commits;
//! - tries a move that would overdraw a row: the transaction has already changed
//!   one row when it finds out, rolls back, and leaves both rows as they were.
//!
//! - `cargo run --release -p gorun-ecosystem --example sqlite_store`
//! - `cargo test --release -p gorun-ecosystem --example sqlite_store`

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::errgroup::Group;
use gorun_ecosystem::Insufficient;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

/// Errors from the store: sqlx's, or a refused transfer.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// One row of the `items` table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    id: i64,
    name: String,
    qty: i64,
}

impl Item {
    /// The row the `i`th insert writes, so readers can check what they get.
    fn numbered(i: i64) -> Item {
        Item {
            id: i,
            name: format!("item-{i:04}"),
            qty: 10 + i % 7,
        }
    }
}

/// What a concurrent insert did.
#[derive(Debug)]
struct InsertReport {
    /// Rows the database said it inserted.
    inserted: usize,
    /// The most inserts in flight at once.
    peak: usize,
}

/// The inventory store: a pool of SQLite connections to one file.
struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating it if missing) the database file at `path`, with a pool of
    /// `max_connections`, and creates the table.
    async fn open(path: &Path, max_connections: u32) -> Result<Store, Error> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // WAL: readers do not block the writer, and see the last commit.
            .journal_mode(SqliteJournalMode::Wal)
            // Writers queue on SQLite's file lock for up to this long.
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS items (
                 id   INTEGER PRIMARY KEY,
                 name TEXT    NOT NULL,
                 qty  INTEGER NOT NULL
             )",
        )
        .execute(&pool)
        .await?;
        Ok(Store { pool })
    }

    /// Inserts `Item::numbered(0..n)`, one gorun task per row, at most `limit`
    /// at once, each through its own pooled connection.
    async fn insert_concurrently(&self, n: i64, limit: usize) -> Result<InsertReport, Error> {
        let group = Group::<Error>::new();
        group.set_limit(limit);
        let inserted = Arc::new(AtomicUsize::new(0));
        let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for i in 0..n {
            let (pool, inserted) = (self.pool.clone(), inserted.clone());
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            group
                .go(async move {
                    peak.fetch_max(in_flight.fetch_add(1, SeqCst) + 1, SeqCst);
                    let item = Item::numbered(i);
                    let r = sqlx::query("INSERT INTO items (id, name, qty) VALUES (?, ?, ?)")
                        .bind(item.id)
                        .bind(&item.name)
                        .bind(item.qty)
                        .execute(&pool)
                        .await;
                    in_flight.fetch_sub(1, SeqCst);
                    inserted.fetch_add(r?.rows_affected() as usize, SeqCst);
                    Ok(())
                })
                .await;
        }
        group.wait().await?;
        Ok(InsertReport {
            inserted: inserted.load(SeqCst),
            peak: peak.load(SeqCst),
        })
    }

    /// Every row, by id.
    async fn all(&self) -> Result<Vec<Item>, Error> {
        // Tuples, not `#[derive(FromRow)]`: sqlx is built without its macros.
        let rows: Vec<(i64, String, i64)> =
            sqlx::query_as("SELECT id, name, qty FROM items ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, qty)| Item { id, name, qty })
            .collect())
    }

    /// One row's stock.
    async fn qty(&self, id: i64) -> Result<i64, Error> {
        Ok(sqlx::query_scalar("SELECT qty FROM items WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Moves `qty` units from row `from` to row `to` in one transaction. The
    /// source is debited first; if that leaves it below zero the transaction
    /// rolls back (undoing the debit) and the error says so.
    async fn transfer(&self, from: i64, to: i64, qty: i64) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let left: i64 =
            sqlx::query_scalar("UPDATE items SET qty = qty - ? WHERE id = ? RETURNING qty")
                .bind(qty)
                .bind(from)
                .fetch_one(&mut *tx)
                .await?;
        if left < 0 {
            tx.rollback().await?;
            return Err(Insufficient {
                id: from,
                had: left + qty,
                wanted: qty,
            }
            .into());
        }
        sqlx::query("UPDATE items SET qty = qty + ? WHERE id = ?")
            .bind(qty)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes every pooled connection (each has a worker thread in sqlx-sqlite).
    async fn close(self) {
        self.pool.close().await;
    }
}

#[gorun::main(procs = 2)]
async fn main() -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("store.db");
    let store = Store::open(&path, 8).await?;
    println!("opened {} (WAL, a pool of 8 connections)", path.display());

    let (n, limit) = (500, 32);
    let start = Instant::now();
    let report = store.insert_concurrently(n, limit).await?;
    println!(
        "inserted {} rows from {n} gorun tasks (errgroup limit {limit}, at most {} in flight) in {:.1} ms",
        report.inserted,
        report.peak,
        start.elapsed().as_secs_f64() * 1e3
    );

    let rows = store.all().await?;
    let expected: Vec<Item> = (0..n).map(Item::numbered).collect();
    if rows != expected {
        return Err(format!("read back {} rows, not the {n} written", rows.len()).into());
    }
    println!(
        "read back {} rows, each as written (first {:?}, last {:?})",
        rows.len(),
        rows[0],
        rows[rows.len() - 1]
    );

    let (a, b) = (1, 2);
    let (qa, qb) = (store.qty(a).await?, store.qty(b).await?);
    store.transfer(a, b, 3).await?;
    println!(
        "transfer of 3 from item {a} to item {b} committed: {qa} -> {}, {qb} -> {}",
        store.qty(a).await?,
        store.qty(b).await?
    );
    let (qa, qb) = (store.qty(a).await?, store.qty(b).await?);
    match store.transfer(a, b, 1000).await {
        Err(e) => println!("transfer of 1000: {e}"),
        Ok(()) => return Err("a transfer of 1000 overdrew a row".into()),
    }
    if (store.qty(a).await?, store.qty(b).await?) != (qa, qb) {
        return Err("the rolled-back transfer changed the rows".into());
    }
    println!("after the rollback: item {a} still {qa}, item {b} still {qb}");
    store.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), 8).await.unwrap();
        (dir, store)
    }

    #[gorun::test(procs = 4)]
    async fn concurrent_inserts_all_land_and_read_back_as_written() {
        let (_dir, store) = open().await;
        let report = store.insert_concurrently(300, 16).await.unwrap();
        assert_eq!(report.inserted, 300);
        assert!(report.peak <= 16, "the errgroup limit held: {report:?}");
        assert!(report.peak > 1, "inserts overlapped: {report:?}");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(count, 300);
        let rows = store.all().await.unwrap();
        assert_eq!(rows, (0..300).map(Item::numbered).collect::<Vec<_>>());
        store.close().await;
    }

    #[gorun::test]
    async fn a_duplicate_insert_fails_the_group() {
        let (_dir, store) = open().await;
        store.insert_concurrently(10, 4).await.unwrap();
        // Re-inserting the same ids: the primary key refuses, errgroup reports it.
        let err = store.insert_concurrently(10, 4).await.unwrap_err();
        assert!(err.to_string().contains("UNIQUE"), "{err}");
        assert_eq!(store.all().await.unwrap().len(), 10);
        store.close().await;
    }

    #[gorun::test]
    async fn a_committed_transfer_moves_stock() {
        let (_dir, store) = open().await;
        store.insert_concurrently(3, 3).await.unwrap();
        let (a, b) = (store.qty(1).await.unwrap(), store.qty(2).await.unwrap());
        store.transfer(1, 2, 4).await.unwrap();
        assert_eq!(store.qty(1).await.unwrap(), a - 4);
        assert_eq!(store.qty(2).await.unwrap(), b + 4);
        let total: i64 = sqlx::query_scalar("SELECT SUM(qty) FROM items")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let before: i64 = (0..3).map(|i| Item::numbered(i).qty).sum();
        assert_eq!(total, before, "a transfer conserves stock");
        store.close().await;
    }

    #[gorun::test]
    async fn an_overdrawing_transfer_rolls_back_the_debit_it_made() {
        let (_dir, store) = open().await;
        store.insert_concurrently(3, 3).await.unwrap();
        let before = store.all().await.unwrap();
        let had = before[1].qty;
        let err = store.transfer(1, 2, had + 1).await.unwrap_err();
        let err = err.downcast::<Insufficient>().expect("refused, not failed");
        assert_eq!(
            *err,
            Insufficient {
                id: 1,
                had,
                wanted: had + 1
            }
        );
        assert_eq!(store.all().await.unwrap(), before, "nothing changed");
        store.close().await;
    }

    #[gorun::test]
    async fn uncommitted_writes_are_invisible_and_a_dropped_transaction_rolls_back() {
        let (_dir, store) = open().await;
        store.insert_concurrently(2, 2).await.unwrap();
        let q0 = store.qty(0).await.unwrap();

        let mut tx = store.pool.begin().await.unwrap();
        sqlx::query("UPDATE items SET qty = 999 WHERE id = 0")
            .execute(&mut *tx)
            .await
            .unwrap();
        let inside: i64 = sqlx::query_scalar("SELECT qty FROM items WHERE id = 0")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(inside, 999, "the transaction sees its own write");
        assert_eq!(
            store.qty(0).await.unwrap(),
            q0,
            "another connection does not see it before commit"
        );
        drop(tx); // No commit: sqlx rolls back when the connection returns to the pool.
        assert_eq!(store.qty(0).await.unwrap(), q0);

        let mut tx = store.pool.begin().await.unwrap();
        sqlx::query("UPDATE items SET qty = 999 WHERE id = 0")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.qty(0).await.unwrap(), 999, "visible once committed");
        store.close().await;
    }

    #[gorun::test]
    async fn the_compat_runtime_is_what_sqlx_runs_on() {
        // sqlx's tokio runtime needs a tokio handle: gorun's tokio-compat layer
        // enters one on every worker.
        assert!(tokio::runtime::Handle::try_current().is_ok());
        let (_dir, store) = open().await;
        store.close().await;
    }
}
