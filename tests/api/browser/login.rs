//! Smoke tests of the sign-in page in a real browser.

use super::{Browser, TIMEOUT, path_and_query, sign_in, submit_login};
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Engine, TestApp};

#[tokio::test]
async fn signing_in_through_the_form_lands_on_home() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();

    sign_in(&browser, &app).await;

    assert_eq!(path_and_query(&browser.current_url().await), "/");
    let body = browser.text(&browser.find("body").await).await;
    assert!(
        body.contains(ADMIN_EMAIL),
        "home page lacks the email: {body}"
    );
}

#[tokio::test]
async fn a_wrong_password_shows_an_alert_and_stays_on_login() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    browser.goto(&app.url("/login")).await;

    submit_login(&browser, ADMIN_EMAIL, "not-the-password").await;

    // Waiting for text, not the element, so an empty live region cannot pass for the error.
    let has_alert = "document.querySelector('[role=alert]').textContent.trim() !== ''";
    browser.wait_until(has_alert, TIMEOUT).await;
    let alert = browser.find("[role=alert]").await;
    assert!(browser.is_displayed(&alert).await);
    assert_eq!(path_and_query(&browser.current_url().await), "/login");
    // Still signed out: a private page sends us back to the form.
    browser.goto(&app.url("/")).await;
    browser.wait_for("#password", TIMEOUT).await;
    assert!(path_and_query(&browser.current_url().await).starts_with("/login?next="));
}

#[tokio::test]
async fn a_private_page_asks_to_sign_in_and_then_returns_there() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let private = "/?status=pending";

    browser.goto(&app.url(private)).await;
    browser
        .wait_until("location.pathname === '/login'", TIMEOUT)
        .await;
    let login = reqwest::Url::parse(&browser.current_url().await).unwrap();
    let next = login
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned());
    assert_eq!(next.as_deref(), Some(private), "login URL: {login}");

    submit_login(&browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .wait_until("location.pathname === '/'", TIMEOUT)
        .await;

    assert_eq!(path_and_query(&browser.current_url().await), private);
}
