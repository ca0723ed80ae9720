//! Choosing and claiming the next 100 due leads with the whole file stored and one lead in
//! ten due, against the original's selection query on the same rows with its indexes.

use std::time::{Duration, Instant};

use ai_dialer::store::{ConnectOptions, Store, dialer::ClaimRequest};
use sqlx::Connection;

use crate::{
    Engine, Env, Setup,
    stats::{Figure, Samples, Target},
};

/// Far enough ahead that the leads given it are not due during the measurement.
const TOMORROW: i64 = 86_400_000;

async fn timed(engine: Engine, url: &str, sql: &str) -> Duration {
    let t;
    match engine {
        Engine::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            t = Instant::now();
            sqlx::query(sql).fetch_all(&mut c).await.unwrap();
        }
        Engine::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            t = Instant::now();
            sqlx::query(sql).fetch_all(&mut c).await.unwrap();
        }
    }
    t.elapsed()
}

/// Nine leads in ten are waiting for a retry tomorrow; the rest are due now.
async fn make_one_in_ten_due(engine: Engine, db: &mut Setup, now: i64) {
    let last_digit = match engine {
        Engine::Sqlite => "substr(phone, -1)",
        Engine::Postgres => "right(phone, 1)",
    };
    db.exec(&format!(
        "UPDATE leads SET status = 'no_answer', call_attempts = 1, last_called_at = {now} - 3600000, \
         next_call_at = {} WHERE {last_digit} <> '7'",
        now + TOMORROW
    ))
    .await;
    // The original's schema and indexes, holding the same rows.
    let id = match engine {
        Engine::Sqlite => "BLOB",
        Engine::Postgres => "UUID",
    };
    db.exec(&format!(
        "DROP TABLE IF EXISTS original_leads; \
         CREATE TABLE original_leads (id {id} PRIMARY KEY, company_name TEXT NOT NULL, contact_name TEXT NOT NULL, \
           phone TEXT NOT NULL, email TEXT NOT NULL, status TEXT DEFAULT 'pending', call_attempts INTEGER DEFAULT 0, \
           timezone TEXT, last_called_at BIGINT, cal_booking_uid TEXT UNIQUE, follow_up_email_sent BOOLEAN DEFAULT FALSE, \
           created_at BIGINT, updated_at BIGINT); \
         INSERT INTO original_leads SELECT id, company_name, contact_name, phone, email, status, call_attempts, timezone, \
           last_called_at, NULL, FALSE, created_at, updated_at FROM leads; \
         CREATE INDEX original_idx_status ON original_leads (status); \
         CREATE INDEX original_idx_last_called_at ON original_leads (last_called_at); \
         CREATE INDEX original_idx_cal_booking_uid ON original_leads (cal_booking_uid);"
    ))
    .await;
    let analyze: &[&str] = match engine {
        Engine::Sqlite => &["PRAGMA optimize"],
        Engine::Postgres => &["VACUUM ANALYZE leads", "VACUUM ANALYZE original_leads"],
    };
    for sql in analyze {
        db.exec(sql).await;
    }
}

pub async fn figures(env: &Env, engine: Engine, url: &str) -> bool {
    let now = jiff::Timestamp::now().as_millisecond();
    let mut db = Setup::open(engine, url).await;
    make_one_in_ten_due(engine, &mut db, now).await;
    let store = Store::connect(&ConnectOptions::new(url)).await.unwrap();
    let zones: Vec<String> = store.waiting_zones().await.unwrap();
    let iterations = 30 * env.runs;
    let mut claims = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        let claimed = store
            .claim_due(&ClaimRequest {
                now,
                cap: 100,
                max_attempts: 3,
                open_zones: &zones,
            })
            .await
            .unwrap();
        claims.push(t.elapsed());
        assert_eq!(claimed.len(), 100, "a hundred due leads claimed");
        // Hand them back for the next round (not measured).
        db.exec("DELETE FROM dial_slots").await;
        // Real calls free a slot every few seconds, not a hundred per millisecond; the
        // migration has autovacuum clean the table after 500 dead rows, as done here.
        if engine == Engine::Postgres && claims.len() % 5 == 0 {
            db.exec("VACUUM dial_slots").await;
        }
    }
    let original = format!(
        "SELECT * FROM original_leads WHERE status = 'pending' AND (last_called_at IS NULL OR last_called_at < {}) \
         AND call_attempts < 3 ORDER BY last_called_at ASC NULLS FIRST LIMIT 100",
        now - 15 * 60_000
    );
    let mut reference = Vec::new();
    for _ in 0..(5 * env.runs) {
        reference.push(timed(engine, url, &original).await);
    }
    store.close().await;
    let claims = Samples::from_durations(&claims);
    let reference = Samples::from_durations(&reference);
    Figure {
        name: &format!("claim the next 100 due ({} leads, 10% due)", env.leads()),
        engine: engine.name(),
        unit: "ms",
        value: claims.median(),
        stat: "median",
        spread: claims.range(),
        reference: Some(("original's selection", reference.median())),
        ratio_target: false,
        target: Target::AtMost(2.0),
    }
    .print()
}
