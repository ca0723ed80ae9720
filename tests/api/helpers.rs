//! Test harness: the real application on `127.0.0.1:0`, a fresh database per test on either
//! engine, and a cookie-keeping client signed in as an admin.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (a superuser URL; each test gets its own
//! database cloned from a migrated template), or else from a cluster the harness starts with
//! the installed server binaries under `target/tmp/pg` (left running for the next run). With
//! neither, PostgreSQL tests are skipped with a loud notice, except under `CI=true`, where
//! they fail.

use std::{path::PathBuf, sync::OnceLock};

use std::sync::{Arc, atomic::AtomicI64};

use ai_dialer::{
    app,
    config::{IntegrationSecrets, Secret},
    dialer::{DialerOptions, clock::Clock},
    integrations::vapi::VapiConfig,
    store::{ConnectOptions, Store},
};

use crate::fake_calcom::{self, FakeCalcom};
use crate::fake_resend::{self, FakeResend};
use crate::fake_vapi::{self, FakeVapi};
use crate::pg_cluster::PgCluster;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use tokio::sync::{OnceCell, oneshot};
use uuid::Uuid;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery";
pub const CRON_SECRET: &str = "cron-test-secret";
pub const HMAC_SECRET: &str = "hmac-test-secret";
pub const CALCOM_WEBHOOK_SECRET: &str = "calcom-webhook-secret";
/// Where the dialer's clock starts: Wednesday 2026-11-25 15:00 UTC, 10:00 in New York.
pub const START: &str = "2026-11-25T15:00:00Z";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database that disappears when the test ends.
enum TestDb {
    Sqlite(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { admin_url, name } => {
                let (url, name) = (admin_url.clone(), name.clone());
                // Drop runs outside any runtime we may block; use a small one of our own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        if let Ok(mut conn) = PgConnection::connect(&url).await {
                            let _ = conn
                                .execute(
                                    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
                                        .as_str(),
                                )
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

struct PgServer {
    admin_url: String,
    template: String,
}

static PG: OnceCell<Option<PgServer>> = OnceCell::const_new();

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let root = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

/// Starts (or reuses) a private cluster under `target/tmp/pg` with the installed binaries.
fn throwaway_cluster() -> Option<String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pg");
    let port_file = dir.join("port");
    let port = match std::fs::read_to_string(&port_file) {
        Ok(port) if dir.join("data").join("PG_VERSION").exists() => port.trim().parse().ok()?,
        _ => PgCluster::free_port(),
    };
    let cluster = PgCluster::init(dir.join("data"), port)?;
    std::fs::write(&port_file, port.to_string()).ok()?;
    if !cluster.pg_ctl("status", "") && !cluster.pg_ctl("start", "-c max_connections=300") {
        return None;
    }
    Some(cluster.url())
}

async fn pg_server() -> Option<&'static PgServer> {
    PG.get_or_init(|| async {
        let admin_url = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => match tokio::task::spawn_blocking(throwaway_cluster).await.ok().flatten() {
                Some(url) => url,
                None => {
                    assert!(!in_ci(), "CI=true but PostgreSQL is unavailable: set TEST_DATABASE_URL or install the server binaries");
                    eprintln!("\n*** PostgreSQL tests SKIPPED: no TEST_DATABASE_URL and no PostgreSQL server binaries found ***\n");
                    return None;
                }
            },
        };
        let template = format!("dialer_tmpl_{}", std::process::id());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL for tests: {e}"));
        drop_stale_templates(&mut admin).await;
        admin.execute(format!("DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)").as_str()).await.unwrap();
        admin.execute(format!("CREATE DATABASE \"{template}\"").as_str()).await.unwrap();
        admin.close().await.unwrap();
        let store = Store::connect(&ConnectOptions::new(with_database(&admin_url, &template))).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        Some(PgServer { admin_url, template })
    })
    .await
    .as_ref()
}

