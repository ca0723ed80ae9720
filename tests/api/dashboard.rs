//! What the dashboard stands on, over plain HTTP: the live status and its event stream, the
//! automation switch, bulk actions over a filter, call totals, connection tests, template
//! previews, import column choices, and the pages themselves (rendering, theme, remembered
//! view, authorization).

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::dialer::{enable, lead_in, report};
use crate::helpers::{TestApp, anonymous, assert_error};

async fn status_reports_why_nothing_dials(app: TestApp) {
    let s = app.get_json("/api/status").await;
    assert_eq!(s["automation_enabled"], false);
    assert_eq!(s["idle"]["code"], "paused");
    assert_eq!(s["cap"], 10);
    for n in 0..3 {
        lead_in(&app, n, "America/New_York").await;
    }
    // Members may switch automation; the answer is the new status.
    let (member, csrf) = app.user_client("m@example.com", "member").await;
    let res = member
        .put(app.url("/api/automation"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let s: Value = res.json().await.unwrap();
    assert_eq!(s["automation_enabled"], true);
    assert_eq!(s["due_now"], 3, "{s}");
    assert_eq!(s["idle"], Value::Null, "{s}");
    // Outside every zone's hours (03:00 in New York), nothing is due and the reason says so.
    app.advance(Duration::from_secs(12 * 3600));
    let s = app.get_json("/api/status").await;
    assert_eq!(s["idle"]["code"], "outside_calling_hours", "{s}");
    assert_eq!(s["due_now"], 0);
    // Bad bodies are refused in our error shape.
    let res = app
        .client
        .put(app.url("/api/automation"))
        .header("x-csrf-token", &app.csrf)
        .json(&json!({"enabled": "yes"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let res = anonymous()
        .put(app.url("/api/automation"))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn today_counts_calls_bookings_and_cost(app: TestApp) {
    enable(&app, json!({})).await;
    let ids = [
        lead_in(&app, 1, "America/New_York").await,
        lead_in(&app, 2, "America/New_York").await,
    ];
    app.tick().await;
    let s = app.get_json("/api/status").await;
    assert_eq!(
        (s["active_calls"].as_i64(), s["today"]["calls"].as_i64()),
        (Some(2), Some(2)),
        "{s}"
    );
    assert_eq!(s["idle"]["code"], "nothing_due", "{s}");
    for id in &ids {
        let call = app.vapi.call(&app.vapi.call_id_for(id, 1));
        app.vapi_webhook(&report(
            &call,
            "customer-ended-call",
            Some("not_interested"),
        ))
        .await;
    }
    let s = app.get_json("/api/status").await;
    assert_eq!(s["active_calls"], 0);
    assert_eq!(s["today"]["connected"], 2);
    assert!(
        (s["today"]["cost"].as_f64().unwrap() - 0.62).abs() < 1e-9,
        "{s}"
    );

    // The call list filters by outcome and day, and totals what it lists.
    let t = app
        .get_json("/api/call-logs/totals?outcome=connected")
        .await;
    assert_eq!(
        (t["calls"].as_i64(), t["connected"].as_i64()),
        (Some(2), Some(2))
    );
    let t = app.get_json("/api/call-logs/totals?outcome=booked").await;
    assert_eq!(t["calls"], 0);
    let t = app
        .get_json("/api/call-logs/totals?from=2026-11-25&to=2026-11-25")
        .await;
    assert_eq!(t["calls"], 2);
    let t = app.get_json("/api/call-logs/totals?from=2026-11-26").await;
    assert_eq!(t["calls"], 0);
    let page = app.get_json("/api/call-logs?outcome=not_connected").await;
    assert_eq!(page["total"], 0);
    // A page past the end of the call list shows the last page, not an empty one.
    let html = app.get("/calls?page=40").await.text().await.unwrap();
    assert!(html.contains("1–2 of 2"), "clamped to the last page");
    for bad in [
        "outcome=won",
        "from=yesterday",
        "from=2026-11-26&to=2026-11-25",
    ] {
        let res = app.get(&format!("/api/call-logs/totals?{bad}")).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}

/// Reads server-sent events until `want` has been seen, or panics after a while.
async fn wait_for_event(
    stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buf: &mut String,
    want: &str,
) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(at) = buf.find(&format!("event: {want}\n")) {
            let rest = buf[at..].to_owned();
            if let Some(end) = rest.find("\n\n") {
                *buf = rest[end + 2..].to_owned();
                return rest[..end].to_owned();
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("no {want} event arrived; got {buf:?}"))
            .expect("stream ended")
            .unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn events_stream_status_and_changes(app: TestApp) {
    let res = app.get("/api/events").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let status = wait_for_event(&mut stream, &mut buf, "status").await;
    assert!(status.contains("\"automation_enabled\":false"), "{status}");
    // Another client's write reaches this stream as a `leads` event, with no personal data.
    app.create_lead("Acme", "Ann", "4155550101", "ann@acme.example")
        .await;
    let event = wait_for_event(&mut stream, &mut buf, "leads").await;
    assert!(
        !event.contains("Acme") && !event.contains("ann@"),
        "{event}"
    );
    app.patch_json("/api/settings", &json!({"max_calls_batch": 7}))
        .await;
    wait_for_event(&mut stream, &mut buf, "settings").await;
    let status = wait_for_event(&mut stream, &mut buf, "status").await;
    assert!(status.contains("\"cap\":7"), "{status}");
    // Strangers get nothing.
    let res = anonymous()
        .get(app.url("/api/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn bulk_actions_cover_every_matching_lead(app: TestApp) {
    let mut csv = String::from("company,contact,phone,email\n");
    for i in 0..4500 {
        let kind = if i % 3 == 0 { "Gamma" } else { "Delta" };
        csv.push_str(&format!(
            "{kind} {i},C {i},+1415{:07},c{i}@example.com\n",
            3_000_000 + i
        ));
    }
    let res = app.post_csv("/api/leads/import", csv).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Every "Gamma" lead (1,500), in batches with a cursor, as the dashboard sends them.
    let (mut after, mut affected, mut requests) = (Value::Null, 0, 0);
    loop {
        let res = app
            .post_json("/api/leads/bulk", &json!({"action": "set_status", "status": "not_interested", "matching": {"q": "gamma"}, "after": after}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        affected += body["affected"].as_u64().unwrap();
        requests += 1;
        after = body["next_after"].clone();
        if after.is_null() {
            break;
        }
    }
    assert_eq!((affected, requests), (1500, 1));
    let page = app.get_json("/api/leads?status=not_interested").await;
    assert_eq!(page["total"], 1500);
    // All 4,500 by status filter takes three batches of 2,000.
    let (mut after, mut scanned, mut requests) = (Value::Null, 0, 0);
    loop {
        let body: Value = app
            .post_json("/api/leads/bulk", &json!({"action": "do_not_call", "matching": {"status": null, "q": null}, "after": after}))
            .await
            .json()
            .await
            .unwrap();
        scanned += body["scanned"].as_u64().unwrap();
        requests += 1;
        after = body["next_after"].clone();
        if after.is_null() {
            break;
        }
    }
    assert_eq!((scanned, requests), (4500, 3));
    let dnc = app.get_json("/api/dnc").await;
    assert_eq!(dnc["total"], 4500);
    let one = app.get_json("/api/leads?q=Delta%201").await;
    assert_eq!(one["items"][0]["do_not_call"], true);
    // Either ids or matching, never both or neither; unknown actions are named.
    for body in [
        json!({"action": "delete"}),
        json!({"action": "delete", "ids": [], "matching": {}}),
        json!({"action": "explode", "ids": [uuid::Uuid::nil()]}),
        json!({"action": "delete", "ids": [uuid::Uuid::nil()], "after": uuid::Uuid::nil()}),
        json!({"action": "delete", "matching": {"status": "won"}}),
    ] {
        let res = app.post_json("/api/leads/bulk", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}

async fn connection_tests_and_previews(app: TestApp) {
    for provider in ["vapi", "calcom", "resend"] {
        let res = app
            .post_json(&format!("/api/integrations/{provider}/test"), &json!({}))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["ok"], true, "{provider}: {body}");
    }
    let res = app
        .post_json("/api/integrations/twilio/test", &json!({}))
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
    let (member, csrf) = app.user_client("m@example.com", "member").await;
    let res = member
        .post(app.url("/api/integrations/vapi/test"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = app
        .post_json("/api/settings/email-preview", &json!({"kind": "thank_you", "subject": "Thanks {{contact_name}}", "body": "Hello from {{company_name}}"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["subject"], "Thanks Jordan Lee");
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .starts_with("Hello from Acme Realty"),
        "{body}"
    );
    assert!(
        body["body"].as_str().unwrap().contains("unsubscribe"),
        "{body}"
    );
    let res = app
        .post_json(
            "/api/settings/email-preview",
            &json!({"kind": "thank_you", "subject": "{{nope}}", "body": ""}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

async fn import_columns_can_be_chosen(app: TestApp) {
    let csv = "Business,Contact name,Mobile,Office phone,Mail,Zone\nAcme,Ann,,+1 415 555 0101,ann@acme.example,America/Chicago\n";
    // Detected: Mobile is the phone column, and it is empty.
    let report: Value = app
        .post_csv("/api/leads/import?dry_run=true", csv)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["columns"]["phone"], "Mobile");
    assert_eq!(report["invalid_count"], 1);
    assert_eq!(
        report["headers"],
        json!([
            "Business",
            "Contact name",
            "Mobile",
            "Office phone",
            "Mail",
            "Zone"
        ])
    );
    assert_eq!(report["sample"][0][0], "Acme");
    // Chosen: the office phone, and no zone column (the default zone applies).
    let res = app
        .post_csv(
            "/api/leads/import?map_phone=Office%20phone&map_timezone=",
            csv,
        )
        .await;
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (
            report["imported"].as_u64(),
            report["columns"]["phone"].as_str()
        ),
        (Some(1), Some("Office phone")),
        "{report}"
    );
    let lead = &app.get_json("/api/leads").await["items"][0];
    assert_eq!(lead["timezone"], "America/Los_Angeles");
    let res = app.post_csv("/api/leads/import?map_email=Nope", csv).await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv").await;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("Nope"),
        "{body}"
    );
}

async fn pages_render_remember_and_guard(app: TestApp) {
    let lead = app
        .create_lead(
            "Acme <b>Realty</b>",
            "Ann",
            "4155550101",
            "ann@acme.example",
        )
        .await;
    let id = lead["id"].as_str().unwrap();
    for path in [
        "/",
        "/leads/table",
        &format!("/leads/{id}"),
        "/calls",
        "/import",
        "/settings",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("<b>Realty</b>"), "{path} escapes names");
    }
    let html = app.get("/").await.text().await.unwrap();
    assert!(
        html.contains("Acme &lt;b&gt;Realty&lt;/b&gt;") || html.contains("Acme &#60;b&#62;Realty"),
        "escaped company shown"
    );
    assert!(html.contains("data-theme=\"system\""));
    // The sort and page size chosen are remembered in cookies and used when a request names none.
    let res = app
        .get("/leads/table?sort=company_name&order=asc&per_page=50")
        .await;
    let cookies: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("lead_sort=company_name.asc")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("lead_per_page=50")),
        "{cookies:?}"
    );
    let html = app.get("/leads/table").await.text().await.unwrap();
    assert!(
        html.contains("aria-sort=\"ascending\" data-col=\"company_name\""),
        "remembered sort"
    );
    assert!(
        html.contains("<option value=\"50\" selected>"),
        "remembered page size"
    );
    // A bad view parameter on the full page falls back to the default view.
    assert_eq!(app.get("/?sort=nope").await.status(), StatusCode::OK);
    assert_eq!(
        app.get("/leads/table?sort=nope").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The theme cookie decides the first paint.
    let res = app
        .client
        .post(app.url("/theme"))
        .form(&[("theme", "dark")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = app.get("/calls").await.text().await.unwrap();
    assert!(html.contains("data-theme=\"dark\""));
    // Members see no settings link and cannot open the page.
    let (member, _) = app.user_client("m@example.com", "member").await;
    let html = member
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("href=\"/settings\""));
    let res = member.get(app.url("/settings")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // A browser asking for the page gets an error page in the app's frame.
    let res = member
        .get(app.url("/settings"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("You don&#x27;t have access") || html.contains("You don't have access"),
        "{html}"
    );
    assert!(html.contains("href=\"/calls\""), "with the navigation bar");
    // Strangers are sent to sign in, and unknown leads are 404.
    let res = anonymous()
        .get(app.url("/calls?outcome=booked"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        "/login?next=/calls%3Foutcome%3Dbooked"
    );
    let res = app.get(&format!("/leads/{}", uuid::Uuid::nil())).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    for path in [
        format!("/leads/{}", uuid::Uuid::nil()),
        "/no/such/page".into(),
    ] {
        let res = app
            .client
            .get(app.url(&path))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            res.text().await.unwrap().contains("Page not found"),
            "{path}"
        );
    }
    assert_error(
        app.get("/no/such/page").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let res = app.get("/leads/not-a-uuid").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

both_engines!(
    status_reports_why_nothing_dials,
    today_counts_calls_bookings_and_cost,
    events_stream_status_and_changes,
    bulk_actions_cover_every_matching_lead,
    connection_tests_and_previews,
    import_columns_can_be_chosen,
    pages_render_remember_and_guard,
);
