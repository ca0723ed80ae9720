//! Calling windows: when a lead may be called, in the lead's own time zone.
//!
//! The configured window (default 09:00–20:00, Monday–Friday) is always clipped to the legal
//! 08:00–21:00 local time, whatever the settings say. All arithmetic goes through jiff's
//! zoned times, so DST change days are handled by the tz database, not by fixed offsets.

use jiff::{
    Timestamp, ToSpan, Zoned,
    civil::{Date, Time, Weekday},
    tz::TimeZone,
};

use super::FieldError;

/// Earliest local time any call may start (TCPA/TSR quiet hours).
pub const LEGAL_START: Time = Time::constant(8, 0, 0, 0);
/// Calls must not start at or after this local time.
pub const LEGAL_END: Time = Time::constant(21, 0, 0, 0);

/// A set of weekdays, Monday = bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekdays {
    pub const MON_FRI: Weekdays = Weekdays(0b0001_1111);

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.to_monday_zero_offset()) != 0
    }

    /// Parses `mon,tue,...` (case-insensitive, any order, at least one day).
    pub fn parse(s: &str) -> Result<Weekdays, FieldError> {
        let mut bits = 0u8;
        for part in s
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
        {
            let i = DAY_NAMES
                .iter()
                .position(|d| part.starts_with(d) && d.len() <= part.len())
                .ok_or_else(|| {
                    FieldError::new(
                        "call_days",
                        format!("{part:?} is not a weekday; use mon, tue, wed, thu, fri, sat, sun"),
                    )
                })?;
            bits |= 1 << i;
        }
        if bits == 0 {
            return Err(FieldError::new(
                "call_days",
                "must name at least one weekday",
            ));
        }
        Ok(Weekdays(bits))
    }

    /// The canonical `mon,tue,...` form.
    pub fn to_list(self) -> String {
        DAY_NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Parses `HH:MM` (24-hour).
pub fn parse_hhmm(field: &'static str, s: &str) -> Result<Time, FieldError> {
    let bad = || FieldError::new(field, "must be a time of day as HH:MM, e.g. 09:00");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// Formats a time of day as `HH:MM`.
pub fn format_hhmm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// When calls may be placed, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallWindow {
    start: Time,
    end: Time,
    days: Weekdays,
}

impl CallWindow {
    /// A window; `start` must be before `end`. The legal bounds are applied when it is used,
    /// so a stored 07:00 start still never dials before 08:00.
    pub fn new(start: Time, end: Time, days: Weekdays) -> Result<CallWindow, FieldError> {
        if start >= end {
            return Err(FieldError::new(
                "call_window_end",
                "must be later than the start",
            ));
        }
        Ok(CallWindow { start, end, days })
    }

    /// The window actually enforced: the configured one clipped to 08:00–21:00.
    pub fn effective(&self) -> Option<(Time, Time)> {
        let start = self.start.max(LEGAL_START);
        let end = self.end.min(LEGAL_END);
        (start < end).then_some((start, end))
    }

    /// Whether a call may start at `now` for someone in `tz`.
    pub fn is_open(&self, now: Timestamp, tz: &TimeZone) -> bool {
        let Some((start, end)) = self.effective() else {
            return false;
        };
        let local = now.to_zoned(tz.clone());
        let t = local.time();
        self.days.contains(local.weekday()) && t >= start && t < end
    }

    /// The first moment at or after `after` when the window is open in `tz`; `None` if the
    /// window can never open (no legal hours left).
    pub fn next_open(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        if self.is_open(after, tz) {
            return Some(after);
        }
        let (start, _) = self.effective()?;
        let local: Zoned = after.to_zoned(tz.clone());
        let mut date: Date = local.date();
        for _ in 0..8 {
            if self.days.contains(date.weekday()) {
                // On a DST change day the start is resolved by the tz database; a start that
                // falls in a gap moves forward to the first real instant.
                if let Ok(candidate) = date
                    .at(start.hour(), start.minute(), 0, 0)
                    .to_zoned(tz.clone())
                {
                    let ts = candidate.timestamp();
                    if ts >= after && self.is_open(ts, tz) {
                        return Some(ts);
                    }
                }
            }
            date = date.checked_add(1.day()).ok()?;
        }
        None
    }
}

impl Default for CallWindow {
    fn default() -> Self {
        CallWindow {
            start: Time::constant(9, 0, 0, 0),
            end: Time::constant(20, 0, 0, 0),
            days: Weekdays::MON_FRI,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    #[test]
    fn weekdays_parse_and_print() {
        assert_eq!(
            Weekdays::parse("mon,tue,wed,thu,fri").unwrap(),
            Weekdays::MON_FRI
        );
        assert_eq!(Weekdays::parse("Sat, sunday").unwrap().to_list(), "sat,sun");
        assert!(Weekdays::parse("").is_err());
        assert!(Weekdays::parse("mon,funday").is_err());
    }

    #[test]
    fn hhmm_parses_strictly() {
        assert_eq!(format_hhmm(parse_hhmm("x", "9:05").unwrap()), "09:05");
        for bad in ["24:00", "9", "09:5", "ab:cd", "-1:00", "09:60"] {
            assert!(parse_hhmm("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn open_inside_the_window_in_the_leads_zone() {
        let w = CallWindow::default();
        // Wednesday 2026-11-25 14:00 UTC = 09:00 in New York, 06:00 in Los Angeles.
        let now = ts("2026-11-25T14:00:00Z");
        assert!(w.is_open(now, &tz("America/New_York")));
        assert!(!w.is_open(now, &tz("America/Los_Angeles")));
        // 20:00 local is closed (end is exclusive).
        assert!(!w.is_open(ts("2026-11-26T01:00:00Z"), &tz("America/New_York")));
    }

    #[test]
    fn weekends_are_closed_by_default() {
        let w = CallWindow::default();
        // Saturday 2026-11-28 15:00 UTC = 10:00 New York.
        assert!(!w.is_open(ts("2026-11-28T15:00:00Z"), &tz("America/New_York")));
        let next = w
            .next_open(ts("2026-11-28T15:00:00Z"), &tz("America/New_York"))
            .unwrap();
        assert_eq!(next, ts("2026-11-30T14:00:00Z"), "Monday 09:00 EST");
    }

    #[test]
    fn legal_hours_clip_any_setting() {
        let w = CallWindow::new(
            Time::constant(6, 0, 0, 0),
            Time::constant(23, 0, 0, 0),
            Weekdays::parse("mon,tue,wed,thu,fri,sat,sun").unwrap(),
        )
        .unwrap();
        let ny = tz("America/New_York");
        assert!(
            !w.is_open(ts("2026-11-25T12:30:00Z"), &ny),
            "07:30 local is before 08:00"
        );
        assert!(w.is_open(ts("2026-11-25T13:00:00Z"), &ny), "08:00 local");
        assert!(!w.is_open(ts("2026-11-26T02:00:00Z"), &ny), "21:00 local");
        let early = CallWindow::new(
            Time::constant(5, 0, 0, 0),
            Time::constant(7, 0, 0, 0),
            Weekdays::MON_FRI,
        )
        .unwrap();
        assert_eq!(early.effective(), None);
        assert_eq!(early.next_open(ts("2026-11-25T12:00:00Z"), &ny), None);
    }

    #[test]
    fn dst_change_days_use_the_new_offset() {
        let w = CallWindow::new(
            Time::constant(9, 0, 0, 0),
            Time::constant(20, 0, 0, 0),
            Weekdays::parse("mon,tue,wed,thu,fri,sat,sun").unwrap(),
        )
        .unwrap();
        let ny = tz("America/New_York");
        // US clocks spring forward on Sunday 2026-03-08: 09:00 is 14:00Z the day before, 13:00Z that day.
        assert!(!w.is_open(ts("2026-03-07T13:30:00Z"), &ny), "08:30 EST");
        assert!(w.is_open(ts("2026-03-08T13:30:00Z"), &ny), "09:30 EDT");
        assert_eq!(
            w.next_open(ts("2026-03-08T05:00:00Z"), &ny).unwrap(),
            ts("2026-03-08T13:00:00Z")
        );
        // And fall back on Sunday 2026-11-01: 09:00 EST is 14:00Z.
        assert_eq!(
            w.next_open(ts("2026-11-01T05:00:00Z"), &ny).unwrap(),
            ts("2026-11-01T14:00:00Z")
        );
        assert!(
            !w.is_open(ts("2026-11-01T13:30:00Z"), &ny),
            "08:30 EST after fall-back"
        );
        // London changes on a different day (2026-03-29).
        let london = tz("Europe/London");
        assert_eq!(
            w.next_open(ts("2026-03-29T00:30:00Z"), &london).unwrap(),
            ts("2026-03-29T08:00:00Z")
        );
    }

    #[test]
    fn next_open_after_hours_is_next_morning() {
        let w = CallWindow::default();
        let la = tz("America/Los_Angeles");
        // Wednesday 21:30 Pacific → Thursday 09:00 Pacific.
        assert_eq!(
            w.next_open(ts("2026-11-26T05:30:00Z"), &la).unwrap(),
            ts("2026-11-26T17:00:00Z")
        );
        // Already open: now.
        let now = ts("2026-11-25T18:00:00Z");
        assert_eq!(w.next_open(now, &la).unwrap(), now);
    }
}
