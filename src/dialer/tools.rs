//! The tools the assistant calls during a call: `check_availability`, `book_appointment` and
//! `mark_do_not_call`. Answers are single lines the agent can read out or act on; times are
//! always said in the lead's local time with its UTC offset.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan, Zoned, civil::DateTime, tz::TimeZone};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    integrations::{
        ProviderError,
        calcom::{BookingError, BookingRequest, CalcomClient},
    },
    store::Store,
};

/// How far ahead availability is offered.
pub const AVAILABILITY_DAYS: i64 = 5;
const DAYS_OFFERED: usize = 3;
const SLOTS_PER_DAY: usize = 3;

/// What a tool call runs against.
pub struct ToolContext<'a> {
    pub store: &'a Store,
    pub calcom: Option<&'a CalcomClient>,
    /// The (lead, attempt) of the call, when it is one of ours.
    pub call: Option<(Uuid, i64)>,
    pub vapi_call_id: Option<&'a str>,
    /// The number VAPI is calling, for opt-outs on calls we cannot link to a lead.
    pub customer_number: Option<&'a str>,
    pub now: Timestamp,
}

/// Runs one tool; `Err` carries the text for the result's `error` field.
pub async fn run(ctx: &ToolContext<'_>, name: &str, args: &Value) -> Result<String, String> {
    match name {
        "check_availability" => check_availability(ctx, args).await,
        "book_appointment" => book_appointment(ctx, args).await,
        "mark_do_not_call" => mark_do_not_call(ctx).await,
        other => Err(format!("Unknown tool {other:?}.")),
    }
}

