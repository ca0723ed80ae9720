//! The newcomer's loop in a real browser: `ai-dialer serve --sandbox`, sign in, switch
//! automation on, and watch a lead get called and booked on the page without reloading it;
//! then open the lead's call timeline.

use std::process::{Child, Stdio};

use serde_json::json;

use super::{Browser, TIMEOUT, save_screenshot, submit_login};
use crate::cli::{bin, open_zone_now, read_startup};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD};

/// Stops the server when the test ends, however it ends.
struct Server {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn automation_in_sandbox_changes_a_lead_live() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("ai-dialer-live-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let child = bin()
        .args(["serve", "--sandbox"])
        .current_dir(&dir)
        .env("BIND", "127.0.0.1:0")
        .env("DIALER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("DIALER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("DIALER_TICK_SECONDS", "1")
        .env("SANDBOX_CALL_SECONDS", "2")
        .env("SANDBOX_OUTCOMES", "booked=1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server { child, dir };
    let base = read_startup(&mut server.child).base;

    // A lead somewhere inside calling hours now, through the API as a script would.
    let (client, csrf) = crate::helpers::sign_in(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    client
        .patch(format!("{base}/api/settings"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"call_days": "mon,tue,wed,thu,fri,sat,sun"}))
        .send()
        .await
        .unwrap();
    let lead: serde_json::Value = client
        .post(format!("{base}/api/leads"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"company_name": "Live Co", "contact_name": "Lee Live", "phone": "+1 415 555 2671",
                      "email": "lee@live.example", "timezone": open_zone_now()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = lead["id"].as_str().unwrap().to_owned();

    browser.goto(&format!("{base}/login")).await;
    submit_login(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .wait_for(&format!("tr[data-id='{id}']"), TIMEOUT)
        .await;
    // Record every status the row shows, and mark the page so a reload would be noticed.
    browser
        .execute(
            "const id = arguments[0]; window.seen = []; window.samePage = true;
             const record = () => {
               const v = document.querySelector(`tr[data-id='${id}'] td[data-field=status]`)?.dataset.value;
               if (v && window.seen[window.seen.length - 1] !== v) window.seen.push(v);
             };
             new MutationObserver(record).observe(document.querySelector('#leads-table'), {childList: true, subtree: true});
             record();",
            vec![json!(id)],
        )
        .await;
    let label = browser.find("#automation-label").await;
    assert_eq!(browser.text(&label).await, "Paused");
    // The switch, as a person clicks it.
    let switch = browser.find("label.switch").await;
    browser.click(&switch).await;
    browser
        .wait_until(
            "document.querySelector('#automation-label').textContent === 'Active'",
            TIMEOUT,
        )
        .await;
    browser
        .wait_until(
            "window.seen.includes('scheduled')",
            std::time::Duration::from_secs(30),
        )
        .await;
    let seen = browser.execute("return window.seen", vec![]).await;
    assert_eq!(seen[0], "pending", "{seen}");
    assert_eq!(
        browser
            .execute("return window.samePage === true", vec![])
            .await,
        true,
        "updated in place, not by reloading"
    );
    // The panel follows too.
    browser
        .wait_until(
            "document.querySelector('[data-stat=today_bookings]').textContent === '1'",
            TIMEOUT,
        )
        .await;
    save_screenshot(&browser, "sandbox-leads-after-a-call").await;

    // The lead's timeline shows the call, its booking and its email.
    browser
        .click_css(&format!("tr[data-id='{id}'] a.row-link"), TIMEOUT)
        .await;
    let call = browser.wait_for("#call-timeline li", TIMEOUT).await;
    let text = browser.text(&call).await;
    assert!(text.contains("Call 1") && text.contains("Booked"), "{text}");
    let reason = browser.find("#call-timeline .ended-reason").await;
    assert!(!browser.text(&reason).await.is_empty());
    let booking = browser.find("#booking-time").await;
    let when = browser.text(&booking).await;
    assert!(
        !when.is_empty() && when != "—",
        "meeting time shown: {when:?}"
    );
    browser
        .wait_until(
            "document.querySelector('#emails')?.textContent.includes('Booking confirmation')",
            TIMEOUT,
        )
        .await;
    drop(server);
}
