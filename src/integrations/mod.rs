//! Clients for the outside services, each with an injected base URL, key and timeout, so
//! tests and the sandbox point them at local fakes that speak the same wire format.

pub mod calcom;
pub mod resend;
pub mod vapi;
pub mod vapi_publish;

use std::time::Duration;

/// Why a call to a provider failed, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused this request for a reason that will not go away by retrying
    /// (a 4xx other than 429): e.g. an invalid number.
    #[error("{provider} refused the request ({status}): {message}")]
    Rejected {
        provider: &'static str,
        status: u16,
        message: String,
    },
    /// The request went out but no answer came in time: the provider may have acted on it.
    /// Retrying could repeat the action (a second call, a second booking).
    #[error("{provider} did not answer in time: {message}")]
    Unanswered {
        provider: &'static str,
        message: String,
    },
    /// Worth retrying later: a connection failure, 429 or 5xx.
    #[error("{provider} is unavailable: {message}")]
    Transient {
        provider: &'static str,
        message: String,
        retry_after: Option<Duration>,
    },
}

impl ProviderError {
    /// A description without the provider's response body, for logs (bodies can echo
    /// addresses and numbers we sent).
    pub fn log_summary(&self) -> String {
        match self {
            ProviderError::Rejected {
                provider, status, ..
            } => format!("{provider} refused the request (HTTP {status})"),
            ProviderError::Unanswered { provider, .. } => {
                format!("{provider} did not answer in time")
            }
            ProviderError::Transient { provider, .. } => format!("{provider} is unavailable"),
        }
    }

    /// Builds the right error for an HTTP failure status and its body.
    pub fn from_status(
        provider: &'static str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &str,
    ) -> Self {
        let message = summarize_body(body);
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
            let retry_after = headers
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            ProviderError::Transient {
                provider,
                message: format!("HTTP {}: {message}", status.as_u16()),
                retry_after,
            }
        } else {
            ProviderError::Rejected {
                provider,
                status: status.as_u16(),
                message,
            }
        }
    }

    pub fn from_reqwest(provider: &'static str, err: &reqwest::Error) -> Self {
        if err.is_timeout() && !err.is_connect() {
            return ProviderError::Unanswered {
                provider,
                message: "timed out".into(),
            };
        }
        let message = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            "could not connect".to_owned()
        } else if err.is_decode() {
            "answered with something that is not the expected JSON".to_owned()
        } else {
            "request failed".to_owned()
        };
        ProviderError::Transient {
            provider,
            message,
            retry_after: None,
        }
    }
}

/// A success status with a body we cannot read. The provider said yes to something, so
/// it may have acted (placed the call, sent the email): treated like an answer that never
/// came, which is never blindly repeated.
pub(crate) fn garbled(provider: &'static str, what: &str) -> ProviderError {
    ProviderError::Unanswered {
        provider,
        message: format!("answered {what}"),
    }
}

/// Reads a response: a success's body parsed as JSON, or the error its status stands for.
pub(crate) async fn read_json(
    provider: &'static str,
    res: reqwest::Response,
) -> Result<serde_json::Value, ProviderError> {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res
        .text()
        .await
        .map_err(|e| ProviderError::from_reqwest(provider, &e))?;
    if !status.is_success() {
        return Err(ProviderError::from_status(
            provider, status, &headers, &text,
        ));
    }
    serde_json::from_str(&text).map_err(|_| garbled(provider, "with something that is not JSON"))
}

/// A short, single-line description of an error body (the `message` field of the usual
/// error envelopes when there is one). Bodies are provider text, never our users' data.
pub(crate) fn summarize_body(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        let m = v
            .get("message")
            .or_else(|| v.get("error").and_then(|e| e.get("message")))?;
        Some(match m {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    });
    let text = message.unwrap_or_else(|| body.to_owned());
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_one_short_line() {
        assert_eq!(
            summarize_body(
                r#"{"message":["customer.number must be E.164","x"],"error":"Bad Request","statusCode":400}"#
            ),
            "customer.number must be E.164; x"
        );
        assert_eq!(summarize_body("plain\n text"), "plain text");
        assert_eq!(summarize_body(&"x".repeat(1000)).len(), 300);
    }
}
