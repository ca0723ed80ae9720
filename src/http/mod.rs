//! HTTP: the route table, the API and pages, and the layers around them.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod pages;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod trace;

use std::sync::Arc;

use crate::{config::IntegrationSecrets, dialer::Dialer, store::Store};

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub limiter: Arc<rate_limit::LoginLimiter>,
    /// Where people and webhooks reach us; decides whether cookies are `Secure`.
    pub public_url: Option<String>,
    /// The OpenAPI document, rendered once at start-up.
    pub openapi_json: Arc<String>,
    pub dialer: Dialer,
    /// The simulated providers, in sandbox mode.
    pub sandbox: Option<crate::sandbox::Sandbox>,
    /// Cal.com, for the booking tools; `None` until configured.
    pub calcom: Option<crate::integrations::calcom::CalcomClient>,
    pub secrets: Arc<IntegrationSecrets>,
    /// The dashboard's status, computed at most once a second for everyone.
    pub status_cache: api::status::StatusCache,
    /// Imports running here, for their pages' progress bars.
    pub imports: crate::import::progress::ImportWatch,
}
