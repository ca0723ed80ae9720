//! IANA time-zone names, checked against the tz database bundled into the binary.

use std::fmt;

use super::FieldError;

/// A time-zone name that exists in the IANA database, in its canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new("timezone", "is required"));
        }
        let tz = jiff::tz::db().get(trimmed).map_err(|_| {
            FieldError::new(
                "timezone",
                format!("{trimmed} is not an IANA time zone such as America/New_York"),
            )
        })?;
        let name = tz.iana_name().unwrap_or(trimmed).to_owned();
        Ok(TimeZoneName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_iana_names() {
        assert_eq!(
            TimeZoneName::parse("America/New_York").unwrap().as_str(),
            "America/New_York"
        );
        assert_eq!(
            TimeZoneName::parse(" Europe/London ").unwrap().as_str(),
            "Europe/London"
        );
    }

    #[test]
    fn canonicalises_case() {
        assert_eq!(
            TimeZoneName::parse("america/chicago").unwrap().as_str(),
            "America/Chicago"
        );
    }

    #[test]
    fn rejects_unknown_zones() {
        assert!(TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZoneName::parse("").is_err());
        assert!(TimeZoneName::parse("EST5EDT; DROP TABLE").is_err());
    }
}
