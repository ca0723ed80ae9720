//! Endpoints other systems call with their own secrets: `/api/cron` (an external scheduler)
//! and `/api/integrations/vapi` (VAPI's server messages). Secrets are compared in constant
//! time, webhooks are verified over the raw bytes before anything is parsed, and nothing
//! changes for a request that fails verification.

use axum::{
    body::Bytes,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::{
    auth::constant_time_eq,
    dialer::{TickSummary, settle, tools},
    domain::outcome::{EndedFamily, classify_ended_reason},
    http::{
        AppState,
        auth::bearer,
        error::{AppError, AppResult, ErrorBody},
        extract::Json,
    },
};

/// Signed webhooks older than this are refused (replay protection).
const MAX_SIGNATURE_AGE_SECS: i64 = 5 * 60;

/// Run one dialer tick now (for operators who trigger ticks from outside).
#[utoipa::path(get, path = "/api/cron", tag = "dialer", security(("cron_secret" = [])),
    responses((status = 200, body = TickSummary), (status = 401, body = ErrorBody)))]
pub async fn cron(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Json<TickSummary>> {
    let expected = state
        .secrets
        .cron_secret
        .as_ref()
        .ok_or(AppError::Unauthorized)?;
    let given = bearer(&headers).ok_or(AppError::Unauthorized)?;
    if !constant_time_eq(given, expected.expose()) {
        return Err(AppError::Unauthorized);
    }
    Ok(Json(state.dialer.tick().await?))
}

/// `POST /api/cron` does the same as `GET` (Vercel-style schedulers use either).
#[utoipa::path(post, path = "/api/cron", tag = "dialer", security(("cron_secret" = [])),
    responses((status = 200, body = TickSummary), (status = 401, body = ErrorBody)))]
pub async fn cron_post(state: State<AppState>, headers: HeaderMap) -> AppResult<Json<TickSummary>> {
    cron(state, headers).await
}

/// Whether a VAPI request carries our secret (legacy `x-vapi-secret`, a bearer credential)
/// or a valid HMAC signature (`x-signature` over `{x-timestamp}.{body}`).
fn verify_vapi(state: &AppState, headers: &HeaderMap, body: &[u8], now_ms: i64) -> bool {
    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(secret) = &state.secrets.vapi_secret {
        if header_str("x-vapi-secret").is_some_and(|v| constant_time_eq(v, secret.expose())) {
            return true;
        }
        if bearer(headers).is_some_and(|v| constant_time_eq(v, secret.expose())) {
            return true;
        }
    }
    if let Some(key) = &state.secrets.vapi_hmac_secret
        && let (Some(ts), Some(sig)) = (header_str("x-timestamp"), header_str("x-signature"))
        && let Ok(ts_num) = ts.trim().parse::<i64>()
    {
        // VAPI does not document the unit; accept seconds or milliseconds.
        let ts_ms = if ts_num > 100_000_000_000 {
            ts_num
        } else {
            ts_num * 1000
        };
        if (now_ms - ts_ms).abs() > MAX_SIGNATURE_AGE_SECS * 1000 {
            return false;
        }
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else {
            return false;
        };
        mac.update(ts.trim().as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected = hex::encode(mac.finalize().into_bytes());
        let sig = sig.trim();
        let sig = sig.strip_prefix("sha256=").unwrap_or(sig);
        return constant_time_eq(&sig.to_ascii_lowercase(), &expected);
    }
    false
}

/// Receives Cal.com booking webhooks: cancellations and reschedules of meetings the
/// assistant booked. `X-Cal-Signature-256` must be the hex HMAC-SHA256 of the raw body.
#[utoipa::path(post, path = "/api/integrations/calcom", tag = "dialer", request_body = Object,
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn calcom_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let key = state
        .secrets
        .calcom_webhook_secret
        .as_ref()
        .ok_or(AppError::Unauthorized)?;
    let given = headers
        .get("x-cal-signature-256")
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::Unauthorized)?;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes()) else {
        return Err(AppError::Unauthorized);
    };
    mac.update(&body);
    if !constant_time_eq(
        &given.trim().to_ascii_lowercase(),
        &hex::encode(mac.finalize().into_bytes()),
    ) {
        return Err(AppError::Unauthorized);
    }
    let event: Value = serde_json::from_slice(&body).map_err(|e| {
        AppError::bad_request("malformed_json", format!("not a Cal.com webhook: {e}"))
    })?;
    let payload = event.get("payload").cloned().unwrap_or(Value::Null);
    let text = |k: &str| {
        payload
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let changed = match event.get("triggerEvent").and_then(Value::as_str) {
        Some("BOOKING_CANCELLED") => match text("uid") {
            Some(uid) => {
                let why = text("cancellationReason")
                    .map(|r| {
                        format!(
                            ": {}",
                            r.replace('\0', "").chars().take(200).collect::<String>()
                        )
                    })
                    .unwrap_or_default();
                state
                    .store
                    .booking_cancelled(
                        uid,
                        &format!("the booked meeting was cancelled{why}"),
                        state.store.settings().await?.max_attempts,
                    )
                    .await?
            }
            None => false,
        },
        Some("BOOKING_RESCHEDULED") => match (
            text("rescheduleUid").or(text("fromReschedule")),
            text("uid"),
            text("startTime"),
        ) {
            (Some(old), Some(new), Some(start)) => match start.parse::<jiff::Timestamp>() {
                Ok(start) => {
                    state
                        .store
                        .booking_rescheduled(old, new, start.as_millisecond())
                        .await?
                }
                Err(_) => {
                    return Err(AppError::bad_request(
                        "invalid_body",
                        "startTime is not an ISO 8601 instant",
                    ));
                }
            },
            _ => false,
        },
        _ => false,
    };
    Ok(Json(json!({"changed": changed})))
}

