//! A server's life around it: told to stop with SIGTERM while it is placing calls, and its
//! PostgreSQL database restarting under it.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::post};
use serde_json::{Value, json};

use crate::cli::bin;
use crate::helpers::{ADMIN_EMAIL, TestApp, in_ci};
use crate::pg_cluster::PgCluster;

/// A VAPI that takes its time to accept each call (and records the calls it accepted).
async fn slow_vapi(delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let seen = accepted.clone();
    let app = Router::new().route(
        "/call",
        post(move |Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                tokio::time::sleep(delay).await;
                let id = uuid::Uuid::new_v4().to_string();
                seen.lock().unwrap().push(id.clone());
                (
                    StatusCode::CREATED,
                    Json(json!({"id": id, "status": "queued", "assistantOverrides": body["assistantOverrides"]})),
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, accepted)
}

/// Starts `ai-dialer serve` and returns it with its address.
fn serve(database_url: &str, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut cmd = bin();
    cmd.arg("serve")
        .env("DATABASE_URL", database_url)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let startup = crate::cli::read_startup(&mut child);
    (child, startup.base)
}

/// SIGTERM while calls are being placed: the server takes no new work, lets the dials it
/// started finish and be recorded, and exits cleanly; nothing is left half-claimed.
async fn sigterm_finishes_the_calls_being_placed(app: TestApp) {
    let (vapi, accepted) = slow_vapi(Duration::from_millis(1500)).await;
    crate::dialer::enable(
        &app,
        json!({"max_calls_batch": 5, "call_window_start": "00:00", "call_window_end": "23:59",
        "call_days": "mon,tue,wed,thu,fri,sat,sun"}),
    )
    .await;
    let zone = crate::cluster::open_zone();
    for n in 0..12 {
        crate::dialer::lead_in(&app, n, &zone).await;
    }
    let (mut child, base) = serve(
        &app.database_url,
        &[
            ("VAPI_API_KEY", "k"),
            ("VAPI_ASSISTANT_ID", "a"),
            ("VAPI_PHONE_NUMBER_ID", "p"),
            ("VAPI_BASE_URL", &vapi),
            ("DIALER_TICK_SECONDS", "1"),
        ],
    );
    // Wait until its first claim is in flight (five leads calling, none accepted yet).
    let start = Instant::now();
    while app.get_json("/api/leads?status=calling").await["total"] != 5 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server never dialed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        accepted.lock().unwrap().is_empty(),
        "VAPI is still answering"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success(), "clean exit: {exited:?}");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer serving"
    );
    // The five dials in flight were placed and recorded; nothing else was claimed.
    assert_eq!(accepted.lock().unwrap().len(), 5);
    let calling = app.get_json("/api/leads?status=calling").await;
    assert_eq!(calling["total"], 5, "{calling}");
    for lead in calling["items"].as_array().unwrap() {
        let logs = app
            .get_json(&format!(
                "/api/call-logs?lead_id={}",
                lead["id"].as_str().unwrap()
            ))
            .await;
        assert!(
            logs["items"][0]["vapi_call_id"].is_string(),
            "each call placed is on record: {logs}"
        );
    }
    assert_eq!(app.get_json("/api/leads?status=pending").await["total"], 7);
}

crate::both_engines!(sigterm_finishes_the_calls_being_placed);

/// A PostgreSQL cluster of the test's own, which it may stop and start; removed after.
struct OwnCluster(PgCluster);

impl OwnCluster {
    /// Creates and starts a cluster, or `None` without the server binaries.
    fn start() -> Option<OwnCluster> {
        let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pg-restart-{}", uuid::Uuid::new_v4().simple()));
        let cluster = OwnCluster(PgCluster::init(data, PgCluster::free_port())?);
        cluster.0.pg_ctl("start", "").then_some(cluster)
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.0.pg_ctl("stop", "");
        let _ = std::fs::remove_dir_all(&self.0.data);
    }
}

/// The database goes away under a running server: requests get 503 while it is gone, and
/// everything works again once it is back, without restarting the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_503_while_the_database_is_down_and_recover() {
    let Some(cluster) = OwnCluster::start() else {
        assert!(
            !in_ci(),
            "CI=true but no PostgreSQL server binaries to start a cluster"
        );
        eprintln!("*** database restart test SKIPPED: no PostgreSQL server binaries ***");
        return;
    };
    let url = cluster.0.url();
    let (mut child, base) = serve(&url, &[("DIALER_ADMIN_PASSWORD", "admin-password-1")]);
    let out = bin()
        .args(["token", "create", "--email", ADMIN_EMAIL])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let get = |path: &str| http.get(format!("{base}{path}")).bearer_auth(&token).send();
    assert_eq!(get("/api/leads").await.unwrap().status(), StatusCode::OK);

    assert!(cluster.0.pg_ctl("stop", ""), "stopping PostgreSQL");
    for path in ["/api/leads", "/api/settings", "/api/status"] {
        let res = get(path).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{path}: {body}");
    }
    assert_eq!(
        get("/readyz").await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready"
    );
    assert_eq!(
        get("/healthz").await.unwrap().status(),
        StatusCode::OK,
        "alive"
    );

    assert!(cluster.0.pg_ctl("start", ""), "starting PostgreSQL again");
    let start = Instant::now();
    loop {
        let res = get("/api/leads").await.unwrap();
        if res.status() == StatusCode::OK {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "still {} after the database came back",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    let _ = child.kill();
    let _ = child.wait();
}
