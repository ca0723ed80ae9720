//! VAPI's messages at speed: end-of-call reports from a loopback load generator (each one
//! settles a lead, fills its call log and queues its email), and the overhead of a
//! tool call whose Cal.com answers at once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    Engine, Env, Setup,
    server::{Server, VAPI_SECRET},
    stats::{Figure, Samples, Target},
};

/// Reports per run, and requests in flight at once.
const REPORTS: usize = 20_000;
const CONCURRENCY: usize = 32;

/// Puts `n` waiting leads on a call, as a claim and a dial would; returns (lead, attempt,
/// VAPI call id) for each.
async fn calls_in_progress(engine: Engine, url: &str, n: usize) -> Vec<(Uuid, i64, String)> {
    let now = jiff::Timestamp::now().as_millisecond();
    let (new_id, call_id) = match engine {
        Engine::Sqlite => ("randomblob(16)", "'bench-' || hex(id)"),
        Engine::Postgres => ("gen_random_uuid()", "'bench-' || id::text"),
    };
    let claim = format!(
        "UPDATE leads SET status = 'calling', call_seq = call_seq + 1, call_attempts = 1, last_called_at = {now} \
         WHERE id IN (SELECT id FROM leads WHERE status IN ('pending', 'no_answer') LIMIT {n})"
    );
    let logs = format!(
        "INSERT INTO call_logs (id, lead_id, vapi_call_id, attempt, call_status, initiated_at, created_at, updated_at) \
         SELECT {new_id}, id, {call_id}, call_seq, 'in-progress', {now}, {now}, {now} FROM leads l \
         WHERE status = 'calling' AND NOT EXISTS (SELECT 1 FROM call_logs c WHERE c.lead_id = l.id AND c.attempt = l.call_seq)"
    );
    let slots = format!(
        "INSERT INTO dial_slots (lead_id, claim_id, claimed_at) SELECT id, id, {now} FROM leads l \
         WHERE status = 'calling' AND NOT EXISTS (SELECT 1 FROM dial_slots s WHERE s.lead_id = l.id)"
    );
    let list = "SELECT l.id, l.call_seq, c.vapi_call_id FROM leads l JOIN call_logs c ON c.lead_id = l.id AND c.attempt = l.call_seq WHERE l.status = 'calling'";
    let mut db = Setup::open(engine, url).await;
    for sql in [&claim, &logs, &slots] {
        db.exec(sql).await;
    }
    if engine == Engine::Postgres {
        db.exec("VACUUM ANALYZE leads").await;
        db.exec("VACUUM ANALYZE call_logs").await;
        // This setup writes hundreds of MB of WAL (20,000 leads through 15 indexes, the
        // vacuum), so with PostgreSQL's default max_wal_size a checkpoint now and then
        // started in the middle of a run, and the full-page writes after it halved that
        // run. Checkpointing here starts every run the same way: just after a checkpoint,
        // paying every first-touch full-page write (the dearer part of the cycle a
        // sustained load lives in).
        db.exec("CHECKPOINT").await;
    }
    db.rows(list).await
}

fn report(lead: Uuid, attempt: i64, call_id: &str) -> Value {
    json!({"message": {
        "type": "end-of-call-report", "endedReason": "customer-ended-call",
        "call": {"id": call_id, "type": "outboundPhoneCall", "status": "ended",
                 "assistantOverrides": {"metadata": {"lead_id": lead, "attempt": attempt}}},
        "startedAt": "2026-11-25T15:00:05.000Z", "endedAt": "2026-11-25T15:02:05.000Z", "cost": 0.12,
        "artifact": {"recordingUrl": "https://storage.example/rec.wav", "transcript": "AI: Hello\nUser: No thanks.\n", "messages": []},
        "analysis": {"summary": "Not interested.", "structuredData": {"outcome": "not_interested"}}
    }})
}

/// Sends every message from `CONCURRENCY` workers; returns the time it took, each
/// request's latency, and how many failed.
async fn blast(base: &str, messages: Vec<Value>) -> (Duration, Vec<Duration>, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let messages = Arc::new(messages);
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let url = format!("{base}/api/integrations/vapi");
    let t = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, messages, next, errors, url) = (
                client.clone(),
                messages.clone(),
                next.clone(),
                errors.clone(),
                url.clone(),
            );
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(m) = messages.get(i) else { break };
                    let body = serde_json::to_vec(m).unwrap();
                    let s = Instant::now();
                    let ok = client
                        .post(&url)
                        .header("x-vapi-secret", VAPI_SECRET)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    lat.push(s.elapsed());
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    (t.elapsed(), all, errors.load(Ordering::Relaxed))
}

