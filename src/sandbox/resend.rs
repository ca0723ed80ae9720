//! The sandbox's Resend: accepts `POST /emails` like the real one and keeps what it is sent.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router, extract,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

use super::SandboxEmail;
use crate::config::Secret;

#[derive(Clone)]
pub struct State {
    pub api_key: Secret,
    pub emails: Arc<Mutex<Vec<SandboxEmail>>>,
}

pub fn router(state: State) -> Router {
    Router::new()
        .route("/emails", post(send))
        .route("/domains", axum::routing::get(domains))
        .with_state(state)
}

/// `GET /domains`: the sandbox sends from one simulated domain.
async fn domains(extract::State(state): extract::State<State>, headers: HeaderMap) -> Response {
    if !super::has_key(&headers, &state.api_key) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"statusCode": 401, "name": "missing_api_key", "message": "Missing API key"}),
            ),
        )
            .into_response();
    }
    Json(json!({"data": [{"id": "sandbox", "name": "sandbox.example", "status": "verified"}]}))
        .into_response()
}

async fn send(
    extract::State(state): extract::State<State>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !super::has_key(&headers, &state.api_key) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"statusCode": 401, "name": "missing_api_key", "message": "Missing API key"}),
            ),
        )
            .into_response();
    }
    let Some(subject) = body.get("subject").and_then(Value::as_str) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"statusCode": 422, "name": "missing_required_field", "message": "Missing `subject` field."}))).into_response();
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut emails = state.emails.lock().unwrap_or_else(|e| e.into_inner());
    // A repeated idempotency key returns the first email's id and sends nothing.
    if let Some(existing) = emails
        .iter()
        .find(|e| !key.is_empty() && e.id.ends_with(&key))
    {
        return Json(json!({"id": existing.id})).into_response();
    }
    let to = match body.get("to") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let id = format!("sandbox-{}-{key}", emails.len() + 1);
    emails.push(SandboxEmail {
        id: id.clone(),
        to,
        from: body
            .get("from")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        subject: subject.to_owned(),
        text: body
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        received_at: jiff::Timestamp::now().to_string(),
    });
    Json(json!({"id": id})).into_response()
}
