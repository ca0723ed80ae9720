//! A local stand-in for Cal.com API v2: `GET /v2/slots` (cal-api-version 2024-09-04) and
//! `POST /v2/bookings` (2024-08-13), with its success and error envelopes.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde_json::{Value, json};

pub const API_KEY: &str = "cal_test_key";
pub const EVENT_TYPE_ID: i64 = 4242;

#[derive(Default)]
struct Inner {
    /// Booked starts (UTC millis) and the request bodies.
    taken: Vec<i64>,
    bookings: Vec<Value>,
    /// Requests left that fail with 503 (an outage).
    failing: usize,
    /// Answers for the next requests: a status to fail with, or a delay (seconds) before
    /// answering normally.
    script: std::collections::VecDeque<(u16, u64)>,
}

#[derive(Clone, Default)]
pub struct FakeCalcom {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl FakeCalcom {
    pub async fn start() -> FakeCalcom {
        let mut fake = FakeCalcom::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/v2/slots", get(slots))
            .route("/v2/bookings", post(book))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub fn bookings(&self) -> Vec<Value> {
        self.inner.lock().unwrap().bookings.clone()
    }

    /// The next `n` requests fail as if Cal.com were down.
    pub fn fail_next(&self, n: usize) {
        self.inner.lock().unwrap().failing = n;
    }

    /// The next request fails with `status` (e.g. 429).
    pub fn fail_with(&self, status: u16) {
        self.inner.lock().unwrap().script.push_back((status, 0));
    }

    /// The next request is answered only after `secs` seconds.
    pub fn delay_next(&self, secs: u64) {
        self.inner.lock().unwrap().script.push_back((0, secs));
    }

    /// Someone else takes this slot.
    pub fn take(&self, start_utc: &str) {
        self.inner
            .lock()
            .unwrap()
            .taken
            .push(start_utc.parse::<Timestamp>().unwrap().as_millisecond());
    }
}

impl FakeCalcom {
    /// Applies the next scripted answer: `Some(response)` to send instead.
    async fn scripted(&self) -> Option<Response> {
        let next = self.inner.lock().unwrap().script.pop_front();
        match next {
            Some((0, secs)) => {
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                None
            }
            Some((429, _)) => {
                let mut res = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "ThrottlerException",
                    "Too Many Requests",
                );
                res.headers_mut()
                    .insert("retry-after", "1".parse().unwrap());
                Some(res)
            }
            Some((status, _)) => Some(error(
                StatusCode::from_u16(status).unwrap(),
                "Error",
                "scripted failure",
            )),
            None => None,
        }
    }

    fn take_failure(&self) -> bool {
        let mut inner = self.inner.lock().unwrap();
        if inner.failing > 0 {
            inner.failing -= 1;
            true
        } else {
            false
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"status": "error", "timestamp": "2026-11-25T15:00:00.000Z", "path": "/v2", "error": {"code": code, "message": message}}))).into_response()
}

fn check(headers: &HeaderMap, version: &str) -> Option<Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {API_KEY}"))
    {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            "Invalid API key",
        ));
    }
    if headers.get("cal-api-version").and_then(|v| v.to_str().ok()) != Some(version) {
        // The real server silently serves an older version; make the mistake loud instead.
        return Some(error(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            "wrong cal-api-version for this endpoint",
        ));
    }
    None
}

/// Slots at 09:00, 09:30 and 14:00 local each day of the range, minus booked ones.
async fn slots(
    State(fake): State<FakeCalcom>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if let Some(err) = check(&headers, "2024-09-04") {
        return err;
    }
    if fake.take_failure() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "Service Unavailable",
        );
    }
    if let Some(res) = fake.scripted().await {
        return res;
    }
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("eventTypeId").as_deref(),
        Some(EVENT_TYPE_ID.to_string().as_str())
    );
    let start: Timestamp = get("start").unwrap().parse().unwrap();
    let end: Timestamp = get("end").unwrap().parse().unwrap();
    let tz = TimeZone::get(&get("timeZone").unwrap_or("UTC".into())).unwrap();
    let taken = fake.inner.lock().unwrap().taken.clone();
    let mut data = serde_json::Map::new();
    let mut day = start.to_zoned(tz.clone()).date();
    while day <= end.to_zoned(tz.clone()).date() {
        let mut list = Vec::new();
        for (h, m) in [(9, 0), (9, 30), (14, 0)] {
            let z = day.at(h, m, 0, 0).to_zoned(tz.clone()).unwrap();
            let ms = z.timestamp().as_millisecond();
            if z.timestamp() > start && z.timestamp() < end && !taken.contains(&ms) {
                list.push(json!({"start": z.strftime("%Y-%m-%dT%H:%M:%S.000%:z").to_string()}));
            }
        }
        if !list.is_empty() {
            data.insert(day.to_string(), Value::Array(list));
        }
        day = day.checked_add(1.day()).unwrap();
    }
    Json(json!({"status": "success", "data": data})).into_response()
}

async fn book(
    State(fake): State<FakeCalcom>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(err) = check(&headers, "2024-08-13") {
        return err;
    }
    if fake.take_failure() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            "Service Unavailable",
        );
    }
    if let Some(res) = fake.scripted().await {
        return res;
    }
    let start: Timestamp = body["start"].as_str().unwrap().parse().unwrap();
    let mut inner = fake.inner.lock().unwrap();
    if inner.taken.contains(&start.as_millisecond()) {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "User either already has booking at this time or is not available",
        );
    }
    inner.taken.push(start.as_millisecond());
    inner.bookings.push(body.clone());
    let n = inner.bookings.len();
    let end = start.checked_add(30.minutes()).unwrap();
    (StatusCode::CREATED, Json(json!({"status": "success", "data": {
        "id": n, "uid": format!("bk_{n}"), "title": "Intro call", "status": "accepted",
        "start": start.to_string(), "end": end.to_string(), "duration": 30, "eventTypeId": EVENT_TYPE_ID,
        "attendees": [body["attendee"]], "metadata": body["metadata"]
    }}))).into_response()
}
