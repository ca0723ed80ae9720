//! CSV import over HTTP: parsing, validation report, duplicates, dry runs and broken files.

use reqwest::StatusCode;
use serde_json::Value;

use crate::both_engines;
use crate::helpers::{TestApp, assert_error};

async fn import(app: &TestApp, csv: impl Into<reqwest::Body>) -> Value {
    let res = app.post_csv("/api/leads/import", csv).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn imports_rfc4180_with_synonyms_and_timezones(app: TestApp) {
    let csv = "\u{feff}Business,Contact Name,Tel,E-Mail,Time Zone,Notes\r\n\
        \"Smith, Jones & Co\",\"Ann \"\"Annie\"\" Smith\",(415) 555-2671,ann@sj.com,America/New_York,\"multi\r\nline note\"\r\n\
        Plain Co,Bob Brown,+44 20 7946 0958,bob@plain.co.uk,Europe/London,\r\n\
        No Zone LLC,Cy Dee,212.555.0147,cy@nozone.com,,\r\n\
        \r\n";
    let report = import(&app, csv).await;
    assert_eq!(report["imported"], 3, "{report}");
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["invalid_count"], 0);
    assert_eq!(report["rows"], 3);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["columns"]["company_name"], "Business");
    assert_eq!(report["columns"]["phone"], "Tel");
    assert_eq!(report["columns"]["timezone"], "Time Zone");

    let page = app.get_json("/api/leads?sort=phone&order=asc").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["phone"], "+12125550147");
    assert_eq!(
        items[0]["timezone"], "America/Los_Angeles",
        "blank zone → default"
    );
    assert_eq!(items[1]["company_name"], "Smith, Jones & Co");
    assert_eq!(items[1]["contact_name"], "Ann \"Annie\" Smith");
    assert_eq!(items[1]["timezone"], "America/New_York");
    assert_eq!(items[2]["phone"], "+442079460958");
    assert_eq!(items[2]["status"], "pending");
}

async fn invalid_rows_are_reported_and_valid_rows_kept(app: TestApp) {
    app.create_lead("Existing", "Eve", "4155550100", "eve@x.com")
        .await;
    let csv = "company,contact_name,phone,email,timezone\n\
        Good One,Ann,4155550101,ann@one.com,America/Chicago\n\
        ,Bob,4155550102,bob@two.com,\n\
        Bad Phone,Cy,12345,cy@three.com,\n\
        Bad Mail,Di,4155550104,not-an-email,\n\
        Bad Zone,Ed,4155550105,ed@five.com,Mars/Olympus\n\
        Already Stored,Flo,(415) 555-0100,flo@six.com,\n\
        Repeat In File,Gus,415-555-0101,gus@seven.com,\n\
        Good Two,Hal,4155550108,hal@eight.com,\n";
    let report = import(&app, csv).await;
    assert_eq!(report["imported"], 2, "{report}");
    assert_eq!(report["duplicates"], 2);
    assert_eq!(report["invalid_count"], 4);
    let invalid = report["invalid"].as_array().unwrap();
    let summary: Vec<(u64, &str, &str)> = invalid
        .iter()
        .map(|r| {
            (
                r["row"].as_u64().unwrap(),
                r["column"].as_str().unwrap(),
                r["value"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (3, "company", ""),
            (4, "phone", "12345"),
            (5, "email", "not-an-email"),
            (6, "timezone", "Mars/Olympus")
        ]
    );
    assert!(
        invalid
            .iter()
            .all(|r| !r["message"].as_str().unwrap().is_empty())
    );
    assert_eq!(app.store.count_leads().await.unwrap(), 3);
}

async fn dry_run_reports_without_writing(app: TestApp) {
    let csv = "company,contact,phone,email\nA,Ann,4155550101,a@a.com\nB,Bob,bad,b@b.com\nC,Cy,4155550101,c@c.com\n";
    let res = app.post_csv("/api/leads/import?dry_run=true", csv).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["imported"], 1);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["invalid_count"], 1);
    assert_eq!(
        app.store.count_leads().await.unwrap(),
        0,
        "a dry run writes nothing"
    );
    let real = import(&app, csv).await;
    assert_eq!(real["imported"], 1);
    assert_eq!(app.store.count_leads().await.unwrap(), 1);
}

async fn multipart_uploads_work(app: TestApp) {
    let csv = "company,contact,phone,email\nA,Ann,4155550101,a@a.com\n";
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec())
                .file_name("leads.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let res = app
        .client
        .post(app.url("/api/leads/import"))
        .header("x-csrf-token", &app.csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["imported"], 1);
}

