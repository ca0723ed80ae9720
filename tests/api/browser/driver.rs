//! The one chromedriver process per test binary, and the cap on concurrent browser sessions.
//!
//! chromedriver runs in its own process group under a tiny `sh` guard whose stdin is a pipe
//! from this process. When the test binary exits for any reason (even SIGKILL), the kernel
//! closes the pipe, the guard reads EOF and sends SIGTERM to the whole group: chromedriver and
//! every Chromium it started. Killing chromedriver alone would orphan the browsers.

use std::{
    fs::File,
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// The browser binary sessions are started with.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Browsers running at once; more would starve the server under test on a 2-core machine.
/// A test must therefore hold at most one `Browser`, or two tests could deadlock.
const MAX_SESSIONS: usize = 2;

/// How long chromedriver may take to answer `/status` before a start attempt is abandoned.
const STARTUP: Duration = Duration::from_secs(20);

/// `$0` is chromedriver, `$1` the port. Exits (after killing its group) when chromedriver
/// dies, so a failed start is noticed at once; the reader kills the group on EOF.
const GUARD: &str = r#"exec 3<&0 0</dev/null
"$0" --port="$1" &
driver=$!
{ read -r _ <&3; kill -TERM 0; } &
wait "$driver"
kill -TERM 0"#;

static SESSIONS: Semaphore = Semaphore::const_new(MAX_SESSIONS);
static DRIVER: OnceCell<Driver> = OnceCell::const_new();

struct Driver {
    url: String,
    // Never dropped: its stdin pipe must stay open until the process exits.
    _guard: Child,
}

/// chromedriver from `PATH`, as `.ci/run` installs it.
pub fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// Waits for a free browser slot; the permit is released when the `Browser` is dropped.
pub async fn session_permit() -> SemaphorePermit<'static> {
    SESSIONS.acquire().await.expect("session semaphore closed")
}

/// The base URL of the shared chromedriver, starting it on first use.
pub async fn url() -> &'static str {
    let driver = DRIVER
        .get_or_init(|| async {
            let binary = chromedriver().expect("chromedriver disappeared");
            // A port freed by `free_port` can be taken by someone else before chromedriver
            // binds it; then chromedriver exits and we try another.
            for _ in 0..3 {
                if let Some(driver) = start(&binary).await {
                    return driver;
                }
            }
            panic!("chromedriver did not start; see {}", log_path().display());
        })
        .await;
    &driver.url
}

fn log_path() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("chromedriver.log")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().unwrap().port()
}

async fn start(binary: &std::path::Path) -> Option<Driver> {
    let port = free_port();
    let log = log_path();
    let _ = std::fs::create_dir_all(log.parent().unwrap());
    // Chromium's own stderr ends up here too: the first place to look when a session fails.
    let (out, err) = match File::options().create(true).append(true).open(&log) {
        Ok(f) => (Stdio::from(f.try_clone().ok()?), Stdio::from(f)),
        Err(_) => (Stdio::null(), Stdio::null()),
    };
    let mut guard = Command::new("/bin/sh")
        .arg("-c")
        .arg(GUARD)
        .arg(binary)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(err)
        // Its own group: Ctrl-C on `cargo test` must not kill it before it can clean up,
        // and `kill 0` in the guard must not reach the test binary.
        .process_group(0)
        .spawn()
        .expect("spawning chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + STARTUP;
    while Instant::now() < deadline {
        if guard.try_wait().ok().flatten().is_some() {
            return None;
        }
        if let Ok(res) = http.get(format!("{url}/status")).send().await {
            let status: Value = res.json().await.unwrap_or_default();
            // Checking the build too proves it is chromedriver and not another test's server.
            if status["value"]["ready"] == true && status["value"]["build"].is_object() {
                return Some(Driver { url, _guard: guard });
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Closing stdin makes the guard take chromedriver down with it.
    drop(guard.stdin.take());
    let _ = guard.wait();
    None
}
