//! Cal.com API v2: free slots (`GET /v2/slots`, cal-api-version 2024-09-04) and bookings
//! (`POST /v2/bookings`, cal-api-version 2024-08-13). The version header is per endpoint:
//! without it Cal.com silently falls back to older behaviour.

use std::time::Duration;

use serde_json::{Value, json};

use super::ProviderError;
use crate::config::Secret;

const PROVIDER: &str = "Cal.com";
const SLOTS_VERSION: &str = "2024-09-04";
const BOOKINGS_VERSION: &str = "2024-08-13";

#[derive(Debug, Clone)]
pub struct CalcomConfig {
    pub base_url: String,
    pub api_key: Secret,
    pub event_type_id: i64,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct CalcomClient {
    http: reqwest::Client,
    config: CalcomConfig,
}

/// A new booking to make.
#[derive(Debug, Clone)]
pub struct BookingRequest<'a> {
    /// UTC, RFC 3339.
    pub start_utc: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub time_zone: &'a str,
    pub phone_e164: Option<&'a str>,
    /// Kept on the booking, e.g. `lead_id` and `vapi_call_id`.
    pub metadata: Value,
}

/// A booking Cal.com made.
#[derive(Debug, Clone)]
pub struct Booking {
    pub uid: String,
    /// UTC, RFC 3339.
    pub start: String,
}

/// Why a booking was not made.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// The slot is taken or outside availability; offer another one.
    #[error("that time is not available")]
    Unavailable,
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl CalcomClient {
    pub fn new(config: CalcomConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        CalcomClient { http, config }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    pub fn config(&self) -> &CalcomConfig {
        &self.config
    }

    /// Checks the key and event type by asking for tomorrow's free slots (changes nothing).
    pub async fn check(&self) -> Result<usize, ProviderError> {
        let now = jiff::Timestamp::now();
        let end = now + jiff::SignedDuration::from_hours(24);
        self.slots(&now.to_string(), &end.to_string(), "UTC")
            .await
            .map(|s| s.len())
    }

    /// Free slot start times between `start` and `end` (UTC, RFC 3339), rendered in `time_zone`
    /// (each carries that zone's offset), in order.
    pub async fn slots(
        &self,
        start: &str,
        end: &str,
        time_zone: &str,
    ) -> Result<Vec<String>, ProviderError> {
        let res = self
            .http
            .get(self.url("/v2/slots"))
            .bearer_auth(self.config.api_key.expose())
            .header("cal-api-version", SLOTS_VERSION)
            .query(&[
                (
                    "eventTypeId",
                    self.config.event_type_id.to_string().as_str(),
                ),
                ("start", start),
                ("end", end),
                ("timeZone", time_zone),
            ])
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        let body = super::read_json(PROVIDER, res).await?;
        let mut starts: Vec<String> = body
            .get("data")
            .and_then(Value::as_object)
            .map(|days| {
                days.values()
                    .filter_map(Value::as_array)
                    .flatten()
                    .filter_map(|slot| match slot {
                        Value::String(s) => Some(s.clone()),
                        other => other
                            .get("start")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    })
                    .collect()
            })
            .unwrap_or_default();
        starts.sort_by_key(|s| {
            s.parse::<jiff::Timestamp>()
                .map(|t| t.as_millisecond())
                .unwrap_or(i64::MAX)
        });
        Ok(starts)
    }

    /// Books the event type at `start_utc`.
    pub async fn book(&self, req: &BookingRequest<'_>) -> Result<Booking, BookingError> {
        let mut attendee = json!({"name": req.name, "email": req.email, "timeZone": req.time_zone, "language": "en"});
        if let Some(phone) = req.phone_e164 {
            attendee["phoneNumber"] = json!(phone);
        }
        let body = json!({
            "start": req.start_utc,
            "eventTypeId": self.config.event_type_id,
            "attendee": attendee,
            "metadata": req.metadata,
        });
        let res = self
            .http
            .post(self.url("/v2/bookings"))
            .bearer_auth(self.config.api_key.expose())
            .header("cal-api-version", BOOKINGS_VERSION)
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        if res.status() == reqwest::StatusCode::BAD_REQUEST {
            let text = res.text().await.unwrap_or_default().to_lowercase();
            if text.contains("not available")
                || text.contains("no_available_users")
                || text.contains("out_of_bounds")
                || text.contains("already has booking")
            {
                return Err(BookingError::Unavailable);
            }
            return Err(ProviderError::Rejected {
                provider: PROVIDER,
                status: 400,
                message: super::summarize_body(&text),
            }
            .into());
        }
        let body = super::read_json(PROVIDER, res).await?;
        let data = body
            .get("data")
            .map(|d| if d.is_array() { &d[0] } else { d });
        let uid = data.and_then(|d| d.get("uid")).and_then(Value::as_str);
        let start = data
            .and_then(|d| d.get("start"))
            .and_then(Value::as_str)
            .unwrap_or(req.start_utc);
        match uid {
            Some(uid) => Ok(Booking {
                uid: uid.to_owned(),
                start: start.to_owned(),
            }),
            None => Err(super::garbled(PROVIDER, "without a booking uid").into()),
        }
    }
}
