//! The lead list at scale: totals from the status counters, searches through the trigram
//! index and by scanning, capped search totals, and pages read from either end.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::dialer::{enable, report};
use crate::helpers::TestApp;

const STATUSES: [&str; 6] = [
    "pending",
    "calling",
    "no_answer",
    "scheduled",
    "not_interested",
    "error",
];

/// Every lead, read in pages of 100 (the tests stay under a few hundred leads).
async fn every_lead(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let body = app
            .get_json(&format!(
                "/api/leads?per_page=100&page={page}&sort=phone&order=asc"
            ))
            .await;
        let items = body["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        all.extend(items);
    }
    all
}

/// The totals the list reports for each status (and for none) equal a count of the rows.
async fn assert_totals_match_rows(app: &TestApp, step: &str) {
    let all = every_lead(app).await;
    let total = app.get_json("/api/leads").await;
    assert_eq!(total["total"], all.len(), "{step}: all");
    assert_eq!(total["total_exact"], true, "{step}");
    for status in STATUSES {
        let rows = all.iter().filter(|l| l["status"] == status).count();
        let body = app.get_json(&format!("/api/leads?status={status}")).await;
        assert_eq!(body["total"], rows, "{step}: {status}");
    }
    let two = app.get_json("/api/leads?status=pending,no_answer").await;
    let rows = all
        .iter()
        .filter(|l| l["status"] == "pending" || l["status"] == "no_answer")
        .count();
    assert_eq!(two["total"], rows, "{step}: pending,no_answer");
}

fn csv(from: u32, to: u32) -> String {
    let mut out = String::from("company,contact name,phone,email,timezone\n");
    for i in from..to {
        out.push_str(&format!(
            "Firm {i},Person {i},+1212{:07},p{i}@firm.example,America/New_York\n",
            5_000_000 + i
        ));
    }
    out
}

