//! Starting `ai-dialer serve` for a measurement, and reading its memory.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

pub const ADMIN_EMAIL: &str = "bench@example.com";
pub const ADMIN_PASSWORD: &str = "bench-password-1";
pub const VAPI_SECRET: &str = "bench-webhook-secret";

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server on `database_url` with extra environment, and waits until it
    /// listens.
    pub fn start(bin: &std::path::Path, database_url: &str, env: &[(&str, String)]) -> Server {
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND", "127.0.0.1:0")
            .env("DIALER_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("DIALER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("VAPI_SECRET_KEY", VAPI_SECRET)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut base = String::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("AI Dialer is running at ") {
                base = rest.split_whitespace().next().unwrap().to_owned();
                break;
            }
        }
        // Keep reading what it prints, so a later line never meets a closed pipe.
        std::thread::spawn(move || for _ in lines {});
        assert!(!base.is_empty(), "the server did not start");
        Server { child, base }
    }

    /// A kilobyte figure from `/proc/<pid>/status` (`VmRSS`, `VmHWM`...).
    pub fn memory_kb(&self, field: &str) -> u64 {
        proc_kb(self.child.id(), field)
    }

    /// A bearer token for the admin.
    pub fn token(&self, env: &crate::Env, database_url: &str) -> String {
        env.run_cli(database_url, &["token", "create", "--email", ADMIN_EMAIL])
            .trim()
            .to_owned()
    }
}

fn proc_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}
