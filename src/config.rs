//! Configuration, read once at start-up from flags and environment variables (a `.env` file
//! in the working directory is loaded first when present). Secrets never reach `Debug` output.

use std::fmt;

/// A secret string whose `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Enough of the value to recognise it, never enough to use it: `re_1••••cdef`.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return "••••••••".into();
        }
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}••••{tail}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Secret {
    /// `None` for an empty or blank value: `VAPI_SECRET_KEY=` must not make "" a valid secret.
    pub fn non_empty(s: &Option<Secret>) -> Option<Secret> {
        s.as_ref().filter(|s| !s.0.trim().is_empty()).cloned()
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Where the database is and how many connections to keep.
#[derive(Clone, clap::Args)]
pub struct DatabaseArgs {
    /// `sqlite://FILE` (default, created when missing) or `postgres://user:pass@host/db`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://ai-dialer.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Most pooled database connections.
    #[arg(
        long,
        env = "DATABASE_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub database_max_connections: u32,
}

impl fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .finish()
    }
}

/// Settings for `ai-dialer serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000")]
    pub bind: String,

    /// Email of the admin created on first start when no user exists.
    #[arg(long, env = "DIALER_ADMIN_EMAIL", default_value = "admin@example.com")]
    pub admin_email: String,

    /// Password for that first admin; a random one is generated and printed when unset.
    #[arg(long, env = "DIALER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,

    /// The URL people and webhooks reach this server at, e.g. `https://dialer.example.com`.
    /// When it is https, session cookies are marked Secure.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,

    #[command(flatten)]
    pub dialer: DialerArgs,

    /// Simulate VAPI, Cal.com and Resend in-process (no accounts needed). Refused when real
    /// provider keys are configured.
    #[arg(long, env = "DIALER_SANDBOX")]
    pub sandbox: bool,

    /// Sandbox outcome weights, e.g. `booked=35,no_answer=25,voicemail=10,not_interested=25,do_not_call=5`.
    #[arg(
        long,
        env = "SANDBOX_OUTCOMES",
        default_value = "booked=35,no_answer=25,voicemail=10,not_interested=25,do_not_call=5"
    )]
    pub sandbox_outcomes: String,

    /// How long each simulated call takes, in seconds.
    #[arg(long, env = "SANDBOX_CALL_SECONDS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub sandbox_call_seconds: u64,
}

/// VAPI and the dialing loop (names as in the original product's `.env`).
#[derive(Clone, clap::Args)]
pub struct DialerArgs {
    /// VAPI private API key; calls are placed only when this, the assistant and the phone
    /// number are all set.
    #[arg(long, env = "VAPI_API_KEY", hide_env_values = true)]
    pub vapi_api_key: Option<Secret>,
    #[arg(long, env = "VAPI_ASSISTANT_ID")]
    pub vapi_assistant_id: Option<String>,
    #[arg(long, env = "VAPI_PHONE_NUMBER_ID")]
    pub vapi_phone_number_id: Option<String>,
    #[arg(long, env = "VAPI_BASE_URL", default_value = "https://api.vapi.ai")]
    pub vapi_base_url: String,
    /// Secret VAPI sends with its server messages (`x-vapi-secret` or `Authorization: Bearer`).
    #[arg(long, env = "VAPI_SECRET_KEY", hide_env_values = true)]
    pub vapi_secret_key: Option<Secret>,
    /// Key for VAPI's HMAC credential (`x-signature` over `{x-timestamp}.{body}`, SHA-256).
    #[arg(long, env = "VAPI_WEBHOOK_HMAC_SECRET", hide_env_values = true)]
    pub vapi_webhook_hmac_secret: Option<Secret>,
    /// Bearer secret for `/api/cron`; the endpoint refuses every request while unset.
    #[arg(long, env = "CRON_SECRET", hide_env_values = true)]
    pub cron_secret: Option<Secret>,
    /// Cal.com API key (`cal_...`); with the event type, enables booking during calls.
    #[arg(long, env = "CALCOM_API_KEY", hide_env_values = true)]
    pub calcom_api_key: Option<Secret>,
    /// The Cal.com event type meetings are booked into.
    #[arg(long, env = "CALCOM_EVENT_TYPE_ID")]
    pub calcom_event_type_id: Option<i64>,
    #[arg(long, env = "CALCOM_BASE_URL", default_value = "https://api.cal.com")]
    pub calcom_base_url: String,
    /// Secret of the Cal.com webhook (`X-Cal-Signature-256`); the endpoint refuses everything
    /// while unset.
    #[arg(long, env = "CALCOM_WEBHOOK_SECRET", hide_env_values = true)]
    pub calcom_webhook_secret: Option<Secret>,
    /// Booking page linked from follow-up emails.
    #[arg(long, env = "CALCOM_BOOKING_LINK", default_value = "")]
    pub calcom_booking_link: String,
    /// Resend API key; follow-up emails are sent only when this and the sender are set.
    #[arg(long, env = "RESEND_API_KEY", hide_env_values = true)]
    pub resend_api_key: Option<Secret>,
    #[arg(long, env = "RESEND_FROM_EMAIL")]
    pub resend_from_email: Option<String>,
    #[arg(long, env = "RESEND_FROM_NAME", default_value = "AI Dialer Team")]
    pub resend_from_name: String,
    #[arg(
        long,
        env = "RESEND_BASE_URL",
        default_value = "https://api.resend.com"
    )]
    pub resend_base_url: String,
    /// Seconds between dialer ticks.
    #[arg(long, env = "DIALER_TICK_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub tick_seconds: u64,
    /// The assistant's longest call (VAPI `maxDurationSeconds`); calls silent for longer than
    /// this plus five minutes are checked with VAPI.
    #[arg(long, env = "VAPI_MAX_CALL_SECONDS", default_value_t = 600)]
    pub max_call_seconds: u64,
    /// A claimed lead whose call VAPI has not confirmed after this many seconds was never
    /// placed (its process died): it goes back to the queue with its attempt.
    #[arg(long, env = "DIALER_DIAL_GRACE_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=86400))]
    pub dial_grace_seconds: u64,
    /// First wait before retrying a dial VAPI could not take (doubles each time in a row).
    #[arg(long, env = "DIALER_RETRY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub retry_seconds: u64,
}