/// A Cal.com that answers every slots request at once with the same few slots.
async fn instant_calcom() -> String {
    let app = Router::new().route(
        "/v2/slots",
        get(|| async {
            Json(json!({"status": "success", "data": {
                "2026-12-02": [{"start": "2026-12-02T09:00:00.000-05:00"}, {"start": "2026-12-02T14:00:00.000-05:00"}],
                "2026-12-03": [{"start": "2026-12-03T09:30:00.000-05:00"}]
            }}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

pub async fn figures(env: &Env, engine: Engine, url: &str) -> bool {
    let calcom = instant_calcom().await;
    let server = Server::start(
        &env.bin,
        url,
        &[
            ("CALCOM_API_KEY", "cal_bench".into()),
            ("CALCOM_EVENT_TYPE_ID", "1".into()),
            ("CALCOM_BASE_URL", calcom),
            ("DATABASE_MAX_CONNECTIONS", "16".into()),
        ],
    );
    let (mut rates, mut latencies, mut failed) = (Vec::new(), Vec::new(), 0);
    for _ in 0..env.runs {
        let calls = calls_in_progress(engine, url, REPORTS).await;
        assert!(
            calls.len() >= REPORTS,
            "too few waiting leads left for a run"
        );
        let messages: Vec<Value> = calls.iter().map(|(l, a, c)| report(*l, *a, c)).collect();
        let (took, lat, errors) = blast(&server.base, messages).await;
        rates.push(calls.len() as f64 / took.as_secs_f64());
        latencies.extend(lat);
        failed += errors;
    }
    let rates = Samples(rates);
    let latencies = Samples::from_durations(&latencies);
    let floor = match engine {
        Engine::Sqlite => 1_000.0,
        Engine::Postgres => 2_000.0,
    };
    let mut met = Figure {
        name: "end-of-call reports (32 in flight)",
        engine: engine.name(),
        unit: "/s",
        value: rates.median(),
        stat: "median",
        spread: rates.range(),
        reference: None,
        ratio_target: false,
        target: Target::AtLeast(floor),
    }
    .print();
    met &= Figure {
        name: "end-of-call report latency",
        engine: engine.name(),
        unit: "ms",
        value: latencies.percentile(99.0),
        stat: "p99",
        spread: latencies.range(),
        reference: None,
        ratio_target: false,
        target: Target::None,
    }
    .print();
    met &= Figure {
        name: "end-of-call reports that failed",
        engine: engine.name(),
        unit: "",
        value: failed as f64,
        stat: "count",
        spread: (failed as f64, failed as f64),
        reference: None,
        ratio_target: false,
        target: Target::AtMost(0.0),
    }
    .print();

    // Tool calls: one lead on a call asks for availability again and again.
    let (lead, attempt, call_id) = calls_in_progress(engine, url, 1).await[0].clone();
    let ask = json!({"message": {"type": "tool-calls",
        "call": {"id": call_id, "assistantOverrides": {"metadata": {"lead_id": lead, "attempt": attempt}}},
        "toolCallList": [{"id": "t1", "type": "function", "function": {"name": "check_availability", "arguments": {"timezone": "America/New_York"}}}]}});
    let client = reqwest::Client::new();
    let mut tool = Vec::new();
    for _ in 0..(500 * env.runs) {
        let t = Instant::now();
        let res = client
            .post(format!("{}/api/integrations/vapi", server.base))
            .header("x-vapi-secret", VAPI_SECRET)
            .json(&ask)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        tool.push(t.elapsed());
        assert!(body["results"][0]["result"].is_string(), "{body}");
    }
    let tool = Samples::from_durations(&tool);
    met &= Figure {
        name: "tool-calls webhook (Cal.com answers at once)",
        engine: engine.name(),
        unit: "ms",
        value: tool.percentile(99.0),
        stat: "p99",
        spread: tool.range(),
        reference: None,
        ratio_target: false,
        target: Target::AtMost(5.0),
    }
    .print();
    met
}
