//! The database layer: one [`Store`] in front of SQLite (the embedded default) or PostgreSQL.
//!
//! Most statements are written once with `$N` placeholders, which both sqlx drivers accept,
//! and run through [`read!`]/[`write!`], which expand the same code for whichever engine is
//! active. Only the places where the engines genuinely differ (bulk import, and later the
//! dialer's claim) match on the engine by hand.

pub mod bulk;
pub mod call_logs;
pub mod changes;
pub mod dialer;
pub mod dnc;
pub mod import;
pub mod integration_ids;
pub mod lead_list;
pub mod leads;
pub mod outbox;
pub mod relay;
pub mod settings;
pub mod stats;
pub mod users;

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// Connection pools. SQLite allows one writer at a time, so writes go through a pool of one
/// connection (they queue in-process instead of failing with `database is locked`), while
/// reads use a separate pool that WAL lets run beside the writer.
#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// For connections of their own (imports stage rows on one).
        options: Box<SqliteConnectOptions>,
    },
    Postgres(PgPool),
}

/// The application's handle on its database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) pools: Pools,
    /// Bumped after writes; live dashboards watch it.
    pub changes: changes::Changes,
    /// The settings as last read, with the change counter they were read at.
    pub(crate) settings_cache: settings::SettingsCache,
}

/// Errors from the store, already sorted into the cases callers treat differently.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    /// A unique constraint refused the write; `what` names the column or constraint.
    #[error("conflicts with an existing record ({what})")]
    Conflict { what: String },
    /// The database could not be reached or the pool is exhausted: worth retrying later.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error")]
    Other(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                what: db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned()),
            },
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StoreError::Unavailable(err),
            // The server went away under an open connection: shut down (57P01–57P03) or a
            // connection fault (class 08). It is worth retrying, like a pool that cannot
            // connect.
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")) =>
            {
                StoreError::Unavailable(err)
            }
            _ => StoreError::Other(err),
        }
    }
}

impl StoreError {
    /// Whether this is a unique violation on something whose name contains `needle`
    /// (a column such as `phone`, or a constraint such as `leads_phone_key`).
    pub fn is_conflict_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Conflict { what } if what.contains(needle))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Runs `$body` with `$pool` bound to the engine's read pool.
macro_rules! read {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { read: $pool, .. } => $body,
            $crate::store::Pools::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the engine's write pool. With `notify Topic, ...;` it
/// also bumps those topics in the change feed once `$body` has succeeded.
macro_rules! write {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { write: $pool, .. } => $body,
            $crate::store::Pools::Postgres($pool) => $body,
        }
    };
    ($store:expr, notify $($topic:ident),+ ; $pool:ident => $body:expr) => {{
        let out = write!($store, $pool => $body);
        $( $store.changes.bump($crate::store::changes::Topic::$topic); )+
        out
    }};
}

pub(crate) use {read, write};

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    /// Upper bound on pooled connections (PostgreSQL) or reader connections (SQLite).
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Store {
    /// Opens the database named by the URL (`sqlite:` or `postgres:`/`postgresql:`).
    /// A SQLite file is created when missing.
    pub async fn connect(opts: &ConnectOptions) -> StoreResult<Store> {
        let url = opts.url.as_str();
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // sqlx checks a connection when it comes back to the pool; checking it again on
            // the way out would cost every query a round trip. A connection that died while
            // idle (the database restarted) fails one request with 503 and is discarded.
            // JIT compiling costs tens of milliseconds, and the planner asks for it whenever a
            // plan's cost looks high, as a walk of the sort order that stops after one page
            // does; none of our statements runs long enough to win it back.
            let connect = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .test_before_acquire(false)
                .connect_with(connect)
                .await?;
            return Ok(Store {
                pools: Pools::Postgres(pool),
                changes: changes::Changes::default(),
                settings_cache: Default::default(),
            });
        }
        let base = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(60))
            .connect_with(base.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(base.clone())
            .await?;
        Ok(Store {
            pools: Pools::Sqlite {
                read,
                write,
                options: Box::new(base),
            },
            changes: changes::Changes::default(),
            settings_cache: Default::default(),
        })
    }

    pub fn engine(&self) -> Engine {
        match self.pools {
            Pools::Sqlite { .. } => Engine::Sqlite,
            Pools::Postgres(_) => Engine::Postgres,
        }
    }

    /// How to open a transaction that reads before it writes. On SQLite it takes the write
    /// lock up front: a deferred transaction that has read cannot wait for the lock, and would
    /// fail with "database is locked" when another process wrote in between.
    pub(crate) fn begin_read_write(&self) -> &'static str {
        match self.engine() {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        }
    }

    /// Applies the embedded migrations for this engine; safe to run on every start.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Pools::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// A cheap round trip, used by `/readyz`.
    pub async fn ping(&self) -> StoreResult<()> {
        read!(self, pool => sqlx::query("SELECT 1").execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Closes every pooled connection (used on shutdown and by tests).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// A value bound to a dynamically built statement.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Bool(bool),
    Uuid(uuid::Uuid),
}

/// Binds every value in order; works for either engine's query type.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                $crate::store::Bind::Text(s) => q.bind(s.clone()),
                $crate::store::Bind::Int(i) => q.bind(*i),
                $crate::store::Bind::Bool(b) => q.bind(*b),
                $crate::store::Bind::Uuid(u) => q.bind(*u),
            };
        }
        q
    }};
}

pub(crate) use bind_all;

/// `$1, $2, ...` placeholders starting after `offset` bound values.
pub(crate) fn placeholders(offset: usize, count: usize) -> String {
    (offset + 1..=offset + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    fn names(dir: &str) -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    #[test]
    fn migration_folders_mirror_each_other() {
        let root = env!("CARGO_MANIFEST_DIR");
        let sqlite = names(&format!("{root}/migrations/sqlite"));
        let postgres = names(&format!("{root}/migrations/postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "every migration needs a twin for the other engine"
        );
    }

    #[test]
    fn placeholders_count_from_offset() {
        assert_eq!(super::placeholders(2, 3), "$3, $4, $5");
    }
}