fn arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn offset_label(z: &Zoned) -> String {
    let secs = z.offset().seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// "Thursday, November 26 at 9:00 AM (UTC-05:00)".
pub fn spoken(ts: Timestamp, tz: &TimeZone) -> String {
    let z = ts.to_zoned(tz.clone());
    format!(
        "{} ({})",
        z.strftime("%A, %B %-d at %-I:%M %p"),
        offset_label(&z)
    )
}

/// A start time the agent gave, either with an offset (`...-05:00`, `...Z`) or as a local
/// time in `tz`, as an instant. A local time that does not exist (skipped by a DST change)
/// is refused rather than guessed.
pub fn parse_start(input: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    let s = input.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    let civil: DateTime = s.replace(' ', "T").parse().map_err(|_| {
        format!("Could not read the time {s:?}; use a format like 2026-11-26T09:00.")
    })?;
    tz.to_ambiguous_zoned(civil)
        .unambiguous()
        .or_else(|_| tz.to_ambiguous_zoned(civil).earlier())
        .map(|z| z.timestamp())
        .and_then(|ts| {
            // A time in a DST gap resolves to a different wall-clock time: refuse it.
            if ts.to_zoned(tz.clone()).datetime() == civil {
                Ok(ts)
            } else {
                Err(jiff::Error::from_args(format_args!("gap")))
            }
        })
        .map_err(|_| {
            format!(
                "{s} does not exist in that time zone (the clocks change then); offer another time."
            )
        })
}

/// Groups slot starts by local day and keeps a few per day for the agent to offer.
pub fn availability_answer(slots: &[String], tz: &TimeZone, tz_name: &str) -> String {
    let mut days: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for slot in slots {
        let Ok(ts) = slot.parse::<Timestamp>() else {
            continue;
        };
        let z = ts.to_zoned(tz.clone());
        let key = z.date().to_string();
        let entry = days.entry(key).or_insert_with(|| {
            (
                format!("{} ({})", z.strftime("%A, %B %-d"), offset_label(&z)),
                Vec::new(),
            )
        });
        if entry.1.len() < SLOTS_PER_DAY {
            entry.1.push(z.strftime("%-I:%M %p").to_string());
        }
    }
    if days.is_empty() {
        return format!(
            "No open times in the next {AVAILABILITY_DAYS} days; offer to have someone follow up by email."
        );
    }
    let parts: Vec<String> = days
        .into_values()
        .take(DAYS_OFFERED)
        .map(|(day, times)| format!("{day}: {}", times.join(", ")))
        .collect();
    format!("Open times in {tz_name}: {}.", parts.join("; "))
}

/// The zone the agent named, or else `fallback` (the lead's own zone).
fn zone_named(args: &Value, fallback: &str) -> Result<(String, TimeZone), String> {
    let name = arg(args, "timezone").unwrap_or(fallback).to_owned();
    let tz = TimeZone::get(&name).map_err(|_| {
        format!("{name:?} is not a time zone; use an IANA name like America/New_York.")
    })?;
    Ok((name, tz))
}

/// The lead's zone, read only when the agent did not name one.
async fn lead_zone(ctx: &ToolContext<'_>, args: &Value) -> Result<(String, TimeZone), String> {
    if arg(args, "timezone").is_some() {
        return zone_named(args, "UTC");
    }
    let fallback = match ctx.call {
        Some((lead, _)) => ctx
            .store
            .get_lead(lead)
            .await
            .map(|l| l.timezone)
            .map_err(|_| "Could not look up the lead.".to_owned())?,
        None => "UTC".to_owned(),
    };
    zone_named(args, &fallback)
}

async fn check_availability(ctx: &ToolContext<'_>, args: &Value) -> Result<String, String> {
    let calcom = ctx
        .calcom
        .ok_or("Scheduling is not set up; offer a follow-up by email instead.")?;
    let (name, tz) = lead_zone(ctx, args).await?;
    let end = ctx
        .now
        .to_zoned(TimeZone::UTC)
        .checked_add(AVAILABILITY_DAYS.days())
        .map_or(ctx.now, |z| z.timestamp());
    let slots = calcom
        .slots(&ctx.now.to_string(), &end.to_string(), &name)
        .await
        .map_err(|_| {
            "The calendar could not be reached; try once more, then offer a follow-up by email."
                .to_owned()
        })?;
    Ok(availability_answer(&slots, &tz, &name))
}

async fn book_appointment(ctx: &ToolContext<'_>, args: &Value) -> Result<String, String> {
    let calcom = ctx
        .calcom
        .ok_or("Scheduling is not set up; offer a follow-up by email instead.")?;
    let (lead_id, attempt) = ctx
        .call
        .ok_or("This call is not linked to a lead; offer a follow-up by email.")?;
    let lead = ctx
        .store
        .get_lead(lead_id)
        .await
        .map_err(|_| "Could not look up the lead.".to_owned())?;
    let (tz_name, tz) = zone_named(args, &lead.timezone)?;
    // Asking twice in one call must not book twice.
    if let Ok((Some(existing), _)) = ctx.store.call_facts(lead_id, attempt).await {
        let when = lead
            .booking_start_at
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .map(|ts| spoken(ts, &tz))
            .unwrap_or_default();
        return Ok(format!(
            "Already booked for {when} during this call (reference {existing}); no second booking was made."
        ));
    }
    let start_input = arg(args, "startTime")
        .ok_or("startTime is required, e.g. 2026-11-26T09:00 in the lead's time zone.")?;
    let start = parse_start(start_input, &tz)?;
    if start <= ctx.now {
        return Err("That time has already passed; offer a time from check_availability.".into());
    }
    let email = arg(args, "email").unwrap_or(&lead.email).to_owned();
    let name = arg(args, "name").unwrap_or(&lead.contact_name).to_owned();
    let start_utc = start.to_string();
    let request = BookingRequest {
        start_utc: &start_utc,
        name: &name,
        email: &email,
        time_zone: &tz_name,
        phone_e164: Some(&lead.phone),
        metadata: json!({"lead_id": lead_id.to_string(), "vapi_call_id": ctx.vapi_call_id.unwrap_or_default()}),
    };
    match calcom.book(&request).await {
        Ok(booking) => {
            let start = booking.start.parse::<Timestamp>().unwrap_or(start);
            ctx.store
                .record_booking(lead_id, attempt, &booking.uid, start.as_millisecond())
                .await
                .map_err(|_| {
                    "The meeting was booked but could not be saved; tell the person it is booked."
                        .to_owned()
                })?;
            Ok(format!(
                "Booked for {} (reference {}). Confirm the time with the person.",
                spoken(start, &tz),
                booking.uid
            ))
        }
        Err(BookingError::Unavailable) => Err(
            "That time is no longer available; call check_availability and offer another time."
                .into(),
        ),
        // The booking may have been made: booking again could book twice.
        Err(BookingError::Provider(ProviderError::Unanswered { .. })) => Err(
            "The calendar did not confirm in time. Do not book again; tell the person the team will confirm the time by email."
                .into(),
        ),
        Err(BookingError::Provider(_)) => Err(
            "The calendar could not be reached; try once more, then offer a follow-up by email."
                .into(),
        ),
    }
}

async fn mark_do_not_call(ctx: &ToolContext<'_>) -> Result<String, String> {
    let done = "Done: this number is on the do-not-call list and will not be called again. Apologise and end the call.";
    let failed =
        || "Could not record the request right now; apologise and end the call.".to_owned();
    match (ctx.call, ctx.customer_number) {
        (Some((lead, attempt)), _) => ctx
            .store
            .opt_out_during_call(lead, attempt)
            .await
            .map(|()| done.to_owned())
            .map_err(|_| failed()),
        // A call we cannot link to a lead: the number alone still goes on the list.
        (None, Some(number)) => {
            match crate::domain::phone::Phone::parse(number, crate::domain::phone::Region::US) {
                Ok(phone) => ctx
                    .store
                    .add_dnc(phone.as_str(), "call", Some("asked during a call"))
                    .await
                    .map(|_| done.to_owned())
                    .map_err(|_| failed()),
                Err(_) => Err(failed()),
            }
        }
        (None, None) => {
            Err("This call is not linked to a lead; apologise and end the call.".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    #[test]
    fn local_and_offset_times_become_the_same_instant() {
        let want: Timestamp = "2026-11-26T14:00:00Z".parse().unwrap();
        assert_eq!(parse_start("2026-11-26T09:00", &ny()).unwrap(), want);
        assert_eq!(parse_start("2026-11-26 09:00:00", &ny()).unwrap(), want);
        assert_eq!(
            parse_start("2026-11-26T09:00:00-05:00", &ny()).unwrap(),
            want
        );
        assert_eq!(
            parse_start("2026-11-26T14:00:00Z", &ny()).unwrap(),
            want,
            "an offset is never applied twice"
        );
        // Summer time: 09:00 EDT is 13:00 UTC.
        assert_eq!(
            parse_start("2026-07-01T09:00", &ny()).unwrap(),
            "2026-07-01T13:00:00Z".parse::<Timestamp>().unwrap()
        );
        // 02:30 on the spring-forward day does not exist.
        assert!(
            parse_start("2026-03-08T02:30", &ny())
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(parse_start("tomorrow at nine", &ny()).is_err());
    }

    #[test]
    fn availability_reads_as_one_short_line() {
        let slots: Vec<String> = [
            "2026-11-26T09:00:00.000-05:00",
            "2026-11-26T09:30:00.000-05:00",
            "2026-11-26T10:00:00.000-05:00",
            "2026-11-26T10:30:00.000-05:00",
            "2026-11-27T14:00:00.000-05:00",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let answer = availability_answer(&slots, &ny(), "America/New_York");
        assert_eq!(
            answer,
            "Open times in America/New_York: Thursday, November 26 (UTC-05:00): 9:00 AM, 9:30 AM, 10:00 AM; Friday, November 27 (UTC-05:00): 2:00 PM."
        );
        assert!(!answer.contains('\n'));
        assert!(availability_answer(&[], &ny(), "America/New_York").starts_with("No open times"));
    }

    #[test]
    fn spoken_times_carry_the_offset() {
        assert_eq!(
            spoken("2026-11-26T14:00:00Z".parse().unwrap(), &ny()),
            "Thursday, November 26 at 9:00 AM (UTC-05:00)"
        );
    }
}
