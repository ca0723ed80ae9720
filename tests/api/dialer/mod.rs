//! The dialing loop end to end: real server, real database, fake VAPI over HTTP.

use std::{collections::HashMap, time::Duration};

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::both_engines;
use crate::fake_vapi::{Script, WEBHOOK_SECRET};
use crate::helpers::{CRON_SECRET, HMAC_SECRET, TestApp, anonymous, assert_error};

pub(crate) mod booking;
mod faults;
mod resilience;
mod settings_and_dnc;

pub(crate) async fn enable(app: &TestApp, extra: Value) {
    let mut body = json!({"automation_enabled": true, "call_days": "mon,tue,wed,thu,fri"});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    assert_eq!(
        app.patch_json("/api/settings", &body).await.status(),
        StatusCode::OK
    );
}

pub(crate) async fn lead_in(app: &TestApp, n: u32, tz: &str) -> String {
    let res = app
        .post_json("/api/leads", &json!({
            "company_name": format!("Company {n}"), "contact_name": format!("Contact {n}"),
            "phone": format!("+1415{:07}", 2_000_000 + n), "email": format!("c{n}@example.com"), "timezone": tz,
        }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn lead(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/leads/{id}")).await
}

pub(crate) fn report(call: &Value, ended_reason: &str, outcome: Option<&str>) -> Value {
    json!({
        "type": "end-of-call-report", "endedReason": ended_reason, "call": call,
        "startedAt": "2026-11-25T15:00:05.000Z", "endedAt": "2026-11-25T15:02:05.000Z", "cost": 0.31,
        "artifact": {"recordingUrl": "https://storage.example/rec.wav", "stereoRecordingUrl": "https://storage.example/rec-stereo.wav",
                     "transcript": "AI: Hello\nUser: Hi\n", "messages": []},
        "analysis": {"summary": "A short call.", "structuredData": outcome.map(|o| json!({"outcome": o})).unwrap_or(json!({})), "successEvaluation": "false"},
        "transcript": "AI: Hello\nUser: Hi\n", "recordingUrl": "https://storage.example/rec.wav"
    })
}

pub(crate) fn tool_call(call: &Value, id: &str, name: &str, args: Value) -> Value {
    json!({"type": "tool-calls", "call": call, "toolCallList": [{"id": id, "type": "function", "function": {"name": name, "arguments": args}}],
           "toolWithToolCallList": []})
}

async fn places_calls_and_settles_every_outcome(app: TestApp) {
    enable(&app, json!({})).await;
    let ids: Vec<String> =
        futures_util::future::join_all((0..5).map(|n| lead_in(&app, n, "America/New_York"))).await;
    let summary = app.tick().await;
    assert_eq!(
        (
            summary["claimed"].as_u64(),
            summary["dialed"].as_u64(),
            summary["failed"].as_u64()
        ),
        (Some(5), Some(5), Some(0)),
        "{summary}"
    );
    assert!(
        !summary.to_string().contains("@example.com") && !summary.to_string().contains("+1415"),
        "no personal data: {summary}"
    );

    let requests = app.vapi.requests();
    assert_eq!(requests.len(), 5);
    let first = requests
        .iter()
        .find(|r| r["assistantOverrides"]["metadata"]["lead_id"] == ids[0].as_str())
        .unwrap();
    assert_eq!(first["assistantId"], "assistant-test");
    assert_eq!(first["phoneNumberId"], "phone-test");
    assert_eq!(
        first["customer"],
        json!({"number": "+14152000000", "name": "Contact 0"})
    );
    let vars = &first["assistantOverrides"]["variableValues"];
    assert_eq!(vars["lead_company_name"], "Company 0");
    assert_eq!(vars["lead_contact_name"], "Contact 0");
    assert_eq!(vars["lead_email"], "c0@example.com");
    assert_eq!(vars["lead_phone_number"], "+14152000000");
    assert_eq!(vars["lead_timezone"], "America/New_York");
    assert_eq!(
        vars["lead_datetime"],
        "Wednesday, November 25, 2026 at 10:00 AM"
    );
    assert_eq!(first["assistantOverrides"]["metadata"]["attempt"], 1);

    for id in &ids {
        let l = lead(&app, id).await;
        assert_eq!(l["status"], "calling");
        assert_eq!(l["call_attempts"], 1);
        assert_eq!(l["last_called_at"], "2026-11-25T15:00:00.000Z");
    }
    let call = |i: usize| app.vapi.call(&app.vapi.call_id_for(&ids[i], 1));

    // 0: nobody answered → no_answer, retried after retry_interval (15 min), inside the window.
    assert_eq!(
        app.vapi_webhook(&report(&call(0), "customer-did-not-answer", None))
            .await
            .status(),
        StatusCode::OK
    );
    let l = lead(&app, &ids[0]).await;
    assert_eq!(l["status"], "no_answer");
    assert_eq!(l["next_call_at"], "2026-11-25T15:15:00.000Z");
    // The same report again changes nothing.
    app.vapi_webhook(&report(&call(0), "customer-did-not-answer", None))
        .await;
    assert_eq!(lead(&app, &ids[0]).await, l);

    // 1: talked, not interested.
    app.vapi_webhook(&report(
        &call(1),
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    assert_eq!(lead(&app, &ids[1]).await["status"], "not_interested");
    // A status update delivered late (after the report) changes nothing.
    let late = json!({"type": "status-update", "status": "in-progress", "call": call(1)});
    assert_eq!(app.vapi_webhook(&late).await.status(), StatusCode::OK);
    let logs = app
        .get_json(&format!("/api/call-logs?lead_id={}", ids[1]))
        .await;
    assert_eq!(logs["items"][0]["call_status"], "ended");
    assert_eq!(lead(&app, &ids[1]).await["status"], "not_interested");

    // 2: asked not to be called again, through the tool, during the call.
    let tool = json!({"type": "tool-calls", "call": call(2), "toolCallList": [
        {"id": "tc1", "type": "function", "function": {"name": "mark_do_not_call", "arguments": {}}},
        {"id": "tc2", "type": "function", "function": {"name": "no_such_tool", "arguments": "{}"}}]});
    let res = app.vapi_webhook(&tool).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["results"][0]["toolCallId"], "tc1");
    assert!(
        body["results"][0]["result"]
            .as_str()
            .unwrap()
            .contains("do-not-call")
    );
    assert_eq!(body["results"][1]["toolCallId"], "tc2");
    assert!(body["results"][1]["error"].is_string());
    assert!(!body["results"][1]["error"].as_str().unwrap().contains('\n'));
    app.vapi_webhook(&report(&call(2), "customer-ended-call", None))
        .await;
    let l = lead(&app, &ids[2]).await;
    assert_eq!(l["status"], "not_interested");
    assert_eq!(l["do_not_call"], true);

    // 3: the number was bad: status-update alone settles it (no report may come).
    let res = app.vapi_webhook(&json!({"type": "status-update", "status": "ended", "endedReason": "twilio-reported-customer-misdialed", "call": call(3)})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let l = lead(&app, &ids[3]).await;
    assert_eq!(l["status"], "error");
    assert!(
        l["status_reason"]
            .as_str()
            .unwrap()
            .contains("could not be dialed")
    );

    // 4: a person changed the lead during the call; the late report must not undo it.
    app.patch_json(
        &format!("/api/leads/{}", ids[4]),
        &json!({"status": "not_interested"}),
    )
    .await;
    app.vapi_webhook(&report(&call(4), "customer-did-not-answer", None))
        .await;
    assert_eq!(lead(&app, &ids[4]).await["status"], "not_interested");

    // The report filled the call log.
    let logs = app
        .get_json(&format!("/api/call-logs?lead_id={}", ids[1]))
        .await;
    let log = &logs["items"][0];
    assert_eq!(log["ended_reason"], "customer-ended-call");
    assert_eq!(log["call_status"], "ended");
    assert_eq!(log["recording_url"], "https://storage.example/rec.wav");
    assert_eq!(
        log["stereo_recording_url"],
        "https://storage.example/rec-stereo.wav"
    );
    assert_eq!(log["duration_seconds"], 120.0);
    assert_eq!(log["cost"], 0.31);
    assert_eq!(log["summary"], "A short call.");
    assert_eq!(log["outcome"], "not_interested");
    assert!(log["transcript"].as_str().unwrap().contains("User: Hi"));
    let raw = app
        .get_json(&format!(
            "/api/call-logs/{}/report",
            log["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(raw["type"], "end-of-call-report");

    // Unknown message types and calls that are not ours are accepted and ignored.
    assert_eq!(
        app.vapi_webhook(&json!({"type": "conversation-update", "messages": []}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.vapi_webhook(&report(
            &json!({"id": "someone-elses-call"}),
            "customer-ended-call",
            None
        ))
        .await
        .status(),
        StatusCode::OK
    );
}

async fn retries_until_attempts_run_out(app: TestApp) {
    enable(&app, json!({"max_attempts": 2, "retry_interval": 30})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    assert_eq!(app.tick().await["dialed"], 1);
    let call1 = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.vapi_webhook(&report(&call1, "customer-busy", None))
        .await;
    assert_eq!(
        lead(&app, &id).await["next_call_at"],
        "2026-11-25T15:30:00.000Z"
    );
    assert_eq!(app.tick().await["claimed"], 0, "not due yet");
    app.advance(Duration::from_secs(31 * 60));
    assert_eq!(app.tick().await["dialed"], 1, "due again");
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("calling"), Some(2))
    );
    let call2 = app.vapi.call(&app.vapi.call_id_for(&id, 2));
    app.vapi_webhook(&report(&call2, "voicemail", None)).await;
    let l = lead(&app, &id).await;
    assert_eq!(l["status"], "no_answer");
    assert!(l["next_call_at"].is_null(), "no attempts left: {l}");
    app.advance(Duration::from_secs(3600));
    assert_eq!(app.tick().await["claimed"], 0);
    // Requeue starts it over.
    app.post_json(
        "/api/leads/bulk",
        &json!({"ids": [id], "action": "requeue"}),
    )
    .await;
    assert_eq!(app.tick().await["dialed"], 1);
    assert_eq!(app.vapi.requests().len(), 3);
}

async fn honours_cap_windows_and_do_not_call(app: TestApp) {
    enable(&app, json!({"max_calls_batch": 2})).await;
    for n in 0..4 {
        lead_in(&app, n, "America/New_York").await;
    }
    let la = lead_in(&app, 10, "America/Los_Angeles").await; // 07:00 there
    let listed = lead_in(&app, 11, "America/New_York").await;
    assert_eq!(
        app.post_json("/api/dnc", &json!({"phone": "(415) 200-0011"}))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(lead(&app, &listed).await["do_not_call"], true);

    assert_eq!(app.tick().await["claimed"], 2, "the cap holds");
    let s = app.tick().await;
    assert_eq!(s["claimed"], 0);
    assert_eq!(s["skipped"]["concurrency_cap"], 1, "{s}");
    assert_eq!(app.store.count_calling().await.unwrap(), 2);
    app.patch_json("/api/settings", &json!({"max_calls_batch": 10}))
        .await;
    assert_eq!(
        app.tick().await["claimed"],
        2,
        "the other two New York leads"
    );
    assert_eq!(
        lead(&app, &la).await["status"],
        "pending",
        "too early in Los Angeles"
    );
    assert_eq!(
        lead(&app, &listed).await["status"],
        "pending",
        "never dialed while on the list"
    );
    // 09:00 in Los Angeles.
    app.advance(Duration::from_secs(2 * 3600));
    assert_eq!(app.tick().await["claimed"], 1);
    assert_eq!(lead(&app, &la).await["status"], "calling");
    // Saturday: nobody.
    app.advance(Duration::from_secs(3 * 24 * 3600));
    app.post_json(
        "/api/leads/bulk",
        &json!({"ids": [la], "action": "requeue"}),
    )
    .await;
    let s = app.tick().await;
    assert_eq!(s["skipped"]["outside_calling_hours"], 1, "{s}");
    let phones: Vec<String> = app
        .vapi
        .requests()
        .iter()
        .map(|r| r["customer"]["number"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !phones.contains(&"+14152000011".to_owned()),
        "a listed number is never dialed"
    );
}

async fn dial_failures_are_sorted(app: TestApp) {
    enable(&app, json!({})).await;
    let bad = lead_in(&app, 1, "America/New_York").await;
    app.vapi.push_script(Script::Status(400, json!({"message": ["customer.number is not a valid phone number"], "error": "Bad Request", "statusCode": 400})));
    let s = app.tick().await;
    assert_eq!(
        (s["claimed"].as_u64(), s["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let l = lead(&app, &bad).await;
    assert_eq!(l["status"], "error");
    assert!(
        l["status_reason"]
            .as_str()
            .unwrap()
            .contains("not a valid phone number"),
        "{l}"
    );

    let flaky = lead_in(&app, 2, "America/New_York").await;
    app.vapi.push_script(Script::Status(
        503,
        json!({"message": "Service Unavailable", "statusCode": 503}),
    ));
    app.tick().await;
    let l = lead(&app, &flaky).await;
    assert_eq!(l["status"], "pending", "back in the queue");
    assert_eq!(l["call_attempts"], 0, "the attempt is given back");
    assert_eq!(
        l["next_call_at"], "2026-11-25T15:01:00.000Z",
        "after a back-off"
    );
    app.vapi.push_script(Script::Status(
        429,
        json!({"message": "Too Many Requests", "statusCode": 429}),
    ));
    app.advance(Duration::from_secs(61));
    app.tick().await;
    let l = lead(&app, &flaky).await;
    assert_eq!(l["call_attempts"], 0);
    assert_eq!(
        l["next_call_at"], "2026-11-25T15:03:01.000Z",
        "the back-off doubles"
    );
    app.advance(Duration::from_secs(121));
    assert_eq!(app.tick().await["dialed"], 1);
    let l = lead(&app, &flaky).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("calling"), Some(1)),
        "counted once"
    );
    let logs = app
        .get_json(&format!("/api/call-logs?lead_id={flaky}"))
        .await;
    assert_eq!(logs["total"], 1, "failed dials leave no call behind");
}

async fn webhook_before_the_create_response_is_not_lost(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.vapi
        .push_script(Script::WebhookFirst(app.url("/api/integrations/vapi")));
    assert_eq!(app.tick().await["dialed"], 1);
    let logs = app.get_json(&format!("/api/call-logs?lead_id={id}")).await;
    assert_eq!(logs["total"], 1);
    let log = &logs["items"][0];
    assert_eq!(
        log["vapi_call_id"].as_str().unwrap(),
        app.vapi.call_id_for(&id, 1)
    );
    assert_eq!(
        log["call_status"], "ringing",
        "the early status survived the late response"
    );
}

async fn stale_calls_are_reconciled_from_vapi(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call_id = app.vapi.call_id_for(&id, 1);
    app.advance(Duration::from_secs(10 * 60));
    app.tick().await;
    assert_eq!(
        lead(&app, &id).await["status"],
        "calling",
        "still within the longest call"
    );
    app.vapi.end_call(&call_id, "customer-busy");
    app.advance(Duration::from_secs(6 * 60));
    let s = app.tick().await;
    assert_eq!(s["reconciled"], 1, "{s}");
    let l = lead(&app, &id).await;
    assert_eq!(l["status"], "no_answer");
    let logs = app.get_json(&format!("/api/call-logs?lead_id={id}")).await;
    assert_eq!(logs["items"][0]["ended_reason"], "customer-busy");
}

async fn concurrent_ticks_never_dial_a_lead_twice(app: TestApp) {
    enable(&app, json!({"max_calls_batch": 40})).await;
    let mut csv = String::from("company,contact,phone,email,timezone\n");
    for n in 0..60 {
        csv.push_str(&format!(
            "Co {n},Name {n},+1415{:07},c{n}@x.com,America/New_York\n",
            2_100_000 + n
        ));
    }
    assert_eq!(
        app.post_csv("/api/leads/import", csv).await.status(),
        StatusCode::OK
    );
    // A second server process on the same database, racing through /api/cron, plus direct ticks.
    // (its own Dialer, so its own in-process tick lock: only the database keeps them apart).
    let d = &app.state.dialer;
    let second_store =
        ai_dialer::store::Store::connect(&ai_dialer::store::ConnectOptions::new(&app.database_url))
            .await
            .unwrap();
    let second = ai_dialer::dialer::Dialer::new(
        second_store,
        d.vapi.clone(),
        None,
        d.clock.clone(),
        d.options.clone(),
    );
    let mut ticks = Vec::new();
    for _ in 0..4 {
        ticks.push(tokio::spawn({
            let url = app.url("/api/cron");
            async move {
                anonymous()
                    .post(url)
                    .bearer_auth(CRON_SECRET)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        }));
    }
    let direct = [app.state.dialer.clone(), second.clone(), second];
    let results = futures_util::future::join_all(direct.iter().map(|d| d.tick())).await;
    for r in results {
        r.unwrap();
    }
    for t in ticks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let mut per_lead: HashMap<String, usize> = HashMap::new();
    for r in app.vapi.requests() {
        *per_lead
            .entry(r["customer"]["number"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_lead.len(), 40, "the cap held across all claimers");
    assert!(
        per_lead.values().all(|&n| n == 1),
        "no lead dialed twice: {per_lead:?}"
    );
    assert_eq!(app.store.count_calling().await.unwrap(), 40);
}

async fn cron_needs_its_secret(app: TestApp) {
    for auth in [None, Some("wrong"), Some("cron-test-secre")] {
        let mut req = anonymous().get(app.url("/api/cron"));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        assert_error(
            req.send().await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    let res = anonymous()
        .get(app.url("/api/cron"))
        .bearer_auth(CRON_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let s: Value = res.json().await.unwrap();
    assert_eq!(s["skipped"]["automation_disabled"], 1);
}

fn hmac_headers(body: &str, ts: i64, key: &str) -> (String, String) {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    (ts.to_string(), hex::encode(mac.finalize().into_bytes()))
}

async fn forged_webhooks_change_nothing(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    let body = json!({"message": report(&call, "customer-ended-call", Some("not_interested"))})
        .to_string();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = anonymous()
            .post(app.url("/api/integrations/vapi"))
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let now = jiff::Timestamp::now().as_second();
    let (ts, good_sig) = hmac_headers(&body, now, HMAC_SECRET);
    let (_, wrong_key) = hmac_headers(&body, now, "not-the-key");
    let (old_ts, old_sig) = hmac_headers(&body, now - 3600, HMAC_SECRET);
    for headers in [
        vec![],
        vec![("x-vapi-secret", "wrong".to_owned())],
        vec![("authorization", "Bearer wrong".to_owned())],
        vec![("x-timestamp", ts.clone()), ("x-signature", wrong_key)],
        vec![("x-timestamp", old_ts), ("x-signature", old_sig)],
        vec![
            ("x-timestamp", (now + 1).to_string()),
            ("x-signature", good_sig.clone()),
        ],
    ] {
        assert_error(
            post(headers).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    }
    assert_eq!(
        lead(&app, &id).await["status"],
        "calling",
        "nothing changed"
    );
    assert_eq!(
        post(vec![("x-timestamp", ts), ("x-signature", good_sig)])
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(lead(&app, &id).await["status"], "not_interested");

    let bearer = anonymous()
        .post(app.url("/api/integrations/vapi"))
        .bearer_auth(WEBHOOK_SECRET)
        .json(&json!({"message": {"type": "hang"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let garbage = anonymous()
        .post(app.url("/api/integrations/vapi"))
        .header("x-vapi-secret", WEBHOOK_SECRET)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(garbage, StatusCode::BAD_REQUEST, "malformed_json").await;
}

async fn structured_analysis_reaches_the_call_log_and_the_lead_page(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    let mut end = report(&call, "customer-ended-call", None);
    end["analysis"]["structuredData"] =
        json!({"outcome": "callback", "callback_requested_at": "Thursday at 3pm"});
    assert_eq!(app.vapi_webhook(&end).await.status(), StatusCode::OK);
    let logs = app.get_json(&format!("/api/call-logs?lead_id={id}")).await;
    let log = &logs["items"][0];
    assert_eq!(log["outcome"], "callback");
    assert_eq!(
        log["structured_data"],
        json!({"outcome": "callback", "callback_requested_at": "Thursday at 3pm"})
    );
    let html = app.get(&format!("/leads/{id}")).await.text().await.unwrap();
    assert!(html.contains("Callback requested at"), "labelled");
    assert!(html.contains("Thursday at 3pm"), "shown");
}

both_engines!(
    places_calls_and_settles_every_outcome,
    retries_until_attempts_run_out,
    honours_cap_windows_and_do_not_call,
    dial_failures_are_sorted,
    webhook_before_the_create_response_is_not_lost,
    stale_calls_are_reconciled_from_vapi,
    concurrent_ticks_never_dial_a_lead_twice,
    cron_needs_its_secret,
    forged_webhooks_change_nothing,
    structured_analysis_reaches_the_call_log_and_the_lead_page,
);
