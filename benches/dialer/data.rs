//! The lead file the benchmarks import: a million rows over US and other time zones, names
//! and companies drawn from lists the way real lists repeat them, phone numbers written the
//! many ways people write them, and a sprinkling of bad rows.

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

const FIRST: [&str; 40] = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Levi", "Harper", "Ethan", "Evelyn", "Aiden", "Abigail", "Jack",
    "Emily", "Owen", "Ella", "Leo", "Scarlett", "Ezra", "Grace", "Luca", "Chloe", "Asher", "Zoe",
    "Caleb", "Nora", "Hudson", "Lily", "Wyatt", "Hannah", "Julian", "Aria", "Miguel",
];
const LAST: [&str; 48] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
];
const TRADE: [&str; 24] = [
    "Dental",
    "Roofing",
    "Plumbing",
    "Realty",
    "Auto Repair",
    "Landscaping",
    "Law",
    "Insurance",
    "Bakery",
    "Fitness",
    "Chiropractic",
    "Veterinary",
    "HVAC",
    "Cleaning",
    "Catering",
    "Accounting",
    "Electric",
    "Flooring",
    "Pest Control",
    "Photography",
    "Salon",
    "Tutoring",
    "Moving",
    "Pool Service",
];
const FORM: [&str; 8] = [
    "LLC", "Inc.", "Group", "& Sons", "Co", "Partners", "Services", "Studio",
];
const DOMAINS: [&str; 10] = [
    "gmail.com",
    "outlook.com",
    "yahoo.com",
    "icloud.com",
    "hotmail.com",
    "aol.com",
    "proton.me",
    "example.com",
    "mail.example",
    "business.example",
];

/// A well-mixed number from `i`, so names do not follow the row order.
fn mix(i: u64, salt: u64) -> usize {
    let mut x = i.wrapping_add(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 29)) as usize
}

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
        let (first, last) = (FIRST[mix(i, 1) % FIRST.len()], LAST[mix(i, 2) % LAST.len()]);
        let owner = LAST[mix(i, 3) % LAST.len()];
        let trade = TRADE[mix(i, 4) % TRADE.len()];
        let form = FORM[mix(i, 5) % FORM.len()];
        // Some names hold a comma, so they are quoted, as spreadsheets write them.
        let company = if form == "Inc." {
            format!("\"{owner} {trade}, Inc.\"")
        } else {
            format!("{owner} {trade} {form}")
        };
        let mailbox = format!(
            "{}.{}{}",
            first.to_lowercase(),
            last.to_lowercase(),
            i % 1000
        );
        let domain = DOMAINS[mix(i, 6) % DOMAINS.len()];
        let (phone, email, zone) = match i % 200 {
            17 => (format!("x{i}"), format!("{mailbox}@{domain}"), zone),
            83 => (phone, format!("{mailbox}.{domain}"), zone),
            151 => (phone, format!("{mailbox}@{domain}"), "Mars/Olympus_Mons"),
            _ => (phone, format!("{mailbox}@{domain}"), zone),
        };
        writeln!(out, "{company},{first} {last},{phone},{email},{zone}")?;
    }
    out.flush()
}
