//! The sandbox's VAPI: `POST /call` and `GET /call/{id}` like the real API, and a script per
//! call that sends status updates, tool calls and an end-of-call report to our webhook.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router, extract,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use jiff::{Timestamp, ToSpan, civil::Weekday, tz::TimeZone};
use serde_json::{Value, json};

use super::{Outcome, SandboxOptions};
use crate::config::Secret;

#[derive(Clone)]
pub struct State {
    api_key: Secret,
    webhook_secret: Secret,
    options: Arc<SandboxOptions>,
    calls: Arc<Mutex<HashMap<String, Value>>>,
    http: reqwest::Client,
}

impl State {
    pub fn new(api_key: Secret, webhook_secret: Secret, options: SandboxOptions) -> Self {
        State {
            api_key,
            webhook_secret,
            options: Arc::new(options),
            calls: Arc::default(),
            http: reqwest::Client::new(),
        }
    }
}

pub fn router(state: State) -> Router {
    Router::new()
        .route("/call", post(create_call))
        .route("/call/{id}", get(get_call))
        .route("/assistant/{id}", get(get_assistant))
        .with_state(state)
}

fn authorized(state: &State, headers: &HeaderMap) -> bool {
    super::has_key(headers, &state.api_key)
}

fn nest_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"message": message, "error": status.canonical_reason().unwrap_or("Error"), "statusCode": status.as_u16()}))).into_response()
}

async fn create_call(
    extract::State(state): extract::State<State>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorized(&state, &headers) {
        return nest_error(StatusCode::UNAUTHORIZED, "Invalid Key");
    }
    if !body
        .pointer("/customer/number")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with('+'))
    {
        return nest_error(
            StatusCode::BAD_REQUEST,
            "customer.number must be a valid E.164 phone number",
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let now = Timestamp::now().to_string();
    let call = json!({
        "id": id, "orgId": "sandbox", "type": "outboundPhoneCall", "status": "queued", "createdAt": now, "updatedAt": now,
        "assistantId": body["assistantId"], "phoneNumberId": body["phoneNumberId"], "customer": body["customer"],
        "assistantOverrides": body["assistantOverrides"],
        "subscriptionLimits": {"concurrencyBlocked": false, "concurrencyLimit": 10, "remainingConcurrentCalls": 9}
    });
    state
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), call.clone());
    let outcome = state.options.mix.pick();
    tokio::spawn(play_out(state, call.clone(), outcome));
    (StatusCode::CREATED, Json(call)).into_response()
}

/// `GET /assistant/{id}`: the sandbox has one assistant, whatever its id.
async fn get_assistant(
    extract::State(state): extract::State<State>,
    headers: HeaderMap,
    extract::Path(id): extract::Path<String>,
) -> Response {
    if !authorized(&state, &headers) {
        return nest_error(StatusCode::UNAUTHORIZED, "Invalid Key");
    }
    Json(serde_json::json!({"id": id, "name": "Sandbox assistant"})).into_response()
}

async fn get_call(
    extract::State(state): extract::State<State>,
    headers: HeaderMap,
    extract::Path(id): extract::Path<String>,
) -> Response {
    if !authorized(&state, &headers) {
        return nest_error(StatusCode::UNAUTHORIZED, "Invalid Key");
    }
    match state
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
    {
        Some(call) => Json(call.clone()).into_response(),
        None => nest_error(StatusCode::NOT_FOUND, "Call not found"),
    }
}

impl State {
    async fn send(&self, message: Value) -> Option<Value> {
        let res = self
            .http
            .post(&self.options.webhook_url)
            .header("x-vapi-secret", self.webhook_secret.expose())
            .json(&json!({"message": message}))
            .send()
            .await
            .ok()?;
        res.json().await.ok()
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Value)) -> Value {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let call = calls.entry(id.to_owned()).or_insert(Value::Null);
        f(call);
        call.clone()
    }

    async fn status(&self, id: &str, status: &str) {
        let call = self.update(id, |c| c["status"] = json!(status));
        self.send(json!({"type": "status-update", "status": status, "call": call, "timestamp": Timestamp::now().as_millisecond()})).await;
    }

    async fn tool(&self, id: &str, name: &str, args: Value) -> Option<Value> {
        let call = self.update(id, |_| {});
        let tool_call = json!({"id": format!("call_{}", uuid::Uuid::new_v4().simple()), "type": "function", "function": {"name": name, "arguments": args}});
        let reply = self.send(json!({"type": "tool-calls", "call": call, "toolCallList": [tool_call.clone()],
            "toolWithToolCallList": [{"type": "function", "function": {"name": name}, "toolCall": tool_call}]})).await?;
        reply.pointer("/results/0").cloned()
    }
}

