//! The leads page in a real browser: sorting, filtering, searching, paging, inline editing
//! with the keyboard, bulk actions over every matching lead, and the Add lead dialog.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Browser, ENTER, ESCAPE, TAB, TIMEOUT, sign_in};
use crate::helpers::{Engine, TestApp};

/// Adds `n` leads named `Company 00`, `Company 01`, ... (created in that order).
async fn seed(app: &TestApp, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let lead = app
            .create_lead(
                &format!("Company {i:02}"),
                &format!("Contact {i:02}"),
                &format!("+1415{:07}", 5_000_000 + i),
                &format!("c{i}@example.com"),
            )
            .await;
        ids.push(lead["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn rows(browser: &Browser) -> Vec<String> {
    let v = browser
        .execute(
            "return [...document.querySelectorAll('#leads-table tbody tr[data-id] td[data-field=company_name]')].map(td => td.textContent.trim())",
            vec![],
        )
        .await;
    serde_json::from_value(v).unwrap()
}

/// Waits until the table's company column starts with `first` and has `count` rows.
async fn wait_rows(browser: &Browser, count: usize, first: &str) {
    let predicate = format!(
        "(() => {{ const r = [...document.querySelectorAll('#leads-table tbody tr[data-id] td[data-field=company_name]')]; \
         return r.length === {count} && r[0].textContent.trim() === {first:?}; }})()"
    );
    browser.wait_until(&predicate, TIMEOUT).await;
}

async fn click(browser: &Browser, css: &str) {
    browser.click_css(css, TIMEOUT).await;
}

/// Sets a `<select>` the way a person does, firing `change`.
async fn choose(browser: &Browser, css: &str, value: &str) {
    click(browser, &format!("{css} option[value=\"{value}\"]")).await;
}

#[tokio::test]
async fn sort_filter_search_and_paginate() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let ids = seed(&app, 25).await;
    let res = app
        .post_json(
            "/api/leads/bulk",
            &json!({"ids": &ids[..3], "action": "set_status", "status": "not_interested"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    sign_in(&browser, &app).await;
    // Newest first by default, ten to a page.
    wait_rows(&browser, 10, "Company 24").await;
    assert!(
        browser
            .text(&browser.find("#page-range").await)
            .await
            .contains("1–10 of 25")
    );

    // Sorting cycles ascending, descending, none, on the server, in place; from the keyboard
    // too, and the header keeps the focus after the table is replaced.
    browser
        .execute(
            "document.querySelector('th[data-col=company_name] a').focus()",
            vec![],
        )
        .await;
    browser.press(ENTER).await;
    wait_rows(&browser, 10, "Company 00").await;
    assert_eq!(
        browser
            .execute(
                "return document.activeElement.closest('th')?.dataset.col ?? null",
                vec![]
            )
            .await,
        "company_name",
        "focus stays on the sorted column's header"
    );
    let sort = browser.find("th[data-col=company_name]").await;
    assert_eq!(
        browser.attribute(&sort, "aria-sort").await.as_deref(),
        Some("ascending")
    );
    assert!(browser.current_url().await.contains("sort=company_name"));
    click(&browser, "th[data-col=contact_name] a").await;
    // The table is swapped after each click; wait for it before clicking the new header.
    browser
        .wait_until(
            "document.querySelector('th[data-col=contact_name]').getAttribute('aria-sort') === 'ascending'",
            TIMEOUT,
        )
        .await;
    click(&browser, "th[data-col=contact_name] a").await;
    browser
        .wait_until(
            "document.querySelector('th[data-col=contact_name]').getAttribute('aria-sort') === 'descending'",
            TIMEOUT,
        )
        .await;
    wait_rows(&browser, 10, "Company 24").await;

    // Twenty a page, then the second page.
    choose(&browser, "#per-page", "20").await;
    wait_rows(&browser, 20, "Company 24").await;
    click(&browser, "a[aria-label='Next page']").await;
    wait_rows(&browser, 5, "Company 04").await;
    assert!(
        browser
            .text(&browser.find("#page-range").await)
            .await
            .contains("21–25 of 25")
    );
    // The sort and page size are remembered across visits.
    browser.goto(&app.url("/")).await;
    wait_rows(&browser, 20, "Company 24").await;
    let sort = browser.find("th[data-col=contact_name]").await;
    assert_eq!(
        browser.attribute(&sort, "aria-sort").await.as_deref(),
        Some("descending")
    );

    // Search narrows the list as one types; the status filter too.
    let search = browser.find("#lead-search").await;
    browser.send_keys(&search, "company 07").await;
    wait_rows(&browser, 1, "Company 07").await;
    browser.clear(&search).await;
    browser.send_keys(&search, " ").await;
    wait_rows(&browser, 20, "Company 24").await;
    choose(&browser, "#status-filter", "not_interested").await;
    wait_rows(&browser, 3, "Company 02").await;
    assert_eq!(
        rows(&browser).await,
        ["Company 02", "Company 01", "Company 00"]
    );
    choose(&browser, "#status-filter", "scheduled").await;
    browser
        .wait_until(
            "document.querySelector('#leads-table tr.empty')?.textContent.includes('No leads match')",
            TIMEOUT,
        )
        .await;

    // A third click on a sorted header goes back to the default order.
    choose(&browser, "#status-filter", "").await;
    wait_rows(&browser, 20, "Company 24").await;
    click(&browser, "th[data-col=contact_name] a").await;
    browser
        .wait_until(
            "document.querySelector('th[data-col=contact_name]').getAttribute('aria-sort') === 'none' \
             && !location.search.includes('sort=contact_name')",
            TIMEOUT,
        )
        .await;
    wait_rows(&browser, 20, "Company 24").await;
}

#[tokio::test]
async fn live_updates_keep_the_page_sort_and_selection_then_bulk_delete_confirms() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let ids = seed(&app, 25).await;
    sign_in(&browser, &app).await;
    click(&browser, "th[data-col=company_name] a").await;
    wait_rows(&browser, 10, "Company 00").await;
    click(&browser, "a[aria-label='Next page']").await;
    wait_rows(&browser, 10, "Company 10").await;
    click(&browser, &format!("tr[data-id='{}'] .row-select", ids[12])).await;
    browser
        .wait_until(
            "document.querySelector('#selection-count').textContent === '1 lead(s) selected'",
            TIMEOUT,
        )
        .await;

    // Someone else (another tab, a script) edits a lead on this page.
    let res = app
        .patch_json(
            &format!("/api/leads/{}", ids[15]),
            &json!({"contact_name": "Changed Elsewhere"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    browser
        .wait_until(
            "document.querySelector('#leads-table').textContent.includes('Changed Elsewhere')",
            TIMEOUT,
        )
        .await;
    let kept = browser
        .execute(
            &format!(
                "return [document.querySelector('#page-input').value, \
                 document.querySelector('th[data-col=company_name]').getAttribute('aria-sort'), \
                 document.querySelector(\"tr[data-id='{}'] .row-select\").checked, \
                 document.querySelector('#selection-count').textContent]",
                ids[12]
            ),
            vec![],
        )
        .await;
    assert_eq!(
        kept,
        json!(["2", "ascending", true, "1 lead(s) selected"]),
        "page, sort and selection survive the live update"
    );

    // Deleting asks first; cancelling keeps the lead, confirming removes it.
    click(&browser, "#bulk-delete").await;
    browser.wait_for("#confirm[open]", TIMEOUT).await;
    let question = browser.text(&browser.find("#confirm-text").await).await;
    assert!(
        question.contains("permanently deletes 1 lead"),
        "{question}"
    );
    click(&browser, "#confirm button[value=cancel]").await;
    browser
        .wait_until("!document.querySelector('#confirm[open]')", TIMEOUT)
        .await;
    assert_eq!(app.get_json("/api/leads").await["total"], 25);
    click(&browser, "#bulk-delete").await;
    click(&browser, "#confirm-ok").await;
    browser
        .wait_until(
            &format!("!document.querySelector(\"tr[data-id='{}']\")", ids[12]),
            TIMEOUT,
        )
        .await;
    assert_eq!(app.get_json("/api/leads").await["total"], 24);
    assert_eq!(
        app.get(&format!("/api/leads/{}", ids[12])).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cells_edit_inline_with_enter_escape_and_tab() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let ids = seed(&app, 2).await;
    sign_in(&browser, &app).await;
    wait_rows(&browser, 2, "Company 01").await;
    let first = &ids[1];

    // Click, type, Tab: saved on the server, and the next cell is being edited.
    click(&browser, "tr[data-id] td[data-field=company_name]").await;
    let input = browser
        .wait_for("td.editing[data-field=company_name] input", TIMEOUT)
        .await;
    browser.clear(&input).await;
    browser.send_keys(&input, "Renamed Co").await;
    browser.press(TAB).await;
    browser
        .wait_until(
            "document.activeElement.closest('td')?.dataset.field === 'contact_name'",
            TIMEOUT,
        )
        .await;
    let lead: Value = app.get_json(&format!("/api/leads/{first}")).await;
    assert_eq!(lead["company_name"], "Renamed Co");
    // Shift+Tab goes back; Escape leaves the cell as it was.
    browser.press_shift_tab().await;
    browser
        .wait_until(
            "document.activeElement.closest('td')?.dataset.field === 'company_name' && document.activeElement.tagName === 'INPUT'",
            TIMEOUT,
        )
        .await;
    browser.press("Something else").await;
    browser.press(ESCAPE).await;
    browser
        .wait_until("!document.querySelector('td.editing')", TIMEOUT)
        .await;
    assert_eq!(rows(&browser).await[0], "Renamed Co");

    // A bad email is refused by the server's validation, shown in the cell, and not saved.
    click(&browser, "tr[data-id] td[data-field=email]").await;
    let input = browser
        .wait_for("td.editing[data-field=email] input", TIMEOUT)
        .await;
    browser.clear(&input).await;
    browser.send_keys(&input, "not-an-email").await;
    browser.press(ENTER).await;
    let error = browser
        .wait_for(
            "td.editing[data-field=email] .field-error:not([hidden])",
            TIMEOUT,
        )
        .await;
    assert!(!browser.text(&error).await.is_empty());
    let lead: Value = app.get_json(&format!("/api/leads/{first}")).await;
    assert_eq!(lead["email"], "c1@example.com");
    // Fixing it and pressing Enter saves and closes the editor.
    let input = browser.find("td.editing[data-field=email] input").await;
    browser.clear(&input).await;
    browser.send_keys(&input, "new@example.com").await;
    browser.press(ENTER).await;
    browser
        .wait_until("!document.querySelector('td.editing')", TIMEOUT)
        .await;
    let lead: Value = app.get_json(&format!("/api/leads/{first}")).await;
    assert_eq!(lead["email"], "new@example.com");
    // The time zone is checked too: an unknown zone is refused in place.
    click(&browser, "tr[data-id] td[data-field=timezone]").await;
    let input = browser
        .wait_for("td.editing[data-field=timezone] input", TIMEOUT)
        .await;
    browser.clear(&input).await;
    browser.send_keys(&input, "Mars/Olympus").await;
    browser.press(ENTER).await;
    browser
        .wait_for(
            "td.editing[data-field=timezone] .field-error:not([hidden])",
            TIMEOUT,
        )
        .await;
    // Chrome's suggestion list for the zone (a datalist) can still be open at this point,
    // and then it takes the first Escape for itself (about 1 run in 30 under load); the next
    // Escape reaches the editor.
    browser.press(ESCAPE).await;
    let closed = "!document.querySelector('td.editing')";
    if !browser.holds_within(closed, Duration::from_secs(2)).await {
        browser.press(ESCAPE).await;
    }
    browser
        .wait_until(
            "document.activeElement.dataset.field === 'timezone' && !document.querySelector('td.editing')",
            TIMEOUT,
        )
        .await;

    // The cells are one Tab stop; arrow keys move between them like a spreadsheet.
    let focused = "return [document.activeElement.dataset.field ?? null, \
        document.activeElement.closest('tr')?.dataset.id ?? null, \
        document.querySelectorAll('#leads-table .cell[tabindex=\"0\"]').length]";
    let at = browser.execute(focused, vec![]).await;
    assert_eq!(at[0], "timezone");
    browser.press("\u{E014}").await; // ArrowRight
    browser.press("\u{E015}").await; // ArrowDown
    let at = browser.execute(focused, vec![]).await;
    assert_eq!(at[0], "call_attempts", "{at}");
    assert_eq!(at[1], ids[0].as_str(), "the row below");
    assert_eq!(at[2], 1, "one cell is the grid's Tab stop");
}

#[tokio::test]
async fn bulk_requeue_covers_every_matching_lead() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    let ids = seed(&app, 18).await;
    app.post_json(
        "/api/leads/bulk",
        &json!({"ids": &ids[..15], "action": "set_status", "status": "not_interested"}),
    )
    .await;
    sign_in(&browser, &app).await;
    choose(&browser, "#status-filter", "not_interested").await;
    wait_rows(&browser, 10, "Company 14").await;

    // The page checkbox selects the page; the bar offers every matching lead.
    click(&browser, "#select-page").await;
    let count = browser.wait_for("#selection-count", TIMEOUT).await;
    assert_eq!(browser.text(&count).await, "10 lead(s) selected");
    click(&browser, "#select-all-matching").await;
    browser
        .wait_until(
            "document.querySelector('#selection-count').textContent === 'All 15 matching lead(s) selected'",
            TIMEOUT,
        )
        .await;
    click(&browser, "#bulk-requeue").await;
    browser
        .wait_until(
            "document.querySelector('#leads-table tr.empty') !== null && document.querySelector('#bulk-bar').hidden",
            TIMEOUT,
        )
        .await;
    let pending = app.get_json("/api/leads?status=pending").await;
    assert_eq!(
        pending["total"], 18,
        "every matching lead, not only the page"
    );
}

#[tokio::test]
async fn add_lead_dialog_closes_only_on_success() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite).await.unwrap();
    sign_in(&browser, &app).await;
    browser.wait_for("#leads-table tr.empty", TIMEOUT).await;
    click(&browser, "#add-lead-open").await;
    for (css, value) in [
        ("#new-company", "Dialog Co"),
        ("#new-contact", "Dana"),
        ("#new-phone", "12"),
        ("#new-email", "dana@dialog.example"),
    ] {
        let el = browser.find(css).await;
        browser.send_keys(&el, value).await;
    }
    let tz = browser.find("#new-timezone").await;
    browser.clear(&tz).await;
    browser.send_keys(&tz, "America/Chicago").await;
    click(&browser, "#add-lead-form button[type=submit]").await;
    let error = browser
        .wait_for("[data-error=phone]:not([hidden])", TIMEOUT)
        .await;
    assert!(!browser.text(&error).await.is_empty());
    assert_eq!(
        browser
            .execute("return document.querySelector('#add-lead').open", vec![])
            .await,
        true,
        "the dialog stays open on an error"
    );
    let phone = browser.find("#new-phone").await;
    browser.clear(&phone).await;
    browser.send_keys(&phone, "(312) 555-0188").await;
    click(&browser, "#add-lead-form button[type=submit]").await;
    browser
        .wait_until("!document.querySelector('#add-lead').open", TIMEOUT)
        .await;
    wait_rows(&browser, 1, "Dialog Co").await;
    let lead = &app.get_json("/api/leads").await["items"][0];
    assert_eq!(
        (lead["phone"].as_str(), lead["timezone"].as_str()),
        (Some("+13125550188"), Some("America/Chicago"))
    );
}
