//! Resend: `POST /emails` with an `Idempotency-Key`, so a retry after a lost response never
//! sends the same email twice.

use std::time::Duration;

use serde_json::{Value, json};

use super::ProviderError;
use crate::config::Secret;

const PROVIDER: &str = "Resend";

#[derive(Debug, Clone)]
pub struct ResendConfig {
    pub base_url: String,
    pub api_key: Secret,
    /// `Name <address>` or a bare address.
    pub from: String,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct ResendClient {
    http: reqwest::Client,
    config: ResendConfig,
}

/// One email to send.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    /// Same key, same email: Resend sends it once (keys live for 24 hours).
    pub idempotency_key: &'a str,
    pub kind: &'a str,
}

impl ResendClient {
    pub fn new(config: ResendConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .unwrap_or_default();
        ResendClient { http, config }
    }

    /// Sends; returns Resend's email id.
    pub fn config(&self) -> &ResendConfig {
        &self.config
    }

    /// Checks the key by listing domains (changes nothing). A send-only key is refused that
    /// list with `restricted_api_key`, which still proves the key is real.
    pub async fn check(&self) -> Result<(), ProviderError> {
        let res = self
            .http
            .get(format!(
                "{}/domains",
                self.config.base_url.trim_end_matches('/')
            ))
            .bearer_auth(self.config.api_key.expose())
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        if status.is_success()
            || (status == reqwest::StatusCode::UNAUTHORIZED && text.contains("restricted_api_key"))
        {
            Ok(())
        } else {
            Err(ProviderError::from_status(
                PROVIDER, status, &headers, &text,
            ))
        }
    }

    pub async fn send(&self, email: &Email<'_>) -> Result<String, ProviderError> {
        let body = json!({
            "from": self.config.from,
            "to": [email.to],
            "subject": email.subject,
            "text": email.text,
            "tags": [{"name": "kind", "value": email.kind}],
        });
        let res = self
            .http
            .post(format!(
                "{}/emails",
                self.config.base_url.trim_end_matches('/')
            ))
            .bearer_auth(self.config.api_key.expose())
            .header("Idempotency-Key", email.idempotency_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        let status = res.status();
        let headers = res.headers().clone();
        let text = res
            .text()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        if !status.is_success() {
            let mut err = ProviderError::from_status(PROVIDER, status, &headers, &text);
            // Resend says how long a rate limit lasts in ratelimit-reset as well.
            if let ProviderError::Transient {
                retry_after: ra @ None,
                ..
            } = &mut err
            {
                *ra = headers
                    .get("ratelimit-reset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
            }
            // A concurrent duplicate (409) is a transient clash, not a refusal.
            if status.as_u16() == 409 {
                return Err(ProviderError::Transient {
                    provider: PROVIDER,
                    message: super::summarize_body(&text),
                    retry_after: None,
                });
            }
            return Err(err);
        }
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
            .ok_or(ProviderError::Transient {
                provider: PROVIDER,
                message: "answered without an email id".into(),
                retry_after: None,
            })
    }
}
