//! Several `ai-dialer serve` processes on one PostgreSQL database share the dialing: every
//! lead is dialed exactly once, the concurrency cap holds across all of them, a process
//! killed mid-run loses nothing, and live updates reach dashboards on every server.

use std::{
    collections::HashMap,
    process::{Child, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use futures_util::StreamExt;
use rand::Rng;
use serde_json::{Value, json};

use crate::cli::bin;
use crate::helpers::{Engine, TestApp};

const API_KEY: &str = "cluster-vapi-key";
const SECRET: &str = "cluster-webhook-secret";
/// Leads per run (`CLUSTER_LEADS` overrides it when investigating).
fn leads() -> u32 {
    std::env::var("CLUSTER_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}
const CAP: usize = 50;

/// What the fake VAPI saw.
#[derive(Default)]
struct Seen {
    active: usize,
    max_active: usize,
    /// Calls created per lead id.
    created: HashMap<String, u32>,
    refused: u64,
}

/// A VAPI stand-in that answers slowly or not at all now and then, and plays each call out
/// through a webhook to one of the servers (another when that one is gone).
#[derive(Clone)]
struct SlowVapi {
    seen: Arc<Mutex<Seen>>,
    webhooks: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

async fn create_call(
    State(fake): State<SlowVapi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let (roll, pause) = {
        let mut rng = rand::thread_rng();
        (rng.gen_range(0..100u32), rng.gen_range(0..30u64))
    };
    // 3% fail outright, 2% are rate limited, 5% answer after a second or so.
    if roll < 3 {
        fake.seen.lock().unwrap().refused += 1;
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"message": "system failure", "statusCode": 500})),
        )
            .into_response();
    }
    if roll < 5 {
        fake.seen.lock().unwrap().refused += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            Json(json!({"message": "rate limited", "statusCode": 429})),
        )
            .into_response();
    }
    let slow = if roll < 10 { 1_000 + 10 * pause } else { pause };
    tokio::time::sleep(Duration::from_millis(slow)).await;
    let meta = &body["assistantOverrides"]["metadata"];
    let lead = meta["lead_id"].as_str().unwrap_or_default().to_owned();
    let id = uuid::Uuid::new_v4().to_string();
    {
        let mut seen = fake.seen.lock().unwrap();
        seen.active += 1;
        seen.max_active = seen.max_active.max(seen.active);
        *seen.created.entry(lead).or_default() += 1;
    }
    let call = json!({
        "id": id, "orgId": "org", "type": "outboundPhoneCall", "status": "queued",
        "assistantId": body["assistantId"], "phoneNumberId": body["phoneNumberId"],
        "customer": body["customer"], "assistantOverrides": body["assistantOverrides"],
    });
    tokio::spawn(play_out(fake, call.clone()));
    (StatusCode::CREATED, Json(call)).into_response()
}

