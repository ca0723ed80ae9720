//! The single settings row: dialer knobs editable from the dashboard.

use serde::Serialize;
use sqlx::FromRow;

use super::{Bind, Store, StoreResult, bind_all, read, write};
use crate::domain::{Millis, now_millis};

/// Dialer settings. There is exactly one row; the schema enforces it.
#[derive(Debug, Clone, Serialize, FromRow, utoipa::ToSchema)]
pub struct Settings {
    /// Whether the scheduler places calls.
    pub automation_enabled: bool,
    /// The most calls in progress at once (the concurrency cap).
    pub max_calls_batch: i64,
    /// Minutes to wait before calling an unanswered lead again.
    pub retry_interval: i64,
    /// Calls to place per lead before giving up.
    pub max_attempts: i64,
    /// Region (ISO 3166-1 alpha-2) for phone numbers written without a country code.
    pub default_region: String,
    /// Time zone for leads imported or created without one.
    pub default_timezone: String,
    /// Calls start no earlier than this local time (`HH:MM`; never before 08:00).
    #[serde(serialize_with = "ser_hhmm")]
    #[schema(value_type = String, example = "09:00")]
    pub call_window_start: i64,
    /// Calls start before this local time (`HH:MM`; never after 21:00).
    #[serde(serialize_with = "ser_hhmm")]
    #[schema(value_type = String, example = "20:00")]
    pub call_window_end: i64,
    /// Weekdays calls may be placed on, e.g. `mon,tue,wed,thu,fri`.
    pub call_days: String,
    /// Follow-up email templates (the defaults when never edited). Variables:
    /// `{{contact_name}}`, `{{company_name}}`, `{{meeting_time}}`, `{{booking_link}}`.
    pub email_confirmation_subject: Option<String>,
    pub email_confirmation_body: Option<String>,
    pub email_thank_you_subject: Option<String>,
    pub email_thank_you_body: Option<String>,
    pub email_final_subject: Option<String>,
    pub email_final_body: Option<String>,
    #[serde(with = "crate::domain::serde_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

fn ser_hhmm<S: serde::Serializer>(minutes: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{:02}:{:02}", minutes / 60, minutes % 60))
}

impl Settings {
    /// The region national phone numbers are read in (US if the stored one is unusable).
    pub fn phone_region(&self) -> crate::domain::phone::Region {
        crate::domain::phone::Region::parse(&self.default_region)
            .unwrap_or(crate::domain::phone::Region::US)
    }

    /// The time zone for leads given without one. The settings API stores only valid zones,
    /// so a failure here means the row was edited by hand.
    pub fn default_tz(&self) -> anyhow::Result<crate::domain::timezone::TimeZoneName> {
        crate::domain::timezone::TimeZoneName::parse(&self.default_timezone)
            .map_err(|e| anyhow::anyhow!("stored default time zone is invalid: {e}"))
    }

    /// The template for one kind of follow-up email.
    pub fn email_template(&self, kind: crate::email::EmailKind) -> crate::email::Template {
        use crate::email::EmailKind::*;
        let (subject, body) = match kind {
            BookingConfirmation => (
                &self.email_confirmation_subject,
                &self.email_confirmation_body,
            ),
            ThankYou => (&self.email_thank_you_subject, &self.email_thank_you_body),
            FinalFollowUp => (&self.email_final_subject, &self.email_final_body),
        };
        crate::email::Template {
            subject: subject.clone(),
            body: body.clone(),
        }
    }

    /// Replaces unset templates with the defaults, so readers always see what will be sent.
    fn fill_template_defaults(&mut self) {
        use crate::email::EmailKind::*;
        for kind in [BookingConfirmation, ThankYou, FinalFollowUp] {
            let (subject, body) = self.email_template(kind).effective(kind);
            let (s, b) = match kind {
                BookingConfirmation => (
                    &mut self.email_confirmation_subject,
                    &mut self.email_confirmation_body,
                ),
                ThankYou => (
                    &mut self.email_thank_you_subject,
                    &mut self.email_thank_you_body,
                ),
                FinalFollowUp => (&mut self.email_final_subject, &mut self.email_final_body),
            };
            *s = Some(subject);
            *b = Some(body);
        }
    }

    /// The calling window these settings describe (the default if the stored one is unusable).
    pub fn call_window(&self) -> crate::domain::window::CallWindow {
        use crate::domain::window::{CallWindow, Weekdays};
        let time =
            |m: i64| jiff::civil::Time::new((m / 60).min(23) as i8, (m % 60) as i8, 0, 0).ok();
        let end = if self.call_window_end >= 1440 {
            jiff::civil::Time::MAX
        } else {
            time(self.call_window_end).unwrap_or(jiff::civil::Time::MAX)
        };
        match (
            time(self.call_window_start),
            Weekdays::parse(&self.call_days),
        ) {
            (Some(start), Ok(days)) => CallWindow::new(start, end, days).unwrap_or_default(),
            _ => CallWindow::default(),
        }
    }
}

/// The settings last read and the Settings change counter they were read at.
#[derive(Clone, Default)]
pub(crate) struct SettingsCache(
    std::sync::Arc<std::sync::Mutex<Option<(u64, std::time::Instant, Settings)>>>,
);

/// How long read settings are trusted without a change notice (a hand-made edit in the
/// database sends none).
const SETTINGS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);

