//! The lead file the benchmarks import: a million rows over US and other time zones, phone
//! numbers written the many ways people write them, and a sprinkling of bad rows.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::Path,
};

const US_ZONES: [&str; 6] = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Phoenix",
    "Pacific/Honolulu",
];
const OTHER_ZONES: [&str; 4] = [
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Tokyo",
];
const AREAS: [u32; 8] = [212, 312, 415, 646, 718, 305, 503, 617];

/// A US number in one of the notations people use.
fn us_phone(i: u64) -> String {
    let exchange = 200 + (i / 10_000) % 800;
    let area = AREAS[(i / 8_000_000 % 8) as usize];
    let line = i % 10_000;
    let d = format!("{area}{exchange:03}{line:04}");
    match i % 5 {
        0 => format!("+1{d}"),
        1 => format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..]),
        2 => format!("{}.{}.{}", &d[..3], &d[3..6], &d[6..]),
        3 => d,
        _ => format!("1-{}-{}-{}", &d[..3], &d[3..6], &d[6..]),
    }
}

fn other_phone(i: u64, zone: usize) -> String {
    // Every number is different as written, so a plain loader's unique index takes them all.
    let n = i % 10_000;
    match zone {
        0 => format!("+44 20 7{:03} {:04}", (i / 10_000) % 1000, n),
        1 => format!("+49 30 {:08}", 20_000_000 + i % 10_000_000),
        2 => format!("+61 2 9{:03} {:04}", (i / 10_000) % 1000, n),
        _ => format!("+81 3-{:04}-{:04}", 1000 + (i / 10_000) % 9000, n),
    }
}

/// Writes `rows` leads to `path`: 90% US, 10% elsewhere; one row in 200 is unusable (not
/// a number, an address without @, a zone that does not exist).
pub fn write_leads(path: &Path, rows: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "Company Name,Contact Name,Phone,Email,Timezone")?;
    for i in 0..rows {
        let (zone, phone) = if i % 10 == 9 {
            let z = ((i / 10) % 4) as usize;
            (OTHER_ZONES[z], other_phone(i, z))
        } else {
            (US_ZONES[(i % 6) as usize], us_phone(i))
        };
        let company = if i % 7 == 0 {
            format!("\"Company {i}, Inc.\"")
        } else {
            format!("Company {i}")
        };
        let (phone, email, zone) = match i % 200 {
            17 => (format!("x{i}"), format!("contact{i}@example.com"), zone),
            83 => (phone, format!("contact{i}.example.com"), zone),
            151 => (
                phone,
                format!("contact{i}@example.com"),
                "Mars/Olympus_Mons",
            ),
            _ => (phone, format!("contact{i}@example.com"), zone),
        };
        writeln!(out, "{company},Contact {i},{phone},{email},{zone}")?;
    }
    out.flush()
}
