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
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("pending"), Some(0)),
        "a claim alone counts nothing: {l}"
    );
    assert_eq!(app.store.count_calling().await.unwrap(), 1);
    assert_eq!(
        app.tick().await["claimed"],
        0,
        "its slot stays taken while it might still be dialing"
    );
    // Within the dial grace (two minutes) nothing moves: the dial may still be on its way.
    app.advance(Duration::from_secs(90));
    assert_eq!(app.tick().await["reconciled"], 0);
    // After it, the slot is let go and the lead dialed at once.
    app.advance(Duration::from_secs(31));
    let s = app.tick().await;
    assert_eq!(s["reconciled"], 1, "{s}");
    assert_eq!(s["dialed"], 1, "due again at once: {s}");
    assert_eq!(app.vapi.requests().len(), 1, "dialed exactly once");
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("calling"), Some(1)),
        "one attempt, for the call really placed: {l}"
    );
}

async fn a_lead_changed_between_claim_and_dial_is_not_dialed(app: TestApp) {
    enable(&app, json!({})).await;
    let kept = lead_in(&app, 1, "America/New_York").await;
    let changed = lead_in(&app, 2, "America/New_York").await;
    let listed = lead_in(&app, 3, "America/New_York").await;
    let zones = ai_dialer::dialer::open_zones(
        &app.store.settings().await.unwrap().call_window(),
        app.state.dialer.clock.now(),
    );
    let now = app.state.dialer.clock.now();
    let claim = ai_dialer::store::dialer::ClaimRequest {
        now,
        cap: 10,
        max_attempts: 3,
        open_zones: &zones,
    };
    let claimed = app.store.claim_due(&claim).await.unwrap();
    assert_eq!(claimed.len(), 3);
    assert_eq!(
        app.store.claim_due(&claim).await.unwrap().len(),
        0,
        "a claimed lead is not claimed twice"
    );
    // Between the claim and the dial, a person closes one lead and opts another out.
    let res = app
        .patch_json(
            &format!("/api/leads/{changed}"),
            &json!({"status": "not_interested"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post_json("/api/dnc", &json!({"phone": "+14152000003"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut began = Vec::new();
    for c in &claimed {
        began.push((
            c.id.to_string(),
            app.store.begin_call(c, now).await.unwrap().is_some(),
        ));
    }
    began.sort();
    let mut expected = vec![
        (kept.clone(), true),
        (changed.clone(), false),
        (listed.clone(), false),
    ];
    expected.sort();
    assert_eq!(began, expected);
    assert_eq!(
        app.store.count_calling().await.unwrap(),
        1,
        "the two not dialed let their slots go"
    );
    assert_eq!(lead(&app, &kept).await["status"], "calling");
    assert_eq!(lead(&app, &changed).await["status"], "not_interested");
    assert_eq!(lead(&app, &listed).await["call_attempts"], 0);
    // A started call is not started twice by a repeated begin.
    let again = claimed.iter().find(|c| c.id.to_string() == kept).unwrap();
    assert!(app.store.begin_call(again, now).await.unwrap().is_none());
    assert_eq!(app.store.count_calling().await.unwrap(), 1);
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
    // No webhook ever confirms the call: after the dial grace the lead goes back with its
    // attempt, due at once.
    app.advance(Duration::from_secs(121));
    let s = app.tick().await;
    assert_eq!(s["reconciled"], 1, "{s}");
    let calls = app.get_json(&format!("/api/call-logs?lead_id={id}")).await;
    assert_eq!(
        calls["items"][0]["attempt"], 3,
        "the next try is a new call record: {calls}"
    );
    let l = lead(&app, &id).await;
    assert_eq!(l["call_attempts"], 1, "one attempt in use, not three: {l}");
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

async fn a_requeued_lead_starts_a_fresh_call_record(app: TestApp) {
    enable(&app, json!({"max_attempts": 1})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let first = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.vapi_webhook(&tool_call(
        &first,
        "t",
        "book_appointment",
        json!({"startTime": "2026-11-26T09:30", "timezone": "America/New_York"}),
    ))
    .await;
    app.vapi_webhook(&report(&first, "customer-ended-call", None))
        .await;
    assert_eq!(lead(&app, &id).await["status"], "scheduled");
    // The meeting is cancelled on the lead's last attempt: it must still be callable.
    let cancel = json!({"triggerEvent": "BOOKING_CANCELLED", "payload": {"uid": "bk_1", "cancellationReason": "Nope\u{0}"}});
    assert_eq!(
        booking::calcom_webhook(&app, &cancel, crate::helpers::CALCOM_WEBHOOK_SECRET)
            .await
            .status(),
        StatusCode::OK
    );
    let l = lead(&app, &id).await;
    assert_eq!(
        (l["status"].as_str(), l["call_attempts"].as_i64()),
        (Some("pending"), Some(0)),
        "{l}"
    );
    assert_eq!(
        app.tick().await["dialed"],
        1,
        "called again after the cancellation"
    );
    // The new call has its own record: the old booking does not make it scheduled, and a
    // late report from the old call changes nothing.
    let second = app.vapi.call(&app.vapi.call_id_for(&id, 2));
    app.vapi_webhook(&report(&first, "customer-ended-call", None))
        .await;
    assert_eq!(lead(&app, &id).await["status"], "calling");
    let with_nul = json!({"type": "end-of-call-report", "endedReason": "customer-ended-call", "call": second, "artifact": {"transcript": "AI: hi\u{0}"},
        "analysis": {"summary": "Said no\u{0}.", "structuredData": {"outcome": "not_interested"}}});
    assert_eq!(
        app.vapi_webhook(&with_nul).await.status(),
        StatusCode::OK,
        "NUL characters are dropped, not a 500"
    );
    assert_eq!(lead(&app, &id).await["status"], "not_interested");
    assert_eq!(
        app.get_json(&format!("/api/call-logs?lead_id={id}")).await["total"],
        2
    );
}

async fn opt_outs_reach_the_list_whatever_else_happened(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    // Someone changes the lead during the call; the person then asks not to be called.
    app.patch_json(
        &format!("/api/leads/{id}"),
        &json!({"status": "not_interested"}),
    )
    .await;
    app.vapi_webhook(&report(&call, "customer-ended-call", Some("do_not_call")))
        .await;
    assert_eq!(lead(&app, &id).await["do_not_call"], true);
    // The legacy `toolCalls` key, on a call we cannot link: the number still goes on the list.
    let stranger = json!({"id": "not-ours", "customer": {"number": "+14155550177"}});
    let res: Value = app
        .vapi_webhook(&json!({"type": "tool-calls", "call": stranger, "toolCalls": [{"id": "x", "type": "function", "function": {"name": "mark_do_not_call", "arguments": "{}"}}]}))
        .await
        .json()
        .await
        .unwrap();
    assert!(res["results"][0]["result"].as_str().is_some(), "{res}");
    let listed = app.get_json("/api/dnc?per_page=10").await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["phone"] == "+14155550177")
    );
    // A lead on a live call cannot be made due again.
    let other = lead_in(&app, 2, "America/New_York").await;
    app.tick().await;
    let res = app
        .patch_json(
            &format!("/api/leads/{other}"),
            &json!({"status": "pending"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    let res: Value = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": [other], "action": "requeue"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(res["affected"], 0);
}

both_engines!(
    a_crash_between_claim_and_dial_loses_and_repeats_nothing,
    a_lead_changed_between_claim_and_dial_is_not_dialed,
    a_vapi_timeout_waits_for_the_calls_own_webhooks,
    a_timed_out_call_that_never_happened_is_handed_back,
    calendar_outages_get_answers_the_agent_can_use,
    a_requeued_lead_starts_a_fresh_call_record,
    opt_outs_reach_the_list_whatever_else_happened,
);

async fn calendar_timeouts_and_rate_limits(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    let ask = |n: &str| {
        tool_call(
            &call,
            n,
            "check_availability",
            json!({"timezone": "America/New_York"}),
        )
    };
    app.calcom.fail_with(429);
    let res: Value = app.vapi_webhook(&ask("a")).await.json().await.unwrap();
    assert!(
        res["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("try once more"),
        "{res}"
    );
    app.calcom.delay_next(3);
    let res: Value = app.vapi_webhook(&ask("b")).await.json().await.unwrap();
    assert!(
        res["results"][0]["error"].is_string(),
        "a slow calendar still gets an answer in time: {res}"
    );
    // A booking that times out may have been made: the agent must not book again.
    app.calcom.delay_next(3);
    let book = tool_call(
        &call,
        "c",
        "book_appointment",
        json!({"startTime": "2026-11-26T09:30", "timezone": "America/New_York"}),
    );
    let res: Value = app.vapi_webhook(&book).await.json().await.unwrap();
    assert!(
        res["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("Do not book again"),
        "{res}"
    );
}

async fn a_slow_resend_sends_the_email_once(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.resend.delay_next(3);
    app.vapi_webhook(&report(
        &call,
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    let s = app.tick().await;
    assert_eq!(s["emails_failed"], 1, "timed out: {s}");
    app.advance(Duration::from_secs(61));
    let s = app.tick().await;
    assert_eq!(s["emails_sent"], 1, "{s}");
    assert_eq!(
        app.resend.sent().len(),
        1,
        "the retry reused the idempotency key: one email"
    );
}

mod provider_limits {
    use super::*;
    both_engines!(
        calendar_timeouts_and_rate_limits,
        a_slow_resend_sends_the_email_once
    );
}
