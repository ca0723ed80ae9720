//! The `ai-dialer` binary: first start, migrate, users, tokens and imports.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
};

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_engines;
use crate::helpers::{TestApp, anonymous};

fn bin() -> Command {
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
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut email, mut password, mut base) = (String::new(), String::new(), String::new());
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(v) = line.trim().strip_prefix("email:") {
            email = v.trim().to_owned();
        } else if let Some(v) = line.trim().strip_prefix("password:") {
            password = v.trim().to_owned();
        } else if let Some(rest) = line.strip_prefix("AI Dialer is running at ") {
            base = rest.split_whitespace().next().unwrap().to_owned();
            break;
        }
    }
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
