//! Figures from repeated measurements, and the one-line report each prints.

use std::time::Duration;

/// Repeated measurements of one figure, in milliseconds (or another unit).
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn from_durations(d: &[Duration]) -> Samples {
        Samples(d.iter().map(|d| d.as_secs_f64() * 1000.0).collect())
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The value below which `p` (0–100) percent of the samples fall.
    pub fn percentile(&self, p: f64) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[rank.min(v.len() - 1)]
    }

    /// The middle sample, or the mean of the two middle ones: with `--runs 2` the nearest
    /// rank would be the better run, which flatters a throughput.
    pub fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    /// Smallest and largest sample.
    pub fn range(&self) -> (f64, f64) {
        let v = self.sorted();
        (
            v.first().copied().unwrap_or(f64::NAN),
            v.last().copied().unwrap_or(f64::NAN),
        )
    }
}

/// Whether smaller or larger is better for a figure, and its bound.
#[derive(Clone, Copy)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
    /// Only reported.
    None,
}

impl Target {
    fn met(self, value: f64) -> Option<bool> {
        match self {
            Target::AtMost(t) => Some(value <= t),
            Target::AtLeast(t) => Some(value >= t),
            Target::None => None,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Target::AtMost(t) => format!("≤ {} {unit}", num(t)),
            Target::AtLeast(t) => format!("≥ {} {unit}", num(t)),
            Target::None => "reported".into(),
        }
    }
}

fn num(v: f64) -> String {
    if v.is_nan() {
        "—".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// One measured figure, as the report prints it.
pub struct Figure<'a> {
    pub name: &'a str,
    pub engine: &'a str,
    pub unit: &'a str,
    /// The value the target applies to (a median, a p95, a throughput...).
    pub value: f64,
    /// What `value` is ("median", "p95"...).
    pub stat: &'a str,
    /// Smallest and largest run.
    pub spread: (f64, f64),
    /// The reference measured in the same run, and its name.
    pub reference: Option<(&'a str, f64)>,
    /// The target applies to the ratio against the reference rather than to the value.
    pub ratio_target: bool,
    pub target: Target,
}

impl Figure<'_> {
    /// Prints the figure's line and returns whether it met its target (true when it has
    /// none).
    pub fn print(&self) -> bool {
        let ratio = self.reference.map(|(_, r)| self.value / r);
        let judged = if self.ratio_target {
            ratio.unwrap_or(f64::NAN)
        } else {
            self.value
        };
        let met = self.target.met(judged);
        let reference = match self.reference {
            Some((name, r)) => format!("{name} {} {}", num(r), self.unit),
            None => "—".into(),
        };
        let target_unit = if self.ratio_target { "×" } else { self.unit };
        println!(
            "{:<44} {:<9} {:>6} {:>9} {:<4} spread {:>8}–{:<8} ref {:<28} ratio {:>6}  target {:<12} {}",
            self.name,
            self.engine,
            self.stat,
            num(self.value),
            self.unit,
            num(self.spread.0),
            num(self.spread.1),
            reference,
            ratio
                .map(|r| format!("{r:.2}×"))
                .unwrap_or_else(|| "—".into()),
            self.target.text(target_unit),
            match met {
                Some(true) => "ok",
                Some(false) => "MISSED",
                None => "",
            }
        );
        met.unwrap_or(true)
    }
}
