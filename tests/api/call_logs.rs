//! Call history reads.

use ai_dialer::store::call_logs::NewCallLog;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::both_engines;
use crate::helpers::{TestApp, assert_error};

async fn call_logs_list_by_lead_and_page(app: TestApp) {
    let a = app.create_lead("A", "Ann", "4155550101", "a@a.com").await;
    let b = app.create_lead("B", "Bob", "4155550102", "b@b.com").await;
    let a_id = Uuid::parse_str(a["id"].as_str().unwrap()).unwrap();
    let b_id = Uuid::parse_str(b["id"].as_str().unwrap()).unwrap();
    for i in 0..12 {
        let lead_id = if i < 11 { a_id } else { b_id };
        app.store
            .create_call_log(&NewCallLog {
                lead_id,
                vapi_call_id: Some(format!("call-{i}")),
                attempt: i + 1,
                initiated_at: Some(1_700_000_000_000 + i),
                initial_response: Some("{\"id\":\"x\"}".into()),
            })
            .await
            .unwrap();
    }
    let dup = app
        .store
        .create_call_log(&NewCallLog {
            lead_id: a_id,
            vapi_call_id: Some("call-0".into()),
            attempt: 99,
            initiated_at: None,
            initial_response: None,
        })
        .await;
    assert!(
        dup.is_err_and(|e| e.is_conflict_on("vapi_call_id")),
        "vapi_call_id is unique"
    );

    let page = app
        .get_json(&format!("/api/call-logs?lead_id={a_id}"))
        .await;
    assert_eq!(page["total"], 11);
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    let page2 = app
        .get_json(&format!("/api/call-logs?lead_id={a_id}&page=2"))
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 1);
    let all = app.get_json("/api/call-logs?per_page=20").await;
    assert_eq!(all["total"], 12);
    assert_eq!(all["items"][0]["vapi_call_id"], "call-11", "newest first");

    let id = all["items"][0]["id"].as_str().unwrap();
    let one = app.get_json(&format!("/api/call-logs/{id}")).await;
    assert_eq!(one["lead_id"], b["id"]);
    assert_eq!(one["attempt"], 12);
    assert_eq!(one["initiated_at"], "2023-11-14T22:13:20.011Z");
    assert!(
        one.get("initial_response").is_none(),
        "raw provider payloads stay out of the list"
    );
    let res = app.get(&format!("/api/call-logs/{id}/report")).await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;

    assert_error(
        app.get(&format!("/api/call-logs/{}", Uuid::nil())).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.get("/api/call-logs/xyz").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    assert_error(
        app.get("/api/call-logs?lead_id=xyz").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;

    // Deleting a lead takes its call history with it.
    app.delete(&format!("/api/leads/{a_id}")).await;
    let left: Value = app.get_json("/api/call-logs").await;
    assert_eq!(left["total"], 1);
}

both_engines!(call_logs_list_by_lead_and_page);
