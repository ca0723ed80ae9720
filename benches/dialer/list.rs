//! The leads page over HTTP with the whole file stored: the first page, each sort, status
//! filters and searches, each asked many times; deep pages are reported.

use std::time::{Duration, Instant};

use crate::{
    Engine, Env,
    server::Server,
    stats::{Figure, Samples, Target},
};

async fn latencies(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    queries: &[String],
    reps: usize,
) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..reps {
        for q in queries {
            let t = Instant::now();
            let res = client
                .get(format!("{base}/api/leads?{q}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{q}: {}", res.status());
            let _ = res.bytes().await.unwrap();
            out.push(t.elapsed());
        }
    }
    out
}

pub async fn figures(env: &Env, engine: Engine, url: &str) -> bool {
    let server = Server::start(&env.bin, url, &[]);
    let token = server.token(env, url);
    let client = reqwest::Client::new();
    let reps = 10 * env.runs;
    // Warm the caches the way a server in use has them.
    let _ = latencies(&client, &server.base, &token, &["".into()], 5).await;
    let columns = [
        "company_name",
        "contact_name",
        "phone",
        "email",
        "status",
        "timezone",
        "call_attempts",
        "last_called_at",
        "next_call_at",
        "created_at",
    ];
    let sorted: Vec<String> = columns
        .iter()
        .flat_map(|c| {
            [
                format!("sort={c}&order=asc"),
                format!("sort={c}&order=desc"),
            ]
        })
        .collect();
    let groups: Vec<(&str, Vec<String>, Target)> = vec![
        (
            "leads page: first page",
            vec!["".into(), "per_page=100".into()],
            Target::AtMost(50.0),
        ),
        (
            "leads page: sorted by any column",
            sorted,
            Target::AtMost(50.0),
        ),
        (
            "leads page: status filter",
            [
                "pending",
                "no_answer",
                "error",
                "calling",
                "pending,no_answer",
                "not_interested",
            ]
            .iter()
            .map(|s| format!("status={s}"))
            .collect(),
            Target::AtMost(50.0),
        ),
        (
            "leads page: search text",
            // A last name, a trade, a company, a mail domain, a mailbox, a phone fragment
            // typed with punctuation, and a miss.
            [
                "Mitchell",
                "Chiropractic",
                "Nguyen%20Bakery",
                "proton.me",
                "olivia.hall42",
                "(212)%20204",
                "zzzz",
            ]
            .iter()
            .map(|q| format!("q={q}"))
            .collect(),
            Target::AtMost(50.0),
        ),
        (
            "leads page: deep pages (middle and last)",
            vec![
                format!("per_page=100&page={}", env.rows / 200),
                format!("per_page=100&page={}", env.rows / 100),
                format!("per_page=100&page={}&sort=email&order=asc", env.rows / 200),
            ],
            Target::None,
        ),
    ];
    let mut met = true;
    for (name, queries, target) in groups {
        let samples = Samples::from_durations(
            &latencies(&client, &server.base, &token, &queries, reps).await,
        );
        met &= Figure {
            name,
            engine: engine.name(),
            unit: "ms",
            value: samples.percentile(95.0),
            stat: "p95",
            spread: samples.range(),
            reference: None,
            ratio_target: false,
            target,
        }
        .print();
    }
    met
}
