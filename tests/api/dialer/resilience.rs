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

async fn a_vapi_timeout_returns_the_lead_without_counting(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.vapi.push_script(Script::Delay(Duration::from_secs(3)));
    let s = app.tick().await;
    assert_eq!(s["failed"], 1, "{s}");
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("pending"), Some(0))
    );
    assert!(
        l["status_reason"].as_str().unwrap().contains("timed out"),
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
    a_vapi_timeout_returns_the_lead_without_counting,
    calendar_outages_get_answers_the_agent_can_use,
);