/// The next weekday, at `hour` in `tz`, as a local time the way an agent would say it.
fn next_weekday_at(tz: &TimeZone, hour: i8, minute: i8) -> String {
    let mut day = Timestamp::now().to_zoned(tz.clone()).date();
    loop {
        day = day.checked_add(1.day()).unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            return format!("{day}T{hour:02}:{minute:02}");
        }
    }
}

async fn play_out(state: State, call: Value, outcome: Outcome) {
    let id = call["id"].as_str().unwrap_or_default().to_owned();
    let step = state.options.call_length / 5;
    let started = Timestamp::now();
    tokio::time::sleep(step).await;
    state.status(&id, "ringing").await;
    tokio::time::sleep(step).await;
    let (ended_reason, structured, summary, transcript) = match outcome {
        Outcome::NoAnswer => (
            "customer-did-not-answer",
            None,
            "The call was not answered.",
            String::new(),
        ),
        Outcome::Voicemail => (
            "voicemail",
            None,
            "Reached voicemail; no message was left.",
            String::new(),
        ),
        _ => {
            state.status(&id, "in-progress").await;
            tokio::time::sleep(step).await;
            let name = call
                .pointer("/customer/name")
                .and_then(Value::as_str)
                .unwrap_or("there")
                .to_owned();
            match outcome {
                Outcome::Booked => {
                    let tz_name = call
                        .pointer("/assistantOverrides/variableValues/lead_timezone")
                        .and_then(Value::as_str)
                        .unwrap_or("UTC")
                        .to_owned();
                    let tz = TimeZone::get(&tz_name).unwrap_or(TimeZone::UTC);
                    state
                        .tool(&id, "check_availability", json!({"timezone": tz_name}))
                        .await;
                    let mut booked = false;
                    for (h, m) in [(10, 0), (10, 30), (11, 0), (14, 0), (15, 30)] {
                        let reply = state.tool(&id, "book_appointment", json!({"name": name, "startTime": next_weekday_at(&tz, h, m), "timezone": tz_name})).await;
                        if reply.as_ref().is_some_and(|r| r.get("result").is_some()) {
                            booked = true;
                            break;
                        }
                    }
                    let summary = if booked {
                        "Booked an intro call."
                    } else {
                        "Wanted to book but no time worked."
                    };
                    (
                        "customer-ended-call",
                        Some("scheduled"),
                        summary,
                        format!(
                            "AI: Hi {name}, this is the AI assistant calling about a quick intro.\nUser: Sure, let's find a time.\n"
                        ),
                    )
                }
                Outcome::DoNotCall => {
                    state.tool(&id, "mark_do_not_call", json!({})).await;
                    (
                        "customer-ended-call",
                        Some("do_not_call"),
                        "Asked not to be called again.",
                        "AI: Hi, this is an AI assistant.\nUser: Please don't call me again.\n"
                            .into(),
                    )
                }
                _ => (
                    "customer-ended-call",
                    Some("not_interested"),
                    "Not interested right now.",
                    "AI: Hi, this is an AI assistant.\nUser: Not interested, thanks.\n".into(),
                ),
            }
        }
    };
    tokio::time::sleep(step).await;
    let ended = Timestamp::now();
    let call = state.update(&id, |c| {
        c["status"] = json!("ended");
        c["endedReason"] = json!(ended_reason);
        c["startedAt"] = json!(started.to_string());
        c["endedAt"] = json!(ended.to_string());
    });
    state.send(json!({"type": "status-update", "status": "ended", "endedReason": ended_reason, "call": call})).await;
    let analysis = json!({"summary": summary, "structuredData": structured.map(|o| json!({"outcome": o})).unwrap_or(json!({})), "successEvaluation": (outcome == Outcome::Booked).to_string()});
    state.update(&id, |c| c["analysis"] = analysis.clone());
    let duration = (ended.as_millisecond() - started.as_millisecond()) as f64 / 1000.0;
    state.send(json!({
        "type": "end-of-call-report", "endedReason": ended_reason, "call": call, "startedAt": started.to_string(), "endedAt": ended.to_string(),
        "cost": (duration * 0.002 * 100.0).round() / 100.0, "durationSeconds": duration,
        "artifact": {"transcript": transcript, "messages": [], "recordingUrl": null},
        "analysis": analysis,
    })).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposed_times_are_weekdays() {
        let s = next_weekday_at(&TimeZone::get("America/New_York").unwrap(), 10, 30);
        let date: jiff::civil::Date = s[..10].parse().unwrap();
        assert!(!matches!(
            date.weekday(),
            Weekday::Saturday | Weekday::Sunday
        ));
        assert!(s.ends_with("T10:30"));
    }
}