impl SettingsCache {
    fn get(&self, version: u64) -> Option<Settings> {
        let cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .as_ref()
            .filter(|(v, at, _)| *v == version && at.elapsed() < SETTINGS_MAX_AGE)
            .map(|(_, _, s)| s.clone())
    }

    /// Keeps `settings`, read after the counter stood at `version`: a change committed
    /// meanwhile has moved the counter, so the next read goes to the database.
    fn put(&self, version: u64, settings: &Settings) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((version, std::time::Instant::now(), settings.clone()));
    }
}

/// Validated changes to settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub automation_enabled: Option<bool>,
    pub max_calls_batch: Option<i64>,
    pub retry_interval: Option<i64>,
    pub max_attempts: Option<i64>,
    pub default_region: Option<String>,
    pub default_timezone: Option<String>,
    pub call_window_start: Option<i64>,
    pub call_window_end: Option<i64>,
    pub call_days: Option<String>,
    /// Template edits: `Some("")` resets a template to its default.
    pub email_templates: Vec<(&'static str, String)>,
}

const COLUMNS: &str = "automation_enabled, max_calls_batch, retry_interval, max_attempts, \
    default_region, default_timezone, call_window_start, call_window_end, call_days, \
    email_confirmation_subject, email_confirmation_body, email_thank_you_subject, email_thank_you_body, \
    email_final_subject, email_final_body, updated_at";

impl Store {
    /// The settings. Every webhook and tick reads them, so they are kept between reads
    /// until a settings change (made here, or by another server and relayed) or a few
    /// seconds pass, whichever comes first.
    pub async fn settings(&self) -> StoreResult<Settings> {
        let version = self.changes.versions().settings;
        if let Some(s) = self.settings_cache.get(version) {
            return Ok(s);
        }
        let sql = format!("SELECT {COLUMNS} FROM settings WHERE id = 1");
        let mut settings =
            read!(self, pool => sqlx::query_as::<_, Settings>(&sql).fetch_one(pool).await?);
        settings.fill_template_defaults();
        self.settings_cache.put(version, &settings);
        Ok(settings)
    }

    /// Writes only the fields present in `patch`, so two people editing different settings
    /// (or the automation switch racing the settings form) never undo each other.
    pub async fn update_settings(&self, patch: &SettingsPatch) -> StoreResult<Settings> {
        let mut binds = vec![Bind::Int(now_millis())];
        let mut sets = vec!["updated_at = $1".to_owned()];
        let mut push = |col: &str, b: Bind| {
            binds.push(b);
            sets.push(format!("{col} = ${}", binds.len()));
        };
        if let Some(v) = patch.automation_enabled {
            push("automation_enabled", Bind::Bool(v));
        }
        if let Some(v) = patch.max_calls_batch {
            push("max_calls_batch", Bind::Int(v));
        }
        if let Some(v) = patch.retry_interval {
            push("retry_interval", Bind::Int(v));
        }
        if let Some(v) = patch.max_attempts {
            push("max_attempts", Bind::Int(v));
        }
        if let Some(v) = &patch.default_region {
            push("default_region", Bind::Text(v.clone()));
        }
        if let Some(v) = &patch.default_timezone {
            push("default_timezone", Bind::Text(v.clone()));
        }
        if let Some(v) = patch.call_window_start {
            push("call_window_start", Bind::Int(v));
        }
        if let Some(v) = patch.call_window_end {
            push("call_window_end", Bind::Int(v));
        }
        if let Some(v) = &patch.call_days {
            push("call_days", Bind::Text(v.clone()));
        }
        let mut defaults = Vec::new();
        for (column, text) in &patch.email_templates {
            // An empty template means "back to the default".
            if text.trim().is_empty() {
                defaults.push(format!("{column} = NULL"));
            } else {
                push(column, Bind::Text(text.clone()));
            }
        }
        sets.extend(defaults);
        let sql = format!(
            "UPDATE settings SET {} WHERE id = 1 RETURNING {COLUMNS}",
            sets.join(", ")
        );
        let mut settings = write!(self, notify Settings; pool =>
            bind_all!(sqlx::query_as::<_, Settings>(&sql), &binds).fetch_one(pool).await?);
        settings.fill_template_defaults();
        Ok(settings)
    }
}
