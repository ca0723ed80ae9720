//! Follow-up emails: which one a lead's outcome calls for, its template (editable in the
//! settings, with these defaults), and rendering with the lead's details.

use serde::Serialize;

use crate::domain::FieldError;

/// The three follow-ups, each sent at most once per lead and requeue cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    /// When a meeting is booked (the lead becomes `scheduled`).
    BookingConfirmation,
    /// When the lead is `not_interested`.
    ThankYou,
    /// After the last unanswered attempt.
    FinalFollowUp,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::BookingConfirmation => "booking_confirmation",
            EmailKind::ThankYou => "thank_you",
            EmailKind::FinalFollowUp => "final_follow_up",
        }
    }

    fn defaults(self) -> (&'static str, &'static str) {
        match self {
            EmailKind::BookingConfirmation => (
                "Your call with us is booked for {{meeting_time}}",
                "Hi {{contact_name}},\n\nThanks for speaking with us today. Your meeting is booked for {{meeting_time}}.\n\nIf that time stops working for you, you can pick another one here: {{booking_link}}\n\nWe look forward to talking with you and the team at {{company_name}}.",
            ),
            EmailKind::ThankYou => (
                "Thank you for your time",
                "Hi {{contact_name}},\n\nThank you for taking our call today. We understand now isn't the right time for {{company_name}}.\n\nIf anything changes, you can book a time with us whenever suits you: {{booking_link}}",
            ),
            EmailKind::FinalFollowUp => (
                "Sorry we missed you",
                "Hi {{contact_name}},\n\nWe tried to reach you by phone a few times but couldn't catch you. If you'd like to talk about what we can do for {{company_name}}, pick a time that suits you here: {{booking_link}}",
            ),
        }
    }
}

/// Variables a template may use.
pub const VARIABLES: [&str; 4] = [
    "contact_name",
    "company_name",
    "meeting_time",
    "booking_link",
];

/// Appended to every email; not part of the editable template, so it cannot be removed.
pub const OPT_OUT_LINE: &str = "If you'd rather not hear from us again, reply with \"unsubscribe\" and we will not call or email you again.";

/// A template as stored (`None` means the default).
#[derive(Debug, Clone, Default)]
pub struct Template {
    pub subject: Option<String>,
    pub body: Option<String>,
}

impl Template {
    /// The subject and body in effect.
    pub fn effective(&self, kind: EmailKind) -> (String, String) {
        let (subject, body) = kind.defaults();
        (
            self.subject
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| subject.to_owned()),
            self.body
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| body.to_owned()),
        )
    }
}

/// Values for a template's variables.
#[derive(Debug, Clone)]
pub struct Values<'a> {
    pub contact_name: &'a str,
    pub company_name: &'a str,
    /// Already formatted in the lead's time zone.
    pub meeting_time: &'a str,
    pub booking_link: &'a str,
}

fn substitute(text: &str, v: &Values<'_>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match after[..end].trim() {
            "contact_name" => out.push_str(v.contact_name),
            "company_name" => out.push_str(v.company_name),
            "meeting_time" => out.push_str(v.meeting_time),
            "booking_link" => out.push_str(v.booking_link),
            _ => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Renders (subject, plain-text body) with the opt-out line appended.
pub fn render(kind: EmailKind, template: &Template, values: &Values<'_>) -> (String, String) {
    let (subject, body) = template.effective(kind);
    let subject = substitute(&subject, values)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let body = format!(
        "{}\n\n--\n{OPT_OUT_LINE}\n",
        substitute(&body, values).trim_end()
    );
    (subject, body)
}

/// Checks an edited template: only known `{{variables}}`, sensible lengths.
pub fn validate(field: &'static str, text: &str, max: usize) -> Result<String, FieldError> {
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| FieldError::new(field, "has a {{ without its closing }}"))?;
        let name = after[..end].trim();
        if !VARIABLES.contains(&name) {
            return Err(FieldError::new(
                field,
                format!(
                    "uses {{{{{name}}}}}; the variables are {}",
                    VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(", ")
                ),
            ));
        }
        rest = &after[end + 2..];
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values<'static> {
        Values {
            contact_name: "Jane",
            company_name: "Acme",
            meeting_time: "Thursday, November 26 at 9:30 AM (UTC-05:00)",
            booking_link: "https://cal.com/acme/intro",
        }
    }

    #[test]
    fn defaults_render_with_every_variable_and_the_opt_out() {
        let (subject, body) = render(
            EmailKind::BookingConfirmation,
            &Template::default(),
            &values(),
        );
        assert_eq!(
            subject,
            "Your call with us is booked for Thursday, November 26 at 9:30 AM (UTC-05:00)"
        );
        assert!(body.starts_with("Hi Jane,"));
        assert!(body.contains("https://cal.com/acme/intro") && body.contains("Acme"));
        assert!(body.trim_end().ends_with(OPT_OUT_LINE));
        assert!(!body.contains("{{"));
    }

    #[test]
    fn edited_templates_win_but_keep_the_opt_out() {
        let t = Template {
            subject: Some("Hello {{ contact_name }}".into()),
            body: Some("Short.".into()),
        };
        let (subject, body) = render(EmailKind::ThankYou, &t, &values());
        assert_eq!(subject, "Hello Jane");
        assert!(body.starts_with("Short.") && body.contains(OPT_OUT_LINE));
    }

    #[test]
    fn unknown_variables_are_refused() {
        assert!(validate("x", "Hi {{contact_name}} from {{ company_name }}", 100).is_ok());
        assert!(
            validate("x", "Hi {{first_name}}", 100)
                .unwrap_err()
                .message
                .contains("{{contact_name}}")
        );
        assert!(validate("x", "Hi {{contact_name", 100).is_err());
        assert!(validate("x", &"a".repeat(101), 100).is_err());
    }
}
