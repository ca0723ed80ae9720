//! Sign-in, sessions, bearer tokens, CSRF, rate limiting and what strangers may reach.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, anonymous, assert_error};

async fn login_sets_a_hardened_session_cookie(app: TestApp) {
    let res = anonymous()
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("dialer_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http must not get Secure cookies: {cookie}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], ADMIN_EMAIL);
    assert_eq!(body["role"], "admin");
    assert!(body["csrf_token"].as_str().is_some_and(|t| t.len() > 20));

    // Behind an https proxy the cookie is Secure.
    let res = anonymous()
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );

    let me = app.get_json("/api/me").await;
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_eq!(me["csrf_token"], app.csrf.as_str());
}

async fn wrong_credentials_are_refused_then_rate_limited(app: TestApp) {
    let client = anonymous();
    let attempt = |password: &'static str| {
        client
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": ADMIN_EMAIL, "password": password}))
            .send()
    };
    for _ in 0..10 {
        assert_error(
            attempt("wrong password!").await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    let res = attempt("wrong password!").await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Even the right password waits out the lock, or guessing would still pay off.
    assert_error(
        attempt(ADMIN_PASSWORD).await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // Input that cannot be an address is refused without reaching the database.
    for email in ["a\u{0}b@example.com".to_owned(), "x".repeat(5000)] {
        let res = anonymous()
            .post(app.url("/api/auth/login"))
            .json(&json!({"email": email, "password": "pw-pw-pw-pw"}))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(
                res.status(),
                StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
            ),
            "{}",
            res.status()
        );
    }
    // Unknown accounts fail the same way as wrong passwords.
    let res = anonymous()
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", "ignored")
        .json(&json!({"email": "nobody@example.com", "password": "whatever-it-is"}))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        res.status(),
        StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
    ));
}

async fn strangers_get_401_on_the_api_and_a_redirect_on_pages(app: TestApp) {
    let client = anonymous();
    let lead = app
        .create_lead("Acme", "Jane", "+1 415 555 2671", "jane@acme.com")
        .await;
    let id = lead["id"].as_str().unwrap();
    for path in [
        "/api/me".to_owned(),
        "/api/leads".into(),
        format!("/api/leads/{id}"),
        "/api/leads/export".into(),
        "/api/settings".into(),
        "/api/call-logs".into(),
        "/api/users".into(),
        "/api/tokens".into(),
        "/api/openapi.json".into(),
        "/api/no-such-route".into(),
    ] {
        let res = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{path}");
        assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let res = client
        .post(app.url("/api/leads/bulk"))
        .json(&json!({"ids": [id], "action": "delete"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(app.store.count_leads().await.unwrap(), 1, "nothing changed");

    let res = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login?next=/");

    for path in ["/healthz", "/readyz", "/login", "/static/app.css"] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path} is public");
    }
    let ready: Value = client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
}

async fn cookie_writes_need_the_csrf_token(app: TestApp) {
    let body = json!({"company_name": "Acme", "contact_name": "Jane", "phone": "4155552671", "email": "j@acme.com"});
    let res = app
        .client
        .post(app.url("/api/leads"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .client
        .post(app.url("/api/leads"))
        .header("x-csrf-token", "forged")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.store.count_leads().await.unwrap(), 0);
    assert_eq!(
        app.post_json("/api/leads", &body).await.status(),
        StatusCode::CREATED
    );
}

async fn bearer_tokens_work_without_csrf_and_can_be_revoked(app: TestApp) {
    let res = app
        .post_json("/api/tokens", &json!({"name": "crm sync"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dlr_"));
    let script = anonymous();
    let res = script
        .post(app.url("/api/leads"))
        .bearer_auth(&secret)
        .json(&json!({"company_name": "Acme", "contact_name": "Jane", "phone": "4155552671", "email": "j@acme.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let me: Value = script
        .get(app.url("/api/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert!(me["csrf_token"].is_null());

    let tokens = app.get_json("/api/tokens").await;
    assert_eq!(tokens[0]["name"], "crm sync");
    assert!(
        tokens[0].get("secret").is_none(),
        "secrets are never listed"
    );
    assert!(!tokens[0]["last_used_at"].is_null());

    let stored = app.store.user_for_token(&secret).await.unwrap();
    assert!(
        stored.is_none(),
        "tokens are stored as digests, never as the secret"
    );
    let id = created["token"]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/tokens/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    let res = script
        .get(app.url("/api/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = script
        .get(app.url("/api/me"))
        .bearer_auth("dlr_made_up")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

async fn logout_ends_the_session(app: TestApp) {
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_error(
        app.get("/api/me").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

async fn login_form_signs_in_and_returns_to_the_page_asked_for(app: TestApp) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(app.url("/login?next=/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="next" value="/settings""#), "{html}");

    let bad = client
        .post(app.url("/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", "nope-nope-nope"),
            ("next", "/settings"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("wrong email or password")
    );

    let ok = client
        .post(app.url("/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        ok.headers()["location"],
        "/",
        "off-site targets are ignored"
    );
    let home = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains(ADMIN_EMAIL));

    let forged = anonymous()
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

async fn every_response_carries_security_headers(app: TestApp) {
    for res in [
        app.get("/api/leads").await,
        anonymous().get(app.url("/login")).send().await.unwrap(),
        anonymous().get(app.url("/api/leads")).send().await.unwrap(),
    ] {
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h.contains_key("referrer-policy"));
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"));
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
    }
}

async fn openapi_document_describes_the_api(app: TestApp) {
    let doc = app.get_json("/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/leads",
        "/api/leads/{id}",
        "/api/leads/bulk",
        "/api/leads/export",
        "/api/leads/import",
        "/api/settings",
        "/api/call-logs",
        "/api/call-logs/{id}",
        "/api/auth/login",
        "/api/me",
        "/api/users",
    ] {
        assert!(paths.contains_key(path), "{path} missing from OpenAPI");
    }
    assert!(doc["paths"]["/api/leads/{id}"]["patch"].is_object());
    assert!(doc["components"]["schemas"]["Lead"].is_object());
}

both_engines!(
    login_sets_a_hardened_session_cookie,
    wrong_credentials_are_refused_then_rate_limited,
    strangers_get_401_on_the_api_and_a_redirect_on_pages,
    cookie_writes_need_the_csrf_token,
    bearer_tokens_work_without_csrf_and_can_be_revoked,
    logout_ends_the_session,
    login_form_signs_in_and_returns_to_the_page_asked_for,
    every_response_carries_security_headers,
    openapi_document_describes_the_api,
);
