//! The other pages in a real browser: importing a CSV with bad rows, changing a setting, the
//! dark theme, narrow screens, and a screenshot of every main page in both themes.

use serde_json::{Value, json};

use super::{Browser, TIMEOUT, save_screenshot, sign_in};
use crate::dialer::{enable, lead_in, report};
use crate::helpers::{Engine, TestApp};

async fn click(browser: &Browser, css: &str) {
    browser.click_css(css, TIMEOUT).await;
}

async fn text(browser: &Browser, css: &str) -> String {
    browser.text(&browser.wait_for(css, TIMEOUT).await).await
}

#[tokio::test]
async fn import_reports_bad_rows_then_imports_the_rest() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    app.create_lead("Already", "Here", "+14155550100", "here@example.com")
        .await;
    let dir = std::env::temp_dir().join(format!("ai-dialer-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("leads.csv");
    std::fs::write(
        &file,
        "Company,Contact Name,Phone,Email,Time zone\n\
         Acme,Ann,+1 415 555 0101,ann@acme.example,America/New_York\n\
         Beta,Bob,not a phone,bob@beta.example,America/Chicago\n\
         Gamma,Gil,+1 415 555 0103,gil-at-gamma,America/Denver\n\
         Delta,Dee,(415) 555-0104,dee@delta.example,\n\
         Dup,Dup,+1 415 555 0100,dup@example.com,America/New_York\n\
         Echo,Eve,+1 415 555 0105,eve@echo.example,Mars/Base\n\
         Again,Ann,415.555.0101,ann2@acme.example,America/New_York\n",
    )
    .unwrap();
    sign_in(&browser, &app).await;
    browser.goto(&app.url("/import")).await;
    let input = browser.wait_for("#import-file", TIMEOUT).await;
    browser.send_keys(&input, file.to_str().unwrap()).await;

    // The check: first rows, detected columns, and the report, before anything is written.
    browser
        .wait_for(
            "#import-preview:not([hidden]) #sample-table tbody tr",
            TIMEOUT,
        )
        .await;
    let mapping = browser
        .execute("return document.querySelector('#map-phone').value", vec![])
        .await;
    assert_eq!(mapping, "Phone");
    let figure = |name: &str| format!("#check-summary [data-figure='{name}'] b");
    assert_eq!(text(&browser, &figure("new leads")).await, "2");
    assert_eq!(text(&browser, &figure("invalid rows")).await, "3");
    assert_eq!(text(&browser, &figure("duplicates")).await, "2");
    let invalid = text(&browser, "#invalid-table tbody").await;
    for expected in ["3", "not a phone", "gil-at-gamma", "Mars/Base"] {
        assert!(invalid.contains(expected), "{expected} in {invalid}");
    }
    let dups = text(&browser, "#duplicates-table tbody").await;
    assert!(
        dups.contains("6") && dups.contains("already a lead"),
        "{dups}"
    );
    assert!(
        dups.contains("8") && dups.contains("repeats line 2"),
        "{dups}"
    );

    // Ignoring the file's zones is a choice of columns; the report follows it.
    click(&browser, "#map-timezone option[value='']").await;
    browser
        .wait_until(
            "document.querySelector(\"#check-summary [data-figure='invalid rows'] b\")?.textContent === '2'",
            TIMEOUT,
        )
        .await;
    assert_eq!(text(&browser, &figure("new leads")).await, "3");
    click(&browser, "#map-timezone option[value='Time zone']").await;
    browser
        .wait_until(
            "document.querySelector(\"#check-summary [data-figure='invalid rows'] b\")?.textContent === '3'",
            TIMEOUT,
        )
        .await;
    assert_eq!(
        app.get_json("/api/leads").await["total"],
        1,
        "a check writes nothing"
    );
    save_screenshot(&browser, "import-check").await;

    click(&browser, "#import-confirm").await;
    browser
        .wait_for("#import-result:not([hidden])", TIMEOUT)
        .await;
    assert_eq!(
        text(&browser, "#result-summary [data-figure='imported'] b").await,
        "2"
    );
    let download = browser.find("#rejected-download").await;
    assert!(browser.is_displayed(&download).await);
    let href = browser.attribute(&download, "href").await.unwrap();
    let rejected = browser
        .execute(
            "return decodeURIComponent(arguments[0].slice(arguments[0].indexOf(',') + 1))",
            vec![json!(href)],
        )
        .await;
    assert!(href.starts_with("data:text/csv"), "{href}");
    let rejected = rejected.as_str().unwrap();
    // The rejected rows come back as the file had them, ready to fix and import again.
    assert!(
        rejected.starts_with("Company,Contact Name,Phone,Email,Time zone,line,problems\r\n"),
        "{rejected}"
    );
    assert!(
        rejected.contains("\r\nBeta,Bob,not a phone,bob@beta.example,America/Chicago,3,phone "),
        "{rejected}"
    );
    assert_eq!(rejected.lines().count(), 4, "{rejected}");
    let leads = app.get_json("/api/leads?sort=company_name&order=asc").await;
    assert_eq!(leads["total"], 3);
    assert_eq!(
        leads["items"][1]["timezone"], "America/Los_Angeles",
        "blank zone uses the default"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn settings_are_validated_next_to_the_field_and_saved() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    sign_in(&browser, &app).await;
    browser.goto(&app.url("/settings")).await;
    // The template previews fill in, and no error shows on a page nobody has touched.
    browser
        .wait_until(
            "[...document.querySelectorAll('[data-preview=subject]')].every(e => e.textContent.length > 0)",
            TIMEOUT,
        )
        .await;
    let errors = browser
        .execute(
            "return [...document.querySelectorAll('.form-error, .field-error')].filter(e => !e.hidden && e.offsetParent).map(e => e.textContent)",
            vec![],
        )
        .await;
    assert_eq!(errors, json!([]), "no error on a fresh settings page");
    let retry = browser.wait_for("#retry_interval", TIMEOUT).await;
    browser.clear(&retry).await;
    browser.send_keys(&retry, "0").await;
    click(&browser, "#automation-form button[type=submit]").await;
    let error = browser
        .wait_for("[data-error=retry_interval]:not([hidden])", TIMEOUT)
        .await;
    assert!(browser.text(&error).await.contains("between"));
    assert_eq!(app.get_json("/api/settings").await["retry_interval"], 15);

    browser.clear(&retry).await;
    browser.send_keys(&retry, "45").await;
    click(&browser, "#automation-form input[value=sat]").await;
    click(&browser, "#automation-form button[type=submit]").await;
    browser
        .wait_until(
            "document.querySelector('[data-error=retry_interval]').hidden",
            TIMEOUT,
        )
        .await;
    let settings: Value = app.get_json("/api/settings").await;
    assert_eq!(settings["retry_interval"], 45);
    assert_eq!(settings["call_days"], "mon,tue,wed,thu,fri,sat");

    // A connection test reaches the (fake) provider with the configured key.
    click(&browser, "button[data-test=vapi]").await;
    browser
        .wait_until(
            "document.querySelector('[data-integration=vapi] .check-result').textContent.startsWith('✓')",
            TIMEOUT,
        )
        .await;
    // The template preview renders as it will be sent.
    let subject = browser.find("#email_thank_you_subject").await;
    browser.clear(&subject).await;
    browser
        .send_keys(&subject, "Thanks, {{contact_name}}")
        .await;
    browser
        .wait_until(
            "document.querySelector('[data-template=thank_you] [data-preview=subject]').textContent === 'Thanks, Jordan Lee'",
            TIMEOUT,
        )
        .await;
}

/// Places one call through the fake VAPI and reports it, so the lead and call pages have
/// something to show.
async fn one_finished_call(app: &TestApp) -> String {
    enable(app, json!({})).await;
    let id = lead_in(app, 1, "America/New_York").await;
    lead_in(app, 2, "America/Chicago").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.vapi_webhook(&report(
        &call,
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    id
}

#[tokio::test]
async fn dark_theme_is_remembered_and_every_page_is_captured() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let id = one_finished_call(&app).await;
    sign_in(&browser, &app).await;
    let pages = [
        ("leads", "/".to_owned()),
        ("lead", format!("/leads/{id}")),
        ("calls", "/calls".to_owned()),
        ("import", "/import".to_owned()),
        ("settings", "/settings".to_owned()),
    ];
    for theme in ["light", "dark"] {
        browser.goto(&app.url("/")).await;
        // Chosen with the keyboard, as a keyboard-only user would.
        let select = browser.wait_for("#theme-select", TIMEOUT).await;
        browser
            .send_keys(&select, if theme == "dark" { "Dark" } else { "Light" })
            .await;
        browser
            .wait_until(
                &format!("document.documentElement.dataset.theme === '{theme}'"),
                TIMEOUT,
            )
            .await;
        for (name, path) in &pages {
            browser.goto(&app.url(path)).await;
            // Set by the server from the cookie, so the first paint is already right.
            let painted = browser
                .execute(
                    "return [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor]",
                    vec![],
                )
                .await;
            assert_eq!(painted[0], theme, "{name}");
            let dark_bg = painted[1] == "rgb(14, 17, 22)";
            assert_eq!(dark_bg, theme == "dark", "{name}: {painted}");
            save_screenshot(&browser, &format!("{name}-{theme}")).await;
        }
    }
    // The lead page shows the finished call in words, with its recording and transcript.
    browser.goto(&app.url(&format!("/leads/{id}"))).await;
    let timeline = text(&browser, "#call-timeline").await;
    assert!(timeline.contains("The contact hung up"), "{timeline}");
    let audio = browser.find("#call-timeline audio").await;
    assert_eq!(
        browser.attribute(&audio, "src").await.as_deref(),
        Some("https://storage.example/rec.wav")
    );
    // The sign-in page follows the theme too.
    click(&browser, "form[action='/logout'] button").await;
    browser
        .wait_until("location.pathname === '/login'", TIMEOUT)
        .await;
    save_screenshot(&browser, "login-dark").await;
    // And it can be switched there, before signing in.
    let select = browser.wait_for("#theme-select", TIMEOUT).await;
    browser.send_keys(&select, "Light").await;
    browser
        .wait_until(
            "document.documentElement.dataset.theme === 'light'",
            TIMEOUT,
        )
        .await;
    browser.goto(&app.url("/login")).await;
    browser
        .wait_until(
            "document.documentElement.dataset.theme === 'light'",
            TIMEOUT,
        )
        .await;
    save_screenshot(&browser, "login-light").await;
}

#[tokio::test]
async fn a_member_meets_an_error_page_at_settings() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let res = app
        .post_json(
            "/api/users",
            &json!({"email": "member@example.com", "role": "member", "password": "member-password-1"}),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    browser.goto(&app.url("/login")).await;
    super::submit_login(&browser, "member@example.com", "member-password-1").await;
    browser
        .wait_until("location.pathname === '/'", TIMEOUT)
        .await;
    assert!(
        browser.find_all("nav a[href='/settings']").await.is_empty(),
        "no settings link for members"
    );
    browser.goto(&app.url("/settings")).await;
    let heading = text(&browser, "h1#error-title").await;
    assert_eq!(heading, "You don't have access to this page");
    // Still inside the app: the navigation bar leads back.
    click(&browser, "nav a[href='/calls']").await;
    browser
        .wait_until("location.pathname === '/calls'", TIMEOUT)
        .await;
}

#[tokio::test]
async fn pages_fit_a_narrow_phone_screen() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let id = one_finished_call(&app).await;
    sign_in(&browser, &app).await;
    browser.set_window_size(360, 800).await;
    let lead = format!("/leads/{id}");
    for (name, path) in [
        ("leads", "/"),
        ("lead", lead.as_str()),
        ("calls", "/calls"),
        ("import", "/import"),
        ("settings", "/settings"),
    ] {
        browser.goto(&app.url(path)).await;
        browser.wait_for("main", TIMEOUT).await;
        // Wide tables scroll inside their frame; the page itself never scrolls sideways.
        let fits = browser
            .execute(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth",
                vec![],
            )
            .await;
        assert_eq!(fits, true, "{path} is wider than 360 px");
        // Every form control has a label a screen reader can read.
        let unlabeled = browser
            .execute(
                "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(el => !(el.labels?.length || el.getAttribute('aria-label') || el.closest('label')))
                   .map(el => el.id || el.name)",
                vec![],
            )
            .await;
        assert_eq!(unlabeled, json!([]), "{path}");
        save_screenshot(&browser, &format!("{name}-360px")).await;
    }
}
