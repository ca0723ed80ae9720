//! The sandbox's Cal.com: half-hour slots 09:00–16:30 on weekdays in the asked-for zone, and
//! bookings that take a slot.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router, extract,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::{Timestamp, ToSpan, civil::Weekday, tz::TimeZone};
use serde_json::{Value, json};

use crate::config::Secret;

pub const EVENT_TYPE_ID: i64 = 1;

#[derive(Clone)]
pub struct State {
    api_key: Secret,
    taken: Arc<Mutex<Vec<i64>>>,
}

impl State {
    pub fn new(api_key: Secret) -> Self {
        State {
            api_key,
            taken: Arc::default(),
        }
    }
}

pub fn router(state: State) -> Router {
    Router::new()
        .route("/v2/slots", get(slots))
        .route("/v2/bookings", post(book))
        .with_state(state)
}

fn refuse(state: &State, headers: &HeaderMap, version: &str) -> Option<Response> {
    if !super::has_key(headers, &state.api_key) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            "Invalid API key",
        ));
    }
    (headers.get("cal-api-version").and_then(|v| v.to_str().ok()) != Some(version)).then(|| {
        error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "unsupported cal-api-version for this endpoint",
        )
    })
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"status": "error", "timestamp": Timestamp::now().to_string(), "path": "/v2", "error": {"code": code, "message": message}}))).into_response()
}

async fn slots(
    extract::State(state): extract::State<State>,
    headers: HeaderMap,
    extract::Query(q): extract::Query<Vec<(String, String)>>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, "2024-09-04") {
        return r;
    }
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let (Some(Ok(start)), Some(Ok(end))) = (
        get("start").map(str::parse::<Timestamp>),
        get("end").map(str::parse::<Timestamp>),
    ) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "start and end are required ISO 8601 instants",
        );
    };
    let tz = TimeZone::get(get("timeZone").unwrap_or("UTC")).unwrap_or(TimeZone::UTC);
    let taken = state
        .taken
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut data = serde_json::Map::new();
    let mut day = start.to_zoned(tz.clone()).date();
    let last = end.to_zoned(tz.clone()).date();
    while day <= last {
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            let mut list = Vec::new();
            for half_hour in 18..34 {
                let Ok(z) = day
                    .at(half_hour / 2, (half_hour % 2) * 30, 0, 0)
                    .to_zoned(tz.clone())
                else {
                    continue;
                };
                let ts = z.timestamp();
                if ts > start && ts < end && !taken.contains(&ts.as_millisecond()) {
                    list.push(json!({"start": z.strftime("%Y-%m-%dT%H:%M:%S.000%:z").to_string()}));
                }
            }
            if !list.is_empty() {
                data.insert(day.to_string(), Value::Array(list));
            }
        }
        let Ok(next) = day.checked_add(1.day()) else {
            break;
        };
        day = next;
    }
    Json(json!({"status": "success", "data": data})).into_response()
}

async fn book(
    extract::State(state): extract::State<State>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = refuse(&state, &headers, "2024-08-13") {
        return r;
    }
    let Some(Ok(start)) = body
        .get("start")
        .and_then(Value::as_str)
        .map(str::parse::<Timestamp>)
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "start must be an ISO 8601 UTC instant",
        );
    };
    let mut taken = state.taken.lock().unwrap_or_else(|e| e.into_inner());
    if taken.contains(&start.as_millisecond()) {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequestException",
            "User either already has booking at this time or is not available",
        );
    }
    taken.push(start.as_millisecond());
    let n = taken.len();
    let end = start.checked_add(30.minutes()).unwrap_or(start);
    (StatusCode::CREATED, Json(json!({"status": "success", "data": {
        "id": n, "uid": format!("sandbox-booking-{n}"), "title": "Intro call", "status": "accepted",
        "start": start.to_string(), "end": end.to_string(), "duration": 30, "eventTypeId": EVENT_TYPE_ID,
        "attendees": [body.get("attendee").cloned().unwrap_or(Value::Null)],
        "metadata": body.get("metadata").cloned().unwrap_or(Value::Null)
    }}))).into_response()
}
