//! A local stand-in for Resend's `POST /emails`: bearer auth, `Idempotency-Key` replay,
//! its `{statusCode, name, message}` errors and rate-limit headers.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

pub const API_KEY: &str = "re_test_key";

#[derive(Default)]
struct Inner {
    /// Emails actually sent (a replayed idempotency key sends nothing new).
    sent: Vec<Value>,
    keys: HashMap<String, String>,
    script: VecDeque<u16>,
    /// Seconds to hold the next successful answer (the email is sent at once).
    delay_next: u64,
}

#[derive(Clone, Default)]
pub struct FakeResend {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl FakeResend {
    pub async fn start() -> FakeResend {
        let mut fake = FakeResend::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/emails", post(send))
            .route("/domains", axum::routing::get(domains))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub fn sent(&self) -> Vec<Value> {
        self.inner.lock().unwrap().sent.clone()
    }

    /// The next send goes through but is answered only after `secs` seconds.
    pub fn delay_next(&self, secs: u64) {
        self.inner.lock().unwrap().delay_next = secs;
    }

    /// The next sends answer with these statuses (429 and 500 are transient, 422 is not).
    pub fn fail_next(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().script.extend(statuses);
    }
}

/// Everything but the (possibly delayed) answer, without holding the lock across an await.
fn decide(
    fake: &FakeResend,
    headers: &HeaderMap,
    body: &Value,
) -> Result<(String, u64), Box<Response>> {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return Err(Box::new((StatusCode::UNAUTHORIZED, Json(json!({"statusCode": 401, "name": "missing_api_key", "message": "Missing API key in the authorization header"}))).into_response()));
    }
    let mut inner = fake.inner.lock().unwrap();
    if let Some(status) = inner.script.pop_front() {
        let (name, msg) = match status {
            429 => (
                "rate_limit_exceeded",
                "Too many requests. You can only make 2 requests per second.",
            ),
            422 => ("validation_error", "Invalid `to` field."),
            _ => ("internal_server_error", "An unexpected error occurred."),
        };
        let mut res = (
            StatusCode::from_u16(status).unwrap(),
            Json(json!({"statusCode": status, "name": name, "message": msg})),
        )
            .into_response();
        if status == 429 {
            res.headers_mut()
                .insert("retry-after", "1".parse().unwrap());
            res.headers_mut()
                .insert("ratelimit-reset", "1".parse().unwrap());
        }
        return Err(Box::new(res));
    }
    for field in ["from", "to", "subject"] {
        if body.get(field).is_none() {
            return Err(Box::new((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"statusCode": 422, "name": "missing_required_field", "message": format!("Missing `{field}` field.")}))).into_response()));
        }
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(id) = key.as_ref().and_then(|k| inner.keys.get(k)) {
        return Ok((id.clone(), 0));
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Some(k) = key {
        inner.keys.insert(k, id.clone());
    }
    let mut stored = body.clone();
    stored["id"] = json!(id);
    inner.sent.push(stored);
    let delay = std::mem::take(&mut inner.delay_next);
    Ok((id, delay))
}

/// `GET /domains`: the test key is send-only, as most production keys are, so the list is
/// refused with `restricted_api_key` (which still proves the key is real).
async fn domains(headers: HeaderMap) -> Response {
    let status = if headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {API_KEY}"))
    {
        (
            401,
            "restricted_api_key",
            "This API key is restricted to only send emails",
        )
    } else {
        (403, "invalid_api_key", "API key is invalid")
    };
    (
        StatusCode::from_u16(status.0).unwrap(),
        Json(json!({"statusCode": status.0, "name": status.1, "message": status.2})),
    )
        .into_response()
}

async fn send(
    State(fake): State<FakeResend>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    match decide(&fake, &headers, &body) {
        Ok((id, delay)) => {
            tokio::time::sleep(std::time::Duration::from_secs(delay)).await;
            Json(json!({"id": id})).into_response()
        }
        Err(res) => *res,
    }
}
