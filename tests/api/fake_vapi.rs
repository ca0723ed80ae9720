//! A local stand-in for VAPI's REST API, speaking its wire format: bearer auth, `POST /call`
//! answering 201 with a Call, `GET /call/{id}`, Nest-style error bodies, and knobs for the
//! failures and races the dialer must survive.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

pub const API_KEY: &str = "vapi-test-key";
pub const WEBHOOK_SECRET: &str = "vapi-webhook-secret";

/// A scripted answer for the next `POST /call`.
#[derive(Clone, Debug)]
pub enum Script {
    Status(u16, Value),
    /// Send a status-update webhook to this URL before answering (VAPI's webhook racing its
    /// own create-call response).
    WebhookFirst(String),
    /// Answer only after this long (longer than the client's timeout).
    Delay(std::time::Duration),
}

#[derive(Default)]
struct Inner {
    /// (method, path, body) of every tool/assistant management request.
    management: Vec<(String, String, Value)>,
    resources: HashMap<String, Value>,
    requests: Vec<Value>,
    calls: HashMap<String, Value>,
    script: VecDeque<Script>,
}

#[derive(Clone, Default)]
pub struct FakeVapi {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

fn nest_error(status: u16, message: &str) -> Value {
    json!({"message": message, "error": "Error", "statusCode": status})
}

impl FakeVapi {
    pub async fn start() -> FakeVapi {
        let mut fake = FakeVapi::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/call", post(create_call))
            .route("/call/{id}", get(get_call))
            .route("/tool", post(create_resource))
            .route("/assistant", post(create_resource))
            .route("/tool/{id}", axum::routing::patch(update_resource))
            .route(
                "/assistant/{id}",
                axum::routing::patch(update_resource).get(get_assistant),
            )
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    /// Every tool/assistant management request: (method, path, body).
    pub fn management(&self) -> Vec<(String, String, Value)> {
        self.inner.lock().unwrap().management.clone()
    }

    /// Every `POST /call` body received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn push_script(&self, script: Script) {
        self.inner.lock().unwrap().script.push_back(script);
    }

    /// The VAPI call id placed for `lead_id`'s attempt `attempt`.
    pub fn call_id_for(&self, lead_id: &str, attempt: i64) -> String {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .values()
            .find(|c| {
                c.pointer("/assistantOverrides/metadata/lead_id")
                    .and_then(Value::as_str)
                    == Some(lead_id)
                    && c.pointer("/assistantOverrides/metadata/attempt")
                        .and_then(Value::as_i64)
                        == Some(attempt)
            })
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("no call placed for lead {lead_id} attempt {attempt}"))
            .to_owned()
    }

    /// The stored Call object (as `GET /call/{id}` returns it).
    pub fn call(&self, id: &str) -> Value {
        self.inner.lock().unwrap().calls[id].clone()
    }

    /// Marks a call ended, as `GET /call/{id}` will then report it.
    pub fn end_call(&self, id: &str, ended_reason: &str) {
        let mut inner = self.inner.lock().unwrap();
        let call = inner.calls.get_mut(id).unwrap();
        call["status"] = json!("ended");
        call["endedReason"] = json!(ended_reason);
        call["endedAt"] = json!("2026-11-25T15:05:00.000Z");
    }
}

async fn create_call(
    State(fake): State<FakeVapi>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return (StatusCode::UNAUTHORIZED, Json(nest_error(401, "Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa."))).into_response();
    }
    let number = body
        .pointer("/customer/number")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !number.starts_with('+')
        || body.get("assistantId").is_none()
        || body.get("phoneNumberId").is_none()
    {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": ["customer.number must be a valid E.164 phone number"], "error": "Bad Request", "statusCode": 400}))).into_response();
    }
    let script = {
        let mut inner = fake.inner.lock().unwrap();
        inner.requests.push(body.clone());
        inner.script.pop_front()
    };
    let id = uuid::Uuid::new_v4().to_string();
    let call = json!({
        "id": id, "orgId": "org-test", "type": "outboundPhoneCall", "status": "queued",
        "createdAt": "2026-11-25T15:00:00.000Z", "updatedAt": "2026-11-25T15:00:00.000Z",
        "assistantId": body["assistantId"], "phoneNumberId": body["phoneNumberId"], "customer": body["customer"],
        "assistantOverrides": body["assistantOverrides"],
        "monitor": {"listenUrl": "wss://example.invalid/listen", "controlUrl": "https://example.invalid/control"},
        "subscriptionLimits": {"concurrencyBlocked": false, "concurrencyLimit": 10, "remainingConcurrentCalls": 9}
    });
    match script {
        Some(Script::Status(status, body)) => {
            return (StatusCode::from_u16(status).unwrap(), Json(body)).into_response();
        }
        Some(Script::WebhookFirst(url)) => {
            let message =
                json!({"message": {"type": "status-update", "status": "ringing", "call": call}});
            let res = reqwest::Client::new()
                .post(url)
                .header("x-vapi-secret", WEBHOOK_SECRET)
                .json(&message)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "the early webhook was accepted");
        }
        Some(Script::Delay(d)) => {
            // The call is placed at once; only the answer is late (and may never be read).
            fake.inner
                .lock()
                .unwrap()
                .calls
                .insert(id.clone(), call.clone());
            tokio::time::sleep(d).await;
        }
        None => {}
    }
    fake.inner.lock().unwrap().calls.insert(id, call.clone());
    (StatusCode::CREATED, Json(call)).into_response()
}

async fn get_call(
    State(fake): State<FakeVapi>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(nest_error(401, "Invalid Key")),
        )
            .into_response();
    }
    match fake.inner.lock().unwrap().calls.get(&id) {
        Some(call) => Json(call.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(nest_error(404, "Call not found")),
        )
            .into_response(),
    }
}

async fn create_resource(
    State(fake): State<FakeVapi>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(nest_error(401, "Invalid Key")),
        )
            .into_response();
    }
    if uri.path() == "/tool" && body.get("type").is_none() {
        return (StatusCode::BAD_REQUEST, Json(json!({"message": ["type must be one of the following values: function, ..."], "error": "Bad Request", "statusCode": 400}))).into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut created = body.clone();
    created["id"] = json!(id);
    created["orgId"] = json!("org-test");
    let mut inner = fake.inner.lock().unwrap();
    inner
        .management
        .push(("POST".into(), uri.path().to_owned(), body));
    inner
        .resources
        .insert(format!("{}/{id}", uri.path()), created.clone());
    (StatusCode::CREATED, Json(created)).into_response()
}

/// `GET /assistant/{id}`: any id exists (the connection test only reads it).
async fn get_assistant(headers: HeaderMap, Path(id): Path<String>) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(nest_error(401, "Invalid Key")),
        )
            .into_response();
    }
    Json(json!({"id": id, "name": "Test assistant"})).into_response()
}

async fn update_resource(
    State(fake): State<FakeVapi>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(nest_error(401, "Invalid Key")),
        )
            .into_response();
    }
    let mut inner = fake.inner.lock().unwrap();
    inner
        .management
        .push(("PATCH".into(), uri.path().to_owned(), body.clone()));
    match inner.resources.get_mut(uri.path()) {
        Some(existing) => {
            for (k, v) in body.as_object().cloned().unwrap_or_default() {
                existing[k] = v;
            }
            Json(existing.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(nest_error(404, "Not Found"))).into_response(),
    }
}
