//! How instants, money and durations read on the dashboard.

use jiff::{Timestamp, tz::TimeZone};

use crate::domain::Millis;

/// `Nov 25, 2026 10:00 EST` in `zone` (UTC when the zone is unknown); `—` for none.
pub fn local_time(at: Option<Millis>, zone: &str) -> String {
    let Some(ts) = at.and_then(|ms| Timestamp::from_millisecond(ms).ok()) else {
        return "—".into();
    };
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    ts.to_zoned(tz).strftime("%b %-d, %Y %H:%M %Z").to_string()
}

/// The same instant as RFC 3339, for `<time datetime>`.
pub fn iso(at: Option<Millis>) -> String {
    at.map(crate::domain::millis_to_rfc3339).unwrap_or_default()
}

/// `$1.23`.
pub fn money(usd: f64) -> String {
    format!("${usd:.2}")
}

/// `3m 07s`.
pub fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) => {
            let s = s.max(0.0).round() as i64;
            if s >= 60 {
                format!("{}m {:02}s", s / 60, s % 60)
            } else {
                format!("{s}s")
            }
        }
    }
}

/// `pending` → `Pending`, `no_answer` → `No answer`.
pub fn label(value: &str) -> String {
    let spaced = value.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Every IANA zone with a label people search by: `New York · America (UTC−05:00)`. The
/// picker matches typed text against both, so "new york" finds `America/New_York`.
pub fn zone_choices() -> Vec<(String, String)> {
    let now = Timestamp::now();
    crate::dialer::known_zones()
        .into_iter()
        .map(|name| {
            let offset = TimeZone::get(&name)
                .map(|tz| tz.to_offset(now))
                .map(|o| {
                    let secs = o.seconds();
                    let sign = if secs < 0 { '−' } else { '+' };
                    let secs = secs.abs();
                    format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
                })
                .unwrap_or_default();
            let label = match name.rsplit_once('/') {
                Some((region, city)) => format!(
                    "{} · {} ({offset})",
                    city.replace('_', " "),
                    region.replace('_', " ")
                ),
                None => format!("{} ({offset})", name.replace('_', " ")),
            };
            (name, label)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_leads_zone() {
        let ms = "2026-11-25T15:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(
            local_time(Some(ms), "America/New_York"),
            "Nov 25, 2026 10:00 EST"
        );
        assert_eq!(local_time(None, "America/New_York"), "—");
    }

    #[test]
    fn labels_and_durations() {
        assert_eq!(label("not_interested"), "Not interested");
        assert_eq!(duration(Some(187.4)), "3m 07s");
        assert_eq!(money(1.5), "$1.50");
    }

    #[test]
    fn zones_read_as_city_region_and_offset() {
        let zones = super::zone_choices();
        let (_, label) = zones
            .iter()
            .find(|(name, _)| name == "America/New_York")
            .unwrap();
        assert!(label.starts_with("New York · America (UTC−0"), "{label}");
        let (_, label) = zones.iter().find(|(name, _)| name == "UTC").unwrap();
        assert_eq!(label, "UTC (UTC+00:00)");
    }
}