/// The (lead, attempt) we put in the call's metadata when we placed it.
fn call_metadata(msg: &Value) -> Option<(Uuid, i64)> {
    let meta = msg
        .pointer("/call/assistantOverrides/metadata")
        .or_else(|| msg.pointer("/assistant/metadata"))?;
    let lead = meta
        .get("lead_id")?
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())?;
    let attempt = match meta.get("attempt")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some((lead, attempt))
}

/// Receives VAPI's server messages: status updates, end-of-call reports and tool calls.
#[utoipa::path(post, path = "/api/integrations/vapi", tag = "dialer", request_body = Object,
    security(("vapi_secret" = [])),
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn vapi_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !verify_vapi(&state, &headers, &body, crate::domain::now_millis()) {
        return AppError::Unauthorized.into_response();
    }
    let envelope: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return AppError::bad_request("malformed_json", format!("not a VAPI message: {e}"))
                .into_response();
        }
    };
    let Some(msg) = envelope.get("message").filter(|m| m.is_object()) else {
        return AppError::bad_request("invalid_body", "expected {\"message\": {...}}")
            .into_response();
    };
    let result = match msg.get("type").and_then(Value::as_str) {
        Some("tool-calls") => return Json(tool_calls(&state, msg).await).into_response(),
        Some("end-of-call-report") => end_of_call(&state, msg).await,
        Some("status-update") => status_update(&state, msg).await,
        _ => Ok(()),
    };
    match result {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Finds our (lead, attempt) for a message's call, or `None` for calls that are not ours.
async fn locate(state: &AppState, msg: &Value) -> AppResult<Option<(Uuid, i64)>> {
    let Some(call_id) = msg.pointer("/call/id").and_then(Value::as_str) else {
        return Ok(None);
    };
    Ok(state.store.locate_call(call_id, call_metadata(msg)).await?)
}

async fn status_update(state: &AppState, msg: &Value) -> AppResult<()> {
    let Some((lead, attempt)) = locate(state, msg).await? else {
        return Ok(());
    };
    let Some(status) = msg.get("status").and_then(Value::as_str) else {
        return Ok(());
    };
    state.store.set_call_status(lead, attempt, status).await?;
    if status == "ended" {
        let reason = msg
            .get("endedReason")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // Calls that never reached anyone may get no end-of-call report: settle them now.
        // Conversations wait for the report, whose analysis can change the outcome.
        if !matches!(
            classify_ended_reason(reason),
            EndedFamily::Connected | EndedFamily::Unknown
        ) {
            let settings = state.store.settings().await?;
            let finished = settle::FinishedCall {
                ended_reason: reason.to_owned(),
                stated: None,
            };
            state
                .dialer
                .finish_call(lead, attempt, &finished, &settings, None)
                .await?;
        }
    }
    Ok(())
}

async fn end_of_call(state: &AppState, msg: &Value) -> AppResult<()> {
    let Some(call_id) = msg.pointer("/call/id").and_then(Value::as_str) else {
        return Ok(());
    };
    // The usual case, a call whose id is recorded, is located with its facts in one read;
    // otherwise the id is attached to the attempt its metadata names, as `locate` does.
    let (lead, attempt, facts) = match state.store.settle_facts_by_call_id(call_id).await? {
        Some(found) => found,
        None => {
            let meta = call_metadata(msg);
            let Some((lead, attempt)) = state.store.attach_call_id(call_id, meta).await? else {
                return Ok(());
            };
            (
                lead,
                attempt,
                state.store.settle_facts(lead, attempt).await?,
            )
        }
    };
    let report = settle::report_from_call(msg);
    let settings = state.store.settings().await?;
    let finished = settle::FinishedCall {
        ended_reason: report.ended_reason.clone().unwrap_or_default(),
        stated: report.outcome.clone(),
    };
    state
        .dialer
        .finish_call_with(lead, attempt, &facts, &finished, &settings, Some(&report))
        .await?;
    Ok(())
}

/// A tool call as VAPI sends it: `{id, function: {name, arguments}}` (arguments an object or
/// a JSON string), or the flat `{id, name, arguments|parameters}` some payloads use.
fn parse_tool_call(item: &Value) -> (String, String, Value) {
    let id = item
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let function = item.get("function");
    let name = function
        .and_then(|f| f.get("name"))
        .or_else(|| item.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let args = function
        .and_then(|f| f.get("arguments"))
        .or_else(|| item.get("arguments"))
        .or_else(|| item.get("parameters"))
        .cloned()
        .unwrap_or(Value::Null);
    let args = match args {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
        other => other,
    };
    (id, name, args)
}

/// Answers every tool call in the message; always HTTP 200 (VAPI ignores other statuses),
/// with single-line strings and failures in `error`.
async fn tool_calls(state: &AppState, msg: &Value) -> Value {
    let list = msg
        .get("toolCallList")
        .or_else(|| msg.get("toolCalls"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let located = locate(state, msg).await.ok().flatten();
    let now = jiff::Timestamp::from_millisecond(state.dialer.clock.now())
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let ctx = tools::ToolContext {
        store: &state.store,
        calcom: state.calcom.as_ref(),
        call: located,
        vapi_call_id: msg.pointer("/call/id").and_then(Value::as_str),
        customer_number: msg.pointer("/call/customer/number").and_then(Value::as_str),
        now,
    };
    let mut results = Vec::with_capacity(list.len());
    for item in &list {
        let (id, name, args) = parse_tool_call(item);
        let answer = tools::run(&ctx, &name, &args).await;
        let one_line = |s: String| s.split_whitespace().collect::<Vec<_>>().join(" ");
        results.push(match answer {
            Ok(result) => json!({"toolCallId": id, "name": name, "result": one_line(result)}),
            Err(error) => json!({"toolCallId": id, "name": name, "error": one_line(error)}),
        });
    }
    json!({"results": results})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_in_every_observed_shape() {
        let object = json!({"id": "a", "type": "function", "function": {"name": "x", "arguments": {"k": 1}}});
        let string = json!({"id": "b", "function": {"name": "y", "arguments": "{\"k\":2}"}});
        let flat = json!({"id": "c", "name": "z", "parameters": {"k": 3}});
        assert_eq!(
            parse_tool_call(&object),
            ("a".into(), "x".into(), json!({"k": 1}))
        );
        assert_eq!(
            parse_tool_call(&string),
            ("b".into(), "y".into(), json!({"k": 2}))
        );
        assert_eq!(
            parse_tool_call(&flat),
            ("c".into(), "z".into(), json!({"k": 3}))
        );
    }

    #[test]
    fn metadata_attempt_may_be_a_string() {
        let id = Uuid::now_v7();
        let msg = json!({"call": {"assistantOverrides": {"metadata": {"lead_id": id.to_string(), "attempt": "2"}}}});
        assert_eq!(call_metadata(&msg), Some((id, 2)));
    }
}
