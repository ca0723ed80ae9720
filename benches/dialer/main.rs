//! The benchmark harness: `scripts/bench` (or `cargo bench --bench dialer`) measures every
//! figure of BENCHMARKS.md on SQLite and PostgreSQL, several runs each, against references
//! measured in the same run, and prints one line per figure.
//!
//! Options (after `--`): `--rows N` (leads in the file, default 1,000,000), `--runs N`
//! (default 3), `--engines sqlite,postgres`, `--only import,claim,list,webhooks,footprint`.
//! PostgreSQL comes from `BENCH_DATABASE_URL` (a superuser URL; default
//! `postgres://dialer_ci:dialer_ci@127.0.0.1:5432/postgres`). These are measurements, not
//! tests: nothing here fails a build, but the process exits 1 when a target is missed.

mod claim;
mod data;
mod footprint;
mod import;
mod list;
mod server;
mod stats;
mod webhooks;

use std::{path::PathBuf, time::Instant};

/// Which database a figure is measured on: the library's own engine type.
pub use ai_dialer::store::Engine;

/// One connection to a benchmark database for setup statements (not measured).
pub enum Setup {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Setup {
    /// Connects, or the error (the database may not exist yet).
    pub async fn connect(engine: Engine, url: &str) -> Result<Setup, sqlx::Error> {
        use sqlx::Connection;
        Ok(match engine {
            Engine::Sqlite => Setup::Sqlite(sqlx::SqliteConnection::connect(url).await?),
            Engine::Postgres => Setup::Postgres(sqlx::PgConnection::connect(url).await?),
        })
    }

    pub async fn open(engine: Engine, url: &str) -> Setup {
        Setup::connect(engine, url).await.unwrap()
    }

    pub async fn exec(&mut self, sql: &str) {
        use sqlx::Executor;
        match self {
            Setup::Sqlite(c) => c.execute(sql).await.map(drop),
            Setup::Postgres(c) => c.execute(sql).await.map(drop),
        }
        .unwrap();
    }

    /// Every row `sql` answers.
    pub async fn rows<T>(&mut self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + Send
            + Unpin,
    {
        match self {
            Setup::Sqlite(c) => sqlx::query_as(sql).fetch_all(c).await,
            Setup::Postgres(c) => sqlx::query_as(sql).fetch_all(c).await,
        }
        .unwrap()
    }

    /// The single number `sql` answers.
    pub async fn number(&mut self, sql: &str) -> Result<i64, sqlx::Error> {
        match self {
            Setup::Sqlite(c) => sqlx::query_scalar(sql).fetch_one(c).await,
            Setup::Postgres(c) => sqlx::query_scalar(sql).fetch_one(c).await,
        }
    }
}

/// What every measurement needs.
pub struct Env {
    pub bin: PathBuf,
    pub work: PathBuf,
    pub pg_admin: String,
    pub rows: u64,
    pub runs: usize,
    pub leads_csv: PathBuf,
}

impl Env {
    /// The number of leads as figure names say it: "1M", "20k", "1500".
    pub fn leads(&self) -> String {
        match self.rows {
            n if n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
            n if n % 1_000 == 0 => format!("{}k", n / 1_000),
            n => n.to_string(),
        }
    }

    /// The URL of the database named `name`.
    fn db_url(&self, engine: Engine, name: &str) -> String {
        match engine {
            Engine::Sqlite => format!(
                "sqlite://{}",
                self.work.join(format!("{name}.db")).display()
            ),
            Engine::Postgres => {
                let (root, query) = match self.pg_admin.split_once('?') {
                    Some((r, q)) => (r, Some(q)),
                    None => (self.pg_admin.as_str(), None),
                };
                let root = &root[..root.rfind('/').unwrap()];
                match query {
                    Some(q) => format!("{root}/bench_{name}?{q}"),
                    None => format!("{root}/bench_{name}"),
                }
            }
        }
    }