async fn totals_follow_every_kind_of_change(app: TestApp) {
    assert_totals_match_rows(&app, "empty").await;
    let res = app.post_csv("/api/leads/import", csv(0, 30)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_totals_match_rows(&app, "after an import").await;

    let all = every_lead(&app).await;
    let id = |i: usize| all[i]["id"].as_str().unwrap().to_owned();
    app.patch_json(
        &format!("/api/leads/{}", id(0)),
        &json!({"status": "error"}),
    )
    .await;
    app.patch_json(
        &format!("/api/leads/{}", id(1)),
        &json!({"status": "scheduled"}),
    )
    .await;
    assert_totals_match_rows(&app, "after edits").await;

    let bulk = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": [id(2), id(3), id(4)], "action": "set_status", "status": "not_interested"}),
        )
        .await;
    assert_eq!(bulk.status(), StatusCode::OK);
    let bulk = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": [id(5), id(0)], "action": "delete"}),
        )
        .await;
    assert_eq!(bulk.status(), StatusCode::OK);
    assert_eq!(
        app.delete(&format!("/api/leads/{}", id(6))).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_totals_match_rows(&app, "after bulk changes and deletes").await;

    // The dialer moves leads through calling and back, in statements of many rows.
    enable(&app, json!({"max_calls_batch": 5})).await;
    app.tick().await;
    assert_totals_match_rows(&app, "after a claim").await;
    let calling: Vec<Value> = every_lead(&app)
        .await
        .into_iter()
        .filter(|l| l["status"] == "calling")
        .collect();
    assert_eq!(calling.len(), 5);
    for lead in &calling[..2] {
        let call = app
            .vapi
            .call(&app.vapi.call_id_for(lead["id"].as_str().unwrap(), 1));
        app.vapi_webhook(&report(&call, "customer-did-not-answer", None))
            .await;
    }
    // A tick folds PostgreSQL's pending deltas into the counters; totals hold either way.
    app.advance(Duration::from_secs(1));
    app.tick().await;
    assert_totals_match_rows(&app, "after settled calls and a fold").await;
    let res = app.post_csv("/api/leads/import", csv(25, 40)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_totals_match_rows(&app, "after an import with duplicates").await;
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn every_page_in_every_order_matches_the_whole_list(app: TestApp) {
    let mut file = String::from("company,contact,phone,email,timezone\n");
    for i in 0..47u32 {
        // Repeated names make ties, which the id must order the same way from both ends.
        file.push_str(&format!(
            "Co {},Name {},+1415{:07},e{}@x.example,America/New_York\n",
            i % 7,
            i % 5,
            6_000_000 + i,
            i % 9
        ));
    }
    assert_eq!(
        app.post_csv("/api/leads/import", file).await.status(),
        StatusCode::OK
    );
    // Some leads get called, so the nullable columns hold both values and NULLs.
    enable(&app, json!({"max_calls_batch": 12, "retry_interval": 30})).await;
    app.tick().await;
    for lead in every_lead(&app)
        .await
        .iter()
        .filter(|l| l["status"] == "calling")
        .take(8)
    {
        let call = app
            .vapi
            .call(&app.vapi.call_id_for(lead["id"].as_str().unwrap(), 1));
        app.vapi_webhook(&report(&call, "customer-busy", None))
            .await;
        app.advance(Duration::from_secs(60));
    }

    for sort in [
        "company_name",
        "contact_name",
        "email",
        "status",
        "last_called_at",
        "next_call_at",
        "created_at",
    ] {
        for order in ["asc", "desc"] {
            for filter in ["", "&status=pending", "&q=co%201"] {
                let base = format!("/api/leads?sort={sort}&order={order}{filter}");
                let whole = app.get_json(&format!("{base}&per_page=100")).await;
                let mut paged = Vec::new();
                for page in 1..=5 {
                    let body = app
                        .get_json(&format!("{base}&per_page=10&page={page}"))
                        .await;
                    assert_eq!(body["total"], whole["total"], "{base} page {page}");
                    paged.extend(ids(&body));
                }
                assert_eq!(
                    paged,
                    ids(&whole),
                    "{base}: pages read from either end agree"
                );
            }
        }
        // Never-called leads go last both ways.
        if sort == "last_called_at" {
            for order in ["asc", "desc"] {
                let body = app
                    .get_json(&format!(
                        "/api/leads?sort={sort}&order={order}&per_page=100"
                    ))
                    .await;
                let nulls: Vec<bool> = body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l[sort].is_null())
                    .collect();
                let first_null = nulls.iter().position(|n| *n).unwrap();
                assert!(first_null > 0, "{order}: some leads were called");
                assert!(nulls[first_null..].iter().all(|n| *n), "{order}: {nulls:?}");
            }
        }
    }
}

async fn search_finds_substrings_by_index_and_by_scan(app: TestApp) {
    for (company, contact, phone, email) in [
        (
            "Émile Zola Books",
            "Émile",
            "+14155559122",
            "emile@zola.example",
        ),
        (
            "Quote \"Co\" Ltd",
            "Ann O'Hara",
            "+14155550123",
            "ann@quote.example",
        ),
        (
            "100% Organic",
            "Percy",
            "+14155550124",
            "percy@organic.example",
        ),
        ("Under_Score", "Uma", "+14155550125", "uma@under.example"),
    ] {
        let res = app
            .post_json("/api/leads", &json!({"company_name": company, "contact_name": contact, "phone": phone, "email": email, "timezone": "Europe/Paris"}))
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{company}: {}",
            res.text().await.unwrap()
        );
    }
    let hits = |q: &str| {
        let q = q.to_owned();
        let app = &app;
        async move {
            let body = app
                .get_json(&format!(
                    "/api/leads?q={}&sort=company_name&order=asc",
                    urlencode(&q)
                ))
                .await;
            assert_eq!(body["total_exact"], true, "{q}");
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["contact_name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Three characters or more go through the index; fewer are scanned for.
    assert_eq!(hits("zola").await, ["Émile"]);
    assert_eq!(hits("ZOLA BOOKS").await, ["Émile"], "case is ignored");
    assert_eq!(hits("émile").await, ["Émile"]);
    assert_eq!(hits("\"Co\"").await, ["Ann O'Hara"], "quotes are literal");
    assert_eq!(hits("o'hara").await, ["Ann O'Hara"]);
    assert_eq!(hits("100%").await, ["Percy"], "% is literal");
    assert_eq!(hits("r_s").await, ["Uma"], "_ is literal");
    assert_eq!(
        hits("(415) 555-0124").await,
        ["Percy"],
        "phones match by digits"
    );
    assert_eq!(hits("55501").await, ["Percy", "Ann O'Hara", "Uma"]);
    assert_eq!(hits("um").await, ["Uma"], "two characters are scanned for");
    assert_eq!(hits("%").await, ["Percy"]);
    assert_eq!(hits("zz").await, Vec::<String>::new());
    assert_eq!(hits("zzz").await, Vec::<String>::new());

    // Edits and deletes reach the index.
    let ann = app.get_json("/api/leads?q=quote").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch_json(
        &format!("/api/leads/{ann}"),
        &json!({"company_name": "Renamed Works"}),
    )
    .await;
    assert_eq!(
        hits("quote ").await,
        ["Ann O'Hara"],
        "the email still matches"
    );
    assert_eq!(hits("\"Co\"").await, Vec::<String>::new());
    assert_eq!(hits("renamed").await, ["Ann O'Hara"]);
    app.delete(&format!("/api/leads/{ann}")).await;
    assert_eq!(hits("renamed").await, Vec::<String>::new());
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn a_search_matching_very_many_leads_counts_to_a_limit(app: TestApp) {
    let res = app.post_csv("/api/leads/import", csv(0, 1_250)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = app.get_json("/api/leads?q=firm&per_page=100").await;
    assert_eq!(body["total"], 1_000);
    assert_eq!(body["total_exact"], false, "more than 1,000 match");
    assert_eq!(body["items"].as_array().unwrap().len(), 100);
    let deep = app.get_json("/api/leads?q=firm&per_page=100&page=13").await;
    assert_eq!(
        deep["items"].as_array().unwrap().len(),
        50,
        "paging on past the count works"
    );
    let few = app.get_json("/api/leads?q=firm%201249").await;
    assert_eq!(
        (few["total"].as_i64(), few["total_exact"].as_bool()),
        (Some(1), Some(true))
    );
    let none = app.get_json("/api/leads?q=firm&status=error").await;
    assert_eq!(
        (none["total"].as_i64(), none["total_exact"].as_bool()),
        (Some(0), Some(true))
    );
}

/// Many leads match, but all sit at the far end of the order asked for (they were imported
/// together, before everyone else): the page is still the right one.
async fn a_search_whose_matches_sit_at_the_end_of_the_order(app: TestApp) {
    let rows = |name: &str, area: u32, n: u32| {
        let mut out = String::from("company,contact name,phone,email,timezone\n");
        for i in 0..n {
            out.push_str(&format!(
                "{name} {i},Person {i},+1{area}{:07},{name}{i}@firm.example,America/New_York\n",
                2_000_000 + i
            ));
        }
        out
    };
    for csv in [rows("Needle", 212, 11_000), rows("Filler", 646, 21_000)] {
        let res = app.post_csv("/api/leads/import", csv).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    if app.database_url.starts_with("postgres") {
        // What autovacuum would do soon: the planner learns that "needle" matches many.
        crate::settings::sqlx_exec(&app.database_url, "ANALYZE lead_search", None).await;
    }
    let page = app
        .get_json("/api/leads?q=needle&sort=created_at&order=desc&per_page=20")
        .await;
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["company_name"].as_str().unwrap())
        .collect();
    let newest: Vec<String> = (10_980..11_000)
        .rev()
        .map(|i| format!("Needle {i}"))
        .collect();
    assert_eq!(names, newest);
    assert_eq!(page["total"], 1_000, "counted up to the limit");
}

both_engines!(
    a_search_whose_matches_sit_at_the_end_of_the_order,
    totals_follow_every_kind_of_change,
    every_page_in_every_order_matches_the_whole_list,
    search_finds_substrings_by_index_and_by_scan,
    a_search_matching_very_many_leads_counts_to_a_limit,
);
