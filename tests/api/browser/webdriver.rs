//! A minimal W3C WebDriver client over reqwest: only the commands page tests need.
//!
//! Every command panics on a WebDriver error with the command and the driver's message, so a
//! failing test says what it was doing. Waits poll instead of sleeping a fixed time.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::SemaphorePermit;

use super::driver::CHROMIUM;

/// Profiles are `<tmp>/ai-dialer-chromium-<pid>-<uuid>`.
const PROFILE_PREFIX: &str = "ai-dialer-chromium-";
/// How often `wait_for` and `wait_until` look again.
pub(super) const POLL: Duration = Duration::from_millis(50);

/// One Chromium session with its own profile; closed and removed on drop.
pub struct Browser {
    http: reqwest::Client,
    /// `{driver}/session/{id}`: every command's URL starts here.
    session: String,
    profile: PathBuf,
    // Released only after the session is gone (fields drop after `Drop::drop`).
    _permit: SemaphorePermit<'static>,
}

impl Browser {
    /// Starts a session on `driver` with a fresh, temporary user-data-dir.
    pub(super) async fn open(driver: &str, permit: SemaphorePermit<'static>) -> Browser {
        // The pid lets a later run remove what a killed run left (`remove_stale_profiles`).
        let name = format!(
            "{PROFILE_PREFIX}{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        );
        let profile = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&profile).expect("creating the Chromium profile directory");
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            // Without these Chromium keeps calling home, which in CI is a closed network.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            // Fixed size and language so layouts and screenshots do not depend on the host.
            "--window-size=1280,800",
            "--lang=en-US",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            // The default five minutes would turn a hung page into a hung test run.
            "timeouts": {"pageLoad": 30_000, "script": 10_000},
        }}});
        // Generous: a command may wait for a page load or a busy machine.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let started = send(
            &http,
            Method::POST,
            &format!("{driver}/session"),
            Some(caps),
        )
        .await;
        let id = match started {
            Ok(v) => v["sessionId"].as_str().unwrap().to_owned(),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&profile);
                panic!("starting Chromium failed: {e}");
            }
        };
        Browser {
            http,
            session: format!("{driver}/session/{id}"),
            profile,
            _permit: permit,
        }
    }

    pub(super) async fn try_cmd(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        send(&self.http, method, &format!("{}{path}", self.session), body).await
    }

    /// Runs a command; `what` names it in the panic message.
    pub(super) async fn cmd(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        match self.try_cmd(method.clone(), path, body).await {
            Ok(v) => v,
            Err(e) => panic!("WebDriver {what} ({method} {path}) failed: {e}"),
        }
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        let what = format!("goto {url}");
        self.cmd(&what, Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The address of the current page.
    pub async fn current_url(&self) -> String {
        let url = self.cmd("current_url", Method::GET, "/url", None).await;
        url.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the JavaScript expression `predicate` is truthy, e.g.
    /// `"location.pathname === '/'"`. Exceptions count as false, but the timeout's panic
    /// message reports the last one, so a typo does not look like a slow page, and what had
    /// focus and any cell still being edited, which most waits are about.
    pub async fn wait_until(&self, predicate: &str, timeout: Duration) {
        let Err(error) = self.poll(predicate, timeout).await else {
            return;
        };
        let url = self.current_url().await;
        let error = error
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default();
        let state = self
            .try_cmd(Method::POST, "/execute/sync", Some(json!({"args": [], "script":
                "const a = document.activeElement, e = document.querySelector('td.editing'); \
                 return `focus on ${a?.outerHTML.slice(0, 200)}; editing ${e?.outerHTML.slice(0, 300)}`;"})))
            .await
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        panic!("timed out after {timeout:?} waiting until `{predicate}` on {url}{error}; {state}");
    }

    /// Whether `predicate` becomes truthy within `timeout`, for a step that may need doing
    /// twice; [`Self::wait_until`] otherwise.
    pub async fn holds_within(&self, predicate: &str, timeout: Duration) -> bool {
        self.poll(predicate, timeout).await.is_ok()
    }

    /// Polls `predicate` until it holds or `timeout` passes; the error is the last
    /// exception or failed command, if any.
    async fn poll(&self, predicate: &str, timeout: Duration) -> Result<(), Option<String>> {
        let script = format!(
            "try {{ return [!!({predicate}), null]; }} catch (e) {{ return [false, String(e)]; }}"
        );
        let body = json!({"script": script, "args": []});
        let deadline = Instant::now() + timeout;
        loop {
            let error = match self
                .try_cmd(Method::POST, "/execute/sync", Some(body.clone()))
                .await
            {
                Ok(v) if v[0] == true => return Ok(()),
                Ok(v) => v[1].as_str().map(str::to_owned),
                // Errors are expected while a new page replaces the old one.
                Err(e) => Some(e),
            };
            if Instant::now() >= deadline {
                return Err(error);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `script` as a function body (use `return`), with `args` as `arguments`.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        let body = json!({"script": script, "args": args});
        self.cmd(
            &format!("execute `{script}`"),
            Method::POST,
            "/execute/sync",
            Some(body),
        )
        .await
    }

    /// Resizes the window (outer size, in CSS pixels).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        let body = json!({"width": width, "height": height});
        self.cmd("set_window_size", Method::POST, "/window/rect", Some(body))
            .await;
    }

    /// Saves a PNG of the viewport to `path`, creating its directory.
    pub async fn screenshot(&self, path: &Path) {
        let png = self
            .cmd("screenshot", Method::GET, "/screenshot", None)
            .await;
        write_png(path, png.as_str().unwrap_or_default());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let session = self.session.clone();
        // A failing test leaves a picture of what the browser showed.
        let failed = std::thread::panicking().then(|| {
            let name = std::thread::current()
                .name()
                .unwrap_or("test")
                .replace("::", "-");
            super::screenshot_dir().join(format!("failed-{name}.png"))
        });
        // Drop may run inside the test's runtime, which we must not block on; and the session's
        // client has connections owned by that runtime, so a fresh one is used.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                if let Some(path) = failed {
                    let url = send(&http, Method::GET, &format!("{session}/url"), None).await;
                    let png =
                        send(&http, Method::GET, &format!("{session}/screenshot"), None).await;
                    if let (Ok(url), Ok(png)) = (url, png) {
                        let url = url.as_str().unwrap_or_default().to_owned();
                        write_png(&path, png.as_str().unwrap_or_default());
                        eprintln!("browser was at {url}; screenshot: {}", path.display());
                    }
                }
                let _ = send(&http, Method::DELETE, &session, None).await;
            });
        })
        .join();
        // Chromium may still be flushing its profile for a moment after quitting.
        for _ in 0..10 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Sends one command; a WebDriver error becomes `Err("error: message")`.
async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("no answer from chromedriver: {e}"))?;
    let ok = res.status().is_success();
    let mut body: Value = res
        .json()
        .await
        .map_err(|e| format!("unreadable answer: {e}"))?;
    let value = body["value"].take();
    if ok {
        Ok(value)
    } else {
        Err(format!(
            "{}: {}",
            value["error"].as_str().unwrap_or("?"),
            value["message"].as_str().unwrap_or("?")
        ))
    }
}

fn write_png(path: &Path, base64_png: &str) {
    let png = base64::engine::general_purpose::STANDARD
        .decode(base64_png)
        .expect("screenshot is not base64");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("creating the screenshot directory");
    }
    std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Removes profiles of test processes that died before dropping their `Browser`.
pub(super) fn remove_stale_profiles() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(PROFILE_PREFIX)
            .and_then(|r| r.split('-').next());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
