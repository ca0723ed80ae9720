//! Hostile input: property tests that throw arbitrary bytes and JSON at the CSV importer,
//! the webhook parsers and handlers, and the phone and time-zone parsers (nothing may
//! panic, answer 5xx or break its invariants), and slow clients that must be cut off
//! without holding up anyone else.
//!
//! The case counts are small so the suite stays quick; for a longer hunt run
//! `PROPTEST_CASES=20000 cargo test hostile` (failures are saved under
//! `proptest-regressions/` and replayed first on every run: commit them, and a crash found
//! once stays a regression test).

use std::{io::Cursor, time::Duration};

use ai_dialer::{
    domain::{
        phone::{Phone, Region},
        timezone::TimeZoneName,
    },
    import::{ImportError, ImportOptions, header::ChosenColumns, import_csv},
};
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Engine, TestApp};

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    // The default persistence keeps failures under `proptest-regressions/`.
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Cells people (and broken exports) put in CSV files.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9 ]{0,12}",
        "\\+?[0-9 ()\\-.]{0,18}",
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|example)",
        "(America/New_York|Europe/London|Mars/Base|)",
        ".{0,8}",
        Just("\"quoted, with a comma\"".to_owned()),
        Just("\"line\nbreak\"".to_owned()),
        Just("\"unterminated".to_owned()),
        Just("\u{0}".to_owned()),
    ]
}

fn csv_text() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just("company,contact name,phone,email,timezone".to_owned()),
        Just("Business,Name,Tel,E-Mail".to_owned()),
        Just("a,b,c".to_owned()),
        "[a-z, ]{0,30}",
    ];
    let rows = proptest::collection::vec(proptest::collection::vec(cell(), 0..7), 0..12);
    prop_oneof![
        (header, rows).prop_map(|(h, rows)| {
            let mut out = h;
            for r in rows {
                out.push('\n');
                out.push_str(&r.join(","));
            }
            out.into_bytes()
        }),
        proptest::collection::vec(any::<u8>(), 0..512),
    ]
}

/// The importer reads any bytes without panicking: a usable file gives a report whose
/// counts add up, anything else a clear refusal.
#[test]
fn the_csv_importer_takes_any_bytes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = std::env::temp_dir().join(format!("ai-dialer-fuzz-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("fuzz.db").display());
    let store = rt.block_on(async {
        let s = ai_dialer::store::Store::connect(&ai_dialer::store::ConnectOptions::new(&url))
            .await
            .unwrap();
        s.migrate().await.unwrap();
        s
    });
    proptest!(cases(200), |(bytes in csv_text(), dry_run in any::<bool>())| {
        let opts = ImportOptions {
            dry_run,
            region: Region::US,
            default_timezone: TimeZoneName::parse("America/New_York").unwrap(),
            columns: ChosenColumns::default(),
            progress: None,
        };
        match rt.block_on(import_csv(&store, Cursor::new(bytes), opts)) {
            Ok(r) => prop_assert_eq!(r.imported + r.duplicates + r.invalid_count, r.rows),
            Err(ImportError::BadFile(message)) => prop_assert!(!message.is_empty()),
            Err(other) => prop_assert!(false, "not a refusal: {other:?}"),
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(cases(2000))]

    /// Whatever is typed, a phone number is refused or comes out in E.164, and reading the
    /// result again gives the same number.
    #[test]
    fn phone_numbers_parse_to_e164_or_refuse(input in prop_oneof![".{0,30}", "\\+?[0-9 ()\\-.]{0,25}"]) {
        if let Ok(phone) = Phone::parse(&input, Region::US) {
            let e164 = phone.as_str();
            prop_assert!(e164.starts_with('+') && e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
            prop_assert!((8..=16).contains(&e164.len()), "{e164}");
            let again = Phone::parse(e164, Region::US).unwrap();
            prop_assert_eq!(again.as_str(), e164);
        }
    }

    /// A time zone is refused or is one the calendar database knows.
    #[test]
    fn time_zones_parse_to_known_zones_or_refuse(input in prop_oneof![".{0,30}", "[A-Za-z_/+-]{0,30}"]) {
        if let Ok(tz) = TimeZoneName::parse(&input) {
            prop_assert!(jiff::tz::TimeZone::get(tz.as_str()).is_ok(), "{}", tz.as_str());
        }
    }

    /// Any JSON where an end-of-call report is expected is read without panicking.
    #[test]
    fn report_fields_are_read_from_any_json(v in json_value()) {
        let report = ai_dialer::dialer::settle::report_from_call(&v);
        if let Some(raw) = report.raw {
            prop_assert!(!raw.contains('\0'));
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        Just(json!("customer-ended-call")),
        Just(json!("2026-11-25T15:00:05.000Z")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("call".to_owned()),
                    Just("id".to_owned()),
                    Just("metadata".to_owned()),
                    Just("lead_id".to_owned()),
                    Just("attempt".to_owned()),
                    Just("endedReason".to_owned()),
                    Just("toolCallList".to_owned()),
                    Just("function".to_owned()),
                    Just("arguments".to_owned()),
                    Just("analysis".to_owned()),
                    Just("structuredData".to_owned()),
                    Just("artifact".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Messages VAPI could send (or an attacker holding the secret could forge): any shape,
/// with the real message types mixed in.
fn vapi_message() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("end-of-call-report"),
            Just("status-update"),
            Just("tool-calls"),
            Just("hang"),
            Just("")
        ],
        json_value(),
        json_value(),
    )
        .prop_map(|(kind, call, extra)| {
            if kind.is_empty() {
                return call;
            }
            json!({"type": kind, "call": call, "toolCallList": extra,
                   "endedReason": extra.get("endedReason").cloned().unwrap_or(Value::Null),
                   "status": extra, "analysis": call})
        })
}

/// The VAPI and Cal.com webhooks answer any well-signed body with 200 or a 4xx, never a
/// 5xx, and never take the server down.
#[test]
fn webhooks_answer_any_body_without_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = rt.block_on(TestApp::spawn(Engine::Sqlite)).unwrap();
    proptest!(cases(64), |(message in vapi_message())| {
        let status = rt.block_on(app.vapi_webhook(&message)).status();
        prop_assert!(!status.is_server_error(), "{status} for {message}");
    });
    proptest!(cases(64), |(payload in json_value())| {
        let status = rt.block_on(async {
            crate::dialer::booking::calcom_webhook(&app, &payload, crate::helpers::CALCOM_WEBHOOK_SECRET)
                .await
                .status()
        });
        prop_assert!(!status.is_server_error(), "{status} for {payload}");
    });
    let healthy = rt.block_on(async { app.get("/healthz").await.status() });
    assert_eq!(healthy, StatusCode::OK);
}

/// Clients that open connections and trickle their headers are cut off after the header
/// timeout, while everyone else is served as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_without_holding_up_others() {
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        conn.write_all(b"GET /api/leads HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        stalled.push(conn);
    }
    // Everyone else is served while they hang on.
    let res = app.get("/api/leads").await;
    assert_eq!(res.status(), StatusCode::OK);
    // Then each of them is closed (a 408 first, or just the end of the stream).
    let wait = ai_dialer::app::HEADER_READ_TIMEOUT + Duration::from_secs(5);
    for mut conn in stalled {
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(wait, conn.read_to_end(&mut buf)).await;
        assert!(
            closed.is_ok(),
            "a slow client was still connected after {wait:?}"
        );
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
}