    /// A database URL for a fresh, empty database named `name`.
    pub async fn fresh_db(&self, engine: Engine, name: &str) -> String {
        match engine {
            Engine::Sqlite => {
                let path = self.work.join(format!("{name}.db"));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Engine::Postgres => {
                let mut admin = Setup::connect(engine, &self.pg_admin)
                    .await
                    .expect("BENCH_DATABASE_URL must reach a PostgreSQL superuser");
                let db = format!("bench_{name}");
                admin
                    .exec(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
                    .await;
                admin.exec(&format!("CREATE DATABASE \"{db}\"")).await;
            }
        }
        self.db_url(engine, name)
    }

    /// The shared database of a previous run when `--reuse` asks for it and it holds this
    /// run's leads, at least half still waiting (migrated to this build; quicker, for
    /// comparing builds back to back); otherwise a fresh one with the file imported.
    async fn shared_db(&self, engine: Engine, reuse: bool) -> String {
        if reuse {
            let url = self.db_url(engine, "shared");
            // Connecting would create a missing SQLite file.
            let exists = engine == Engine::Postgres || self.work.join("shared.db").exists();
            let (stored, waiting) = match Setup::connect(engine, &url).await {
                Ok(mut db) if exists => (
                    db.number("SELECT COUNT(*) FROM leads").await.unwrap_or(0),
                    db.number(
                        "SELECT COUNT(*) FROM leads WHERE status IN ('pending', 'no_answer')",
                    )
                    .await
                    .unwrap_or(0),
                ),
                _ => (0, 0),
            };
            // The file's size (a few messy phones are refused), and enough waiting leads
            // left for the webhook runs, which settle 20,000 of them each.
            if stored as u64 >= self.rows * 9 / 10 && waiting >= stored / 2 {
                self.run_cli(&url, &["migrate"]);
                println!("reusing {url} (--reuse)");
                return url;
            }
        }
        let url = self.fresh_db(engine, "shared").await;
        self.run_cli(&url, &["migrate"]);
        self.run_cli(&url, &["import", self.leads_csv.to_str().unwrap()]);
        if engine == Engine::Postgres {
            // Autovacuum's first pass over a million fresh rows takes seconds of CPU; done
            // now, it does not land in the middle of a measurement.
            Setup::open(engine, &url).await.exec("VACUUM ANALYZE").await;
        }
        url
    }

    /// Runs `ai-dialer` with `args` on `database_url`; panics on failure.
    pub fn run_cli(&self, database_url: &str, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.bin)
            .args(args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ai-dialer {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows = arg(&args, "--rows").map_or(1_000_000, |v| v.parse().unwrap());
    let runs = arg(&args, "--runs").map_or(3, |v| v.parse().unwrap());
    let engines: Vec<Engine> = arg(&args, "--engines")
        .unwrap_or_else(|| "sqlite,postgres".into())
        .split(',')
        .map(|e| match e {
            "sqlite" => Engine::Sqlite,
            "postgres" => Engine::Postgres,
            other => panic!("unknown engine {other}"),
        })
        .collect();
    let only = arg(&args, "--only");
    let reuse = args.iter().any(|a| a == "--reuse");
    let wants = |part: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|p| p == part))
    };
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    std::fs::create_dir_all(&work).unwrap();
    let env = Env {
        bin: PathBuf::from(env!("CARGO_BIN_EXE_ai-dialer")),
        leads_csv: work.join(format!("leads-{rows}.csv")),
        work,
        pg_admin: std::env::var("BENCH_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://dialer_ci:dialer_ci@127.0.0.1:5432/postgres".into()),
        rows,
        runs,
    };
    println!(
        "AI Dialer benchmarks: {rows} leads, {runs} runs per figure, on {} ({} cores)",
        engines
            .iter()
            .map(|e| e.name())
            .collect::<Vec<_>>()
            .join(" and "),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if !env.leads_csv.exists() {
        let t = Instant::now();
        data::write_leads(&env.leads_csv, rows).unwrap();
        println!("wrote {} in {:.1?}", env.leads_csv.display(), t.elapsed());
    }
    let mut all_met = true;
    for &engine in &engines {
        if wants("import") {
            all_met &= import::figures(&env, engine).await;
        }
        // The remaining figures share one database holding the whole file.
        let needs_db = ["claim", "list", "webhooks"].iter().any(|p| wants(p));
        if needs_db {
            let url = env.shared_db(engine, reuse).await;
            if wants("claim") {
                all_met &= claim::figures(&env, engine, &url).await;
            }
            if wants("list") {
                all_met &= list::figures(&env, engine, &url).await;
            }
            if wants("webhooks") {
                all_met &= webhooks::figures(&env, engine, &url).await;
            }
        }
        if wants("footprint") && engine == Engine::Sqlite {
            all_met &= footprint::figures(&env).await;
        }
    }
    println!(
        "{}",
        if all_met {
            "every figure met its target"
        } else {
            "some figures MISSED their targets"
        }
    );
    std::process::exit(if all_met { 0 } else { 1 });
}
