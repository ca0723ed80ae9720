//! Leads: their statuses and the validated shapes in which they are created and edited.

use serde::{Deserialize, Serialize};

use super::{
    FieldError, email::Email, phone::Phone, phone::Region, required_text, timezone::TimeZoneName,
};

/// Where a lead is in the dialing life cycle. The names are the original system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    Pending,
    Calling,
    NoAnswer,
    Scheduled,
    NotInterested,
    Error,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 6] = [
        LeadStatus::Pending,
        LeadStatus::Calling,
        LeadStatus::NoAnswer,
        LeadStatus::Scheduled,
        LeadStatus::NotInterested,
        LeadStatus::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Pending => "pending",
            LeadStatus::Calling => "calling",
            LeadStatus::NoAnswer => "no_answer",
            LeadStatus::Scheduled => "scheduled",
            LeadStatus::NotInterested => "not_interested",
            LeadStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<LeadStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s.trim())
    }

    /// Statuses the dialer picks leads from.
    pub fn is_due(self) -> bool {
        matches!(self, LeadStatus::Pending | LeadStatus::NoAnswer)
    }

    /// `calling` is owned by the dialer: setting it by hand would hold a concurrency slot
    /// with no call behind it, so people and scripts may choose any status but that one.
    pub fn settable_by_hand(self) -> bool {
        self != LeadStatus::Calling
    }

    /// Parses a status a person or script asked for, refusing the dialer-owned one.
    pub fn parse_manual(field: &'static str, s: &str) -> Result<LeadStatus, FieldError> {
        match Self::parse(s) {
            Some(st) if st.settable_by_hand() => Ok(st),
            Some(_) => Err(FieldError::new(
                field,
                "calling is set by the dialer when it places a call",
            )),
            None => Err(FieldError::new(
                field,
                format!("must be one of {}", Self::manual_list()),
            )),
        }
    }

    fn manual_list() -> String {
        Self::ALL
            .iter()
            .filter(|s| s.settable_by_hand())
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Upper bound for free-text lead fields; generous for real names, small enough to keep rows lean.
pub const MAX_TEXT: usize = 200;
/// Upper bound for a hand-edited attempt counter.
pub const MAX_ATTEMPTS_EDIT: i64 = 1000;

/// A lead that passed validation and can be inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    pub company_name: String,
    pub contact_name: String,
    pub phone: Phone,
    pub email: Email,
    pub timezone: TimeZoneName,
}

/// Raw lead fields as they arrive from a form, a JSON body or a CSV row.
#[derive(Debug, Clone, Default)]
pub struct LeadInput<'a> {
    pub company_name: &'a str,
    pub contact_name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    /// `None` or blank means "use the default time zone".
    pub timezone: Option<&'a str>,
}

impl NewLead {
    /// Validates every field and returns all failures, not just the first, so a form or an
    /// import report can show them together.
    pub fn parse(
        input: &LeadInput<'_>,
        region: Region,
        default_tz: &TimeZoneName,
    ) -> Result<NewLead, Vec<FieldError>> {
        let mut errors = Vec::new();
        let company = required_text("company_name", input.company_name, MAX_TEXT)
            .map_err(|e| errors.push(e))
            .ok();
        let contact = required_text("contact_name", input.contact_name, MAX_TEXT)
            .map_err(|e| errors.push(e))
            .ok();
        let phone = Phone::parse(input.phone, region)
            .map_err(|e| errors.push(e))
            .ok();
        let email = Email::parse(input.email).map_err(|e| errors.push(e)).ok();
        let timezone = match input.timezone.map(str::trim).filter(|s| !s.is_empty()) {
            Some(tz) => TimeZoneName::parse(tz).map_err(|e| errors.push(e)).ok(),
            None => Some(default_tz.clone()),
        };
        match (company, contact, phone, email, timezone) {
            (Some(company_name), Some(contact_name), Some(phone), Some(email), Some(timezone))
                if errors.is_empty() =>
            {
                Ok(NewLead {
                    company_name,
                    contact_name,
                    phone,
                    email,
                    timezone,
                })
            }
            _ => Err(errors),
        }
    }
}

/// A validated partial update: only the fields a person may edit, each already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadPatch {
    pub company_name: Option<String>,
    pub contact_name: Option<String>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub timezone: Option<TimeZoneName>,
    pub status: Option<LeadStatus>,
    pub call_attempts: Option<i64>,
}

impl LeadPatch {
    pub fn is_empty(&self) -> bool {
        *self == LeadPatch::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn la() -> TimeZoneName {
        TimeZoneName::parse("America/Los_Angeles").unwrap()
    }

    #[test]
    fn statuses_round_trip() {
        for st in LeadStatus::ALL {
            assert_eq!(LeadStatus::parse(st.as_str()), Some(st));
        }
        assert_eq!(LeadStatus::parse("bogus"), None);
    }

    #[test]
    fn calling_cannot_be_set_by_hand() {
        assert!(LeadStatus::parse_manual("status", "calling").is_err());
        assert_eq!(
            LeadStatus::parse_manual("status", "error").unwrap(),
            LeadStatus::Error
        );
        let err = LeadStatus::parse_manual("status", "nope").unwrap_err();
        assert!(err.message.contains("no_answer"), "{}", err.message);
    }

    #[test]
    fn new_lead_collects_every_error() {
        let input = LeadInput {
            company_name: "",
            contact_name: "Jane",
            phone: "nope",
            email: "bad",
            timezone: Some("Nowhere/Land"),
        };
        let errors = NewLead::parse(&input, Region::US, &la()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["company_name", "phone", "email", "timezone"]);
    }

    #[test]
    fn new_lead_normalises_and_defaults() {
        let input = LeadInput {
            company_name: " Acme HVAC ",
            contact_name: "Jane Doe",
            phone: "415-555-2671",
            email: "jane@ACME.com",
            timezone: None,
        };
        let lead = NewLead::parse(&input, Region::US, &la()).unwrap();
        assert_eq!(lead.company_name, "Acme HVAC");
        assert_eq!(lead.phone.as_str(), "+14155552671");
        assert_eq!(lead.email.as_str(), "jane@acme.com");
        assert_eq!(lead.timezone.as_str(), "America/Los_Angeles");
    }
}
