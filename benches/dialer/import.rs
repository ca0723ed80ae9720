//! Importing the whole file, through `ai-dialer import` and through the HTTP API, against
//! the database's own bulk loader into the same schema: `psql \copy` on PostgreSQL and the
//! `sqlite3` shell's `.import` on SQLite. The loaders take the file as it is; ours also
//! parses, normalises and checks every row.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::{
    Engine, Env,
    server::Server,
    stats::{Figure, Samples, Target},
};

/// Runs `ai-dialer import` under `/usr/bin/time`; returns the wall time and peak RSS (MB).
fn cli_import(env: &Env, url: &str) -> (Duration, f64) {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(&env.bin)
        .args(["import", env.leads_csv.to_str().unwrap()])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "error")
        .output()
        .expect("/usr/bin/time (Debian package time) is needed");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kb: f64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0.0);
    (took, kb / 1024.0)
}

/// Posts the file to a fresh server; returns the request's time and the server's peak RSS.
async fn http_import(env: &Env, url: &str, body: bytes::Bytes) -> (Duration, f64) {
    let server = Server::start(&env.bin, url, &[]);
    let token = server.token(env, url);
    let client = reqwest::Client::new();
    let t = Instant::now();
    let res = client
        .post(format!("{}/api/leads/import", server.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "{}",
        res.text().await.unwrap_or_default()
    );
    let _report = res.bytes().await.unwrap();
    let took = t.elapsed();
    (took, server.memory_kb("VmHWM") as f64 / 1024.0)
}

/// The database's own loader, into the schema `ai-dialer migrate` made.
fn reference_import(env: &Env, engine: Engine, url: &str) -> Duration {
    let file = env.leads_csv.display().to_string();
    match engine {
        Engine::Postgres => {
            // The loader has no ids or clocks of its own; the columns get defaults instead.
            let prep = Command::new("psql")
                .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(
                    "ALTER TABLE leads ALTER id SET DEFAULT gen_random_uuid(), \
                      ALTER created_at SET DEFAULT 0, ALTER updated_at SET DEFAULT 0",
                )
                .status()
                .expect("psql is needed for the PostgreSQL reference");
            assert!(prep.success());
            let t = Instant::now();
            let ok = Command::new("psql")
                .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!(
                    "\\copy leads (company_name, contact_name, phone, email, timezone) FROM '{file}' WITH (FORMAT csv, HEADER)"
                ))
                .status()
                .unwrap();
            assert!(ok.success());
            t.elapsed()
        }
        Engine::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let script = format!(
                "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n\
                 CREATE TEMP TABLE raw (company, contact, phone, email, timezone);\n\
                 .import --csv --skip 1 {file} raw\n\
                 BEGIN;\n\
                 INSERT INTO leads (id, company_name, contact_name, phone, email, timezone, created_at, updated_at) \
                 SELECT randomblob(16), company, contact, phone, email, timezone, 0, 0 FROM raw;\n\
                 COMMIT;\n"
            );
            let t = Instant::now();
            let out = Command::new("sqlite3")
                .arg(path)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .and_then(|mut child| {
                    use std::io::Write;
                    child.stdin.take().unwrap().write_all(script.as_bytes())?;
                    child.wait()
                })
                .expect("the sqlite3 shell is needed for the SQLite reference");
            assert!(out.success());
            t.elapsed()
        }
    }
}

pub async fn figures(env: &Env, engine: Engine) -> bool {
    let (mut cli, mut http, mut reference) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cli_mb, mut http_mb) = (Vec::new(), Vec::new());
    let body = bytes::Bytes::from(std::fs::read(&env.leads_csv).unwrap());
    for run in 0..env.runs {
        let url = env.fresh_db(engine, &format!("import_ref_{run}")).await;
        env.run_cli(&url, &["migrate"]);
        reference.push(reference_import(env, engine, &url));

        let url = env.fresh_db(engine, &format!("import_cli_{run}")).await;
        env.run_cli(&url, &["migrate"]);
        let (t, mb) = cli_import(env, &url);
        cli.push(t);
        cli_mb.push(mb);

        let url = env.fresh_db(engine, &format!("import_http_{run}")).await;
        env.run_cli(&url, &["migrate"]);
        let (t, mb) = http_import(env, &url, body.clone()).await;
        http.push(t);
        http_mb.push(mb);
    }
    let loader = match engine {
        Engine::Postgres => "psql \\copy",
        Engine::Sqlite => "sqlite3 .import",
    };
    let reference = Samples::from_durations(&reference);
    let name = engine.name();
    let mut met = true;
    for (label, samples) in [
        ("ai-dialer import", Samples::from_durations(&cli)),
        ("POST /api/leads/import", Samples::from_durations(&http)),
    ] {
        met &= Figure {
            name: &format!("import {} rows: {label}", env.leads()),
            engine: name,
            unit: "ms",
            value: samples.median(),
            stat: "median",
            spread: samples.range(),
            reference: Some((loader, reference.median())),
            ratio_target: true,
            target: Target::AtMost(1.5),
        }
        .print();
    }
    for (label, mb) in [
        ("import peak RSS: ai-dialer import", Samples(cli_mb)),
        (
            "import peak RSS: server during the upload",
            Samples(http_mb),
        ),
    ] {
        met &= Figure {
            name: label,
            engine: name,
            unit: "MB",
            value: mb.percentile(100.0),
            stat: "max",
            spread: mb.range(),
            reference: None,
            ratio_target: false,
            target: Target::AtMost(200.0),
        }
        .print();
    }
    met
}