impl fmt::Debug for DialerArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DialerArgs")
            .field("vapi_configured", &self.vapi().is_some())
            .field("vapi_base_url", &self.vapi_base_url)
            .field("tick_seconds", &self.tick_seconds)
            .finish_non_exhaustive()
    }
}

impl DialerArgs {
    /// Whether any real provider key is set (the sandbox refuses to run then).
    pub fn has_real_keys(&self) -> bool {
        Secret::non_empty(&self.vapi_api_key).is_some()
            || Secret::non_empty(&self.calcom_api_key).is_some()
            || Secret::non_empty(&self.resend_api_key).is_some()
    }

    /// The VAPI client settings, when everything needed to place calls is present.
    pub fn vapi(&self) -> Option<crate::integrations::vapi::VapiConfig> {
        Some(crate::integrations::vapi::VapiConfig {
            base_url: self.vapi_base_url.clone(),
            api_key: Secret::non_empty(&self.vapi_api_key)?,
            assistant_id: self.vapi_assistant_id.clone()?,
            phone_number_id: self.vapi_phone_number_id.clone()?,
            timeout: std::time::Duration::from_secs(20),
        })
    }

    /// The Cal.com client settings, when booking is configured.
    pub fn calcom(&self) -> Option<crate::integrations::calcom::CalcomConfig> {
        Some(crate::integrations::calcom::CalcomConfig {
            base_url: self.calcom_base_url.clone(),
            api_key: Secret::non_empty(&self.calcom_api_key)?,
            event_type_id: self.calcom_event_type_id?,
            timeout: std::time::Duration::from_secs(10),
        })
    }

    /// The Resend client settings, when email sending is configured.
    pub fn resend(&self) -> Option<crate::integrations::resend::ResendConfig> {
        let from = self.resend_from_email.clone()?;
        Some(crate::integrations::resend::ResendConfig {
            base_url: self.resend_base_url.clone(),
            api_key: Secret::non_empty(&self.resend_api_key)?,
            from: format!(
                "{} <{from}>",
                self.resend_from_name.replace(['<', '>', '"'], "")
            ),
            timeout: std::time::Duration::from_secs(15),
        })
    }

    pub fn secrets(&self) -> IntegrationSecrets {
        IntegrationSecrets {
            cron_secret: Secret::non_empty(&self.cron_secret),
            vapi_secret: Secret::non_empty(&self.vapi_secret_key),
            vapi_hmac_secret: Secret::non_empty(&self.vapi_webhook_hmac_secret),
            calcom_webhook_secret: Secret::non_empty(&self.calcom_webhook_secret),
        }
    }
}

/// Secrets other systems use to call us.
#[derive(Debug, Clone, Default)]
pub struct IntegrationSecrets {
    pub cron_secret: Option<Secret>,
    pub vapi_secret: Option<Secret>,
    pub vapi_hmac_secret: Option<Secret>,
    pub calcom_webhook_secret: Option<Secret>,
}

/// Shows a database URL with any password replaced, for logs and `Debug`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact_url("postgres://u:hunter2@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://ai-dialer.db"), "sqlite://ai-dialer.db");
    }

    #[test]
    fn blank_secrets_count_as_unset() {
        assert!(Secret::non_empty(&Some(Secret::new("  "))).is_none());
        assert!(Secret::non_empty(&Some(Secret::new("x"))).is_some());
        assert!(Secret::non_empty(&None).is_none());
    }

    #[test]
    fn secrets_do_not_debug_print() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret([redacted])"
        );
    }
}
