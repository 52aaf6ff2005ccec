//! tokio-postgres on gorun with no tokio runtime: the client speaks PostgreSQL's
//! protocol over a `gorun::net::TcpStream` (or `UnixStream`), which implements
//! tokio's `AsyncRead`/`AsyncWrite` under gorun's `tokio-io` feature. tokio-postgres
//! is built without its `runtime` feature, so it never spawns or times out on
//! tokio: `Config::connect_raw` takes our socket, and the `Connection` future that
//! drives it runs as a gorun task.
//!
//! The store (a table of its own per run, dropped at the end):
//!
//! - creates its table;
//! - prepares one `INSERT` and runs it from several gorun tasks sharing one client:
//!   their requests are pipelined on the one connection (sent without waiting
//!   for the answers to the others);
//! - selects the rows back and checks every one;
//! - moves stock between two rows in a transaction, invisible to a second
//!   connection until it commits; a move that would overdraw a row rolls back.
//!
//! The server comes from `GORUN_PG_URL` (libpq's `key=value` form or a
//! `postgres://` URL), by default `host=127.0.0.1 user=gorun password=gorun
//! dbname=gorun`. `ecosystem/scripts/start-postgres.sh` installs and starts one.
//!
//! - `cargo run --release -p gorun-ecosystem --example postgres_store` exits with
//!   status 2, saying how to start a server, if it cannot connect.
//! - `cargo test --release -p gorun-ecosystem --example postgres_store`: with
//!   `GORUN_PG_URL` set the tests must connect; unset, they are skipped (saying
//!   so on stderr) when nothing answers on the default address.
//! - `... --no-default-features` leaves gorun's `tokio-compat` off (the
//!   `sqlite_store` example turns it on), and the tests also check that no tokio
//!   runtime exists in the process.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::errgroup::Group;
use gorun::sync::Barrier;
use gorun_ecosystem::Insufficient;
use tokio_postgres::config::Host;
use tokio_postgres::{Client, Config, NoTls};

/// Errors from the store.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where the examples look for a server when `GORUN_PG_URL` is unset.
const DEFAULT_URL: &str = "host=127.0.0.1 user=gorun password=gorun dbname=gorun";

/// How long a socket connect, or the startup handshake after it, may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to run to get the server the examples expect.
const SETUP_HELP: &str = "\
Start a local PostgreSQL with the role and database the example expects
(Debian/Ubuntu, as root), or run ecosystem/scripts/start-postgres.sh, which
does the same:

    apt-get install -y postgresql
    pg_lsclusters                          # shows the installed version
    pg_ctlcluster <version> main start     # or: service postgresql start
    su postgres -c \"psql -c \\\"CREATE USER gorun WITH PASSWORD 'gorun'\\\"\"
    su postgres -c \"psql -c \\\"CREATE DATABASE gorun OWNER gorun\\\"\"

then run again (GORUN_PG_URL defaults to the address below):

    GORUN_PG_URL='host=127.0.0.1 user=gorun password=gorun dbname=gorun' \\
        cargo run --release -p gorun-ecosystem --example postgres_store";

/// The server's address from `GORUN_PG_URL`, and whether it was set.
fn pg_url() -> (String, bool) {
    match std::env::var("GORUN_PG_URL") {
        Ok(url) => (url, true),
        Err(_) => (DEFAULT_URL.to_string(), false),
    }
}

/// Why [`Db::connect`] failed.
#[derive(Debug)]
enum ConnectError {
    /// The settings do not parse.
    Config(tokio_postgres::Error),
    /// No server answered: every socket connect failed or timed out.
    Unreachable(String),
    /// A server answered and refused, or the handshake failed.
    Rejected(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Config(e) => write!(f, "bad connection settings: {e}"),
            ConnectError::Unreachable(e) => write!(f, "no server answers: {e}"),
            ConnectError::Rejected(e) => write!(f, "the server answered but: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// A client error with the server's own words, where it sent some (the `Display`
/// of `tokio_postgres::Error` says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// A gorun TCP connect, given up after [`CONNECT_TIMEOUT`], with `TCP_NODELAY`.
async fn tcp_connect<A: gorun::net::ToSocketAddrs>(
    addr: A,
) -> std::io::Result<gorun::net::TcpStream> {
    let s = gorun::time::timeout(CONNECT_TIMEOUT, gorun::net::TcpStream::connect(addr))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))?;
    // As tokio-postgres's own `connect`: small requests go out at once.
    s.set_nodelay(true)?;
    Ok(s)
}

/// One connection: the client, shareable between tasks, and the gorun task that
/// drives its socket (it ends when the client is dropped).
struct Db {
    client: Arc<Client>,
    conn: gorun::JoinHandle<()>,
}

impl Db {
    /// Connects over a gorun socket to the first host in `url` that answers.
    async fn connect(url: &str) -> Result<Db, ConnectError> {
        let config: Config = url.parse().map_err(ConnectError::Config)?;
        Db::connect_with(&config).await
    }

