//! Calling-window settings, legal hours, DST and the do-not-call list.

use super::*;

async fn calling_window_settings_are_validated(app: TestApp) {
    let res = app.patch_json("/api/settings", &json!({"call_window_start": "07:30", "call_window_end": "24:00", "call_days": "Mon, Sat"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let s: Value = res.json().await.unwrap();
    assert_eq!(
        (
            s["call_window_start"].as_str(),
            s["call_window_end"].as_str(),
            s["call_days"].as_str()
        ),
        (Some("07:30"), Some("24:00"), Some("mon,sat"))
    );
    for (body, field) in [
        (json!({"call_window_start": "9am"}), "call_window_start"),
        (json!({"call_window_end": "25:00"}), "call_window_end"),
        (
            json!({"call_window_start": "21:00", "call_window_end": "20:00"}),
            "call_window_end",
        ),
        (json!({"call_days": "funday"}), "call_days"),
        (json!({"call_days": ""}), "call_days"),
    ] {
        let err = assert_error(
            app.patch_json("/api/settings", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(err["error"]["field"], field, "{body}");
    }
}

async fn legal_hours_hold_whatever_the_settings_say(app: TestApp) {
    // A window of 06:00–23:00 every day still dials only 08:00–21:00 local.
    enable(&app, json!({"call_window_start": "06:00", "call_window_end": "23:00", "call_days": "mon,tue,wed,thu,fri,sat,sun"})).await;
    let id = lead_in(&app, 1, "America/Chicago").await;
    app.clock.store(
        "2026-11-25T13:30:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond(),
        std::sync::atomic::Ordering::SeqCst,
    ); // 07:30 CST
    assert_eq!(
        app.tick().await["claimed"],
        0,
        "07:30 local is before the legal 08:00"
    );
    assert_eq!(lead(&app, &id).await["status"], "pending");
    app.clock.store(
        "2026-11-25T14:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond(),
        std::sync::atomic::Ordering::SeqCst,
    ); // 08:00 CST
    assert_eq!(app.tick().await["claimed"], 1);
}

async fn dst_change_day_uses_local_time(app: TestApp) {
    enable(&app, json!({"call_days": "mon,tue,wed,thu,fri,sat,sun"})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    // Sunday 2026-03-08, clocks spring forward: 13:30 UTC is 09:30 EDT (it was 08:30 EST the day before).
    app.clock.store(
        "2026-03-07T13:30:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond(),
        std::sync::atomic::Ordering::SeqCst,
    );
    assert_eq!(app.tick().await["claimed"], 0, "08:30 EST is before 09:00");
    app.clock.store(
        "2026-03-08T13:30:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond(),
        std::sync::atomic::Ordering::SeqCst,
    );
    assert_eq!(app.tick().await["claimed"], 1, "09:30 EDT is inside");
    let vars = &app.vapi.requests()[0]["assistantOverrides"]["variableValues"];
    assert_eq!(vars["lead_datetime"], "Sunday, March 8, 2026 at 9:30 AM");
    assert_eq!(lead(&app, &id).await["status"], "calling");
}

async fn leads_with_unknown_time_zones_go_to_error(app: TestApp) {
    enable(&app, json!({})).await;
    let id = lead_in(&app, 1, "America/New_York").await;
    // A zone that slipped in around validation (an old row, a hand edit in the database).
    crate::settings::sqlx_exec(
        &app.database_url,
        "UPDATE leads SET timezone = 'Mars/Olympus_Mons' WHERE id = $1",
        Some(uuid::Uuid::parse_str(&id).unwrap()),
    )
    .await;
    let s = app.tick().await;
    assert_eq!(s["skipped"]["invalid_timezone"], 1, "{s}");
    let l = lead(&app, &id).await;
    assert_eq!(l["status"], "error");
    assert!(l["status_reason"].as_str().unwrap().contains("time zone"));
    assert!(app.vapi.requests().is_empty());
}

async fn do_not_call_list_api(app: TestApp) {
    assert_eq!(
        app.post_json(
            "/api/dnc",
            &json!({"phone": "415-555-2671", "note": "asked by email"})
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.post_json("/api/dnc", &json!({"phone": "+1 (415) 555-2671"}))
            .await
            .status(),
        StatusCode::OK,
        "already listed"
    );
    let list = app.get_json("/api/dnc").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["phone"], "+14155552671");
    assert_eq!(list["items"][0]["source"], "manual");
    assert_eq!(list["items"][0]["note"], "asked by email");
    assert_error(
        app.post_json("/api/dnc", &json!({"phone": "nope"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        app.delete("/api/dnc/%2B14155552671").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.delete("/api/dnc/%2B14155552671").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.get_json("/api/dnc").await["total"], 0);
}

async fn do_not_call_lists_import_from_csv(app: TestApp) {
    app.post_json("/api/dnc", &json!({"phone": "4155550101"}))
        .await;
    let csv = "Name,Phone Number,Reason\nA,(415) 555-0101,asked\nB,415.555.0102,complaint\nC,not a number,\n,,\nD,+44 20 7946 0958,\n";
    let res = app.post_csv("/api/dnc/import", csv).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (
            report["added"].as_u64(),
            report["already_listed"].as_u64(),
            report["invalid_count"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["invalid"][0]["row"], 4);
    let list = app.get_json("/api/dnc?per_page=10").await;
    assert_eq!(list["total"], 3);
    let complaint = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["phone"] == "+14155550102")
        .unwrap()
        .clone();
    assert_eq!(
        (complaint["source"].as_str(), complaint["note"].as_str()),
        (Some("import"), Some("complaint"))
    );
    let res = app
        .post_csv("/api/dnc/import", "name,email\nA,a@b.com\n")
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_csv").await;
}

both_engines!(
    calling_window_settings_are_validated,
    legal_hours_hold_whatever_the_settings_say,
    dst_change_day_uses_local_time,
    leads_with_unknown_time_zones_go_to_error,
    do_not_call_list_api,
    do_not_call_lists_import_from_csv,
);
