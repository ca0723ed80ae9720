//! Settings: one row, bounded values, partial updates, admins only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_error};

async fn defaults_then_partial_updates(app: TestApp) {
    let s = app.get_json("/api/settings").await;
    assert_eq!(s["automation_enabled"], false);
    assert_eq!(s["max_calls_batch"], 10);
    assert_eq!(s["retry_interval"], 15);
    assert_eq!(s["max_attempts"], 3);
    assert_eq!(s["default_region"], "US");
    assert_eq!(s["default_timezone"], "America/Los_Angeles");

    let res = app
        .patch_json(
            "/api/settings",
            &json!({"max_attempts": 5, "default_region": "gb"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let s: Value = res.json().await.unwrap();
    assert_eq!(s["max_attempts"], 5);
    assert_eq!(s["default_region"], "GB");
    // Another writer flips automation; the earlier change must survive it.
    app.patch_json("/api/settings", &json!({"automation_enabled": true}))
        .await;
    let s = app.get_json("/api/settings").await;
    assert_eq!(s["automation_enabled"], true);
    assert_eq!(s["max_attempts"], 5);

    // The default region now applies to national numbers.
    let lead = app
        .create_lead("UK Co", "Ann", "020 7946 0958", "ann@uk.co")
        .await;
    assert_eq!(lead["phone"], "+442079460958");
}

async fn out_of_range_and_unknown_values_are_refused(app: TestApp) {
    let before = app.get_json("/api/settings").await;
    for (body, field) in [
        (json!({"max_calls_batch": 0}), "max_calls_batch"),
        (json!({"max_calls_batch": 5000}), "max_calls_batch"),
        (json!({"retry_interval": 0}), "retry_interval"),
        (json!({"max_attempts": 21}), "max_attempts"),
        (json!({"default_region": "ZZ"}), "default_region"),
        (
            json!({"default_timezone": "Nowhere/Land"}),
            "default_timezone",
        ),
    ] {
        let err = assert_error(
            app.patch_json("/api/settings", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(err["error"]["field"], field);
    }
    for body in [
        json!({"id": 2}),
        json!({"max_attempts": "3"}),
        json!({"max_attempts": 1.5}),
        json!({"automation_enabled": null}),
    ] {
        assert_error(
            app.patch_json("/api/settings", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
    }
    let res = app
        .client
        .patch(app.url("/api/settings"))
        .header("x-csrf-token", &app.csrf)
        .header("content-type", "application/json")
        .body(r#"{"max_attempts": 99999999999999999999999}"#)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let mut after = app.get_json("/api/settings").await;
    after["updated_at"] = before["updated_at"].clone();
    assert_eq!(after, before, "refused updates change nothing");
}

async fn members_may_read_but_not_change_settings(app: TestApp) {
    let (member, csrf) = app.user_client("member@example.com", "member").await;
    let res = member.get(app.url("/api/settings")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = member
        .patch(app.url("/api/settings"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"max_attempts": 4}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(app.get_json("/api/settings").await["max_attempts"], 3);
}

async fn the_schema_allows_exactly_one_settings_row(app: TestApp) {
    let url = app.database_url.clone();
    let err = if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO settings (id, created_at, updated_at) VALUES (2, 0, 0)")
            .execute(&pool)
            .await
            .err()
    } else {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO settings (id, created_at, updated_at) VALUES (2, 0, 0)")
            .execute(&pool)
            .await
            .err()
    };
    assert!(err.is_some(), "a second settings row must be rejected");
}

/// Even an UPDATE written by hand (a migration, an operator in psql) moves `updated_at`.
async fn the_schema_maintains_updated_at(app: TestApp) {
    let lead = app
        .create_lead("Acme", "Jane", "4155552671", "jane@acme.com")
        .await;
    let id = uuid::Uuid::parse_str(lead["id"].as_str().unwrap()).unwrap();
    sqlx_exec(
        &app.database_url,
        "UPDATE leads SET updated_at = 1000, created_at = 1000",
        None,
    )
    .await;
    sqlx_exec(
        &app.database_url,
        "UPDATE leads SET company_name = 'Renamed' WHERE id = $1",
        Some(id),
    )
    .await;
    let after = app.get_json(&format!("/api/leads/{id}")).await;
    assert_eq!(after["company_name"], "Renamed");
    assert_eq!(after["created_at"], "1970-01-01T00:00:01.000Z");
    assert!(
        after["updated_at"].as_str().unwrap() > "2020",
        "updated_at was touched: {after}"
    );
}

pub async fn sqlx_exec(url: &str, sql: &str, id: Option<uuid::Uuid>) {
    if url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let mut q = sqlx::query(sql);
        if let Some(id) = id {
            q = q.bind(id);
        }
        q.execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let mut q = sqlx::query(sql);
        if let Some(id) = id {
            q = q.bind(id);
        }
        q.execute(&pool).await.unwrap();
    }
}

both_engines!(
    the_schema_maintains_updated_at,
    defaults_then_partial_updates,
    out_of_range_and_unknown_values_are_refused,
    members_may_read_but_not_change_settings,
    the_schema_allows_exactly_one_settings_row,
);