/// Removes templates left by earlier test processes that have exited.
async fn drop_stale_templates(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'dialer_tmpl_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let alive = name
            .strip_prefix("dialer_tmpl_")
            .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// A fresh, migrated database for one test, or `None` when PostgreSQL is unavailable.
async fn fresh_db(engine: Engine) -> Option<(TestDb, String)> {
    match engine {
        Engine::Sqlite => {
            let dir = std::env::temp_dir().join(format!("ai-dialer-test-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("sqlite://{}", dir.join("test.db").display());
            Some((TestDb::Sqlite(dir), url))
        }
        Engine::Postgres => {
            let server = pg_server().await?;
            let name = format!("dialer_test_{}", Uuid::new_v4().simple());
            let mut admin = PgConnection::connect(&server.admin_url).await.unwrap();
            // Concurrent clones of one template occasionally collide; a retry settles it.
            let sql = format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{}\"",
                server.template
            );
            let mut tries = 0;
            while let Err(e) = admin.execute(sql.as_str()).await {
                tries += 1;
                assert!(tries < 50, "creating test database: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50 * tries)).await;
            }
            admin.close().await.unwrap();
            let url = with_database(&server.admin_url, &name);
            Some((
                TestDb::Postgres {
                    admin_url: server.admin_url.clone(),
                    name,
                },
                url,
            ))
        }
    }
}

/// The running application under test.
pub struct TestApp {
    pub base: String,
    pub database_url: String,
    /// Signed in as the admin.
    pub client: Client,
    pub csrf: String,
    pub store: Store,
    /// The dialer's clock, in epoch milliseconds; tests move it.
    pub clock: Arc<AtomicI64>,
    pub vapi: FakeVapi,
    pub calcom: FakeCalcom,
    pub resend: FakeResend,
    pub state: ai_dialer::http::AppState,
    shutdown: Option<oneshot::Sender<()>>,
    // Declared last so the database outlives the server's connections.
    _db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var("TEST_LOG").is_ok() {
            ai_dialer::telemetry::init();
        }
    });
}

impl TestApp {
    /// Starts the app on `engine`; `None` only when PostgreSQL is unavailable outside CI.
    pub async fn spawn(engine: Engine) -> Option<TestApp> {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Starts the app with its build options changed by `adjust` first (e.g. a provider
    /// pointed somewhere else).
    pub async fn spawn_with(
        engine: Engine,
        adjust: impl FnOnce(&mut app::BuildOptions),
    ) -> Option<TestApp> {
        init_logging();
        let (db, url) = fresh_db(engine).await?;
        let store = Store::connect(&ConnectOptions::new(&url))
            .await
            .expect("connecting test database");
        store.migrate().await.expect("migrating test database");
        app::ensure_admin(&store, ADMIN_EMAIL, Some(ADMIN_PASSWORD))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let vapi = FakeVapi::start().await;
        let calcom = FakeCalcom::start().await;
        let resend = FakeResend::start().await;
        let clock = Arc::new(AtomicI64::new(
            START.parse::<jiff::Timestamp>().unwrap().as_millisecond(),
        ));
        let mut options = app::BuildOptions {
            public_url: None,
            vapi: Some(VapiConfig {
                base_url: vapi.base.clone(),
                api_key: Secret::new(fake_vapi::API_KEY),
                assistant_id: "assistant-test".into(),
                phone_number_id: "phone-test".into(),
                timeout: std::time::Duration::from_secs(2),
            }),
            calcom: Some(ai_dialer::integrations::calcom::CalcomConfig {
                base_url: calcom.base.clone(),
                api_key: Secret::new(fake_calcom::API_KEY),
                event_type_id: fake_calcom::EVENT_TYPE_ID,
                timeout: std::time::Duration::from_secs(2),
            }),
            resend: Some(ai_dialer::integrations::resend::ResendConfig {
                base_url: resend.base.clone(),
                api_key: Secret::new(fake_resend::API_KEY),
                from: "Acme Sales <sales@acme.example>".into(),
                timeout: std::time::Duration::from_secs(2),
            }),
            secrets: IntegrationSecrets {
                cron_secret: Some(Secret::new(CRON_SECRET)),
                vapi_secret: Some(Secret::new(fake_vapi::WEBHOOK_SECRET)),
                vapi_hmac_secret: Some(Secret::new(HMAC_SECRET)),
                calcom_webhook_secret: Some(Secret::new(CALCOM_WEBHOOK_SECRET)),
            },
            sandbox: None,
            clock: Clock::manual(clock.clone()),
            dialer: DialerOptions {
                booking_link: "https://cal.example/acme/intro".into(),
                ..DialerOptions::default()
            },
        };
        adjust(&mut options);
        let built = app::build(store.clone(), options);
        let state = built.state.clone();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(app::serve(listener, built.router, async {
            let _ = rx.await;
        }));
        let (client, csrf) = sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        Some(TestApp {
            base,
            database_url: url,
            client,
            csrf,
            store,
            clock,
            vapi,
            calcom,
            resend,
            state,
            shutdown: Some(tx),
            _db: db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_csv(&self, path: &str, csv: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url(path))
            .header("x-csrf-token", &self.csrf)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap()
    }

    /// Runs one dialer tick through `/api/cron` and returns its summary.
    pub async fn tick(&self) -> Value {
        let res = anonymous()
            .post(self.url("/api/cron"))
            .bearer_auth(CRON_SECRET)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Posts a VAPI server message the way VAPI does (legacy `x-vapi-secret` header).
    pub async fn vapi_webhook(&self, message: &Value) -> Response {
        anonymous()
            .post(self.url("/api/integrations/vapi"))
            .header("x-vapi-secret", fake_vapi::WEBHOOK_SECRET)
            .json(&serde_json::json!({"message": message}))
            .send()
            .await
            .unwrap()
    }

    /// Moves the dialer's clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.clock
            .fetch_add(by.as_millis() as i64, std::sync::atomic::Ordering::SeqCst);
    }

    /// A new API token for the admin.
    pub async fn token(&self) -> String {
        let res = self
            .post_json("/api/tokens", &serde_json::json!({"name": "test"}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Sends raw request bytes and returns the status code and everything the server sent
    /// back; for requests a well-behaved client cannot make (e.g. headers without the body).
    pub async fn raw_http(&self, request: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            let mut chunk = [0u8; 4096];
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    if len.is_some_and(|len| buf.len() >= head_end + 4 + len) {
                        break;
                    }
                }
            }
        });
        let _ = read.await;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }

    /// Creates a lead through the API and returns its JSON.
    pub async fn create_lead(
        &self,
        company: &str,
        contact: &str,
        phone: &str,
        email: &str,
    ) -> Value {
        let res = self
            .post_json("/api/leads", &serde_json::json!({
                "company_name": company, "contact_name": contact, "phone": phone, "email": email,
            }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "creating lead {company}");
        res.json().await.unwrap()
    }

    /// Creates a user through the API and returns a client signed in as them.
    pub async fn user_client(&self, email: &str, role: &str) -> (Client, String) {
        let password = "member-password-1";
        let res = self
            .post_json(
                "/api/users",
                &serde_json::json!({"email": email, "role": role, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        sign_in(&self.base, email, password).await
    }
}

/// A client with a cookie jar, signed in; returns it with the session's CSRF token.
pub async fn sign_in(base: &str, email: &str, password: &str) -> (Client, String) {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "signing in as {email}");
    let body: Value = res.json().await.unwrap();
    (client, body["csrf_token"].as_str().unwrap().to_owned())
}

/// A client with no session.
pub fn anonymous() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Asserts a response is our JSON error with `status` and `code`, returning the body.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    let got = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "unexpected status; body: {body}");
    assert_eq!(
        body["error"]["code"], code,
        "unexpected error code; body: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without message: {body}"
    );
    body
}

/// Declares each listed `async fn(TestApp)` as two tests, one per engine.
#[macro_export]
macro_rules! both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Engine::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Engine::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
