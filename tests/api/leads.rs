//! The leads API: create, read, edit, delete, list with filters/sort/pages, bulk, export.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_error};

async fn lead_round_trip(app: TestApp) {
    let lead = app
        .create_lead(
            "  Acme HVAC ",
            "Jane Doe",
            "(415) 555-2671",
            "Jane@ACME.com",
        )
        .await;
    assert_eq!(lead["company_name"], "Acme HVAC");
    assert_eq!(lead["phone"], "+14155552671");
    assert_eq!(lead["email"], "Jane@acme.com");
    assert_eq!(lead["status"], "pending");
    assert_eq!(lead["call_attempts"], 0);
    assert_eq!(
        lead["timezone"], "America/Los_Angeles",
        "defaults to the settings' zone"
    );
    assert!(lead["last_called_at"].is_null());
    let id = lead["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().to_string(), id);

    let fetched = app.get_json(&format!("/api/leads/{id}")).await;
    assert_eq!(fetched, lead);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = app
        .patch_json(&format!("/api/leads/{id}"), &json!({"timezone": "america/new_york", "status": "no_answer", "call_attempts": 2, "phone": "+1 212 555 0199"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched: Value = res.json().await.unwrap();
    assert_eq!(patched["timezone"], "America/New_York");
    assert_eq!(patched["status"], "no_answer");
    assert_eq!(patched["call_attempts"], 2);
    assert_eq!(patched["phone"], "+12125550199");
    assert_eq!(
        patched["company_name"], "Acme HVAC",
        "untouched fields keep their values"
    );
    assert!(
        patched["updated_at"].as_str().unwrap() > lead["updated_at"].as_str().unwrap(),
        "updated_at moves"
    );

    assert_eq!(
        app.delete(&format!("/api/leads/{id}")).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        app.get(&format!("/api/leads/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.delete(&format!("/api/leads/{id}")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn invalid_leads_are_refused_with_every_reason(app: TestApp) {
    let res = app
        .post_json("/api/leads", &json!({"company_name": "", "contact_name": "Jane", "phone": "12", "email": "nope", "timezone": "Mars/Base"}))
        .await;
    let body = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["company_name", "phone", "email", "timezone"]);
    assert_eq!(body["error"]["field"], "company_name");

    app.create_lead("Acme", "Jane", "4155552671", "jane@acme.com")
        .await;
    let res = app
        .post_json("/api/leads", &json!({"company_name": "Other", "contact_name": "Jim", "phone": "+1 (415) 555-2671", "email": "jim@o.com"}))
        .await;
    let body = assert_error(res, StatusCode::CONFLICT, "conflict").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("phone"));

    let res = app
        .post_json("/api/leads", &json!({"company_name": "X", "contact_name": "Y", "phone": "4155550000", "email": "y@x.com", "status": "scheduled"}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let res = app
        .post_json("/api/leads", &json!({"company_name": 7}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let res = app
        .client
        .post(app.url("/api/leads"))
        .header("x-csrf-token", &app.csrf)
        .header("content-type", "application/json")
        .body("{\"company_name\": ")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "malformed_json").await;
    // The limit is enforced from Content-Length, before any of the body is read.
    let token = app.token().await;
    let (status, text) = app
        .raw_http(&format!(
            "POST /api/leads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
            2 * 1024 * 1024
        ))
        .await;
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    let res = app
        .client
        .put(app.url("/api/leads"))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    assert_error(
        app.get("/api/leads?q=a%00b").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        app.store.count_leads().await.unwrap(),
        1,
        "nothing half-written"
    );
}

async fn patch_takes_only_editable_fields(app: TestApp) {
    let lead = app
        .create_lead("Acme", "Jane", "4155552671", "jane@acme.com")
        .await;
    let path = format!("/api/leads/{}", lead["id"].as_str().unwrap());
    for body in [
        json!({"id": "00000000-0000-0000-0000-000000000000"}),
        json!({"cal_booking_uid": "abc"}),
        json!({"follow_up_email_sent": true}),
        json!({"last_called_at": "2020-01-01T00:00:00Z"}),
        json!({"created_at": "2020-01-01T00:00:00Z"}),
        json!({"company_name": null}),
    ] {
        assert_error(
            app.patch_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        )
        .await;
    }
    for (body, field) in [
        (json!({}), "body"),
        (json!({"status": "calling"}), "status"),
        (json!({"status": "bogus"}), "status"),
        (json!({"call_attempts": -1}), "call_attempts"),
        (json!({"email": "bad"}), "email"),
        (json!({"contact_name": "   "}), "contact_name"),
    ] {
        let body = assert_error(
            app.patch_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(body["error"]["field"], field);
    }
    let other = app
        .create_lead("Beta", "Bob", "4155552672", "bob@beta.com")
        .await;
    let res = app
        .patch_json(
            &format!("/api/leads/{}", other["id"].as_str().unwrap()),
            &json!({"phone": "415 555 2671"}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(
        app.get_json(&path).await,
        lead,
        "refused edits leave the lead untouched"
    );

    assert_error(
        app.get("/api/leads/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "invalid_path",
    )
    .await;
    let res = app
        .patch_json(
            "/api/leads/00000000-0000-0000-0000-000000000000",
            &json!({"company_name": "x"}),
        )
        .await;
    assert_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

async fn seed(app: &TestApp) -> Vec<Value> {
    let rows = [
        (
            "Delta Air",
            "Dana",
            "4155550101",
            "dana@delta.com",
            "America/New_York",
        ),
        (
            "acme hvac",
            "Zed",
            "4155550102",
            "zed@acme.com",
            "America/Chicago",
        ),
        (
            "Bravo Co",
            "Amy",
            "4155550103",
            "amy@bravo.com",
            "Europe/London",
        ),
        (
            "Charlie Ltd",
            "Bob",
            "2125550104",
            "bob@charlie.com",
            "America/Denver",
        ),
        (
            "Echo Inc",
            "Cara",
            "2125550105",
            "cara@echo.com",
            "America/Phoenix",
        ),
    ];
    let mut leads = Vec::new();
    for (c, n, p, e, tz) in rows {
        let res = app
            .post_json("/api/leads", &json!({"company_name": c, "contact_name": n, "phone": p, "email": e, "timezone": tz}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        leads.push(res.json::<Value>().await.unwrap());
    }
    leads
}

fn names(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[field].as_str().unwrap().to_owned())
        .collect()
}

async fn list_filters_sorts_and_pages(app: TestApp) {
    let leads = seed(&app).await;
    let id = |i: usize| leads[i]["id"].as_str().unwrap().to_owned();
    app.patch_json(
        &format!("/api/leads/{}", id(0)),
        &json!({"status": "no_answer", "call_attempts": 3}),
    )
    .await;
    app.patch_json(
        &format!("/api/leads/{}", id(1)),
        &json!({"status": "error"}),
    )
    .await;
    app.patch_json(
        &format!("/api/leads/{}", id(2)),
        &json!({"call_attempts": 1}),
    )
    .await;

    let all = app.get_json("/api/leads").await;
    assert_eq!(all["total"], 5);
    assert_eq!(all["page"], 1);
    assert_eq!(all["per_page"], 10);
    assert_eq!(
        names(&all, "contact_name"),
        ["Cara", "Bob", "Amy", "Zed", "Dana"],
        "newest first by default"
    );

    let page = app.get_json("/api/leads?status=no_answer,error").await;
    assert_eq!(page["total"], 2);
    let page = app
        .get_json("/api/leads?status=pending&sort=contact_name&order=asc")
        .await;
    assert_eq!(names(&page, "contact_name"), ["Amy", "Bob", "Cara"]);

    assert_eq!(
        names(&app.get_json("/api/leads?q=ACME").await, "contact_name"),
        ["Zed"]
    );
    assert_eq!(
        names(
            &app.get_json("/api/leads?q=bravo.com").await,
            "contact_name"
        ),
        ["Amy"]
    );
    assert_eq!(
        names(
            &app.get_json("/api/leads?q=(212)%20555").await,
            "contact_name"
        ),
        ["Cara", "Bob"]
    );
    assert_eq!(
        app.get_json("/api/leads?q=%25").await["total"],
        0,
        "LIKE wildcards are literal"
    );
    assert_eq!(app.get_json("/api/leads?q=zzz").await["total"], 0);

    let asc = app
        .get_json("/api/leads?sort=call_attempts&order=asc")
        .await;
    assert_eq!(
        names(&asc, "contact_name")[3..],
        ["Amy".to_owned(), "Dana".to_owned()]
    );
    let ties: Vec<String> = names(&asc, "id")[..3].to_vec();
    let mut sorted = ties.clone();
    sorted.sort();
    assert_eq!(ties, sorted, "equal keys are ordered by id");
    let desc = app
        .get_json("/api/leads?sort=call_attempts&order=desc")
        .await;
    assert_eq!(
        names(&desc, "contact_name")[..2],
        ["Dana".to_owned(), "Amy".to_owned()]
    );

    let by_phone = app.get_json("/api/leads?sort=phone&order=asc").await;
    assert_eq!(
        names(&by_phone, "phone"),
        [
            "+12125550104",
            "+12125550105",
            "+14155550101",
            "+14155550102",
            "+14155550103"
        ]
    );
    let by_tz = app.get_json("/api/leads?sort=timezone&order=desc").await;
    assert_eq!(names(&by_tz, "timezone")[0], "Europe/London");
    let by_status = app.get_json("/api/leads?sort=status&order=asc").await;
    assert_eq!(
        names(&by_status, "status"),
        ["error", "no_answer", "pending", "pending", "pending"]
    );
    for col in [
        "company_name",
        "contact_name",
        "email",
        "last_called_at",
        "created_at",
    ] {
        for order in ["asc", "desc"] {
            let page = app
                .get_json(&format!("/api/leads?sort={col}&order={order}"))
                .await;
            assert_eq!(page["total"], 5, "{col} {order}");
        }
    }

    let p1 = app
        .get_json("/api/leads?per_page=10&page=1&sort=phone&order=asc")
        .await;
    assert_eq!(p1["items"].as_array().unwrap().len(), 5);
    let beyond = app.get_json("/api/leads?page=2").await;
    assert_eq!(beyond["items"].as_array().unwrap().len(), 0);
    assert_eq!(beyond["total"], 5);

    for (query, field) in [
        ("sort=password_hash", "sort"),
        ("sort=phone;DROP TABLE leads", "sort"),
        ("order=sideways", "order"),
        ("per_page=7", "per_page"),
        ("page=0", "page"),
        ("status=pending,nope", "status"),
    ] {
        let body = assert_error(
            app.get(&format!("/api/leads?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    assert_error(
        app.get("/api/leads?page=-1").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_error(
        app.get("/api/leads?per_page=abc").await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

async fn pagination_walks_every_lead_once(app: TestApp) {
    for i in 0..25 {
        app.create_lead(
            &format!("Co {i:02}"),
            "Same Name",
            &format!("41555501{i:02}"),
            &format!("c{i}@x.com"),
        )
        .await;
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let body = app
            .get_json(&format!(
                "/api/leads?sort=contact_name&order=asc&per_page=10&page={page}"
            ))
            .await;
        assert_eq!(body["total"], 25);
        seen.extend(names(&body, "id"));
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        25,
        "ties on the sort key still page without repeats or gaps"
    );
}

async fn bulk_actions(app: TestApp) {
    let leads = seed(&app).await;
    let ids: Vec<String> = leads
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    app.patch_json(
        &format!("/api/leads/{}", ids[0]),
        &json!({"status": "no_answer", "call_attempts": 3}),
    )
    .await;

    let res = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": [ids[1], ids[2]], "action": "set_status", "status": "not_interested"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["affected"], 2);
    assert_eq!(
        app.get_json("/api/leads?status=not_interested").await["total"],
        2
    );

    // Flags a finished call would leave behind, which a requeue must clear.
    crate::settings::sqlx_exec(
        &app.database_url,
        "UPDATE leads SET follow_up_email_sent = TRUE, next_call_at = 5, status_reason = 'x' WHERE id = $1",
        Some(uuid::Uuid::parse_str(&ids[0]).unwrap()),
    )
    .await;
    let res = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": [ids[0], ids[1]], "action": "requeue"}),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["affected"], 2);
    let requeued = app.get_json(&format!("/api/leads/{}", ids[0])).await;
    assert_eq!(requeued["status"], "pending");
    assert_eq!(requeued["call_attempts"], 0);
    assert_eq!(requeued["follow_up_email_sent"], false);
    assert!(requeued["next_call_at"].is_null());
    assert!(requeued["status_reason"].is_null());

    let missing = "00000000-0000-0000-0000-000000000000";
    let res = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": [ids[3], ids[4], missing], "action": "delete"}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["affected"],
        2,
        "unknown ids are skipped"
    );
    assert_eq!(app.get_json("/api/leads").await["total"], 3);

    for (body, field) in [
        (json!({"ids": [], "action": "delete"}), "ids"),
        (json!({"ids": [ids[0]], "action": "explode"}), "action"),
        (json!({"ids": [ids[0]], "action": "set_status"}), "status"),
        (
            json!({"ids": [ids[0]], "action": "set_status", "status": "calling"}),
            "status",
        ),
        (
            json!({"ids": [ids[0]], "action": "delete", "status": "pending"}),
            "status",
        ),
    ] {
        let err = assert_error(
            app.post_json("/api/leads/bulk", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(err["error"]["field"], field);
    }
    let res = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": ["nope"], "action": "delete"}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert_eq!(app.get_json("/api/leads").await["total"], 3);
}

async fn export_is_csv_of_the_filtered_leads(app: TestApp) {
    seed(&app).await;
    app.create_lead("=cmd|' /C calc'!A0", "Eve", "4155550199", "eve@x.com")
        .await;
    let res = app
        .get("/api/leads/export?q=555010&sort=phone&order=asc")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let text = res.text().await.unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[3], "phone");
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let phones: Vec<&str> = rows.iter().map(|r| &r[3]).collect();
    assert_eq!(
        phones,
        [
            "+12125550104",
            "+12125550105",
            "+14155550101",
            "+14155550102",
            "+14155550103"
        ]
    );

    let all = app.get("/api/leads/export").await.text().await.unwrap();
    assert_eq!(all.lines().count(), 7);
    assert!(
        all.contains("'=cmd"),
        "formula cells are neutralised: {all}"
    );
    let pending = app
        .get("/api/leads/export?status=pending")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(pending.lines().count(), 7);
    let first_id = all
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    app.post_json(
        "/api/leads/bulk",
        &json!({"ids": [first_id], "action": "set_status", "status": "error"}),
    )
    .await;
    let errored = app
        .get("/api/leads/export?status=error")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(errored.lines().count(), 2, "{errored}");
    assert_error(
        app.get("/api/leads/export?sort=nope").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

both_engines!(
    lead_round_trip,
    invalid_leads_are_refused_with_every_reason,
    patch_takes_only_editable_fields,
    list_filters_sorts_and_pages,
    pagination_walks_every_lead_once,
    bulk_actions,
    export_is_csv_of_the_filtered_leads,
);