    /// Connects over a gorun socket to the first host in `config` that answers.
    async fn connect_with(config: &Config) -> Result<Db, ConnectError> {
        let port = |i: usize| match config.get_ports() {
            [] => 5432,
            [one] => *one,
            many => many.get(i).copied().unwrap_or(5432),
        };
        let (hosts, ips) = (config.get_hosts(), config.get_hostaddrs());
        let mut last = String::from("no host given");
        // As libpq: each host in turn (`hostaddr`, when given, is its IP).
        for i in 0..hosts.len().max(ips.len()) {
            let attempt = match (hosts.get(i), ips.get(i)) {
                (_, Some(ip)) => {
                    let s = tcp_connect((*ip, port(i))).await;
                    Self::handshake(config, s, format!("{ip}:{}", port(i))).await
                }
                (Some(Host::Tcp(name)), None) => {
                    let s = tcp_connect((name.as_str(), port(i))).await;
                    Self::handshake(config, s, format!("{name}:{}", port(i))).await
                }
                (Some(Host::Unix(dir)), None) => {
                    let path = dir.join(format!(".s.PGSQL.{}", port(i)));
                    let s = gorun::net::UnixStream::connect(&path).await;
                    Self::handshake(config, s, path.display().to_string()).await
                }
                (None, None) => unreachable!("i < max(hosts, hostaddrs)"),
            };
            match attempt {
                Err(ConnectError::Unreachable(e)) => last = e,
                done => return done,
            }
        }
        Err(ConnectError::Unreachable(last))
    }

    /// The startup handshake over a connected socket; spawns the connection task.
    async fn handshake<S>(
        config: &Config,
        socket: std::io::Result<S>,
        addr: String,
    ) -> Result<Db, ConnectError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let socket = socket.map_err(|e| ConnectError::Unreachable(format!("{addr}: {e}")))?;
        let (client, connection) =
            gorun::time::timeout(CONNECT_TIMEOUT, config.connect_raw(socket, NoTls))
                .await
                .map_err(|_| {
                    ConnectError::Rejected(format!("{addr}: no answer to the startup message"))
                })?
                .map_err(|e| ConnectError::Rejected(format!("{addr}: {}", describe(&e))))?;
        let conn = gorun::go(async move {
            if let Err(e) = connection.await {
                eprintln!("postgres connection: {e}");
            }
        });
        Ok(Db {
            client: Arc::new(client),
            conn,
        })
    }

    /// The client, for what needs it alone (a transaction): `None` while a task
    /// still holds a share.
    fn client_mut(&mut self) -> Option<&mut Client> {
        Arc::get_mut(&mut self.client)
    }

    /// Drops the client and waits for the connection task to finish (it sends
    /// PostgreSQL's Terminate message and closes the socket).
    async fn close(self) {
        drop(self.client);
        let _ = self.conn.await;
    }
}

/// One row of the store's table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    id: i32,
    name: String,
    qty: i64,
}

impl Item {
    /// The row the `i`th insert writes, so readers can check what they get.
    fn numbered(i: i32) -> Item {
        Item {
            id: i,
            name: format!("item-{i:04}"),
            qty: 10 + i64::from(i % 7),
        }
    }
}

/// What a concurrent insert did.
#[derive(Debug)]
struct InsertReport {
    /// Rows the server said it inserted.
    inserted: u64,
    /// The most `INSERT`s outstanding on the one connection at once.
    peak_in_flight: usize,
}

/// The store: a table of its own on one connection.
struct Store {
    db: Db,
    table: String,
}