async fn broken_files_are_refused_whole(app: TestApp) {
    let ragged = "company,contact,phone,email\nA,Ann,4155550101,a@a.com\nB,Bob,4155550102\n";
    let body = assert_error(
        app.post_csv("/api/leads/import", ragged).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 3"),
        "{body}"
    );

    let missing = "company,phone\nA,4155550101\n";
    let body = assert_error(
        app.post_csv("/api/leads/import", missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("contact_name, email"),
        "{body}"
    );

    let header_only = "company,contact,phone,email\n";
    let body = assert_error(
        app.post_csv("/api/leads/import", header_only).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no data rows")
    );

    assert_error(
        app.post_csv("/api/leads/import", "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    )
    .await;

    let mut binary = b"company,contact,phone,email\nA,Ann,4155550101,a@a.com\n".to_vec();
    binary.extend_from_slice(&[
        0x89, b'P', b'N', b'G', 0, 0xff, 0xfe, b',', 0, b',', 0, b',', 0, b'\n',
    ]);
    assert_error(
        app.post_csv("/api/leads/import", binary).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    )
    .await;

    let res = app
        .client
        .post(app.url("/api/leads/import"))
        .header("x-csrf-token", &app.csrf)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    // A late structural error rolls back the rows before it, even across many batches.
    let mut late = String::from("company,contact,phone,email\n");
    for i in 0..5_000 {
        late.push_str(&format!(
            "Co {i},Name {i},+1415{:07},p{i}@x.com\n",
            2_000_000 + i
        ));
    }
    late.push_str("Broken,Row\n");
    assert_error(
        app.post_csv("/api/leads/import", late).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_csv",
    )
    .await;
    assert_eq!(
        app.store.count_leads().await.unwrap(),
        0,
        "nothing half-written"
    );
}

async fn report_lists_are_capped(app: TestApp) {
    let mut csv = String::from("company,contact,phone,email\n");
    for i in 0..1_500 {
        csv.push_str(&format!("Co {i},N,bad-{i},x@y.com\n"));
    }
    let report = import(&app, csv).await;
    assert_eq!(report["invalid_count"], 1_500);
    assert_eq!(report["invalid"].as_array().unwrap().len(), 1_000);
    assert_eq!(report["imported"], 0);
}

async fn large_imports_stream_in_batches(app: TestApp) {
    // More rows than one slice of the final move (50,000), so the repeats at the end meet
    // their first occurrences across a slice boundary.
    let mut csv = String::from("company,contact,phone,email,timezone\n");
    for i in 0..50_500u32 {
        csv.push_str(&format!(
            "Company {i},Contact {i},+1415{:07},c{i}@example.com,America/Chicago\n",
            2_000_000 + i
        ));
    }
    // Repeat the first 100 rows: duplicates inside the file.
    for i in 0..100u32 {
        csv.push_str(&format!(
            "Again {i},Contact {i},+1415{:07},d{i}@example.com,\n",
            2_000_000 + i
        ));
    }
    let dry = app
        .post_csv("/api/leads/import?dry_run=true", csv.clone())
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        (dry["imported"].as_u64(), dry["duplicates"].as_u64()),
        (Some(50_500), Some(100))
    );
    let listed = dry["duplicate_rows"].as_array().unwrap();
    assert_eq!(listed.len(), 100);
    assert_eq!(listed[0]["row"], 50_502, "the line in the file");
    assert_eq!(listed[0]["repeats_row"], 2);
    assert_eq!(listed[0]["phone"], "+14152000000");

    let res = app
        .post_csv("/api/leads/import?progress=big-import-1", csv)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert_eq!(report["imported"], 50_500, "{}", report["invalid"]);
    assert_eq!(report["duplicates"], 100);
    assert_eq!(app.store.count_leads().await.unwrap(), 50_500);
    // The progress a page polls for ends with every row read and saved.
    let progress = app
        .get_json("/api/leads/import/progress/big-import-1")
        .await;
    assert_eq!(progress["phase"], "done", "{progress}");
    assert_eq!(progress["rows_read"], 50_600);
    assert_eq!(progress["to_save"], 50_600);
    assert_eq!(progress["saved"], 50_600);
    let (other, _) = app.user_client("other@example.com", "member").await;
    let res = other
        .get(app.url("/api/leads/import/progress/big-import-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "another user's import is not theirs to see"
    );
    assert_error(
        app.post_csv("/api/leads/import?progress=no!", "a,b\n")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let first = app
        .get_json("/api/leads?q=Company%200&per_page=100&sort=company_name&order=asc")
        .await;
    assert_eq!(
        first["items"][0]["company_name"], "Company 0",
        "the first occurrence wins"
    );
}

both_engines!(
    imports_rfc4180_with_synonyms_and_timezones,
    invalid_rows_are_reported_and_valid_rows_kept,
    dry_run_reports_without_writing,
    multipart_uploads_work,
    broken_files_are_refused_whole,
    report_lists_are_capped,
    large_imports_stream_in_batches,
);
