//! The `ai-dialer` binary: first start, migrate, users, tokens and imports.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, anonymous};

pub(crate) fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ai-dialer"));
    for var in [
        "DATABASE_URL",
        "BIND",
        "DIALER_ADMIN_EMAIL",
        "DIALER_ADMIN_PASSWORD",
        "PUBLIC_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = bin()
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What `serve` printed before it started listening.
#[derive(Default)]
pub(crate) struct Startup {
    pub email: String,
    pub password: String,
    pub base: String,
    pub sandbox: bool,
}

/// Reads a starting server's standard output up to its "running at" line.
pub(crate) fn read_startup(child: &mut std::process::Child) -> Startup {
    let mut out = Startup::default();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(v) = line.trim().strip_prefix("email:") {
            out.email = v.trim().to_owned();
        } else if let Some(v) = line.trim().strip_prefix("password:") {
            out.password = v.trim().to_owned();
        } else if line.starts_with("Sandbox mode:") {
            out.sandbox = true;
        } else if let Some(rest) = line.strip_prefix("AI Dialer is running at ") {
            out.base = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
    out
}

/// GET `url` with `client` and parse the JSON answer.
async fn get_json(client: &reqwest::Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

async fn cli_manages_users_tokens_and_imports(app: TestApp) {
    let (ok, out, _) = run(&app, &["migrate"], None);
    assert!(ok && out.contains("up to date"), "{out}");

    let (ok, out, err) = run(
        &app,
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "member",
        ],
        Some("a-long-password\n"),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("created member ops@example.com") && !out.contains("password:"),
        "{out}"
    );
    let (ok, _, err) = run(
        &app,
        &["user", "create", "--email", "ops@example.com"],
        Some("a-long-password\n"),
    );
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(
        &app,
        &["user", "create", "--email", "short@example.com"],
        Some("short\n"),
    );
    assert!(!ok && err.contains("at least"), "{err}");
    let (ok, out, _) = run(
        &app,
        &["user", "create", "--email", "cron@example.com"],
        Some(""),
    );
    assert!(
        ok && out.contains("password: "),
        "an empty stdin gets a generated password: {out}"
    );
    let (_, out, _) = run(&app, &["user", "list"], None);
    assert!(
        out.contains("member\tops@example.com") && out.contains("admin\tadmin@example.com"),
        "{out}"
    );

    let (ok, out, _) = run(
        &app,
        &[
            "token",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "sync",
        ],
        None,
    );
    assert!(ok);
    let token = out.trim();
    let me: Value = anonymous()
        .get(app.url("/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ops@example.com");

    let dir = std::env::temp_dir().join(format!("ai-dialer-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("leads.csv");
    std::fs::write(
        &file,
        "Company,Contact,Phone,Email\nA,Ann,4155550101,a@a.com\nB,Bob,nope,b@b.com\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (ok, out, _) = run(&app, &["import", path, "--dry-run"], None);
    assert!(
        ok && out.contains("dry run: 1 imported") && out.contains("1 invalid"),
        "{out}"
    );
    assert_eq!(app.store.count_leads().await.unwrap(), 0);
    let (ok, out, _) = run(&app, &["import", path], None);
    assert!(ok && out.contains("1 imported"), "{out}");
    assert!(out.contains("line 3"), "invalid rows are listed: {out}");
    assert_eq!(app.store.count_leads().await.unwrap(), 1);
    let mut many = String::from("Company,Contact,Phone,Email,Timezone\n");
    for i in 0..30 {
        many.push_str(&format!(",,bad{i},bad,Nowhere/{i}\n"));
    }
    std::fs::write(&file, many).unwrap();
    let (ok, out, err) = run(&app, &["import", path], None);
    assert!(
        ok && out.contains("30 invalid rows") && out.contains("more problems"),
        "{out}{err}"
    );
    std::fs::write(&file, "name,phone\nA,1\n").unwrap();
    let (ok, _, err) = run(&app, &["import", path], None);
    assert!(!ok && err.contains("missing required column"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);

    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["user", "create", "--help"],
        &["import", "--help"],
        &["token", "create", "--help"],
    ] {
        let (ok, out, _) = run(&app, args, None);
        assert!(ok && out.contains("Usage"), "{args:?}: {out}");
    }
}

both_engines!(cli_manages_users_tokens_and_imports);

/// `ai-dialer` with no arguments in an empty directory: SQLite file, migrations, first admin.
#[tokio::test]
async fn first_start_creates_the_database_and_an_admin() {
    let dir = std::env::temp_dir().join(format!("ai-dialer-first-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = bin()
        .current_dir(&dir)
        .env("BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let Startup {
        email,
        password,
        base,
        ..
    } = read_startup(&mut child);
    assert_eq!(email, "admin@example.com");
    assert_eq!(password.len(), 20);
    assert!(
        dir.join("ai-dialer.db").exists(),
        "SQLite file in the working directory"
    );
    let res = anonymous()
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    child.kill().unwrap();
    child.wait().unwrap();

    // A second start finds the admin and prints no new password.
    let out = bin()
        .current_dir(&dir)
        .env("BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = out;
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    assert!(first.starts_with("AI Dialer is running"), "{first}");
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A time zone where it is inside 09:00–20:00 now and for the next five minutes, whatever the
/// day (calling days must then include every day).
pub(crate) fn open_zone_now() -> String {
    use ai_dialer::domain::window::{CallWindow, Weekdays};
    let every_day = Weekdays::parse("mon,tue,wed,thu,fri,sat,sun").unwrap();
    let window = CallWindow::new(
        jiff::civil::Time::constant(9, 0, 0, 0),
        jiff::civil::Time::constant(20, 0, 0, 0),
        every_day,
    )
    .unwrap();
    let now = jiff::Timestamp::now();
    let later = now + std::time::Duration::from_secs(300);
    ai_dialer::dialer::open_zones(&window, now.as_millisecond())
        .into_iter()
        .find(|z| window.next_open(later, &jiff::tz::TimeZone::get(z).unwrap()) == Some(later))
        .expect("some zone is inside 09:00–20:00")
}

/// `ai-dialer serve --sandbox`: a newcomer's whole loop, with no accounts: a lead is called,
/// books a meeting and gets the confirmation email, all through the real server and clients.
#[tokio::test]
async fn sandbox_mode_plays_the_whole_loop() {
    let dir = std::env::temp_dir().join(format!("ai-dialer-sandbox-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = bin()
        .args(["serve", "--sandbox"])
        .current_dir(&dir)
        .env("BIND", "127.0.0.1:0")
        .env("DIALER_TICK_SECONDS", "1")
        .env("SANDBOX_CALL_SECONDS", "1")
        .env("SANDBOX_OUTCOMES", "booked=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let Startup {
        password,
        base,
        sandbox: announced,
        ..
    } = read_startup(&mut child);
    assert!(announced, "sandbox mode is announced");
    let (client, csrf) = crate::helpers::sign_in(&base, "admin@example.com", &password).await;
    let status: Value = get_json(&client, format!("{base}/api/status")).await;
    assert_eq!(status["sandbox"], true);
    let home = client
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Sandbox mode"), "the page says so");

    let zone = open_zone_now();
    let res = client
        .patch(format!("{base}/api/settings"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"automation_enabled": true, "call_days": "mon,tue,wed,thu,fri,sat,sun"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let lead: Value = client
        .post(format!("{base}/api/leads"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"company_name": "Sandbox Co", "contact_name": "Sam Sand", "phone": "+1 415 555 2671", "email": "sam@sandbox.example", "timezone": zone}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = lead["id"].as_str().unwrap().to_owned();

    let mut seen = Vec::new();
    let mut emails = Value::Null;
    for _ in 0..120 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let lead: Value = get_json(&client, format!("{base}/api/leads/{id}")).await;
        let status = lead["status"].as_str().unwrap().to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        emails = get_json(&client, format!("{base}/api/sandbox/emails")).await;
        if status == "scheduled" && emails.as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        seen,
        ["pending", "calling", "scheduled"],
        "the lead was called and booked"
    );
    let email = &emails[0];
    assert_eq!(email["to"][0], "sam@sandbox.example");
    assert!(
        email["subject"]
            .as_str()
            .unwrap()
            .starts_with("Your call with us is booked for"),
        "{email}"
    );
}

#[test]
fn sandbox_refuses_real_keys() {
    let out = bin()
        .args(["serve", "--sandbox"])
        .env("DATABASE_URL", "sqlite::memory:")
        .env("BIND", "127.0.0.1:0")
        .env("VAPI_API_KEY", "real-looking-key")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unset VAPI_API_KEY"));
}

async fn vapi_publish_creates_then_updates(app: TestApp) {
    let env = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &app.database_url)
            .env("VAPI_API_KEY", crate::fake_vapi::API_KEY)
            .env("VAPI_BASE_URL", &app.vapi.base)
            .env("PUBLIC_URL", "https://dialer.example.com/")
            .env("VAPI_SECRET_KEY", "webhook-secret-123");
    };
    let mut cmd = bin();
    cmd.args(["vapi", "publish", "--dry-run"]);
    env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        plan["assistant"]["server"]["url"],
        "https://dialer.example.com/api/integrations/vapi"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("webhook-secret-123"),
        "a dry run hides the secret"
    );
    assert!(app.vapi.management().is_empty(), "a dry run calls nothing");

    let mut cmd = bin();
    cmd.args(["vapi", "publish"]);
    env(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = app.vapi.management();
    assert_eq!(
        created
            .iter()
            .map(|(m, p, _)| format!("{m} {p}"))
            .collect::<Vec<_>>(),
        ["POST /tool", "POST /tool", "POST /tool", "POST /assistant"]
    );
    let tool = &created[0].2;
    assert_eq!(tool["function"]["name"], "check_availability");
    assert_eq!(
        tool["server"]["url"],
        "https://dialer.example.com/api/integrations/vapi"
    );
    assert_eq!(
        tool["server"]["headers"]["x-vapi-secret"],
        "webhook-secret-123"
    );
    let assistant = &created[3].2;
    assert_eq!(assistant["model"]["toolIds"].as_array().unwrap().len(), 3);
    assert!(
        assistant["firstMessage"]
            .as_str()
            .unwrap()
            .contains("{{lead_contact_name}}")
    );
    assert_eq!(
        assistant["serverMessages"],
        json!(["status-update", "tool-calls", "end-of-call-report"])
    );
    let assistant_id = app
        .store
        .integration_id("vapi.assistant")
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("created assistant: {assistant_id}"))
    );

    // Publishing again updates the same resources.
    let mut cmd = bin();
    cmd.args(["vapi", "publish"]);
    env(&mut cmd);
    assert!(cmd.output().unwrap().status.success());
    let again = &app.vapi.management()[4..];
    assert!(
        again
            .iter()
            .all(|(m, _, body)| m == "PATCH" && body.get("type").is_none()),
        "{again:?}"
    );
    assert_eq!(again[3].1, format!("/assistant/{assistant_id}"));

    let out = bin()
        .args(["vapi", "publish"])
        .env("DATABASE_URL", &app.database_url)
        .env("VAPI_API_KEY", "k")
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("PUBLIC_URL"));
}

mod publish {
    use super::*;
    both_engines!(vapi_publish_creates_then_updates);
}
