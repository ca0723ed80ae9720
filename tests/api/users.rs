//! User management by admins.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{ADMIN_EMAIL, TestApp, assert_error, sign_in};

async fn admins_manage_users(app: TestApp) {
    let res = app
        .post_json(
            "/api/users",
            &json!({"email": "Sam@Example.com", "role": "member"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["user"]["email"], "Sam@example.com".to_lowercase());
    let generated = created["generated_password"].as_str().unwrap().to_owned();
    assert!(generated.len() >= 16);
    let (sam, sam_csrf) = sign_in(&app.base, "sam@example.com", &generated).await;

    let res = app
        .post_json(
            "/api/users",
            &json!({"email": "sam@example.com", "role": "admin", "password": "another-password"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    let res = app
        .post_json(
            "/api/users",
            &json!({"email": "x@example.com", "role": "member", "password": "short"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let res = app
        .post_json(
            "/api/users",
            &json!({"email": "x@example.com", "role": "owner"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    // Members cannot manage users.
    let res = sam.get(app.url("/api/users")).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = sam
        .post(app.url("/api/users"))
        .header("x-csrf-token", &sam_csrf)
        .json(&json!({"email": "y@example.com", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    let users: Value = app.get_json("/api/users").await;
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("password_hash").is_none())
    );
    let sam_id = created["user"]["id"].as_str().unwrap();

    // A password reset signs the user out everywhere.
    let res = app
        .patch_json(
            &format!("/api/users/{sam_id}"),
            &json!({"password": "brand-new-password"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_error(
        sam.get(app.url("/api/me")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    sign_in(&app.base, "sam@example.com", "brand-new-password").await;

    // A refused role change leaves the password alone too.
    let me_id = app.get_json("/api/me").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .patch_json(
            &format!("/api/users/{me_id}"),
            &json!({"role": "member", "password": "should-not-stick"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    sign_in(&app.base, ADMIN_EMAIL, crate::helpers::ADMIN_PASSWORD).await;

    let res = app
        .patch_json(&format!("/api/users/{sam_id}"), &json!({"role": "admin"}))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "admin");
    assert_eq!(
        app.delete(&format!("/api/users/{sam_id}")).await.status(),
        StatusCode::NO_CONTENT
    );

    // The last admin stays.
    let me = app.get_json("/api/me").await;
    let my_id = me["id"].as_str().unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert_error(
        app.patch_json(&format!("/api/users/{my_id}"), &json!({"role": "member"}))
            .await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/users/{my_id}")).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_error(
        app.delete("/api/users/00000000-0000-0000-0000-000000000000")
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

both_engines!(admins_manage_users);