/// Rings for a moment, then reports the end of the call.
async fn play_out(fake: SlowVapi, call: Value) {
    let (length, answered) = {
        let mut rng = rand::thread_rng();
        (rng.gen_range(10..40u64), rng.gen_bool(0.7))
    };
    tokio::time::sleep(Duration::from_millis(length)).await;
    // The slot is free from VAPI's side before the report is sent, so a claim that follows
    // the report can never find VAPI still counting this call.
    fake.seen.lock().unwrap().active -= 1;
    let (reason, outcome) = if answered {
        ("customer-ended-call", json!({"outcome": "not_interested"}))
    } else {
        ("customer-did-not-answer", json!({}))
    };
    let message = json!({"message": {"type": "end-of-call-report", "endedReason": reason, "call": call,
        "artifact": {}, "analysis": {"structuredData": outcome}}});
    for round in 0..200 {
        let targets = fake.webhooks.lock().unwrap().clone();
        if targets.is_empty() {
            // The servers are still being started; their addresses are not known yet.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let url = &targets[(round + length as usize) % targets.len()];
        let sent = fake
            .http
            .post(url)
            .header("x-vapi-secret", SECRET)
            .json(&message)
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no server took the end-of-call report");
}

impl SlowVapi {
    async fn start() -> (SlowVapi, String) {
        let fake = SlowVapi {
            seen: Arc::default(),
            webhooks: Arc::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        };
        let app = Router::new()
            .route("/call", post(create_call))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, base)
    }
}

/// A zone whose local time is mid-morning to late afternoon now, so calls may be placed
/// whenever the test runs.
pub(crate) fn open_zone() -> String {
    let hour = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .hour();
    // Etc/GMT-N is N hours east of UTC (the sign is inverted by convention).
    let east = (13 - i32::from(hour)).rem_euclid(24);
    let east = if east > 12 { east - 24 } else { east };
    match east {
        0 => "Etc/UTC".into(),
        e if e > 0 => format!("Etc/GMT-{e}"),
        e => format!("Etc/GMT+{}", -e),
    }
}

/// One `ai-dialer serve` process.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(database_url: &str, vapi: &str) -> Server {
    let mut child = bin()
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("DATABASE_MAX_CONNECTIONS", "8")
        .env("BIND", "127.0.0.1:0")
        .env("VAPI_API_KEY", API_KEY)
        .env("VAPI_ASSISTANT_ID", "assistant-cluster")
        .env("VAPI_PHONE_NUMBER_ID", "phone-cluster")
        .env("VAPI_BASE_URL", vapi)
        .env("VAPI_SECRET_KEY", SECRET)
        .env("DIALER_TICK_SECONDS", "1")
        .env("DIALER_DIAL_GRACE_SECONDS", "5")
        .env("DIALER_RETRY_SECONDS", "1")
        .env(
            "RUST_LOG",
            std::env::var("CLUSTER_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("CLUSTER_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap();
    let base = crate::cli::read_startup(&mut child).base;
    assert!(!base.is_empty(), "the server did not start");
    Server { child, base }
}

/// Seeds the leads and the settings: every lead due now, one attempt each, cap 50.
async fn seed(app: &TestApp) {
    let zone = open_zone();
    let mut csv = String::from("company,contact,phone,email,timezone\n");
    for i in 0..leads() {
        csv.push_str(&format!(
            "Firm {i},Person {i},+1415{:07},p{i}@firm.example,{zone}\n",
            3_000_000 + i
        ));
    }
    let res = app.post_csv("/api/leads/import", csv).await;
    assert_eq!(res.status(), StatusCode::OK);
    crate::dialer::enable(
        app,
        json!({"max_calls_batch": CAP, "max_attempts": 1,
               "call_window_start": "00:00", "call_window_end": "23:59",
               "call_days": "mon,tue,wed,thu,fri,sat,sun"}),
    )
    .await;
}

/// Waits until no lead is waiting or on a call; returns how long it took.
async fn wait_until_done(app: &TestApp, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        // With one attempt each, a lead left in no_answer has none left: it is done.
        let waiting = app
            .get_json("/api/leads?status=pending,calling&per_page=10")
            .await["total"]
            .as_i64()
            .unwrap();
        if waiting == 0 {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{waiting} leads still waiting or calling after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Checks the run: each lead called once, the cap never passed, nothing left behind.
async fn check_run(app: &TestApp, fake: &SlowVapi) {
    let dialed = {
        let seen = fake.seen.lock().unwrap();
        assert!(
            seen.max_active <= CAP,
            "{} calls at once, over the cap of {CAP}",
            seen.max_active
        );
        assert!(seen.refused > 0, "the fake refused some dials");
        let twice: Vec<_> = seen.created.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "dialed more than once: {:?}",
            &twice[..twice.len().min(5)]
        );
        seen.created.len() as i64
    };
    // A lead VAPI refused five times in a row is set aside in `error`, never dialed.
    let errors = app.get_json("/api/leads?status=error").await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(
        dialed + errors,
        i64::from(leads()),
        "every lead was dialed or set aside"
    );
    let total = app.get_json("/api/leads").await["total"].as_i64().unwrap();
    assert_eq!(total, i64::from(leads()), "no lead lost");
    let calling = app.get_json("/api/leads?status=calling").await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(calling, 0, "none left in calling");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_dial_every_lead_once_under_one_cap() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    seed(&app).await;
    let (fake, vapi) = SlowVapi::start().await;
    let servers: Vec<Server> = (0..3)
        .map(|_| start_server(&app.database_url, &vapi))
        .collect();
    *fake.webhooks.lock().unwrap() = servers
        .iter()
        .map(|s| format!("{}/api/integrations/vapi", s.base))
        .collect();
    let took = wait_until_done(&app, Duration::from_secs(900)).await;
    eprintln!("three servers dialed {} leads in {took:?}", leads());
    check_run(&app, &fake).await;

    // A change made through one server reaches a dashboard connected to another.
    let token = app.token().await;
    let http = reqwest::Client::new();
    let mut events = http
        .get(format!("{}/api/events", servers[0].base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes_stream();
    // Skip what the stream says on connecting, then change a lead through server 2.
    let _ = tokio::time::timeout(Duration::from_millis(500), events.next()).await;
    let lead = app.get_json("/api/leads?per_page=10").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = http
        .patch(format!("{}/api/leads/{lead}", servers[1].base))
        .bearer_auth(&token)
        .json(&json!({"contact_name": "Changed On Server Two"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        let mut text = String::new();
        while let Some(Ok(chunk)) = events.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: leads") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        got,
        Ok(true),
        "server 1's dashboard heard of server 2's change"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_run_loses_and_doubles_nothing() {
    let Some(app) = TestApp::spawn(Engine::Postgres).await else {
        return;
    };
    seed(&app).await;
    let (fake, vapi) = SlowVapi::start().await;
    let mut servers: Vec<Server> = (0..3)
        .map(|_| start_server(&app.database_url, &vapi))
        .collect();
    *fake.webhooks.lock().unwrap() = servers
        .iter()
        .map(|s| format!("{}/api/integrations/vapi", s.base))
        .collect();
    // Let the run get going, then kill one server without warning.
    let start = Instant::now();
    loop {
        let dialed = fake.seen.lock().unwrap().created.len();
        if dialed > leads() as usize / 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "only {dialed} leads dialed after 5 minutes; the run never got going"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut victim = servers.remove(1);
    victim.child.kill().unwrap(); // SIGKILL
    victim.child.wait().unwrap();
    *fake.webhooks.lock().unwrap() = servers
        .iter()
        .map(|s| format!("{}/api/integrations/vapi", s.base))
        .collect();
    let took = wait_until_done(&app, Duration::from_secs(900)).await;
    eprintln!("two surviving servers finished in {took:?}");
    check_run(&app, &fake).await;
}
