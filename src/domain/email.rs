//! Email addresses: a deliberately plain check (one `@`, a dotted domain, no spaces) that
//! catches typing and column-mapping mistakes without rejecting real addresses.

use std::fmt;

use super::FieldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("email", input)
    }

    /// Like [`Email::parse`] but reports failures against `field`.
    pub fn parse_field(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if trimmed.len() > 254 {
            return Err(FieldError::new(field, "is too long"));
        }
        let invalid = || FieldError::new(field, "is not a valid email address");
        let (local, domain) = trimmed.split_once('@').ok_or_else(invalid)?;
        let bad_char = |c: char| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        };
        if local.is_empty()
            || local.len() > 64
            || domain.contains('@')
            || trimmed.chars().any(bad_char)
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(invalid());
        }
        // Domains are case-insensitive; keep the local part as written.
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(
            Email::parse(" Jane.Doe@Example.COM ").unwrap().as_str(),
            "Jane.Doe@example.com"
        );
        assert!(Email::parse("a+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@b..com",
            "a@.b.com",
            "<a@b.com>",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
