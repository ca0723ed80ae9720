//! Browser tests: headless Chromium driving the real server through WebDriver.
//!
//! Each test takes a [`Browser`] (its own Chromium and throwaway profile) from
//! [`Browser::start`]; one chromedriver serves the whole test binary and dies with it. At most
//! two browsers run at once, so a test must not hold two. Without Chromium or chromedriver
//! the tests are skipped with a notice, except under `CI=true`, where they fail.
//!
//! When a test fails, the browser's last page is saved as
//! `target/screenshots/failed-<test>.png`; chromedriver's and Chromium's own output goes to
//! `target/tmp/chromedriver.log`.

mod driver;
mod elements;
mod harness;
mod leads;
mod live;
mod login;
mod pages;
mod webdriver;

use std::{io::Write as _, path::PathBuf, time::Duration};

pub use elements::{BACKSPACE, ENTER, ESCAPE, Element, TAB};
pub use webdriver::Browser;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp};

/// How long browser tests wait for a page to change before failing.
pub const TIMEOUT: Duration = Duration::from_secs(10);

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl Browser {
    /// A fresh browser session, or `None` (after a loud notice) when Chromium or chromedriver
    /// is not installed. Under `CI=true` a missing browser fails the test instead.
    pub async fn start() -> Option<Browser> {
        let mut missing = Vec::new();
        if !std::path::Path::new(driver::CHROMIUM).is_file() {
            missing.push(format!("{} not found", driver::CHROMIUM));
        }
        if driver::chromedriver().is_none() {
            missing.push("chromedriver not found on PATH".to_owned());
        }
        if !missing.is_empty() {
            let why = missing.join(", ");
            assert!(!in_ci(), "CI=true but browser tests cannot run: {why}");
            // Straight to stderr, once: libtest captures `eprintln!` of passing tests.
            static NOTICE: std::sync::Once = std::sync::Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** browser tests skipped: {why} (apt-get install chromium chromium-driver) ***\n"
                );
            });
            return None;
        }
        static TIDY: std::sync::Once = std::sync::Once::new();
        TIDY.call_once(|| {
            // Failure screenshots from an earlier run would pass for this run's.
            remove_failure_screenshots();
            webdriver::remove_stale_profiles();
        });
        // Queue for a slot before starting anything, so waiting tests cost nothing.
        let permit = driver::session_permit().await;
        Some(Browser::open(driver::url().await, permit).await)
    }
}

/// Fills the sign-in form on the current page with `email` and `password` and submits it.
pub async fn submit_login(browser: &Browser, email: &str, password: &str) {
    let email_input = browser.wait_for("#email", TIMEOUT).await;
    browser.clear(&email_input).await;
    browser.send_keys(&email_input, email).await;
    let password_input = browser.find("#password").await;
    browser.clear(&password_input).await;
    browser.send_keys(&password_input, password).await;
    // Scoped to the sign-in form, in case the page grows other forms (theme, language...).
    let submit = browser
        .find("form:has(#password) button[type=submit]")
        .await;
    browser.click(&submit).await;
}

/// Signs in as the admin through the login form and waits for the home page.
pub async fn sign_in(browser: &Browser, app: &TestApp) {
    browser.goto(&app.url("/login")).await;
    submit_login(browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .wait_until(
            "location.pathname === '/' && document.readyState === 'complete'",
            TIMEOUT,
        )
        .await;
}

/// Where screenshots go: `target/screenshots`, honouring `CARGO_TARGET_DIR`.
pub fn screenshot_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // cargo resolves a relative CARGO_TARGET_DIR from where it runs, normally the package root.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| manifest.join("target"), |d| manifest.join(d));
    target.join("screenshots")
}

fn remove_failure_screenshots() {
    let Ok(entries) = std::fs::read_dir(screenshot_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("failed-") && name.ends_with(".png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Saves a screenshot as `<screenshot_dir>/<name>.png` and returns its path.
pub async fn save_screenshot(browser: &Browser, name: &str) -> PathBuf {
    let path = screenshot_dir().join(format!("{name}.png"));
    browser.screenshot(&path).await;
    path
}

/// The path and query of `url`, e.g. `/login?next=%2F`.
pub fn path_and_query(url: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}
