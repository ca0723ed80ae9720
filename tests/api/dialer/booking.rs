//! Booking during calls through Cal.com, and Cal.com's webhook.

use super::*;

async fn books_during_the_call_and_only_a_booking_schedules(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));

    let res = app
        .vapi_webhook(&tool_call(
            &call,
            "t1",
            "check_availability",
            json!({"timezone": "America/New_York"}),
        ))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    let text = answer["results"][0]["result"].as_str().unwrap();
    assert!(text.starts_with("Open times in America/New_York: Wednesday, November 25 (UTC-05:00): 2:00 PM; Thursday, November 26 (UTC-05:00): 9:00 AM, 9:30 AM, 2:00 PM"), "{text}");

    // Someone else takes 9:00 first: the agent is told to offer another time.
    app.calcom.take("2026-11-26T14:00:00Z");
    let res: Value = app.vapi_webhook(&tool_call(&call, "t2", "book_appointment", json!({
        "name": "Contact 1", "email": "c1@example.com", "phone": "+14152000001", "company": "Company 1",
        "startTime": "2026-11-26T09:00", "timezone": "America/New_York"}))).await.json().await.unwrap();
    assert!(
        res["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("check_availability"),
        "{res}"
    );

    // Arguments as a JSON string, a local time: booked at 09:30 EST = 14:30 UTC.
    let args = json!({"name": "Contact 1", "email": "c1@example.com", "phone": "+14152000001", "company": "Company 1",
        "startTime": "2026-11-26T09:30:00", "timezone": "America/New_York", "notes": "wants a demo"}).to_string();
    let res: Value = app
        .vapi_webhook(&tool_call(
            &call,
            "t3",
            "book_appointment",
            Value::String(args.clone()),
        ))
        .await
        .json()
        .await
        .unwrap();
    let booked = res["results"][0]["result"].as_str().unwrap();
    assert!(
        booked.contains("Thursday, November 26 at 9:30 AM (UTC-05:00)") && booked.contains("bk_1"),
        "{booked}"
    );
    let bookings = app.calcom.bookings();
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0]["start"], "2026-11-26T14:30:00Z");
    assert_eq!(
        bookings[0]["eventTypeId"],
        crate::fake_calcom::EVENT_TYPE_ID
    );
    assert_eq!(bookings[0]["attendee"]["timeZone"], "America/New_York");
    assert_eq!(bookings[0]["attendee"]["phoneNumber"], "+14152000001");
    assert_eq!(bookings[0]["metadata"]["lead_id"], id.as_str());
    assert_eq!(bookings[0]["metadata"]["vapi_call_id"], call["id"]);
    let l = lead(&app, &id).await;
    assert_eq!(l["cal_booking_uid"], "bk_1");
    assert_eq!(l["booking_start_at"], "2026-11-26T14:30:00.000Z");
    assert_eq!(l["status"], "calling", "scheduled only when the call ends");

    // Asking again in the same call does not book twice.
    let res: Value = app
        .vapi_webhook(&tool_call(
            &call,
            "t4",
            "book_appointment",
            Value::String(args),
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        res["results"][0]["result"]
            .as_str()
            .unwrap()
            .contains("Already booked"),
        "{res}"
    );
    assert_eq!(app.calcom.bookings().len(), 1);

    // The analysis may say anything; the booking decides.
    app.vapi_webhook(&report(
        &call,
        "customer-ended-call",
        Some("not_interested"),
    ))
    .await;
    assert_eq!(lead(&app, &id).await["status"], "scheduled");
    let log = &app.get_json(&format!("/api/call-logs?lead_id={id}")).await["items"][0];
    assert_eq!(log["outcome"], "not_interested");

    // The assistant's word alone never schedules.
    let other = lead_in(&app, 2, "America/New_York").await;
    app.tick().await;
    let call2 = app.vapi.call(&app.vapi.call_id_for(&other, 1));
    app.vapi_webhook(&report(&call2, "customer-ended-call", Some("scheduled")))
        .await;
    assert_eq!(lead(&app, &other).await["status"], "no_answer");
}

pub(crate) async fn calcom_webhook(app: &TestApp, body: &Value, key: &str) -> reqwest::Response {
    let raw = body.to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(raw.as_bytes());
    anonymous()
        .post(app.url("/api/integrations/calcom"))
        .header("content-type", "application/json")
        .header(
            "x-cal-signature-256",
            hex::encode(mac.finalize().into_bytes()),
        )
        .body(raw)
        .send()
        .await
        .unwrap()
}

async fn calcom_cancellations_and_reschedules_follow_the_booking(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    app.tick().await;
    let call = app.vapi.call(&app.vapi.call_id_for(&id, 1));
    app.vapi_webhook(&tool_call(
        &call,
        "t",
        "book_appointment",
        json!({"startTime": "2026-11-26T09:30", "timezone": "America/New_York"}),
    ))
    .await;
    app.vapi_webhook(&report(&call, "customer-ended-call", None))
        .await;
    assert_eq!(lead(&app, &id).await["status"], "scheduled");

    let moved = json!({"triggerEvent": "BOOKING_RESCHEDULED", "createdAt": "2026-11-25T16:00:00Z", "payload": {
        "uid": "bk_2", "rescheduleUid": "bk_1", "startTime": "2026-11-27T15:00:00Z", "endTime": "2026-11-27T15:30:00Z", "status": "ACCEPTED"}});
    // Forged or unsigned: refused, nothing changes.
    assert_error(
        calcom_webhook(&app, &moved, "wrong-key").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    let unsigned = anonymous()
        .post(app.url("/api/integrations/calcom"))
        .json(&moved)
        .send()
        .await
        .unwrap();
    assert_error(unsigned, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(lead(&app, &id).await["cal_booking_uid"], "bk_1");

    let res = calcom_webhook(&app, &moved, crate::helpers::CALCOM_WEBHOOK_SECRET).await;
    assert_eq!(res.status(), StatusCode::OK);
    let l = lead(&app, &id).await;
    assert_eq!(
        (
            l["cal_booking_uid"].as_str(),
            l["booking_start_at"].as_str()
        ),
        (Some("bk_2"), Some("2026-11-27T15:00:00.000Z"))
    );

    let cancelled = json!({"triggerEvent": "BOOKING_CANCELLED", "createdAt": "2026-11-25T17:00:00Z", "payload": {
        "uid": "bk_2", "cancellationReason": "Travelling that week", "status": "CANCELLED"}});
    assert_eq!(
        calcom_webhook(&app, &cancelled, crate::helpers::CALCOM_WEBHOOK_SECRET)
            .await
            .status(),
        StatusCode::OK
    );
    let l = lead(&app, &id).await;
    assert_eq!(l["status"], "pending", "back in the queue");
    assert_eq!(l["call_attempts"], 1, "attempts kept");
    assert!(
        l["status_reason"]
            .as_str()
            .unwrap()
            .contains("Travelling that week")
    );
    assert!(l["cal_booking_uid"].is_null());
    // Delivered twice: nothing more happens.
    let again: Value = calcom_webhook(&app, &cancelled, crate::helpers::CALCOM_WEBHOOK_SECRET)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["changed"], false);
    let other: Value = calcom_webhook(
        &app,
        &json!({"triggerEvent": "MEETING_ENDED", "payload": {}}),
        crate::helpers::CALCOM_WEBHOOK_SECRET,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        other["changed"], false,
        "unknown triggers are accepted and ignored"
    );
    assert_eq!(app.tick().await["dialed"], 1, "called again");
}

both_engines!(
    books_during_the_call_and_only_a_booking_schedules,
    calcom_cancellations_and_reschedules_follow_the_booking,
);
