//! VAPI: placing outbound calls and reading them back (`POST /call`, `GET /call/{id}`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ProviderError;
use crate::config::Secret;

const PROVIDER: &str = "VAPI";

/// What the dialer needs to place calls.
#[derive(Debug, Clone)]
pub struct VapiConfig {
    pub base_url: String,
    pub api_key: Secret,
    pub assistant_id: String,
    pub phone_number_id: String,
    pub timeout: Duration,
}

#[derive(Clone)]
pub struct VapiClient {
    http: reqwest::Client,
    config: VapiConfig,
}

/// One outbound call to place.
#[derive(Debug, Clone)]
pub struct CallRequest<'a> {
    pub phone_e164: &'a str,
    pub customer_name: &'a str,
    /// The assistant's template variables (`lead_company_name`, ...).
    pub variables: Value,
    pub lead_id: uuid::Uuid,
    pub attempt: i64,
}

/// A call as VAPI reports it (the fields we use; everything else stays in `raw`).
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub id: String,
    pub status: Option<String>,
    pub ended_reason: Option<String>,
    pub raw: Value,
}

#[derive(Deserialize)]
struct CallBody {
    id: String,
    status: Option<String>,
    #[serde(rename = "endedReason")]
    ended_reason: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateCall<'a> {
    assistant_id: &'a str,
    phone_number_id: &'a str,
    customer: Customer<'a>,
    assistant_overrides: Overrides,
}

#[derive(Serialize)]
struct Customer<'a> {
    number: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Overrides {
    variable_values: Value,
    metadata: Value,
}

impl VapiClient {
    pub fn new(config: VapiConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .build()
            .unwrap_or_default();
        VapiClient { http, config }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// Places a call. `customer.name` is cut to VAPI's 40-character limit.
    pub async fn create_call(&self, req: &CallRequest<'_>) -> Result<CallInfo, ProviderError> {
        let name: String = req.customer_name.chars().take(40).collect();
        let body = CreateCall {
            assistant_id: &self.config.assistant_id,
            phone_number_id: &self.config.phone_number_id,
            customer: Customer {
                number: req.phone_e164,
                name: &name,
            },
            assistant_overrides: Overrides {
                variable_values: req.variables.clone(),
                metadata: json!({"lead_id": req.lead_id.to_string(), "attempt": req.attempt}),
            },
        };
        let res = self
            .http
            .post(self.url("/call"))
            .bearer_auth(self.config.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        read_call(res).await
    }

    pub fn config(&self) -> &VapiConfig {
        &self.config
    }

    /// Checks the key and assistant by reading the assistant (changes nothing).
    pub async fn check(&self) -> Result<(), ProviderError> {
        let res = self
            .http
            .get(self.url(&format!("/assistant/{}", self.config.assistant_id)))
            .bearer_auth(self.config.api_key.expose())
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        super::read_json(PROVIDER, res).await.map(|_| ())
    }

    /// Reads a call back, e.g. to learn how a call whose reports never arrived ended.
    pub async fn get_call(&self, id: &str) -> Result<CallInfo, ProviderError> {
        let res = self
            .http
            .get(self.url(&format!("/call/{id}")))
            .bearer_auth(self.config.api_key.expose())
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        read_call(res).await
    }
}

async fn read_call(res: reqwest::Response) -> Result<CallInfo, ProviderError> {
    let raw = super::read_json(PROVIDER, res).await?;
    let call: CallBody = serde_json::from_value(raw.clone())
        .map_err(|_| super::garbled(PROVIDER, "without a call id"))?;
    Ok(CallInfo {
        id: call.id,
        status: call.status,
        ended_reason: call.ended_reason,
        raw,
    })
}

impl VapiClient {
    /// A client for managing assistants and tools, which needs only the API key.
    pub fn for_management(base_url: &str, api_key: Secret) -> Self {
        VapiClient::new(VapiConfig {
            base_url: base_url.to_owned(),
            api_key,
            assistant_id: String::new(),
            phone_number_id: String::new(),
            timeout: Duration::from_secs(30),
        })
    }

    /// `POST`s or `PATCH`es a JSON body; `Ok(None)` for a 404 (the resource is gone).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> Result<Option<Value>, ProviderError> {
        let res = self
            .http
            .request(method, self.url(path))
            .bearer_auth(self.config.api_key.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| ProviderError::from_reqwest(PROVIDER, &e))?;
        if res.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        super::read_json(PROVIDER, res).await.map(Some)
    }
}
