//! Crashes, timeouts and outages around a call.

use super::*;

async fn a_crash_between_claim_and_dial_loses_and_repeats_nothing(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    // The process claims the lead, then dies before asking VAPI.
    let zones = ai_dialer::dialer::open_zones(
        &app.store.settings().await.unwrap().call_window(),
        app.state.dialer.clock.now(),
    );
    let claim = ai_dialer::store::dialer::ClaimRequest {
        now: app.state.dialer.clock.now(),
        cap: 10,
        max_attempts: 3,
        open_zones: &zones,
    };
    assert_eq!(app.store.claim_due(&claim).await.unwrap().len(), 1);
    assert_eq!(lead(&app, &id).await["status"], "calling");
    assert_eq!(
        app.tick().await["claimed"],
        0,
        "its slot stays taken while it might still be dialing"
    );
    // After the longest call plus the margin, the lead is handed back with its attempt.
    app.advance(Duration::from_secs(16 * 60));
    let s = app.tick().await;
    assert_eq!(s["reconciled"], 1, "{s}");
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("pending"), Some(0)),
        "{l}"
    );
    app.advance(Duration::from_secs(6 * 60));
    assert_eq!(app.tick().await["dialed"], 1);
    assert_eq!(app.vapi.requests().len(), 1, "dialed exactly once");
    assert_eq!(lead(&app, &id).await["call_attempts"], 1);
}

async fn a_vapi_timeout_waits_for_the_calls_own_webhooks(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    // VAPI places the call but answers after our timeout.
    app.vapi.push_script(Script::Delay(Duration::from_secs(3)));
    let s = app.tick().await;
    assert_eq!(s["failed"], 1, "{s}");
    assert_eq!(
        lead(&app, &id).await["status"],
        "calling",
        "not handed back: the call may be live"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.tick().await["claimed"], 0, "not dialed again");
    // The call's own webhooks carry our metadata and find their row.
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.vapi_webhook(&json!({"type": "status-update", "status": "in-progress", "call": call}))
        .await;
    let logs = app.get_json(&format!("/api/call-logs?lead_id={id}")).await;
    assert_eq!(logs["items"][0]["vapi_call_id"], call["id"]);
    app.vapi_webhook(&report(
        &call,
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    assert_eq!(lead(&app, &id).await["status"], "not_interested");
    assert_eq!(app.vapi.requests().len(), 1, "dialed once");
}

async fn a_timed_out_call_that_never_happened_is_handed_back(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.vapi.push_script(Script::Status(
        504,
        json!({"message": "Gateway Timeout", "statusCode": 504}),
    ));
    app.tick().await;
    assert_eq!(
        lead(&app, &id).await["status"],
        "pending",
        "an answered 504 is a plain transient failure"
    );
    app.advance(Duration::from_secs(60));
    app.vapi.push_script(Script::Delay(Duration::from_secs(3)));
    app.tick().await;
    assert_eq!(lead(&app, &id).await["status"], "calling");
    // No webhook ever comes: after the longest call plus the margin, the lead goes back.
    app.advance(Duration::from_secs(16 * 60));
    assert_eq!(app.tick().await["reconciled"], 1);
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("pending"), Some(0)),
        "{l}"
    );
}

async fn calendar_outages_get_answers_the_agent_can_use(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.calcom.fail_next(2);
    let res: Value = app
        .vapi_webhook(&tool_call(
            &call,
            "a",
            "check_availability",
            json!({"timezone": "America/New_York"}),
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        res["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("could not be reached"),
        "{res}"
    );
    let res: Value = app
        .vapi_webhook(&tool_call(
            &call,
            "b",
            "book_appointment",
            json!({"startTime": "2026-11-26T09:30", "timezone": "America/New_York"}),
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        res["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("follow-up by email"),
        "{res}"
    );
    assert!(lead(&app, &id).await["cal_booking_uid"].is_null());
    // Back up: the retry books.
    let res: Value = app
        .vapi_webhook(&tool_call(
            &call,
            "c",
            "book_appointment",
            json!({"startTime": "2026-11-26T09:30", "timezone": "America/New_York"}),
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(res["results"][0]["result"].as_str().is_some(), "{res}");
}

both_engines!(
    a_crash_between_claim_and_dial_loses_and_repeats_nothing,
    a_vapi_timeout_waits_for_the_calls_own_webhooks,
    a_timed_out_call_that_never_happened_is_handed_back,
    calendar_outages_get_answers_the_agent_can_use,
);
