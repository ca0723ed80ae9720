//! The server's footprint on SQLite: memory at rest and the time from start to ready.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{
    Env,
    server::Server,
    stats::{Figure, Samples, Target},
};

/// Starts the server and polls `/readyz` until it answers 200; returns the time taken and
/// the server, still running.
async fn start_to_ready(env: &Env, url: &str, port: u16) -> (Duration, Server) {
    let client = reqwest::Client::new();
    let t = Instant::now();
    let server = Server {
        child: Command::new(&env.bin)
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("DIALER_ADMIN_PASSWORD", crate::server::ADMIN_PASSWORD)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        base: format!("http://127.0.0.1:{port}"),
    };
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            return (t.elapsed(), server);
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the server never became ready"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn figures(env: &Env) -> bool {
    let url = env.fresh_db(crate::Engine::Sqlite, "footprint").await;
    // The first start creates the database and the admin; the ones measured reopen it.
    drop(start_to_ready(env, &url, free_port()).await);
    let (mut starts, mut rss) = (Vec::new(), Vec::new());
    for _ in 0..(5 * env.runs) {
        let (took, server) = start_to_ready(env, &url, free_port()).await;
        starts.push(took);
        // At rest: after start-up, with no requests for a while.
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss.push(server.memory_kb("VmRSS") as f64 / 1024.0);
    }
    let starts = Samples::from_durations(&starts);
    let rss = Samples(rss);
    let mut met = Figure {
        name: "server start to ready",
        engine: "sqlite",
        unit: "ms",
        value: starts.median(),
        stat: "median",
        spread: starts.range(),
        reference: None,
        ratio_target: false,
        target: Target::AtMost(300.0),
    }
    .print();
    met &= Figure {
        name: "server idle RSS",
        engine: "sqlite",
        unit: "MB",
        value: rss.median(),
        stat: "median",
        spread: rss.range(),
        reference: None,
        ratio_target: false,
        target: Target::AtMost(30.0),
    }
    .print();
    met
}
