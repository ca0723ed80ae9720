//! Pure domain types: everything here is validated on construction, so the HTTP layer and the
//! store only ever handle values that are already known to be good.

pub mod email;
pub mod lead;
pub mod outcome;
pub mod phone;
pub mod serde_millis;
pub mod timezone;
pub mod user;
pub mod window;

use std::fmt;

/// A validation failure on one named input field; becomes a 422 at the HTTP boundary and a
/// row-level entry in import reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Trims `value` and checks it is non-empty and at most `max` characters long.
pub fn required_text(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Milliseconds since the Unix epoch: the one representation of instants in the database,
/// identical on SQLite and PostgreSQL and cheap to compare in the scheduler's queries.
pub type Millis = i64;

/// The current instant in epoch milliseconds.
pub fn now_millis() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

/// Formats epoch milliseconds as an RFC 3339 UTC timestamp for the API, always with three
/// fractional digits so that timestamps also sort correctly as strings.
pub fn millis_to_rfc3339(ms: Millis) -> String {
    static PRINTER: jiff::fmt::temporal::DateTimePrinter =
        jiff::fmt::temporal::DateTimePrinter::new().precision(Some(3));
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => PRINTER.timestamp_to_string(&ts),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_text_trims_and_bounds() {
        assert_eq!(required_text("f", "  Acme  ", 10).unwrap(), "Acme");
        assert_eq!(
            required_text("f", "   ", 10).unwrap_err().message,
            "is required"
        );
        assert!(required_text("f", "abcdefghijk", 10).is_err());
        assert!(required_text("f", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn millis_format_as_utc() {
        assert_eq!(millis_to_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(millis_to_rfc3339(1_500), "1970-01-01T00:00:01.500Z");
        assert!(
            millis_to_rfc3339(2_000) > millis_to_rfc3339(1_999),
            "string order is time order"
        );
    }
}
