//! Follow-up emails through the outbox: the right one per outcome, once, surviving outages.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_error};

async fn setup(app: &TestApp, n: u32, extra: Value) -> String {
    let mut settings = json!({"automation_enabled": true});
    settings
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    assert_eq!(
        app.patch_json("/api/settings", &settings).await.status(),
        StatusCode::OK
    );
    let res = app
        .post_json("/api/leads", &json!({"company_name": format!("Acme {n}"), "contact_name": format!("Jane {n}"),
            "phone": format!("+1415{:07}", 3_000_000 + n), "email": format!("jane{n}@acme.example"), "timezone": "America/New_York"}))
        .await;
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn end(call: &Value, reason: &str, outcome: Option<&str>) -> Value {
    json!({"type": "end-of-call-report", "endedReason": reason, "call": call, "artifact": {},
           "analysis": {"structuredData": outcome.map(|o| json!({"outcome": o})).unwrap_or(json!({}))}})
}

async fn each_outcome_sends_its_email_once(app: TestApp) {
    let booked = setup(&app, 1, json!({"max_attempts": 1})).await;
    let declined = setup(&app, 2, json!({})).await;
    let unreached = setup(&app, 3, json!({})).await;
    app.tick().await;
    let call = |id: &str| app.vapi.call(&app.vapi.call_id_for(id, 1));

    let book = json!({"type": "tool-calls", "call": call(&booked), "toolCallList": [{"id": "t", "type": "function",
        "function": {"name": "book_appointment", "arguments": {"name": "Jane 1", "email": "jane1@acme.example", "startTime": "2026-11-26T14:00", "timezone": "America/New_York"}}}]});
    app.vapi_webhook(&book).await;
    app.vapi_webhook(&end(&call(&booked), "customer-ended-call", None))
        .await;
    app.vapi_webhook(&end(
        &call(&declined),
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    app.vapi_webhook(&end(&call(&unreached), "customer-did-not-answer", None))
        .await;
    // Repeats of the same reports queue nothing more.
    app.vapi_webhook(&end(
        &call(&declined),
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    app.vapi_webhook(&end(&call(&unreached), "customer-did-not-answer", None))
        .await;

    let s = app.tick().await;
    assert_eq!(s["emails_sent"], 3, "{s}");
    let sent = app.resend.sent();
    assert_eq!(sent.len(), 3);
    let by_to = |to: &str| sent.iter().find(|e| e["to"][0] == to).unwrap().clone();
    let confirmation = by_to("jane1@acme.example");
    assert_eq!(confirmation["from"], "Acme Sales <sales@acme.example>");
    assert_eq!(
        confirmation["subject"],
        "Your call with us is booked for Thursday, November 26 at 2:00 PM (UTC-05:00)"
    );
    assert!(
        confirmation["text"]
            .as_str()
            .unwrap()
            .contains("https://cal.example/acme/intro")
    );
    assert_eq!(
        confirmation["tags"][0],
        json!({"name": "kind", "value": "booking_confirmation"})
    );
    let thanks = by_to("jane2@acme.example");
    assert_eq!(thanks["subject"], "Thank you for your time");
    assert!(thanks["text"].as_str().unwrap().contains("Acme 2"));
    let final_one = by_to("jane3@acme.example");
    assert_eq!(final_one["subject"], "Sorry we missed you");
    for e in &sent {
        assert!(
            e["text"].as_str().unwrap().contains("unsubscribe"),
            "every email carries the opt-out line"
        );
    }
    assert_eq!(
        app.get_json(&format!("/api/leads/{declined}")).await["follow_up_email_sent"],
        true
    );
    assert_eq!(app.tick().await["emails_sent"], 0, "nothing is sent twice");
    let history = app.get_json(&format!("/api/leads/{booked}/emails")).await;
    assert_eq!(history[0]["kind"], "booking_confirmation");
    assert_eq!(history[0]["status"], "sent");
}

async fn an_outage_delays_but_never_loses_an_email(app: TestApp) {
    let id = setup(&app, 1, json!({})).await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.resend.fail_next(&[500, 429]);
    app.vapi_webhook(&end(&call, "customer-ended-call", Some("not_interested")))
        .await;
    let s = app.tick().await;
    assert_eq!(
        (s["emails_sent"].as_u64(), s["emails_failed"].as_u64()),
        (Some(0), Some(1))
    );
    let history = app.get_json(&format!("/api/leads/{id}/emails")).await;
    assert_eq!(history[0]["status"], "pending");
    assert!(
        history[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("Resend")
    );
    assert_eq!(app.tick().await["emails_sent"], 0, "waits out its back-off");
    app.advance(Duration::from_secs(61));
    assert_eq!(
        app.tick().await["emails_failed"],
        1,
        "rate limited: try later"
    );
    app.advance(Duration::from_secs(121));

    // A restart: a new server process on the same database sends what is left.
    let restarted = ai_dialer::dialer::Dialer::new(
        app.store.clone(),
        None,
        app.state.dialer.resend.clone(),
        app.state.dialer.clock.clone(),
        app.state.dialer.options.clone(),
    );
    let s = restarted.tick().await.unwrap();
    assert_eq!(s.emails_sent, 1);
    assert_eq!(app.resend.sent().len(), 1);
    assert_eq!(
        app.get_json(&format!("/api/leads/{id}/emails")).await[0]["attempts"],
        3
    );
}

async fn templates_are_editable_and_checked(app: TestApp) {
    let s = app.get_json("/api/settings").await;
    assert_eq!(
        s["email_thank_you_subject"], "Thank you for your time",
        "defaults are shown"
    );
    let res = app.patch_json("/api/settings", &json!({"email_thank_you_subject": "Thanks, {{ contact_name }}!", "email_thank_you_body": "Short note to {{company_name}}."})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let err = assert_error(
        app.patch_json(
            "/api/settings",
            &json!({"email_final_body": "Hi {{first_name}}"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(err["error"]["field"], "email_final_body");

    let id = setup(&app, 1, json!({})).await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.vapi_webhook(&end(&call, "customer-ended-call", Some("not_interested")))
        .await;
    app.tick().await;
    let sent = app.resend.sent();
    assert_eq!(sent[0]["subject"], "Thanks, Jane 1!");
    assert!(
        sent[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Short note to Acme 1.")
    );
    assert!(sent[0]["text"].as_str().unwrap().contains("unsubscribe"));

    // An empty template goes back to the default.
    let s: Value = app
        .patch_json("/api/settings", &json!({"email_thank_you_subject": ""}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["email_thank_you_subject"], "Thank you for your time");
}

async fn a_refused_email_is_given_up_with_the_reason(app: TestApp) {
    let id = setup(&app, 1, json!({})).await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.resend.fail_next(&[422]);
    app.vapi_webhook(&end(&call, "customer-ended-call", Some("not_interested")))
        .await;
    app.tick().await;
    let history = app.get_json(&format!("/api/leads/{id}/emails")).await;
    assert_eq!(history[0]["status"], "failed");
    assert!(
        history[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("Invalid `to` field")
    );
    app.advance(Duration::from_secs(3600));
    assert_eq!(app.tick().await["emails_failed"], 0, "not retried");
}

both_engines!(
    each_outcome_sends_its_email_once,
    an_outage_delays_but_never_loses_an_email,
    templates_are_editable_and_checked,
    a_refused_email_is_given_up_with_the_reason,
);