impl Store {
    /// Creates a table named for this process and a counter, so concurrent tests
    /// and runs never share one.
    async fn create(db: Db) -> Result<Store, Error> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let table = format!(
            "gorun_items_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, SeqCst)
        );
        db.client
            .batch_execute(&format!(
                "CREATE TABLE {table} (id INT PRIMARY KEY, name TEXT NOT NULL, qty BIGINT NOT NULL)"
            ))
            .await?;
        Ok(Store { db, table })
    }

    /// Inserts `Item::numbered(0..n)` from `tasks` gorun tasks sharing the one
    /// client, through one prepared statement. The tasks start together (a
    /// barrier), so their requests overlap on the connection: pipelining.
    async fn insert_concurrently(&self, n: i32, tasks: usize) -> Result<InsertReport, Error> {
        let insert = self
            .db
            .client
            .prepare(&format!(
                "INSERT INTO {} (id, name, qty) VALUES ($1, $2, $3)",
                self.table
            ))
            .await?;
        let group = Group::<Error>::new();
        let start = Arc::new(Barrier::new(tasks));
        let inserted = Arc::new(AtomicUsize::new(0));
        let (in_flight, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        for t in 0..tasks {
            let (client, insert, start) = (self.db.client.clone(), insert.clone(), start.clone());
            let (inserted, in_flight, peak) = (inserted.clone(), in_flight.clone(), peak.clone());
            group
                .go(async move {
                    start.wait().await;
                    for id in (t as i32..n).step_by(tasks) {
                        let item = Item::numbered(id);
                        peak.fetch_max(in_flight.fetch_add(1, SeqCst) + 1, SeqCst);
                        let r = client
                            .execute(&insert, &[&item.id, &item.name, &item.qty])
                            .await;
                        in_flight.fetch_sub(1, SeqCst);
                        inserted.fetch_add(r? as usize, SeqCst);
                    }
                    Ok(())
                })
                .await;
        }
        group.wait().await?;
        Ok(InsertReport {
            inserted: inserted.load(SeqCst) as u64,
            peak_in_flight: peak.load(SeqCst),
        })
    }

    /// Every row, by id.
    async fn all(&self) -> Result<Vec<Item>, Error> {
        let rows = self
            .db
            .client
            .query(
                &format!("SELECT id, name, qty FROM {} ORDER BY id", self.table),
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Item {
                id: r.get(0),
                name: r.get(1),
                qty: r.get(2),
            })
            .collect())
    }

    /// One row's stock, read through `client` (this store's, or another
    /// connection's).
    async fn qty_via(&self, client: &Client, id: i32) -> Result<i64, Error> {
        let row = client
            .query_one(
                &format!("SELECT qty FROM {} WHERE id = $1", self.table),
                &[&id],
            )
            .await?;
        Ok(row.get(0))
    }

    /// One row's stock.
    async fn qty(&self, id: i32) -> Result<i64, Error> {
        self.qty_via(&self.db.client, id).await
    }

    /// Moves `qty` units from row `from` to row `to` in one transaction. The
    /// source is debited first; if that leaves it below zero the transaction
    /// rolls back (undoing the debit) and the error says so.
    async fn transfer(&mut self, from: i32, to: i32, qty: i64) -> Result<(), Error> {
        let table = self.table.clone();
        let client = self
            .db
            .client_mut()
            .ok_or("the client is shared with a running task")?;
        let tx = client.transaction().await?;
        let left: i64 = tx
            .query_one(
                &format!("UPDATE {table} SET qty = qty - $1 WHERE id = $2 RETURNING qty"),
                &[&qty, &from],
            )
            .await?
            .get(0);
        if left < 0 {
            tx.rollback().await?;
            return Err(Insufficient {
                id: from.into(),
                had: left + qty,
                wanted: qty,
            }
            .into());
        }
        tx.execute(
            &format!("UPDATE {table} SET qty = qty + $1 WHERE id = $2"),
            &[&qty, &to],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops the table and closes the connection.
    async fn drop_and_close(self) -> Result<(), Error> {
        let r = self
            .db
            .client
            .batch_execute(&format!("DROP TABLE {}", self.table))
            .await;
        self.db.close().await;
        Ok(r?)
    }
}

#[gorun::main(procs = 2)]
async fn main() -> Result<(), Error> {
    let (url, _) = pg_url();
    let db = match Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("postgres_store: cannot use PostgreSQL at `{url}`: {e}\n\n{SETUP_HELP}");
            std::process::exit(2);
        }
    };
    let version: String = db
        .client
        .query_one("SHOW server_version", &[])
        .await?
        .get(0);
    println!("connected over a gorun TcpStream to PostgreSQL {version}");
    println!(
        "tokio runtime in this task: {}",
        if tokio::runtime::Handle::try_current().is_ok() {
            "yes (gorun's tokio-compat is on: the sqlite example turns it on; \
             --no-default-features leaves it off), unused by tokio-postgres"
        } else {
            "none"
        }
    );
    let mut store = Store::create(db).await?;
    println!("created table {}", store.table);

    let (n, tasks) = (1000, 8);
    let start = Instant::now();
    let report = store.insert_concurrently(n, tasks).await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "inserted {} rows with one prepared statement from {tasks} gorun tasks sharing one client \
         in {:.1} ms ({:.0} inserts/s; up to {} requests pipelined at once)",
        report.inserted,
        secs * 1e3,
        f64::from(n) / secs,
        report.peak_in_flight
    );

    let rows = store.all().await?;
    if rows != (0..n).map(Item::numbered).collect::<Vec<_>>() {
        return Err(format!("read back {} rows, not the {n} written", rows.len()).into());
    }
    println!("selected {} rows back, each as written", rows.len());

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
    let table = store.table.clone();
    store.drop_and_close().await?;
    println!("dropped {table}, closed the connection");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A connection for a test, or `None` when the test is to be skipped: only if
    /// `GORUN_PG_URL` is unset and nothing answers on the default address. With
    /// `GORUN_PG_URL` set, failing to connect fails the test.
    async fn connect_or_skip(test: &str) -> Option<Db> {
        let (url, from_env) = pg_url();
        match Db::connect(&url).await {
            Ok(db) => Some(db),
            Err(ConnectError::Unreachable(e)) if !from_env => {
                // Straight to fd 2: the test harness captures `eprintln!` of a
                // passing test, and a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "postgres_store::tests::{test}: SKIPPED: GORUN_PG_URL is unset and no PostgreSQL \
                     answers at the default `{DEFAULT_URL}` ({e}). Run \
                     ecosystem/scripts/start-postgres.sh (as root) and set GORUN_PG_URL."
                );
                None
            }
            Err(e) => {
                panic!("cannot use PostgreSQL at `{url}` (GORUN_PG_URL set: {from_env}): {e}")
            }
        }
    }

    /// tokio-postgres ran without tokio: no runtime at all when nothing in the
    /// build turns gorun's `tokio-compat` on, and in any case no task on it.
    fn assert_no_tokio_runtime_used() {
        #[cfg(not(feature = "sqlite"))]
        assert!(
            tokio::runtime::Handle::try_current().is_err(),
            "a tokio runtime is entered, yet nothing turned tokio-compat on"
        );
        #[cfg(feature = "sqlite")]
        assert!(
            !matches!(gorun::tokio_compat::alive_tasks(), Some(n) if n > 0),
            "something spawned on the tokio-compat runtime"
        );
    }

    #[gorun::test(procs = 4)]
    async fn pipelined_inserts_from_many_tasks_read_back_as_written() {
        let Some(db) =
            connect_or_skip("pipelined_inserts_from_many_tasks_read_back_as_written").await
        else {
            return;
        };
        assert_no_tokio_runtime_used();
        let store = Store::create(db).await.unwrap();
        let report = store.insert_concurrently(400, 8).await.unwrap();
        assert_eq!(report.inserted, 400);
        assert!(
            report.peak_in_flight > 1,
            "requests from the tasks overlapped on the one connection: {report:?}"
        );
        let count: i64 = store
            .db
            .client
            .query_one(&format!("SELECT COUNT(*) FROM {}", store.table), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 400);
        assert_eq!(
            store.all().await.unwrap(),
            (0..400).map(Item::numbered).collect::<Vec<_>>()
        );
        assert_no_tokio_runtime_used();
        store.drop_and_close().await.unwrap();
    }

    #[gorun::test]
    async fn a_duplicate_insert_fails_the_group_and_the_connection_survives() {
        let Some(db) =
            connect_or_skip("a_duplicate_insert_fails_the_group_and_the_connection_survives").await
        else {
            return;
        };
        let store = Store::create(db).await.unwrap();
        store.insert_concurrently(20, 4).await.unwrap();
        let err = store.insert_concurrently(20, 4).await.unwrap_err();
        let code = err
            .downcast_ref::<tokio_postgres::Error>()
            .and_then(|e| e.code())
            .cloned();
        assert_eq!(
            code,
            Some(tokio_postgres::error::SqlState::UNIQUE_VIOLATION),
            "{err}"
        );
        assert_eq!(
            store.all().await.unwrap().len(),
            20,
            "the client still works"
        );
        store.drop_and_close().await.unwrap();
    }

    #[gorun::test]
    async fn transfers_commit_or_roll_back_whole() {
        let Some(db) = connect_or_skip("transfers_commit_or_roll_back_whole").await else {
            return;
        };
        let mut store = Store::create(db).await.unwrap();
        store.insert_concurrently(3, 3).await.unwrap();
        let before = store.all().await.unwrap();
        let total = |rows: &[Item]| rows.iter().map(|r| r.qty).sum::<i64>();

        store.transfer(1, 2, 4).await.unwrap();
        let after = store.all().await.unwrap();
        assert_eq!(
            (after[1].qty, after[2].qty),
            (before[1].qty - 4, before[2].qty + 4)
        );
        assert_eq!(total(&after), total(&before), "a transfer conserves stock");

        let had = after[1].qty;
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
        assert_eq!(
            store.all().await.unwrap(),
            after,
            "the debit it made was rolled back"
        );
        store.drop_and_close().await.unwrap();
    }

    #[gorun::test]
    async fn another_connection_sees_a_transaction_only_once_committed() {
        let Some(db) =
            connect_or_skip("another_connection_sees_a_transaction_only_once_committed").await
        else {
            return;
        };
        let (url, _) = pg_url();
        let other = Db::connect(&url).await.unwrap();
        let mut store = Store::create(db).await.unwrap();
        store.insert_concurrently(2, 2).await.unwrap();
        let q0 = store.qty(0).await.unwrap();
        let table = store.table.clone();

        {
            let client = store.db.client_mut().unwrap();
            let tx = client.transaction().await.unwrap();
            tx.execute(&format!("UPDATE {table} SET qty = 999 WHERE id = 0"), &[])
                .await
                .unwrap();
            let inside: i64 = tx
                .query_one(&format!("SELECT qty FROM {table} WHERE id = 0"), &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(inside, 999, "the transaction sees its own write");
            assert_eq!(
                store_qty(&other.client, &table, 0).await,
                q0,
                "another connection does not see it before commit"
            );
            // Dropped without commit: tokio-postgres sends ROLLBACK.
        }
        assert_eq!(store.qty(0).await.unwrap(), q0);
        assert_eq!(store_qty(&other.client, &table, 0).await, q0);

        {
            let client = store.db.client_mut().unwrap();
            let tx = client.transaction().await.unwrap();
            tx.execute(&format!("UPDATE {table} SET qty = 999 WHERE id = 0"), &[])
                .await
                .unwrap();
            assert_eq!(store_qty(&other.client, &table, 0).await, q0);
            tx.commit().await.unwrap();
        }
        assert_eq!(
            store_qty(&other.client, &table, 0).await,
            999,
            "visible once committed"
        );
        assert_eq!(store.qty_via(&other.client, 0).await.unwrap(), 999);
        other.close().await;
        store.drop_and_close().await.unwrap();
    }

    async fn store_qty(client: &Client, table: &str, id: i32) -> i64 {
        client
            .query_one(&format!("SELECT qty FROM {table} WHERE id = $1"), &[&id])
            .await
            .unwrap()
            .get(0)
    }

    #[gorun::test]
    async fn a_bad_password_is_rejected_not_skipped() {
        let Some(db) = connect_or_skip("a_bad_password_is_rejected_not_skipped").await else {
            return;
        };
        db.close().await;
        let (url, _) = pg_url();
        let mut config: Config = url.parse().unwrap();
        config.password("certainly-not-the-password");
        match Db::connect_with(&config).await {
            Err(ConnectError::Rejected(e)) => assert!(e.contains("password"), "{e}"),
            Err(e) => panic!("expected a rejection, got {e}"),
            Ok(db) => {
                // A server trusting local connections accepts any password.
                eprintln!("the server at `{url}` does not check passwords; nothing to assert");
                db.close().await;
            }
        }
    }
}
